package detect_test

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// steadyPlant is an engine in operational mode with every rule that can be
// switched on switched on, on a baseline that learned the HMI polling the
// PLC, and one poll already checked in operational mode.
func steadyPlant(t testing.TB) (*detect.Engine, *dissect.Flow, *dissect.Transaction, time.Time) {
	on := map[string]detect.RuleConfig{}
	for _, r := range alert.Catalogue() {
		on[r.ID] = detect.RuleConfig{Enabled: enabled(true)}
	}
	cfg := detect.Config{Rules: on, OTProtocols: otProtocols, Custom: []detect.CustomRule{{Name: "writes to the PLC",
		Conditions: []detect.Condition{{Field: "op", Op: "==", Value: "write"}, {Field: "unit", Op: "in_range", Values: []string{"1", "16"}}}}}}
	book := alert.NewBook(alert.BookConfig{})
	eng, err := detect.New(cfg, learn.New(learn.Config{}, t0), book, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &dissect.Flow{ID: 1, Transport: dissect.TransportTCP, Client: port(hmi, 49152), Server: port(plc, 502), Start: t0}
	at := t0
	for i := range 120 {
		at = t0.Add(time.Duration(i) * time.Second)
		eng.Conn(f, detect.ConnStart, "modbus", at, nil)
		eng.Conn(f, detect.ConnAnswered, "modbus", at, nil)
		eng.Transaction(modbusRead(f, at, 1, 0, 10), nil)
	}
	eng.EndLearning(at)
	tx := modbusRead(f, at, 1, 0, 10)
	for range 10 { // warm-up in operational mode
		at = at.Add(time.Second)
		tx.Time, tx.RespTime = at, at.Add(4*time.Millisecond)
		eng.Transaction(tx, nil)
		eng.Conn(f, detect.ConnStart, "modbus", at, nil)
		eng.Conn(f, detect.ConnAnswered, "modbus", at, nil)
	}
	if n, _ := book.Len(); n != 0 {
		t.Fatalf("the steady plant raised %d alerts: %v", n, titles(book.Alerts(false)))
	}
	return eng, f, tx, at
}

func TestSteadyStateAllocs(t *testing.T) {
	eng, f, tx, at := steadyPlant(t)
	var s snips // a snipper as the pipeline passes one
	if n := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Second)
		tx.Time, tx.RespTime = at, at.Add(4*time.Millisecond)
		eng.Transaction(tx, &s)
	}); n != 0 {
		t.Errorf("Transaction of a known Modbus read: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Second)
		eng.Conn(f, detect.ConnStart, "modbus", at, &s)
		eng.Conn(f, detect.ConnAnswered, "modbus", at, &s)
	}); n != 0 {
		t.Errorf("Conn of a known pair: %v allocations, want 0", n)
	}
	if n, _ := eng.Book().Len(); n != 0 || len(s.want) != 0 {
		t.Errorf("steady traffic raised %d alerts: %v", n, titles(eng.Book().Alerts(false)))
	}
}

// BenchmarkTransaction is the engine's cost per known transaction, and
// BenchmarkConn per connection event, with every rule on.
func BenchmarkTransaction(b *testing.B) {
	eng, _, tx, at := steadyPlant(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		tx.Time, tx.RespTime = at, at.Add(4*time.Millisecond)
		eng.Transaction(tx, nil)
	}
}

func BenchmarkConn(b *testing.B) {
	eng, f, _, at := steadyPlant(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		eng.Conn(f, detect.ConnStart, "modbus", at, nil)
		eng.Conn(f, detect.ConnAnswered, "modbus", at, nil)
	}
}

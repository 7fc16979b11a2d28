package detect

import (
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

func TestReconfigure(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	book := alert.NewBook(alert.BookConfig{})
	e, err := New(Config{}, learn.New(learn.Config{}, now), book, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Default: 5 minutes without traffic before the alert.
	e.Health("eth1", now.Add(-2*time.Minute), now)
	if all, _ := book.Len(); all != 0 {
		t.Fatalf("%d alerts after 2 minutes of silence with the default threshold", all)
	}

	off := false
	bad := Config{Rules: map[string]RuleConfig{"no.such.rule": {Enabled: &off}}}
	if err := e.Reconfigure(bad); err == nil {
		t.Fatal("unknown rule accepted")
	}
	if err := e.Reconfigure(Config{Custom: []CustomRule{{Name: "x"}}}); err == nil {
		t.Fatal("custom rule without conditions accepted")
	}
	if !e.Rules()[alert.RuleNoTraffic] {
		t.Fatal("a refused configuration changed the rules")
	}

	cfg := Config{Thresholds: Thresholds{NoTraffic: Duration(time.Minute)},
		Rules:  map[string]RuleConfig{alert.RuleNoTraffic: {Severity: "minor"}, alert.RulePortScan: {Enabled: &off}},
		Custom: []CustomRule{{Name: "writes", Conditions: []Condition{{Field: "function", Op: "==", Value: "6"}}}}}
	if err := e.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if e.Rules()[alert.RulePortScan] {
		t.Fatal("port scan rule still on")
	}
	e.Health("eth1", now.Add(-2*time.Minute), now)
	as := book.Alerts(false)
	if len(as) != 1 || as[0].Rule != alert.RuleNoTraffic || as[0].Severity != alert.Minor {
		t.Fatalf("after lowering the threshold: %+v", as)
	}
	if len(e.custom) != 1 {
		t.Fatalf("%d custom rule windows, want 1", len(e.custom))
	}
}

//go:build linux

package livetest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/internal/scenario"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// policyRules are the rules the Modbus attack must raise and Learn must
// silence.
var policyRules = []string{alert.RuleUnpermittedFunc, alert.RuleModbusRange, alert.RuleNewCommunication, alert.RuleNewAsset}

// TestModbusPolicy learns on polling (FC 3 holding registers 0–9, FC 1
// coils 0–7 from 10.77.0.2) and detects on writes: FC 6 register 100 and FC
// 16 registers 200–203 from the known poller, and the same writes from
// 10.77.0.3, a device the baseline never saw. Then it learns every alert and
// checks that the same attack capture raises none of them any more.
func TestModbusPolicy(t *testing.T) {
	n := scenario.New(t, secondIP)
	base := modbusBaseline(t, n)
	srv := n.ServeModbus(t)
	const known, rogue = 3, 2
	attack := n.Capture(t, "modbus-writes", func() {
		if r := n.RunModbus(t, scenario.ModbusWrites(20*time.Millisecond, known)); r.Responses != 2*known {
			t.Fatalf("writes from %v: %+v", peerIP, r)
		}
		ops := scenario.ModbusWrites(20*time.Millisecond, rogue)
		ops.From = secondIP
		if r := n.RunModbus(t, ops); r.Responses != 2*rogue {
			t.Fatalf("writes from %v: %+v", secondIP, r)
		}
	})
	if c := srv.Counts(); c.WriteHolding != 2*(known+rogue) {
		t.Fatalf("server counts %+v, want %d holding register writes", c, 2*(known+rogue))
	}

	// Negative control: the baseline against itself raises nothing.
	s0, _ := run(t, []string{base}, []string{base}, detect.Config{})
	logAlerts(t, "baseline vs baseline", s0)
	none(t, "baseline", s0, policyRules...)

	s, det := run(t, []string{attack}, []string{base}, detect.Config{})
	logAlerts(t, "writes vs polling baseline", s)
	h, p, r := hostIP.String(), peerIP.String(), secondIP.String()
	// The known poller writes: new function codes and new ranges, no
	// T0848 (it is in the baseline).
	expect(t, s, want{rule: alert.RuleUnpermittedFunc, src: p, dst: h, fn: fnSuffix("(6)"), min: known})
	expect(t, s, want{rule: alert.RuleUnpermittedFunc, src: p, dst: h, fn: fnSuffix("(16)"), min: known})
	expect(t, s, want{rule: alert.RuleModbusRange, src: p, dst: h, fn: fnSuffix(" 100-100"), min: known})
	expect(t, s, want{rule: alert.RuleModbusRange, src: p, dst: h, fn: fnSuffix(" 200-203"), min: known})
	// The unauthorized writer: a new asset, a new communication, and its
	// writes carry T0848 (rogue master).
	expect(t, s, want{rule: alert.RuleNewAsset, src: r, dst: "", min: 1})
	expect(t, s, want{rule: alert.RuleNewCommunication, src: r, dst: h, min: 1})
	expect(t, s, want{rule: alert.RuleUnpermittedFunc, src: r, dst: h, fn: fnSuffix("(6)"), min: rogue, extraT: []string{"T0848"}})
	expect(t, s, want{rule: alert.RuleUnpermittedFunc, src: r, dst: h, fn: fnSuffix("(16)"), min: rogue, extraT: []string{"T0848"}})
	expect(t, s, want{rule: alert.RuleModbusRange, src: r, dst: h, fn: fnSuffix(" 100-100"), min: rogue})
	expect(t, s, want{rule: alert.RuleModbusRange, src: r, dst: h, fn: fnSuffix(" 200-203"), min: rogue})
	// Nothing about the known devices and pair.
	for _, a := range s.Alerts {
		if (a.Rule == alert.RuleNewAsset && a.Src != r) || (a.Rule == alert.RuleNewCommunication && a.Src == p) {
			t.Errorf("unexpected %s alert %s → %s", a.Rule, a.Src, a.Dst)
		}
	}
	if got := count(s, alert.RuleUnpermittedFunc) + count(s, alert.RuleModbusRange) + count(s, alert.RuleNewAsset) +
		count(s, alert.RuleNewCommunication); got != 10 {
		t.Errorf("%d policy alerts, want 10: %s", got, ruleList(s))
	}
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))

	// Learn every alert, then the same attack against the updated baseline
	// raises none of them.
	learned := 0
	for _, a := range det.Book.Alerts(true) {
		if !a.Learnable {
			continue
		}
		if _, err := det.Engine.Learn(a.ID, s.Last); err != nil {
			t.Fatalf("Learn %s (%s): %v", a.ID, a.Rule, err)
		}
		learned++
	}
	if learned < 10 {
		t.Fatalf("learned %d alerts, want at least 10", learned)
	}
	book := alert.NewBook(alert.BookConfig{})
	eng, err := detect.New(detect.Config{OTProtocols: otProtocols()}, det.Baseline, book, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := analyze.Run(context.Background(), []string{attack}, analyze.Options{Registry: all.Registry(), NoFields: true, Detect: eng})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range book.Alerts(false) {
		s2.Alerts = append(s2.Alerts, analyze.SummariseAlert(a))
	}
	logAlerts(t, "writes vs baseline after Learn", s2)
	none(t, "after Learn", s2, policyRules...)
	t.Logf("learned %d alerts; baseline now %+v", learned, det.Baseline.Stats())
}

//go:build linux

package livetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/internal/scenario"
)

// TestUnresponsive polls a Modbus device on 10.77.0.1 that answers 3
// requests and then goes silent (its TCP stack still acknowledges), every
// 150 ms for about 5 s: Device unresponsive, Major, T0881, on 10.77.0.1.
// The engine ignores requests sent in the last 3 s of a capture (they may
// have been answered after it), so the poller goes on long enough for more
// than 8 unanswered requests to be older. The polling baseline raises none.
func TestUnresponsive(t *testing.T) {
	n := scenario.New(t)
	base := modbusBaseline(t, n)
	srv := n.ServeSilentModbus(t, 3)
	var res scenario.ModbusResult
	path := n.Capture(t, "unresponsive", func() {
		res = n.RunModbus(t, scenario.ModbusOps{
			Ops:     []scenario.ModbusOp{{FC: scenario.FCReadHoldingRegisters, Address: 0, Quantity: 10}},
			Repeat:  35,
			Period:  150 * time.Millisecond,
			Timeout: 100 * time.Millisecond,
		})
	})
	if res.Responses != 3 || res.Timeouts != 32 || srv.Ignored() != 32 {
		t.Fatalf("client %+v, server ignored %d", res, srv.Ignored())
	}

	s0, _ := run(t, []string{base}, nil, detect.Config{})
	logAlerts(t, "polling baseline", s0)
	none(t, "baseline", s0, alert.RuleUnresponsive)

	s, det := run(t, []string{path}, nil, detect.Config{})
	logAlerts(t, "silent device", s)
	expect(t, s, want{rule: alert.RuleUnresponsive, src: "", dst: hostIP.String(), min: 1})
	t.Logf("snippets checked with tshark: %d", checkSnippets(t, det, scenarioAddrs(), netip.Prefix{}))
}

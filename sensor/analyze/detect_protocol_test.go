package analyze_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// TestDetectMalformedDNP3 checks the protocol engine on DNP3-Malformed.pcap,
// a fuzzing capture: 192.168.0.1 sends 195 DNP3 PDUs that tshark calls
// malformed to 192.168.0.2:20000, one TCP connection each, and the
// outstation never answers.
func TestDetectMalformedDNP3(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	p := pcapPath(t, "dnp3/DNP3-Malformed.pcap")
	r := ck.run(t, []string{p}, analyze.DetectOptions{})
	as := expectAlerts(t, r.alerts, []wantAlert{
		// Two malformed PDUs in one session within 10 min: raised once
		// for the window.
		{rule: alert.RuleMalformed, src: "192.168.0.1", dst: "192.168.0.2", count: 1},
		// The first frame's link header says a length below 5.
		{rule: alert.RuleBadLength, src: "192.168.0.1", dst: "192.168.0.2", function: "link length below 5", count: 1},
		// 8 requests without a response within 5 min.
		{rule: alert.RuleUnresponsive, dst: "192.168.0.2", count: 1},
	})
	if a := as[0]; a != nil {
		if ev := a.Evidence[0]; ev.Protocol != "dnp3" || !strings.Contains(ev.Detail, "2 malformed PDUs in one session") {
			t.Errorf("malformed evidence %+v", ev)
		}
	}
	if r.sum.Violations["dnp3:malformed"] < 2 {
		t.Errorf("summary counts %d DNP3 malformed violations, want ≥ 2: %v", r.sum.Violations["dnp3:malformed"],
			r.sum.Violations)
	}
	if !haveTool("tshark") {
		return
	}
	rows := tsharkFields(t, p, "dnp3 && _ws.malformed && ip.src == 192.168.0.1 && ip.dst == 192.168.0.2", "frame.number")
	if len(rows) < 2 {
		t.Errorf("tshark finds %d malformed DNP3 frames from 192.168.0.1 to 192.168.0.2, the test expects ≥ 2", len(rows))
	}
}

// cleanCaptures have no malformed frame for tshark (checked below) and must
// raise no protocol-engine alert.
var cleanCaptures = []string{
	"dnp3/read_and_response.pcap",
	"dnp3/full_exchange.pcap",
	"modbus/modbus_test.pcap",
	"modbus/ModbusTCP.pcap",
	"s7comm/s7comm_clean.pcap",
	"s7comm/wincc_s400_production.pcapng",
	"enip-cip/EIP-SoftwareUpload.pcap",
	"iec104/090813_diverse.pcap",
	"opcua/open62541_client-server_minimal.pcap",
	"bacnet/bacnet_test.pcap",
}

// TestDetectCleanCapturesNoProtocolAlerts checks that clean captures of
// every OT protocol raise no protocol-violation alert, and that tshark
// indeed finds no malformed frame in them.
func TestDetectCleanCapturesNoProtocolAlerts(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	t.Run("tshark", func(t *testing.T) {
		t.Parallel()
		needTool(t, "tshark")
		needTool(t, "mergecap")
		// One tshark run over all of them, merged.
		merged := filepath.Join(t.TempDir(), "clean.pcapng")
		args := []string{"-a", "-I", "none", "-w", merged}
		for _, c := range cleanCaptures {
			args = append(args, pcapPath(t, c))
		}
		if out, err := exec.Command("mergecap", args...).CombinedOutput(); err != nil {
			t.Fatalf("mergecap: %v: %s", err, out)
		}
		rows := tsharkFields(t, merged, "_ws.malformed || _ws.expert.severity == error", "frame.interface_id",
			"_ws.expert.message")
		for _, r := range rows {
			i := atoi(t, r[0])
			t.Errorf("tshark: %s has a malformed frame (%s): not a clean capture", cleanCaptures[i], r[1])
		}
	})
	for _, c := range cleanCaptures {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			r := ck.run(t, []string{pcapPath(t, c)}, analyze.DetectOptions{})
			if r.sum.Transactions == 0 {
				t.Errorf("no transaction decoded: the capture tests nothing")
			}
			if bad := ofEngine(r.alerts, alert.EngineProtocol); len(bad) > 0 {
				t.Errorf("protocol-engine alerts on a clean capture:%s", describe(bad))
			}
		})
	}
}

package analyze_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// writeRule is a custom rule on the Modbus writes of modbus_test.pcap:
// Write Single Register (FC 6) to registers lo..hi.
func writeRule(name string, lo, hi string) detect.CustomRule {
	return detect.CustomRule{
		Name:     name,
		Severity: "critical",
		Conditions: []detect.Condition{
			{Field: "protocol", Op: "==", Value: "modbus"},
			{Field: "function", Op: "==", Value: "6"},
			{Field: "addr_start", Op: "in_range", Values: []string{lo, hi}},
		},
		Sources:    []netip.Prefix{netip.MustParsePrefix("192.168.0.0/24")},
		Techniques: []string{"T0836"},
	}
}

// TestDetectCustomRules runs operators' custom rules on real traffic.
// modbus/modbus_test.pcap: 192.168.0.156 writes register 4 of unit 7 on
// 192.168.0.20 with FC 6, and twice register 5 (tshark counts the writes
// per register below, so the expected counts do not come from the
// dissector). enip-cip/EIP-LockPLCAttempt.pcap: three Logix Acquire Lock
// requests (service 0x4B on class 0x8E) and three 0x4B requests on class
// 0xAC that a rule on the class must leave out.
func TestDetectCustomRules(t *testing.T) {
	t.Parallel()
	needTool(t, "tshark")
	ck := newChecker(t)
	mb := pcapPath(t, "modbus/modbus_test.pcap")
	writes := map[uint64]uint64{} // FC 6 requests by register
	var all uint64
	for _, q := range tsharkModbus(t, mb)[0].reqs {
		if q.fc == 6 {
			if q.src != "192.168.0.156" || q.dst != "192.168.0.20" {
				t.Fatalf("tshark: FC 6 from %s to %s; the test expects only 192.168.0.156 → 192.168.0.20", q.src, q.dst)
			}
			writes[q.start]++
			all++
		}
	}
	if len(writes) != 2 || writes[5] == 0 || writes[4] == 0 {
		t.Fatalf("tshark: FC 6 writes by register %v: the test expects registers 4 and 5", writes)
	}

	t.Run("alert", func(t *testing.T) {
		t.Parallel()
		cfg := detect.Config{Custom: []detect.CustomRule{
			writeRule("low registers", "0", "10"),
			writeRule("register 5", "5", "5"),
			writeRule("high registers", "100", "0x200"), // matches nothing
		}}
		r := ck.run(t, []string{mb}, analyze.DetectOptions{Config: cfg})
		got := expectAlerts(t, ofEngine(r.alerts, alert.EngineCustom), []wantAlert{
			{rule: alert.RuleCustom, src: "192.168.0.156", dst: "192.168.0.20", function: "Write Single Register (6)",
				count: all, severity: alert.Critical,
				title: "Custom rule: low registers: Write Single Register (6) 192.168.0.156 → 192.168.0.20"},
			// The two rules share rule ID, devices and function: the
			// title (with the rule's name) tells them apart.
			{rule: alert.RuleCustom, src: "192.168.0.156", dst: "192.168.0.20", function: "Write Single Register (6)",
				count: writes[5], severity: alert.Critical,
				title: "Custom rule: register 5: Write Single Register (6) 192.168.0.156 → 192.168.0.20"},
		})
		for _, a := range got {
			if a != nil && (!slices.Contains(a.Techniques, "T0836") || a.Learnable ||
				!strings.Contains(a.Evidence[0].Detail, "custom rule")) {
				t.Errorf("%s: techniques %v, learnable %v, evidence %q", alertKey(a), a.Techniques, a.Learnable,
					a.Evidence[0].Detail)
			}
		}
	})

	t.Run("count within", func(t *testing.T) {
		t.Parallel()
		// All the writes fall within 10 min: a rule that needs exactly as
		// many raises once, a rule that needs one more never.
		enough, more := writeRule("enough", "0", "10"), writeRule("more", "0", "10")
		enough.Count, more.Count = int(all), int(all)+1
		enough.Within, more.Within = detect.Duration(10*time.Minute), detect.Duration(10*time.Minute)
		r := ck.run(t, []string{mb}, analyze.DetectOptions{Config: detect.Config{Custom: []detect.CustomRule{enough, more}}})
		expectAlerts(t, ofEngine(r.alerts, alert.EngineCustom), []wantAlert{
			{rule: alert.RuleCustom, src: "192.168.0.156", dst: "192.168.0.20", function: "Write Single Register (6)",
				count: 1, severity: alert.Critical,
				title: "Custom rule: enough: Write Single Register (6) 192.168.0.156 → 192.168.0.20"},
		})
	})

	t.Run("record", func(t *testing.T) {
		t.Parallel()
		rule := writeRule("record writes", "0", "10")
		rule.Action = "record"
		r := ck.run(t, []string{mb}, analyze.DetectOptions{Config: detect.Config{Custom: []detect.CustomRule{rule}}})
		if bad := ofEngine(r.alerts, alert.EngineCustom); len(bad) > 0 {
			t.Errorf("a record-only rule raised alerts:%s", describe(bad))
		}
		recs := r.det.Engine.Records()
		if uint64(len(recs)) != all || r.det.Engine.Stats().Records != all {
			t.Fatalf("%d records (stats %d), tshark counts %d writes", len(recs), r.det.Engine.Stats().Records, all)
		}
		for _, rec := range recs {
			if rec.Rule != "record writes" || rec.Protocol != "modbus" || rec.Function != "Write Single Register (6)" ||
				!strings.HasPrefix(rec.Src, "192.168.0.156:") || rec.Dst != "192.168.0.20:502" || rec.Time.IsZero() {
				t.Errorf("record %+v", rec)
				break
			}
		}
	})

	t.Run("cip attribute", func(t *testing.T) {
		t.Parallel()
		// The lock's request path is class 0x8E instance 1, then class
		// 0x74 instance 1; the dissector's "class" attribute is the last
		// class of the path.
		rule := detect.CustomRule{Name: "lock", Severity: "minor", Conditions: []detect.Condition{
			{Field: "attr.class", Op: "in_set", Values: []string{"0x74", "0x8e"}},
			{Field: "function", Op: "==", Value: "0x4b"},
			{Field: "op", Op: "==", Value: "control"},
		}}
		r := ck.run(t, []string{pcapPath(t, "enip-cip/EIP-LockPLCAttempt.pcap")},
			analyze.DetectOptions{Config: detect.Config{Custom: []detect.CustomRule{rule}}})
		expectAlerts(t, ofEngine(r.alerts, alert.EngineCustom), []wantAlert{
			{rule: alert.RuleCustom, src: "192.168.10.105", dst: "192.168.10.120", function: "Logix Acquire Lock (75)",
				count: 3, severity: alert.Minor,
				title: "Custom rule: lock: Logix Acquire Lock (75) 192.168.10.105 → 192.168.10.120"},
		})
	})
}

// TestDetectCustomRuleValidation checks that bad custom rules are refused,
// by Validate and by the analysis, with errors that name the problem.
func TestDetectCustomRuleValidation(t *testing.T) {
	t.Parallel()
	good := writeRule("ok", "0", "10")
	cases := []struct {
		name   string
		edit   func(r *detect.CustomRule)
		errHas []string
	}{
		{"unknown field", func(r *detect.CustomRule) { r.Conditions[1].Field = "fnction" },
			[]string{"custom rule 1 (bad)", "condition 2", `unknown field "fnction"`}},
		{"unknown operator", func(r *detect.CustomRule) { r.Conditions[0].Op = "~=" },
			[]string{"condition 1", `unknown operator "~="`}},
		{"range of one value", func(r *detect.CustomRule) { r.Conditions[2].Values = []string{"4"} },
			[]string{"condition 3", "in_range needs values [min, max]"}},
		{"range upside down", func(r *detect.CustomRule) { r.Conditions[2].Values = []string{"10", "0"} },
			[]string{"condition 3", "min <= max"}},
		{"order on a string", func(r *detect.CustomRule) { r.Conditions[0].Op = "<" },
			[]string{"condition 1", `< needs a number, got "modbus"`}},
		{"no value", func(r *detect.CustomRule) { r.Conditions[1].Value = "" },
			[]string{"condition 2", "== needs a value"}},
		{"severity", func(r *detect.CustomRule) { r.Severity = "severe" }, []string{`unknown severity "severe"`}},
		{"action", func(r *detect.CustomRule) { r.Action = "drop" }, []string{`action "drop": want alert or record`}},
		{"technique", func(r *detect.CustomRule) { r.Techniques = []string{"T0999"} }, []string{"T0999", "ICS range"}},
		{"no condition", func(r *detect.CustomRule) { r.Conditions = nil }, []string{"at least one condition"}},
		{"no name", func(r *detect.CustomRule) { r.Name = " " }, []string{"needs a name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good
			r.Name = "bad"
			r.Conditions = slices.Clone(good.Conditions)
			for i := range r.Conditions {
				r.Conditions[i].Values = slices.Clone(good.Conditions[i].Values)
			}
			c.edit(&r)
			cfg := detect.Config{Custom: []detect.CustomRule{r}}
			err := cfg.Validate()
			if err == nil {
				t.Fatalf("Validate accepted the rule %+v", r)
			}
			for _, s := range c.errHas {
				if s == "custom rule 1 (bad)" && r.Name != "bad" {
					continue
				}
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			// The analysis refuses it before reading any packet.
			_, _, rerr := analyze.RunDetect(t.Context(), []string{pcapPath(t, "modbus/modbus_test.pcap")},
				analyze.Options{}, analyze.DetectOptions{Config: detect.Config{Custom: []detect.CustomRule{r}}})
			if rerr == nil || !strings.Contains(rerr.Error(), c.errHas[len(c.errHas)-1]) {
				t.Errorf("RunDetect: %v, want the validation error", rerr)
			}
		})
	}
	cfg := detect.Config{Custom: []detect.CustomRule{good}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("a good rule refused: %v", err)
	}
}

package analyze_test

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// mbRequest is one Modbus/TCP request PDU as tshark reads it.
type mbRequest struct {
	src, dst   string
	unit, fc   uint64
	space      string // "" when the function addresses no register
	start, end uint64
}

// modbusFacts are what tshark says about a capture: its IP addresses and
// its Modbus requests (to port 502).
type modbusFacts struct {
	ips  map[string]bool
	reqs []mbRequest
}

// splitList splits a tshark aggregate ("1,2,3"); an empty field is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// tsharkModbus reads the IP addresses and Modbus requests of a capture
// with tshark. A TCP segment may carry several Modbus/TCP frames: the
// unit, function and reference lists run in parallel, and the word and
// bit counts are taken in order by the functions that have them.
func tsharkModbus(tb testing.TB, path string) *modbusFacts {
	tb.Helper()
	rows := tsharkFields(tb, path, "", "ip.src", "ip.dst", "tcp.dstport", "mbtcp.unit_id", "modbus.func_code",
		"modbus.reference_num", "modbus.word_cnt", "modbus.bit_cnt")
	f := &modbusFacts{ips: map[string]bool{}}
	num := func(s string) uint64 {
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			tb.Fatalf("tshark field %q in %s: %v", s, filepath.Base(path), err)
		}
		return n
	}
	for _, r := range rows {
		for _, ip := range append(splitList(r[0]), splitList(r[1])...) {
			f.ips[ip] = true
		}
		if r[2] != "502" || r[4] == "" {
			continue
		}
		units, fcs, refs := splitList(r[3]), splitList(r[4]), splitList(r[5])
		words, bits := splitList(r[6]), splitList(r[7])
		if len(units) != len(fcs) {
			tb.Fatalf("%s: tshark row %v: %d units for %d functions", filepath.Base(path), r, len(units), len(fcs))
		}
		take := func(l *[]string) uint64 {
			if len(*l) == 0 {
				tb.Fatalf("%s: tshark row %v: a count is missing", filepath.Base(path), r)
			}
			v := num((*l)[0])
			*l = (*l)[1:]
			return v
		}
		for k := range fcs {
			q := mbRequest{src: r[0], dst: r[1], unit: num(units[k]), fc: num(fcs[k])}
			var n uint64 = 1
			switch q.fc {
			case 1, 15:
				q.space = "coil"
			case 2:
				q.space = "discrete_input"
			case 3, 16, 6:
				q.space = "holding_register"
			case 4:
				q.space = "input_register"
			case 5:
				q.space = "coil"
			case 8, 43:
			default:
				tb.Fatalf("%s: Modbus function %d: the test's expectation does not model it", filepath.Base(path), q.fc)
			}
			if q.space != "" {
				q.start = take(&refs)
				switch q.fc {
				case 1, 2, 15:
					n = take(&bits)
				case 3, 4, 16:
					n = take(&words)
				}
				q.end = q.start + max(n, 1) - 1
			}
			f.reqs = append(f.reqs, q)
		}
	}
	return f
}

// usableIP reports whether an address can be a device (not unspecified,
// broadcast or multicast).
func usableIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// rangeSet is a merged set of inclusive address ranges.
type rangeSet [][2]uint64

func (rs rangeSet) add(lo, hi uint64) rangeSet {
	rs = append(rs, [2]uint64{lo, hi})
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r[0] <= last[1]+1 {
			last[1] = max(last[1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

func (rs rangeSet) contains(lo, hi uint64) bool {
	for _, r := range rs {
		if lo >= r[0] && hi <= r[1] {
			return true
		}
	}
	return false
}

// policyKey identifies an expected policy alert: rule, source,
// destination and function ("fc N" for an unpermitted function).
type policyKey struct{ rule, src, dst, fn string }

func (k policyKey) String() string { return k.rule + " " + k.src + " → " + k.dst + " [" + k.fn + "]" }

// expectModbusPolicy computes, from tshark's facts alone, the policy
// alerts that detecting on det after learning on lrn must raise, with their
// counts (0: not checked): new assets, new communications and new ports
// for Modbus devices and pairs absent from lrn; an unpermitted function
// for every (client, server, function) absent from lrn, counted per
// request; and an address range violation for every request whose range
// lies outside the ranges lrn used on the same pair, unit and space
// (merged when they overlap or touch), counted per request.
func expectModbusPolicy(tb testing.TB, lrn, det *modbusFacts) map[policyKey]uint64 {
	tb.Helper()
	type triple struct {
		src, dst string
		fc       uint64
	}
	type space struct {
		src, dst, name string
		unit           uint64
	}
	ops := map[triple]bool{}
	pairs := map[[2]string]bool{}
	servers := map[string]bool{}
	learned := map[space]rangeSet{}
	for _, q := range lrn.reqs {
		ops[triple{q.src, q.dst, q.fc}] = true
		pairs[[2]string{q.src, q.dst}] = true
		servers[q.dst] = true
		if q.space != "" {
			s := space{q.src, q.dst, q.space, q.unit}
			learned[s] = learned[s].add(q.start, q.end)
		}
	}
	for s, rs := range learned {
		if len(rs) > 64 {
			tb.Fatalf("%+v: %d disjoint learned ranges, beyond the baseline's cap of 64: the expectation does not model "+
				"the cap's merging", s, len(rs))
		}
	}
	want := map[policyKey]uint64{}
	for _, q := range det.reqs {
		for _, h := range []string{q.src, q.dst} {
			if usableIP(h) && !lrn.ips[h] {
				want[policyKey{alert.RuleNewAsset, h, "", ""}] = 0
			}
		}
		if !pairs[[2]string{q.src, q.dst}] {
			want[policyKey{alert.RuleNewCommunication, q.src, q.dst, "502"}] = 0
		}
		if !servers[q.dst] {
			want[policyKey{alert.RuleNewPort, q.dst, "", "502"}] = 0
		}
		if !ops[triple{q.src, q.dst, q.fc}] {
			want[policyKey{alert.RuleUnpermittedFunc, q.src, q.dst, "fc " + strconv.FormatUint(q.fc, 10)}]++
		}
		if q.space != "" && !learned[space{q.src, q.dst, q.space, q.unit}].contains(q.start, q.end) {
			want[policyKey{alert.RuleModbusRange, q.src, q.dst, fmt.Sprintf("%s %d-%d", q.space, q.start, q.end)}]++
		}
	}
	return want
}

// policyKeyOf is the policyKey of an alert (the function code of an
// unpermitted function is the number in its label's parentheses).
func policyKeyOf(a *alert.Alert) policyKey {
	k := policyKey{a.Rule, devString(a.Src), devString(a.Dst), a.Function}
	if a.Rule == alert.RuleUnpermittedFunc {
		if i := strings.LastIndex(a.Function, "("); i >= 0 && strings.HasSuffix(a.Function, ")") {
			k.fn = "fc " + a.Function[i+1:len(a.Function)-1]
		}
	}
	return k
}

// comparePolicy checks that the policy alerts are exactly the expected
// ones, with the expected counts.
func comparePolicy(tb testing.TB, as []*alert.Alert, want map[policyKey]uint64) {
	tb.Helper()
	got := map[policyKey]*alert.Alert{}
	for _, a := range ofEngine(as, alert.EnginePolicy) {
		k := policyKeyOf(a)
		if got[k] != nil {
			tb.Errorf("two alerts %s", k)
		}
		got[k] = a
	}
	var keys []policyKey
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		a := got[k]
		if a == nil {
			tb.Errorf("missing alert %s (expected ×%d from tshark)", k, want[k])
			continue
		}
		if n := want[k]; n != 0 && a.Count != n {
			tb.Errorf("%s: count %d, tshark counts %d requests", k, a.Count, n)
		}
		if a.Severity != alert.MustRule(k.rule).Severity {
			tb.Errorf("%s: severity %s", k, a.Severity)
		}
		if !a.Learnable || len(a.Items) == 0 {
			tb.Errorf("%s: not learnable (items %v)", k, a.Items)
		}
	}
	for k, a := range got {
		if _, ok := want[k]; !ok {
			tb.Errorf("unexpected alert %s ×%d %q", k, a.Count, a.Title)
		}
	}
}

// countRules counts the expected alerts per rule, for the log.
func countRules(want map[policyKey]uint64) map[string]int {
	m := map[string]int{}
	for k := range want {
		m[k.rule]++
	}
	return m
}

// TestDetectPolicyAcrossCaptures learns on one Modbus capture and detects
// on another, and checks that the policy alerts are exactly what tshark's
// view of the two captures predicts.
func TestDetectPolicyAcrossCaptures(t *testing.T) {
	needTool(t, "tshark")
	ck := newChecker(t)
	for _, c := range []struct {
		learn, detect string
		// minimum expected alerts per rule: the case must test something
		min map[string]int
	}{
		// Same devices (141.81.0.10 polling 14 servers); the longer capture
		// adds Write Multiple Registers (FC 16) to .44 and .46 and reads
		// beyond the learned ranges.
		{"mixed-ot-it/mb2.pcap", "modbus/ModbusTCP.pcap",
			map[string]int{alert.RuleUnpermittedFunc: 2, alert.RuleModbusRange: 1}},
		// Other devices altogether: every Modbus device, pair, served port,
		// function and range is new.
		{"mixed-ot-it/mb2.pcap", "modbus/modbus_test.pcap",
			map[string]int{alert.RuleNewAsset: 6, alert.RuleNewCommunication: 5, alert.RuleNewPort: 1,
				alert.RuleUnpermittedFunc: 5, alert.RuleModbusRange: 1}},
	} {
		t.Run(filepath.Base(c.learn)+"→"+filepath.Base(c.detect), func(t *testing.T) {
			t.Parallel()
			lp, dp := pcapPath(t, c.learn), pcapPath(t, c.detect)
			want := expectModbusPolicy(t, tsharkModbus(t, lp), tsharkModbus(t, dp))
			n := countRules(want)
			for rule, m := range c.min {
				if n[rule] < m {
					t.Fatalf("tshark predicts %d %s alerts, the case needs ≥ %d", n[rule], rule, m)
				}
			}
			r := ck.run(t, []string{dp}, analyze.DetectOptions{Learn: []string{lp}})
			comparePolicy(t, r.alerts, want)
			t.Logf("%d policy alerts as tshark predicts: %v", len(want), n)
		})
	}
}

// TestDetectPolicySplitCapture cuts ModbusTCP.pcap in two by time with
// editcap, learns on the first part and detects on the second, and checks
// that the policy alerts are exactly the second part's traffic that the
// first part lacks, computed from tshark's fields of each part. The cut is
// at the first third: the Write Multiple Registers requests (33–35 s into
// the capture) fall in the second part.
func TestDetectPolicySplitCapture(t *testing.T) {
	needTool(t, "tshark")
	needTool(t, "editcap")
	ck := newChecker(t)
	full := pcapPath(t, "modbus/ModbusTCP.pcap")
	s, err := analyze.Run(context.Background(), []string{full}, analyze.Options{Registry: all.Registry(), NoFields: true})
	if err != nil {
		t.Fatal(err)
	}
	cut := s.First.Add(s.Last.Sub(s.First) / 3)
	at := fmt.Sprintf("%d.%09d", cut.Unix(), cut.Nanosecond())
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.pcap"), filepath.Join(dir, "second.pcap")
	for _, c := range [][]string{{"-B", at, full, first}, {"-A", at, full, second}} {
		if out, err := exec.Command("editcap", c...).CombinedOutput(); err != nil {
			t.Fatalf("editcap %v: %v: %s", c, err, out)
		}
	}
	lf, df := tsharkModbus(t, first), tsharkModbus(t, second)
	if len(lf.reqs) == 0 || len(df.reqs) == 0 {
		t.Fatalf("%d and %d Modbus requests in the parts", len(lf.reqs), len(df.reqs))
	}
	want := expectModbusPolicy(t, lf, df)
	n := countRules(want)
	if n[alert.RuleUnpermittedFunc] != 2 || n[alert.RuleModbusRange] == 0 {
		t.Fatalf("tshark predicts %v: the cut at %s does not put the FC 16 writes (only) in the second part", n,
			cut.Format(time.RFC3339Nano))
	}
	r := ck.run(t, []string{second}, analyze.DetectOptions{Learn: []string{first}})
	if r.det.LearnSummary == nil || r.det.LearnSummary.Packets+r.sum.Packets != s.Packets {
		t.Errorf("the parts hold %d + %d packets, the capture %d", r.det.LearnSummary.Packets, r.sum.Packets, s.Packets)
	}
	comparePolicy(t, r.alerts, want)
	if bad := ofEngine(r.alerts, alert.EngineProtocol); len(bad) > 0 {
		t.Errorf("protocol alerts on a clean capture cut in two:%s", describe(bad))
	}
	t.Logf("cut at %s: %d + %d requests; %d policy alerts as tshark predicts: %v",
		cut.Format(time.RFC3339Nano), len(lf.reqs), len(df.reqs), len(want), n)
}

package analyze_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
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

// tsharkModbus reads the IP addresses and Modbus requests of captures
// with tshark, one tshark per capture, concurrently.
func tsharkModbus(tb testing.TB, paths ...string) []*modbusFacts {
	tb.Helper()
	out := make([]*modbusFacts, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = readModbus(p)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return out
}

// readModbus reads the facts of one capture. A TCP segment may carry
// several Modbus/TCP frames: the unit, function and reference lists run in
// parallel, and the word and bit counts are taken in order by the
// functions that have them.
func readModbus(path string) (*modbusFacts, error) {
	rows, err := tsharkRows(path, "", "ip.src", "ip.dst", "tcp.dstport", "mbtcp.unit_id", "modbus.func_code",
		"modbus.reference_num", "modbus.word_cnt", "modbus.bit_cnt")
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	f := &modbusFacts{ips: map[string]bool{}}
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
			return nil, fmt.Errorf("%s: tshark row %v: %d units for %d functions", name, r, len(units), len(fcs))
		}
		var bad error
		num := func(s string) uint64 {
			n, err := strconv.ParseUint(s, 0, 32)
			if err != nil && bad == nil {
				bad = fmt.Errorf("%s: tshark row %v: %w", name, r, err)
			}
			return n
		}
		take := func(l *[]string) uint64 {
			if len(*l) == 0 {
				if bad == nil {
					bad = fmt.Errorf("%s: tshark row %v: a reference or count is missing", name, r)
				}
				return 0
			}
			v := num((*l)[0])
			*l = (*l)[1:]
			return v
		}
		for k := range fcs {
			q := mbRequest{src: r[0], dst: r[1], unit: num(units[k]), fc: num(fcs[k])}
			switch q.fc {
			case 1, 5, 15:
				q.space = "coil"
			case 2:
				q.space = "discrete_input"
			case 3, 6, 16:
				q.space = "holding_register"
			case 4:
				q.space = "input_register"
			case 8, 43:
			default:
				return nil, fmt.Errorf("%s: Modbus function %d: the test's expectation does not model it", name, q.fc)
			}
			if q.space != "" {
				var n uint64 = 1
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
		if bad != nil {
			return nil, bad
		}
	}
	return f, nil
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

// TestDetectPolicyModbus checks the policy engine on real Modbus traffic:
// learning on one capture and detecting on another, the policy alerts must
// be exactly what tshark's view of the two captures predicts
// (expectModbusPolicy), with their counts.
//
//   - mb2.pcap → ModbusTCP.pcap: the same devices (141.81.0.10 polling 14
//     servers); the longer capture adds Write Multiple Registers (FC 16) to
//     .44 and .46 and reads beyond the learned ranges.
//   - mb2.pcap → modbus_test.pcap: other devices altogether: every Modbus
//     device, pair, served port, function and range is new.
//   - ModbusTCP.pcap cut in two by time with editcap, at the first third:
//     learning on the first part, the alerts on the second are the traffic
//     the first part lacks, computed from tshark's fields of each part; the
//     FC 16 writes (33–35 s into the capture) fall in the second part.
func TestDetectPolicyModbus(t *testing.T) {
	t.Parallel()
	needTool(t, "tshark")
	needTool(t, "editcap")
	ck := newChecker(t)
	mb2, tcp, test := pcapPath(t, "mixed-ot-it/mb2.pcap"), pcapPath(t, "modbus/ModbusTCP.pcap"),
		pcapPath(t, "modbus/modbus_test.pcap")

	// The cut, at the first third of ModbusTCP.pcap's span.
	raw, err := os.ReadFile(tcp)
	if err != nil {
		t.Fatal(err)
	}
	_, times, err := snippetFrames(raw) // a classic pcap file, like the snippets
	if err != nil || len(times) == 0 {
		t.Fatalf("reading %s: %d frames: %v", tcp, len(times), err)
	}
	cut := times[0].Add(times[len(times)-1].Sub(times[0]) / 3)
	at := fmt.Sprintf("%d.%09d", cut.Unix(), cut.Nanosecond())
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.pcap"), filepath.Join(dir, "second.pcap")
	for _, c := range [][]string{{"-B", at, tcp, first}, {"-A", at, tcp, second}} {
		if out, err := exec.Command("editcap", c...).CombinedOutput(); err != nil {
			t.Fatalf("editcap %v: %v: %s", c, err, out)
		}
	}
	facts := map[string]*modbusFacts{}
	paths := []string{mb2, tcp, test, first, second}
	for i, f := range tsharkModbus(t, paths...) {
		facts[paths[i]] = f
	}
	if len(facts[first].reqs) == 0 || len(facts[second].reqs) == 0 {
		t.Fatalf("%d and %d Modbus requests in the parts", len(facts[first].reqs), len(facts[second].reqs))
	}

	for _, c := range []struct {
		name          string
		learn, detect string
		// expected alerts per rule, at least: the case must test something
		min map[string]int
		// alerts per rule, exactly (when set)
		exact map[string]int
	}{
		{"mb2→ModbusTCP", mb2, tcp, map[string]int{alert.RuleUnpermittedFunc: 2, alert.RuleModbusRange: 1}, nil},
		{"mb2→modbus_test", mb2, test, map[string]int{alert.RuleNewAsset: 6, alert.RuleNewCommunication: 5,
			alert.RuleNewPort: 1, alert.RuleUnpermittedFunc: 5, alert.RuleModbusRange: 1}, nil},
		{"ModbusTCP cut in two", first, second, map[string]int{alert.RuleModbusRange: 1},
			map[string]int{alert.RuleUnpermittedFunc: 2, alert.RuleNewAsset: 0, alert.RuleNewCommunication: 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := expectModbusPolicy(t, facts[c.learn], facts[c.detect])
			n := countRules(want)
			for rule, m := range c.min {
				if n[rule] < m {
					t.Fatalf("tshark predicts %d %s alerts, the case needs ≥ %d: %v", n[rule], rule, m, n)
				}
			}
			for rule, m := range c.exact {
				if n[rule] != m {
					t.Fatalf("tshark predicts %d %s alerts, the case needs %d: %v (cut at %s)", n[rule], rule, m, n,
						cut.Format(time.RFC3339Nano))
				}
			}
			r := ck.run(t, []string{c.detect}, analyze.DetectOptions{Learn: []string{c.learn}})
			comparePolicy(t, r.alerts, want)
			if bad := ofEngine(r.alerts, alert.EngineProtocol); len(bad) > 0 {
				t.Errorf("protocol alerts on clean Modbus traffic:%s", describe(bad))
			}
			if c.learn == first && r.det.LearnSummary.Packets+r.sum.Packets != uint64(len(times)) {
				t.Errorf("the parts hold %d + %d packets, the capture %d", r.det.LearnSummary.Packets, r.sum.Packets,
					len(times))
			}
			t.Logf("%d + %d requests; %d policy alerts as tshark predicts: %v", len(facts[c.learn].reqs),
				len(facts[c.detect].reqs), len(want), n)
		})
	}
}

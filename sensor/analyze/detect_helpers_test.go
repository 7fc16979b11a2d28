package analyze_test

// Helpers of the detection acceptance tests (detect_*_test.go): running
// captures through analyze.RunDetect, matching the alerts against exact
// expectations, and checking every alert raised against the catalogue and
// its pcap snippet (parsed here, then opened with tshark).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
)

// pcapPath returns the absolute path of pcaps/<rel> in the repository.
func pcapPath(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(dissectortest.RepoRoot(tb), "pcaps", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("capture %s: %v", rel, err)
	}
	return p
}

// repoPath returns the absolute path of a file of the repository.
func repoPath(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(dissectortest.RepoRoot(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return p
}

// needTool skips the test when a command-line tool is missing.
func needTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("%s not installed: skipped", name)
	}
	return p
}

// haveTool reports whether a command-line tool is installed.
func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// detectRun is one analysis with the detection engines.
type detectRun struct {
	sum    *analyze.Summary
	det    *analyze.Detection
	alerts []*alert.Alert // det.Book.Alerts(false) after the run
}

// runDetect analyses paths with the engines (learning first on dopt.Learn)
// and returns the outcome. A capture cut short is not a failure.
func runDetect(tb testing.TB, paths []string, dopt analyze.DetectOptions) *detectRun {
	tb.Helper()
	sum, det, err := analyze.RunDetect(context.Background(), paths,
		analyze.Options{Registry: all.Registry(), NoFields: true}, dopt)
	if err != nil {
		var fe *capture.FileError
		if !errors.As(err, &fe) || sum == nil || det == nil {
			tb.Fatalf("RunDetect(%v, learn %v): %v", names(paths), names(dopt.Learn), err)
		}
		tb.Logf("read error (capture cut short): %v", err)
	}
	if sum.Baseline == nil {
		tb.Fatalf("RunDetect(%v): summary without a baseline", names(paths))
	}
	if len(sum.Alerts) != len(det.Book.Alerts(false)) {
		tb.Errorf("summary lists %d alerts, the book holds %d", len(sum.Alerts), len(det.Book.Alerts(false)))
	}
	return &detectRun{sum: sum, det: det, alerts: det.Book.Alerts(false)}
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// checker checks, when its test ends, every alert its runs raised: the
// catalogue (rule, engine, techniques) and the pcap snippet (item 11 of the
// acceptance tests).
type checker struct {
	mu     sync.Mutex
	alerts []*alert.Alert
}

// newChecker returns a checker whose checks run when t and its subtests
// have finished.
func newChecker(t *testing.T) *checker {
	c := &checker{}
	t.Cleanup(func() {
		c.mu.Lock()
		as := c.alerts
		c.mu.Unlock()
		checkAlerts(t, as)
	})
	return c
}

// run is runDetect, with the alerts kept for the final checks.
func (c *checker) run(tb testing.TB, paths []string, dopt analyze.DetectOptions) *detectRun {
	tb.Helper()
	r := runDetect(tb, paths, dopt)
	c.add(r.alerts...)
	return r
}

// add keeps alerts for the final checks.
func (c *checker) add(as ...*alert.Alert) {
	c.mu.Lock()
	c.alerts = append(c.alerts, as...)
	c.mu.Unlock()
}

// devString names an alert's device as the summary does: IP, else MAC,
// else name.
func devString(d alert.Device) string {
	switch {
	case d.IP != "":
		return d.IP
	case d.MAC != "":
		return d.MAC
	}
	return d.Name
}

// wantAlert is one expected alert.
type wantAlert struct {
	rule     string
	src, dst string // IP, else MAC; "" when the alert has no such side
	function string // the alert's Function
	count    uint64 // 0: not checked
	severity alert.Severity
	// title, when set, must be the alert's title.
	title string
}

// key identifies the wanted alert as the book aggregates alerts: rule,
// devices and function, and the title for custom rules.
func (w wantAlert) key() string {
	k := w.rule + " " + w.src + " → " + w.dst + " [" + w.function + "]"
	if w.rule == alert.RuleCustom {
		k += " " + w.title
	}
	return k
}

// alertKey is wantAlert.key of an alert.
func alertKey(a *alert.Alert) string {
	k := a.Rule + " " + devString(a.Src) + " → " + devString(a.Dst) + " [" + a.Function + "]"
	if a.Rule == alert.RuleCustom {
		k += " " + a.Title
	}
	return k
}

// describe lists alerts one per line, for failure messages.
func describe(as []*alert.Alert) string {
	var sb strings.Builder
	for _, a := range as {
		fmt.Fprintf(&sb, "\n\t%s ×%d %s %q", alertKey(a), a.Count, a.Severity, a.Title)
	}
	if len(as) == 0 {
		sb.WriteString(" (none)")
	}
	return sb.String()
}

// only returns the alerts of the given rules (all alerts when none given).
func only(as []*alert.Alert, rules ...string) []*alert.Alert {
	var out []*alert.Alert
	for _, a := range as {
		if len(rules) == 0 || slices.Contains(rules, a.Rule) {
			out = append(out, a)
		}
	}
	return out
}

// ofEngine returns the alerts of one engine.
func ofEngine(as []*alert.Alert, e alert.Engine) []*alert.Alert {
	var out []*alert.Alert
	for _, a := range as {
		if a.Engine == e {
			out = append(out, a)
		}
	}
	return out
}

// expectAlerts checks that as are exactly the wanted alerts, one alert for
// each, with the catalogue's severity unless the want says otherwise, and
// returns the alerts in the order of wants.
func expectAlerts(tb testing.TB, as []*alert.Alert, wants []wantAlert) []*alert.Alert {
	tb.Helper()
	got := map[string][]*alert.Alert{}
	for _, a := range as {
		got[alertKey(a)] = append(got[alertKey(a)], a)
	}
	out := make([]*alert.Alert, len(wants))
	seen := map[string]bool{}
	for i, w := range wants {
		k := w.key()
		if seen[k] {
			tb.Fatalf("want %s twice", k)
		}
		seen[k] = true
		m := got[k]
		if len(m) != 1 {
			tb.Errorf("want one alert %s, got %d; alerts:%s", k, len(m), describe(as))
			continue
		}
		a := m[0]
		out[i] = a
		sev := w.severity
		if sev == 0 {
			sev = alert.MustRule(w.rule).Severity
		}
		if a.Severity != sev {
			tb.Errorf("%s: severity %s, want %s", k, a.Severity, sev)
		}
		if w.count != 0 && a.Count != w.count {
			tb.Errorf("%s: count %d, want %d", k, a.Count, w.count)
		}
		if w.title != "" && a.Title != w.title {
			tb.Errorf("%s: title %q, want %q", k, a.Title, w.title)
		}
	}
	for k, m := range got {
		if !seen[k] {
			for _, a := range m {
				tb.Errorf("unexpected alert %s ×%d %q", k, a.Count, a.Title)
			}
		}
	}
	return out
}

// snippetFrames parses a pcap snippet (classic pcap, either byte order,
// micro- or nanosecond timestamps) and returns its link type and the
// timestamps of its frames.
func snippetFrames(b []byte) (link uint32, times []time.Time, err error) {
	if len(b) < 24 {
		return 0, nil, fmt.Errorf("snippet of %d bytes: no pcap header", len(b))
	}
	var bo binary.ByteOrder
	nano := false
	switch {
	case binary.LittleEndian.Uint32(b) == 0xa1b2c3d4:
		bo = binary.LittleEndian
	case binary.LittleEndian.Uint32(b) == 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(b) == 0xa1b2c3d4:
		bo = binary.BigEndian
	case binary.BigEndian.Uint32(b) == 0xa1b23c4d:
		bo, nano = binary.BigEndian, true
	default:
		return 0, nil, fmt.Errorf("snippet: magic %#x is not pcap", binary.LittleEndian.Uint32(b))
	}
	snap := bo.Uint32(b[16:])
	link = bo.Uint32(b[20:])
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return link, times, fmt.Errorf("snippet: record header cut at byte %d", off)
		}
		sec, frac := bo.Uint32(b[off:]), bo.Uint32(b[off+4:])
		capLen, wireLen := bo.Uint32(b[off+8:]), bo.Uint32(b[off+12:])
		if capLen > snap || capLen > wireLen || int(capLen) > len(b)-off-16 {
			return link, times, fmt.Errorf("snippet: record %d: captured %d bytes, wire %d, snap %d, %d left",
				len(times)+1, capLen, wireLen, snap, len(b)-off-16)
		}
		ns := int64(frac)
		if !nano {
			ns *= 1000
		}
		times = append(times, time.Unix(int64(sec), ns).UTC())
		off += 16 + int(capLen)
	}
	return link, times, nil
}

// knownSnippetGaps are rules whose snippet may start after the evidence's
// frame, with the reason; checkAlerts logs these instead of failing.
var knownSnippetGaps = map[string]string{
	alert.RuleUnresponsive: "the alert is raised when the flow goes on after the held unanswered requests, and " +
		"the snippet holds the flow's newest packets (64 at most), which may no longer include the request",
}

// functionFields are the tshark fields that carry the function code of an
// alert's evidence, per protocol (as the dissectors number functions).
var functionFields = map[string]string{
	"modbus": "modbus.func_code",
	"dnp3":   "dnp3.al.func",
	"cip":    "cip.sc",
	"s7comm": "s7comm.param.func",
	"enip":   "enip.command",
}

// checkAlerts checks every alert against the catalogue and its snippet:
// techniques valid and including the catalogue's, a snippet that parses
// with at least one frame and holds the frame of the first evidence (same
// timestamp), and, with tshark, that the snippets open in tshark (merged
// with mergecap, one interface per snippet) with the same number of frames
// and, for transactions, the evidence's function code in one of them.
func checkAlerts(t *testing.T, as []*alert.Alert) {
	t.Helper()
	byID := map[string]*alert.Alert{}
	var ids []string
	for _, a := range as {
		if _, ok := byID[a.ID]; !ok {
			ids = append(ids, a.ID)
		}
		byID[a.ID] = a // the latest copy
	}
	sort.Strings(ids)
	type snip struct {
		a     *alert.Alert
		times []time.Time
	}
	var snips []snip
	for _, id := range ids {
		a := byID[id]
		r, ok := alert.Lookup(a.Rule)
		if !ok {
			t.Errorf("alert %s: rule %q not in the catalogue", a.ID, a.Rule)
			continue
		}
		if a.Engine != r.Engine || a.Category != r.Category {
			t.Errorf("alert %s: engine %s, category %q; the catalogue says %s, %q", alertKey(a), a.Engine, a.Category,
				r.Engine, r.Category)
		}
		if !strings.HasPrefix(a.Title, r.Title) {
			t.Errorf("alert %s: title %q does not start with the rule's %q", alertKey(a), a.Title, r.Title)
		}
		for _, tech := range a.Techniques {
			if err := alert.ValidTechnique(tech); err != nil {
				t.Errorf("alert %s: %v", alertKey(a), err)
			}
		}
		for _, tech := range r.Techniques {
			if !slices.Contains(a.Techniques, tech) {
				t.Errorf("alert %s: techniques %v lack the catalogue's %s", alertKey(a), a.Techniques, tech)
			}
		}
		if a.Count == 0 || a.FirstSeen.IsZero() || a.LastSeen.Before(a.FirstSeen) {
			t.Errorf("alert %s: count %d, first seen %v, last seen %v", alertKey(a), a.Count, a.FirstSeen, a.LastSeen)
		}
		if len(a.Evidence) == 0 {
			t.Errorf("alert %s: no evidence", alertKey(a))
			continue
		}
		if len(a.Snippet) == 0 {
			t.Errorf("alert %s: no pcap snippet (trigger %+v)", alertKey(a), a.Trigger)
			continue
		}
		_, times, err := snippetFrames(a.Snippet)
		if err != nil || len(times) == 0 {
			t.Errorf("alert %s: snippet of %d bytes, %d frames: %v", alertKey(a), len(a.Snippet), len(times), err)
			continue
		}
		ev := a.Evidence[0].Time.UTC()
		if !slices.ContainsFunc(times, ev.Equal) {
			if why, ok := knownSnippetGaps[a.Rule]; ok && ev.Before(times[0]) {
				t.Logf("alert %s: the snippet's %d frames start at %v, after the evidence's frame at %v: known gap: %s",
					alertKey(a), len(times), times[0], ev, why)
			} else {
				t.Errorf("alert %s: the snippet's %d frames (%v … %v) lack the evidence's frame at %v", alertKey(a),
					len(times), times[0], times[len(times)-1], ev)
			}
		}
		snips = append(snips, snip{a, times})
	}
	if len(snips) == 0 || !haveTool("tshark") || !haveTool("mergecap") {
		if len(snips) > 0 {
			t.Logf("tshark or mergecap not installed: %d snippets checked without them", len(snips))
		}
		return
	}
	const maxFiles = 400 // mergecap's open files; beyond, check the first ones
	if len(snips) > maxFiles {
		snips = snips[:maxFiles]
	}
	dir := t.TempDir()
	files := make([]string, len(snips))
	for i, s := range snips {
		files[i] = filepath.Join(dir, fmt.Sprintf("s%04d.pcap", i))
		if err := os.WriteFile(files[i], s.a.Snippet, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "all.pcapng")
	args := append([]string{"-a", "-I", "none", "-w", merged}, files...)
	if out, err := exec.Command("mergecap", args...).CombinedOutput(); err != nil {
		t.Errorf("mergecap of %d snippets: %v: %s", len(files), err, out)
		return
	}
	fields := []string{"frame.interface_id"}
	protos := make([]string, 0, len(functionFields))
	for p := range functionFields {
		protos = append(protos, p)
	}
	sort.Strings(protos)
	for _, p := range protos {
		fields = append(fields, functionFields[p])
	}
	// Snippets of one capture share TCP connections: without sequence
	// analysis tshark does not take a later snippet's packets for
	// retransmissions of an earlier one's (and dissects them).
	targs := []string{"-n", "-o", "tcp.analyze_sequence_numbers:FALSE", "-r", merged, "-T", "fields",
		"-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range fields {
		targs = append(targs, "-e", f)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("tshark", targs...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("tshark -r (%d snippets merged): %v: %s", len(files), err, stderr.String())
		return
	}
	frames := make([]int, len(snips))
	funcs := make([]map[string]map[uint64]bool, len(snips)) // per snippet, per protocol
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			t.Errorf("tshark line %q: %d columns, want %d", line, len(cols), len(fields))
			continue
		}
		i, err := strconv.Atoi(cols[0])
		if err != nil || i < 0 || i >= len(snips) {
			t.Errorf("tshark line %q: interface %q is no snippet", line, cols[0])
			continue
		}
		frames[i]++
		for k, p := range protos {
			for _, v := range strings.Split(cols[k+1], ",") {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 32)
				if err != nil {
					continue
				}
				if funcs[i] == nil {
					funcs[i] = map[string]map[uint64]bool{}
				}
				if funcs[i][p] == nil {
					funcs[i][p] = map[uint64]bool{}
				}
				funcs[i][p][n] = true
			}
		}
	}
	checkedFn, undecoded := 0, 0
	for i, s := range snips {
		if frames[i] != len(s.times) {
			t.Errorf("alert %s: tshark reads %d frames from its snippet, it holds %d", alertKey(s.a), frames[i], len(s.times))
		}
		ev := s.a.Evidence[0]
		if _, ok := functionFields[ev.Protocol]; !ok || ev.Op == "" || ev.Function > 0xff {
			continue // not a transaction, or a function tshark numbers otherwise
		}
		if len(funcs[i][ev.Protocol]) == 0 {
			// tshark decodes none of the protocol's functions in this
			// snippet: a TCP stream it cannot resynchronise on (the
			// capture itself starts in the middle of a PDU).
			undecoded++
			continue
		}
		checkedFn++
		if !funcs[i][ev.Protocol][uint64(ev.Function)] {
			t.Errorf("alert %s: no frame of its snippet (%s) has %s == %d (the evidence's %s)", alertKey(s.a), filepath.Base(files[i]),
				functionFields[ev.Protocol], ev.Function, ev.FuncName)
		}
	}
	t.Logf("%d alerts checked; %d snippets opened in tshark, %d with the evidence's function code (%d more "+
		"where tshark decodes no function of the protocol)", len(ids), len(snips), checkedFn, undecoded)
}

// tsharkFields runs tshark on a capture and returns the rows of the given
// fields (all occurrences, comma-separated) of the frames matching filter.
func tsharkFields(tb testing.TB, path, filter string, fields ...string) [][]string {
	tb.Helper()
	rows, err := tsharkRows(path, filter, fields...)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// tsharkRows is tsharkFields returning its error (for goroutines).
func tsharkRows(path, filter string, fields ...string) ([][]string, error) {
	args := []string{"-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("tshark", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	var rows [][]string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			return nil, fmt.Errorf("tshark -r %s: line %q: %d columns, want %d", path, line, len(cols), len(fields))
		}
		rows = append(rows, cols)
	}
	return rows, nil
}

// atoi parses a decimal tshark field.
func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		tb.Fatalf("tshark field %q: %v", s, err)
	}
	return n
}

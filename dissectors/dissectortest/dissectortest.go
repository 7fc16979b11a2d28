// Package dissectortest is the test kit of the dissectors: it replays a
// capture through the sensor's real decode and flow path with only the
// dissectors under test registered, records what they emit, compares it with
// golden JSON-lines files and with the tshark facts in pcaps/expected, and
// seeds fuzz corpora from captures.
//
// It is imported by tests only. It is the one package under dissectors/ that
// may import sensor/ packages (capture, decode, flow): a dissector test must
// run exactly the path the sensor runs.
package dissectortest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
)

// Result is everything the dissectors emitted while a capture was replayed.
type Result struct {
	// Lines holds the JSON form of every transaction, hint and violation,
	// in emission order.
	Lines        []string
	Transactions []dissect.Transaction // deep copies
	Hints        []dissect.AssetHint   // deep copies
	Violations   []dissect.Violation   // deep copies
	// Fields maps a field name to value → occurrences.
	Fields map[string]map[string]int
	// Packets is the number of frames read; ReadErr the error that ended
	// reading early (nil at a clean end of file).
	Packets int
	ReadErr error
	// FlowStats are the flow table's counters after the replay.
	FlowStats flow.Stats
}

// Recorder is a dissect.Emitter that keeps deep copies of what it receives.
type Recorder struct {
	R   *Result
	buf []byte
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{R: &Result{Fields: map[string]map[string]int{}}}
}

func copyFlow(f *dissect.Flow) *dissect.Flow {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

func copyAttrs(a []dissect.Attr) []dissect.Attr {
	if len(a) == 0 {
		return nil
	}
	out := make([]dissect.Attr, len(a))
	for i, x := range a {
		out[i] = x
		if x.Str != nil {
			out[i].Str = bytes.Clone(x.Str)
		}
	}
	return out
}

// Transaction implements dissect.Emitter.
func (r *Recorder) Transaction(t *dissect.Transaction) {
	r.buf = dissect.AppendTransactionJSON(r.buf[:0], t)
	r.R.Lines = append(r.R.Lines, string(r.buf))
	c := *t
	c.Flow = copyFlow(t.Flow)
	c.Attrs = copyAttrs(t.Attrs)
	r.R.Transactions = append(r.R.Transactions, c)
}

// Hint implements dissect.Emitter.
func (r *Recorder) Hint(h *dissect.AssetHint) {
	r.buf = dissect.AppendHintJSON(r.buf[:0], h)
	r.R.Lines = append(r.R.Lines, string(r.buf))
	c := *h
	c.Extra = copyAttrs(h.Extra)
	r.R.Hints = append(r.R.Hints, c)
}

// Violation implements dissect.Emitter.
func (r *Recorder) Violation(v *dissect.Violation) {
	r.buf = dissect.AppendViolationJSON(r.buf[:0], v)
	r.R.Lines = append(r.R.Lines, string(r.buf))
	c := *v
	c.Flow = copyFlow(v.Flow)
	r.R.Violations = append(r.R.Violations, c)
}

func (r *Recorder) field(name, v string) {
	m := r.R.Fields[name]
	if m == nil {
		m = map[string]int{}
		r.R.Fields[name] = m
	}
	m[v]++
}

// FieldUint implements dissect.Emitter.
func (r *Recorder) FieldUint(name string, v uint64) { r.field(name, strconv.FormatUint(v, 10)) }

// FieldBytes implements dissect.Emitter.
func (r *Recorder) FieldBytes(name string, v []byte) { r.field(name, string(v)) }

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// resolve turns a repo-relative capture path into an absolute one.
func resolve(tb testing.TB, capturePath string) string {
	if filepath.IsAbs(capturePath) {
		return capturePath
	}
	return filepath.Join(RepoRoot(tb), capturePath)
}

// SharedPath returns ../shared/pcaps/<rel> beside the repository, skipping
// the test when it is absent (licence-unclear captures live only there).
func SharedPath(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(filepath.Dir(RepoRoot(tb)), "shared", "pcaps", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s not available (only in ../shared/pcaps, not in the repository): %v", rel, err)
	}
	return p
}

// Captures lists the captures under pcaps/<dir>/ (repo-relative, sorted).
func Captures(tb testing.TB, dir string) []string {
	tb.Helper()
	root := RepoRoot(tb)
	var out []string
	err := filepath.WalkDir(filepath.Join(root, "pcaps", dir), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "expected" {
			return filepath.SkipDir
		}
		if !d.IsDir() && IsCapture(p) {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("listing captures in %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// IsCapture tells capture files by their name.
func IsCapture(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// Replay runs a capture through decode and flow with only specs registered
// and returns what they emitted. A truncated capture is not a failure: the
// read error is in Result.ReadErr.
func Replay(tb testing.TB, capturePath string, specs ...dissect.Spec) *Result {
	tb.Helper()
	rec := NewRecorder()
	reg := dissect.NewRegistry()
	for _, s := range specs {
		reg.Register(s)
	}
	n, st, err := Run(resolve(tb, capturePath), reg, rec)
	if err != nil {
		var fe *capture.FileError
		if !errors.As(err, &fe) {
			tb.Fatalf("replay %s: %v", capturePath, err)
		}
	}
	rec.R.Packets = n
	rec.R.ReadErr = err
	rec.R.FlowStats = st
	return rec.R
}

// Run replays the capture at path through decode and a flow table that
// uses reg and emits to em. It returns the frames read, the flow counters,
// and the error that ended reading (nil at a clean end).
func Run(path string, reg *dissect.Registry, em dissect.Emitter) (int, flow.Stats, error) {
	src, err := capture.OpenFiles([]string{path}, capture.FileOptions{})
	if err != nil {
		return 0, flow.Stats{}, err
	}
	defer src.Close()
	dec := decode.New(decode.Config{})
	ft := flow.New(flow.Config{MaxFlows: 1 << 16}, reg, em, nil, 0)
	var (
		pkt capture.Packet
		p   decode.Packet
		n   int
	)
	for {
		err = src.Next(&pkt)
		if err != nil {
			break
		}
		n++
		p.Frame = uint64(n)
		dec.Decode(&p, int(pkt.LinkType), pkt.Data, pkt.Length, pkt.Timestamp)
		ft.Process(&p)
	}
	ft.Flush()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, ft.Stats, err
}

// Golden compares res.Lines with testdata/<name>.golden.jsonl; with
// UPDATE_GOLDEN=1 it rewrites the file instead.
func Golden(tb testing.TB, res *Result, name string) {
	tb.Helper()
	path := filepath.Join("testdata", name+".golden.jsonl")
	got := strings.Join(res.Lines, "\n")
	if len(res.Lines) > 0 {
		got += "\n"
	}
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("golden file %s: %v (run with UPDATE_GOLDEN=1 to create it)", path, err)
	}
	if string(want) == got {
		return
	}
	wl := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	gl := res.Lines
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			tb.Fatalf("%s differs at line %d (of %d want, %d got):\nwant: %s\n got: %s\n(UPDATE_GOLDEN=1 rewrites it; review the diff)",
				path, i+1, len(wl), len(gl), w, g)
		}
	}
}

// Expected is the part of a pcaps/expected/<file>.json the tests use.
type Expected struct {
	Capture            string                    `json:"capture"`
	Packets            int                       `json:"packets"`
	FramesWithProtocol map[string]int            `json:"frames_with_protocol"`
	MACAddresses       []string                  `json:"mac_addresses"`
	IPAddresses        []string                  `json:"ip_addresses"`
	Fields             map[string]map[string]int `json:"fields"`
}

// ExpectedPath returns the facts file for a capture path (repo-relative,
// or absolute under a pcaps/ folder).
func ExpectedPath(tb testing.TB, capturePath string) string {
	tb.Helper()
	p := filepath.ToSlash(capturePath)
	i := strings.LastIndex(p, "pcaps/")
	if i < 0 {
		tb.Fatalf("capture %s is not under a pcaps/ folder", capturePath)
	}
	rel := p[i+len("pcaps/"):]
	base := p[:i]
	if !filepath.IsAbs(capturePath) {
		base = RepoRoot(tb) + "/"
	}
	return filepath.Join(base, "pcaps", "expected", rel+".json")
}

// LoadExpected reads the tshark facts about a capture.
func LoadExpected(tb testing.TB, capturePath string) *Expected {
	tb.Helper()
	b, err := os.ReadFile(ExpectedPath(tb, capturePath))
	if err != nil {
		tb.Fatalf("expected facts for %s: %v", capturePath, err)
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("expected facts for %s: %v", capturePath, err)
	}
	return &e
}

// Normalize makes a field value comparable across tools: hex and decimal
// numbers become decimal without leading zeros; strings lose padding.
func Normalize(v string) string {
	s := strings.TrimSpace(v)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return strconv.FormatUint(n, 10)
		}
	}
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return strconv.FormatUint(n, 10)
		}
	}
	return s
}

// NormalizeCounts normalises the values of a value → count map.
func NormalizeCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[Normalize(k)] += v
	}
	return out
}

// DiffCounts lists the differences between two normalised count maps for
// a field, skipping those excused in knownDiffs ("field" or "field=value").
func DiffCounts(field string, got, want map[string]int, knownDiffs map[string]string) []string {
	if _, ok := knownDiffs[field]; ok {
		return nil
	}
	g, w := NormalizeCounts(got), NormalizeCounts(want)
	keys := map[string]bool{}
	for k := range g {
		keys[k] = true
	}
	for k := range w {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if g[k] == w[k] {
			continue
		}
		if _, ok := knownDiffs[field+"="+k]; ok {
			continue
		}
		out = append(out, field+"="+strconv.Quote(k)+": got "+strconv.Itoa(g[k])+", tshark "+strconv.Itoa(w[k]))
	}
	sort.Strings(out)
	return out
}

// CompareExpected checks that res's counts for each named field equal the
// tshark facts of the capture, except the differences excused in
// knownDiffs (key "field" or "field=value", value the reason).
func CompareExpected(tb testing.TB, res *Result, capturePath string, fields []string, knownDiffs map[string]string) {
	tb.Helper()
	exp := LoadExpected(tb, capturePath)
	var diffs []string
	for _, f := range fields {
		diffs = append(diffs, DiffCounts(f, res.Fields[f], exp.Fields[f], knownDiffs)...)
	}
	if len(diffs) > 0 {
		tb.Errorf("%s: %d field count(s) differ from tshark:\n  %s", capturePath, len(diffs), strings.Join(diffs, "\n  "))
	}
}

// tap wraps a dissector and records the payload chunks it is fed.
type tap struct {
	inner  dissect.Dissector
	chunks *[][]byte
	max    int
}

func (t *tap) Feed(ctx *dissect.Context, dir dissect.Direction, data []byte) {
	if len(*t.chunks) < t.max {
		*t.chunks = append(*t.chunks, bytes.Clone(data))
	}
	t.inner.Feed(ctx, dir, data)
}

func (t *tap) Gap(ctx *dissect.Context, dir dissect.Direction, n int) { t.inner.Gap(ctx, dir, n) }
func (t *tap) End(ctx *dissect.Context)                               { t.inner.End(ctx) }

// Payloads replays a capture and returns up to max payload chunks fed to the
// spec's dissector (distinct, in order).
func Payloads(tb testing.TB, capturePath string, spec dissect.Spec, max int) [][]byte {
	tb.Helper()
	var chunks [][]byte
	inner := spec.New
	spec.New = func() dissect.Dissector { return &tap{inner: inner(), chunks: &chunks, max: 4 * max} }
	Replay(tb, capturePath, spec)
	seen := map[string]bool{}
	var out [][]byte
	for _, c := range chunks {
		if len(out) == max {
			break
		}
		if !seen[string(c)] {
			seen[string(c)] = true
			out = append(out, c)
		}
	}
	return out
}

// SeedFromCapture adds up to 200 distinct payload chunks of a capture to a
// fuzz corpus; the fuzz function must take a single []byte argument.
func SeedFromCapture(f *testing.F, capturePath string, spec dissect.Spec) {
	f.Helper()
	for _, c := range Payloads(f, capturePath, spec, 200) {
		f.Add(c)
	}
}

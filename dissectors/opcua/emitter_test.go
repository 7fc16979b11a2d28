package opcua

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// recorder is a test Emitter that keeps deep copies of what it receives.
type recorder struct {
	tx     []dissect.Transaction
	hints  []dissect.AssetHint
	viols  []dissect.Violation
	fields map[string]map[string]int
	lines  []string
}

func newRecorder() *recorder { return &recorder{fields: map[string]map[string]int{}} }

func (r *recorder) Transaction(t *dissect.Transaction) {
	c := *t
	c.Attrs = nil
	for _, a := range t.Attrs {
		a.Str = append([]byte(nil), a.Str...)
		c.Attrs = append(c.Attrs, a)
	}
	r.tx = append(r.tx, c)
	r.lines = append(r.lines, string(dissect.AppendTransactionJSON(nil, t)))
}

func (r *recorder) Hint(h *dissect.AssetHint) {
	c := *h
	c.Extra = nil
	for _, a := range h.Extra {
		a.Str = append([]byte(nil), a.Str...)
		c.Extra = append(c.Extra, a)
	}
	r.hints = append(r.hints, c)
	r.lines = append(r.lines, string(dissect.AppendHintJSON(nil, h)))
}

func (r *recorder) Violation(v *dissect.Violation) {
	r.viols = append(r.viols, *v)
	r.lines = append(r.lines, string(dissect.AppendViolationJSON(nil, v)))
}

func (r *recorder) field(name, v string) {
	m := r.fields[name]
	if m == nil {
		m = map[string]int{}
		r.fields[name] = m
	}
	m[v]++
}

func (r *recorder) FieldUint(name string, v uint64)  { r.field(name, uitoa(v)) }
func (r *recorder) FieldBytes(name string, v []byte) { r.field(name, string(v)) }

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// nopEmitter discards everything (allocation tests and benchmarks).
type nopEmitter struct{ n int }

func (e *nopEmitter) Transaction(*dissect.Transaction) { e.n++ }
func (e *nopEmitter) Hint(*dissect.AssetHint)          {}
func (e *nopEmitter) Violation(*dissect.Violation)     { e.n++ }
func (e *nopEmitter) FieldUint(string, uint64)         {}
func (e *nopEmitter) FieldBytes(string, []byte)        {}

var testFlow = dissect.Flow{ID: 1, Transport: dissect.TransportTCP,
	Client: dissect.Endpoint{MAC: [6]byte{2, 0, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.1"), Port: 50000},
	Server: dissect.Endpoint{MAC: [6]byte{2, 0, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.0.2"), Port: 4840}}

// step is one chunk of bytes fed to a dissector.
type step struct {
	dir dissect.Direction
	hex string
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture hex: %v", err)
	}
	return b
}

// run feeds the steps, one second apart, then ends the flow.
func run(tb testing.TB, d dissect.Dissector, steps []step, split int) *recorder {
	tb.Helper()
	rec := newRecorder()
	flow := testFlow
	ctx := &dissect.Context{Flow: &flow, Emit: rec}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range steps {
		ctx.Time = t0.Add(time.Duration(i) * time.Second)
		ctx.Frame = uint64(i + 1)
		b := unhex(tb, s.hex)
		if split <= 0 {
			d.Feed(ctx, s.dir, b)
			continue
		}
		for len(b) > 0 {
			n := min(split, len(b))
			d.Feed(ctx, s.dir, b[:n])
			b = b[n:]
		}
	}
	d.End(ctx)
	return rec
}

func attr(t *dissect.Transaction, key string) (dissect.Attr, bool) {
	for _, a := range t.Attrs {
		if a.Key == key {
			return a, true
		}
	}
	return dissect.Attr{}, false
}

package ssh

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// recorder is an Emitter that keeps deep copies of everything.
type recorder struct {
	tx     []dissect.Transaction
	hints  []dissect.AssetHint
	viols  []dissect.Violation
	fields map[string]map[string]int
}

func newRecorder() *recorder { return &recorder{fields: map[string]map[string]int{}} }

func copyAttrs(a []dissect.Attr) []dissect.Attr {
	out := make([]dissect.Attr, len(a))
	for i, x := range a {
		out[i] = x
		out[i].Str = append([]byte(nil), x.Str...)
	}
	return out
}

func (r *recorder) Transaction(t *dissect.Transaction) {
	c := *t
	c.Attrs = copyAttrs(t.Attrs)
	r.tx = append(r.tx, c)
}

func (r *recorder) Hint(h *dissect.AssetHint) {
	c := *h
	c.Extra = copyAttrs(h.Extra)
	r.hints = append(r.hints, c)
}

func (r *recorder) Violation(v *dissect.Violation) { r.viols = append(r.viols, *v) }

func (r *recorder) field(name, v string) {
	m := r.fields[name]
	if m == nil {
		m = map[string]int{}
		r.fields[name] = m
	}
	m[v]++
}

func (r *recorder) FieldUint(name string, v uint64)  { r.field(name, strconv.FormatUint(v, 10)) }
func (r *recorder) FieldBytes(name string, v []byte) { r.field(name, string(v)) }

// nullEmitter discards everything (benchmarks, allocation tests).
type nullEmitter struct{ n int }

func (e *nullEmitter) Transaction(t *dissect.Transaction) { e.n++ }
func (e *nullEmitter) Hint(h *dissect.AssetHint)          { e.n++ }
func (e *nullEmitter) Violation(v *dissect.Violation)     { e.n++ }
func (e *nullEmitter) FieldUint(name string, v uint64)    {}
func (e *nullEmitter) FieldBytes(name string, v []byte)   {}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '|' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad fixture hex: %v", err)
	}
	return b
}

// attr returns the value of an attribute as text ("" if absent).
func attr(a []dissect.Attr, key string) string {
	for _, x := range a {
		if x.Key == key {
			if x.IsStr {
				return string(x.Str)
			}
			return strconv.FormatUint(x.Num, 10)
		}
	}
	return ""
}

func wantAttrs(t *testing.T, what string, a []dissect.Attr, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if got := attr(a, kv[i]); got != kv[i+1] {
			t.Errorf("%s: attr %s = %q, want %q", what, kv[i], got, kv[i+1])
		}
	}
}

func violReasons(v []dissect.Violation) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = x.Kind.String() + ": " + x.Reason
	}
	return out
}

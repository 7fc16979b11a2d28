package dissectortest

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// NullEmitter discards everything a dissector emits, counting the records
// (benchmarks and allocation tests).
type NullEmitter struct{ N int }

// Transaction implements dissect.Emitter.
func (e *NullEmitter) Transaction(*dissect.Transaction) { e.N++ }

// Hint implements dissect.Emitter.
func (e *NullEmitter) Hint(*dissect.AssetHint) { e.N++ }

// Violation implements dissect.Emitter.
func (e *NullEmitter) Violation(*dissect.Violation) { e.N++ }

// FieldUint implements dissect.Emitter.
func (e *NullEmitter) FieldUint(string, uint64) {}

// FieldBytes implements dissect.Emitter.
func (e *NullEmitter) FieldBytes(string, []byte) {}

// Unhex decodes a hex fixture; spaces, tabs, newlines and '|' separators
// are ignored so fixtures can be laid out by field.
func Unhex(tb testing.TB, s string) []byte {
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

// AttrValue returns an attribute's value as text ("" when absent).
func AttrValue(a []dissect.Attr, key string) string {
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

// WantAttrs checks key/value pairs of attributes.
func WantAttrs(t *testing.T, what string, a []dissect.Attr, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if got := AttrValue(a, kv[i]); got != kv[i+1] {
			t.Errorf("%s: attr %s = %q, want %q", what, kv[i], got, kv[i+1])
		}
	}
}

// ViolationReasons lists violations as "kind: reason".
func ViolationReasons(v []dissect.Violation) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = x.Kind.String() + ": " + x.Reason
	}
	return out
}

// FieldCount returns how often a numeric field value was recorded.
func (r *Recorder) FieldCount(name string, v uint64) int {
	return r.R.Fields[name][strconv.FormatUint(v, 10)]
}

// AttrNum returns a numeric attribute's value and whether it is present.
func AttrNum(a []dissect.Attr, key string) (uint64, bool) {
	for _, x := range a {
		if x.Key == key {
			return x.Num, true
		}
	}
	return 0, false
}

// Step is one chunk of a conversation: who sends it, and its bytes in hex.
type Step struct {
	Dir dissect.Direction
	Hex string
}

// FeedSteps feeds d the steps of one TCP flow, a second apart and numbered
// as frames from 1, ends the flow and returns what d emitted.
func FeedSteps(tb testing.TB, d dissect.Dissector, steps ...Step) *Result {
	tb.Helper()
	rec := NewRecorder()
	ctx := &dissect.Context{Flow: &dissect.Flow{ID: 1, Transport: dissect.TransportTCP},
		Time: time.Unix(1700000000, 0), Emit: rec}
	for i, s := range steps {
		ctx.Frame = uint64(i + 1)
		d.Feed(ctx, s.Dir, Unhex(tb, s.Hex))
		ctx.Time = ctx.Time.Add(time.Second)
	}
	d.End(ctx)
	return rec.R
}

// AttrMap returns attributes as key → text.
func AttrMap(a []dissect.Attr) map[string]string {
	m := make(map[string]string, len(a))
	for _, x := range a {
		if x.IsStr {
			m[x.Key] = string(x.Str)
		} else {
			m[x.Key] = strconv.FormatUint(x.Num, 10)
		}
	}
	return m
}

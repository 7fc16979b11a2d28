package iec104

import (
	"net/netip"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// recorder is an Emitter that keeps copies of everything emitted.
type recorder struct {
	txs    []dissect.Transaction
	hints  []dissect.AssetHint
	viols  []dissect.Violation
	fields map[string]map[uint64]int
	lines  []string
}

func newRecorder() *recorder { return &recorder{fields: map[string]map[uint64]int{}} }

func (r *recorder) Transaction(t *dissect.Transaction) {
	c := *t
	c.Attrs = append([]dissect.Attr(nil), t.Attrs...)
	r.txs = append(r.txs, c)
	r.lines = append(r.lines, string(dissect.AppendTransactionJSON(nil, t)))
}

func (r *recorder) Hint(h *dissect.AssetHint) {
	r.hints = append(r.hints, *h)
	r.lines = append(r.lines, string(dissect.AppendHintJSON(nil, h)))
}

func (r *recorder) Violation(v *dissect.Violation) {
	r.viols = append(r.viols, *v)
	r.lines = append(r.lines, string(dissect.AppendViolationJSON(nil, v)))
}

func (r *recorder) FieldUint(name string, v uint64) {
	m := r.fields[name]
	if m == nil {
		m = map[uint64]int{}
		r.fields[name] = m
	}
	m[v]++
}

func (r *recorder) FieldBytes(name string, v []byte) {}

func (r *recorder) attr(t *dissect.Transaction, key string) (uint64, bool) {
	for _, a := range t.Attrs {
		if a.Key == key {
			return a.Num, true
		}
	}
	return 0, false
}

// nopEmitter discards everything (benchmarks and allocation tests).
type nopEmitter struct{}

func (nopEmitter) Transaction(*dissect.Transaction) {}
func (nopEmitter) Hint(*dissect.AssetHint)          {}
func (nopEmitter) Violation(*dissect.Violation)     {}
func (nopEmitter) FieldUint(string, uint64)         {}
func (nopEmitter) FieldBytes(string, []byte)        {}

func testFlow(t dissect.Transport) *dissect.Flow {
	return &dissect.Flow{ID: 1, Transport: t,
		Client: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 40000},
		Server: dissect.Endpoint{IP: netip.MustParseAddr("10.0.0.2"), Port: Port},
		Start:  time.Unix(1700000000, 0)}
}

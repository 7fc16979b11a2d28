package detect

import (
	"time"

	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Caches of the transaction path. A polled plant repeats the same few
// requests on the same connections, and every map lookup with a baseline
// key (two hosts, a protocol name…) costs a hash of some 100 bytes: the
// engine remembers per flow what it worked out, and which transactions the
// baseline already knew. Both are direct-mapped arrays (no allocation, a
// fixed footprint) and only ever skip work whose answer cannot have
// changed.
const (
	flowSlots    = 1024 // power of two
	verdictSlots = 4096 // power of two
)

// flowSlot is what the engine keeps about a flow between its
// transactions: its hosts, whether its protocol is OT and its hosts were
// marked so, and the server's entry in the last-response table.
type flowSlot struct {
	id             uint64
	start          int64 // flow IDs start over with each analysis: the start tells flows apart
	proto          string
	client, server learn.Host
	ot             bool
	marked         bool // the OT hosts were marked…
	markedLearning bool // … while learning (and flagged in the baseline)
	answered       *time.Time
	// units is the Modbus unit-sweep window of the flow's client and
	// server (requests only), while it is in its tracker.
	units *win
}

// slot returns the flow's slot, refilled when it held another flow.
func (e *Engine) slot(f *dissect.Flow, proto string) *flowSlot {
	s := &e.flows[f.ID&(flowSlots-1)]
	start := f.Start.UnixNano()
	if s.id != f.ID || s.start != start || f.ID == 0 {
		*s = flowSlot{id: f.ID, start: start, proto: proto, client: hostOf(&f.Client), server: hostOf(&f.Server),
			ot: e.cfg.OTProtocols[proto]}
	} else if s.proto != proto { // e.g. ENIP and CIP on one connection
		s.proto, s.ot, s.marked, s.markedLearning = proto, e.cfg.OTProtocols[proto], false, false
	}
	return s
}

// verdict is a transaction whose operation and register range the
// baseline knew at generation gen.
type verdict struct {
	flow, gen       uint64
	start           int64
	proto, space    string
	fn, sub         uint32
	unit, lo, hi    uint32
	hasSub, hasAddr bool
}

// verdictOf builds the verdict key of transaction t with operation op on
// the flow of slot s, at the baseline's current generation.
func (e *Engine) verdictOf(t *dissect.Transaction, s *flowSlot, op *learn.Op) verdict {
	return verdict{flow: s.id, gen: e.base.Generation(), start: s.start, proto: t.Protocol, space: t.AddrSpace,
		fn: op.Function, sub: op.Sub, unit: t.Unit, lo: t.AddrStart, hi: t.AddrEnd, hasSub: op.HasSub, hasAddr: t.HasAddr}
}

// verdictSlot returns the cache entry for v.
func (e *Engine) verdictSlot(v *verdict) *verdict {
	h := v.flow*0x9E3779B97F4A7C15 ^ uint64(v.fn)<<40 ^ uint64(v.sub)*0xff51afd7ed558ccd ^ uint64(v.unit)<<24 ^
		uint64(v.lo)*0xc4ceb9fe1a85ec53 ^ uint64(v.hi)
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	h ^= h >> 29
	return &e.verdicts[h&(verdictSlots-1)]
}

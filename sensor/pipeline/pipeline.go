// Package pipeline runs packets from capture sources through decoding, the
// flow table and the dissectors on worker goroutines sharded by flow: a flow
// (indeed every flow between two hosts, and every fragment of a datagram)
// always lands on the same worker, so the hot path takes no lock.
//
// With one worker the source is read inline, with no hand-off at all. With
// several workers and one source (a file), a reader goroutine copies packets
// into preallocated batches and hands them to the workers; with several
// sources (AF_PACKET fanout sockets) each worker reads its own source.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
)

// Config sets the pipeline's shape and bounds.
type Config struct {
	Workers int // worker goroutines (default 1)
	Decode  decode.Config
	Flow    flow.Config
	// BatchSize is the number of packets handed to a worker at once, and
	// QueueBatches how many batches may wait per worker.
	BatchSize    int
	QueueBatches int
	// DropWhenFull drops a batch instead of waiting when a worker's queue is
	// full (live capture: never stall the ring). Files always wait.
	DropWhenFull bool
}

func (c *Config) fill() {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.QueueBatches <= 0 {
		c.QueueBatches = 8
	}
}

// Sink receives everything a worker produces: the emitter calls of its
// dissectors, the end of its flows and every decoded packet. Each worker has
// its own sink, called from that worker's goroutine only.
type Sink interface {
	dissect.Emitter
	flow.Observer
	// Before is called for every decoded packet before the flow table and
	// the dissectors see it (what they emit then concerns this packet).
	Before(p *decode.Packet)
	// Packet is called for every decoded packet, after the flow table saw
	// it. f is nil for packets outside flows (undecodable frames, held
	// fragments).
	Packet(p *decode.Packet, f *flow.Flow, dir dissect.Direction)
}

// Stats are the pipeline's counters. Read them after Run returns, or
// through Pipeline.Snapshot while it runs.
type Stats struct {
	Packets     uint64
	Bytes       uint64
	QueueDrops  uint64 // packets dropped because a worker queue was full
	DecodeErrs  [16]uint64
	Decode      decode.Stats
	Flow        flow.Stats
	SourceStats []capture.Stats
}

// Worker is one shard: a decoder, a flow table and a sink.
type Worker struct {
	ID    int
	dec   *decode.Decoder
	Flows *flow.Table
	sink  Sink
	pkt   decode.Packet

	packets atomic.Uint64
	bytes   atomic.Uint64
	errs    [16]uint64

	// pub is a copy of the worker-owned counters for readers on other
	// goroutines, refreshed every publishEvery packets and when a run ends.
	mu  sync.Mutex
	pub published
}

type published struct {
	errs [16]uint64
	dec  decode.Stats
	flow flow.Stats
}

const publishEvery = 4096

func (w *Worker) publish() {
	w.mu.Lock()
	w.pub = published{errs: w.errs, dec: w.dec.Stats, flow: w.Flows.Stats}
	w.mu.Unlock()
}

// Process decodes one captured packet and runs it through the flow table.
func (w *Worker) Process(cp *capture.Packet, frame uint64) {
	p := &w.pkt
	p.Frame = frame
	w.dec.Decode(p, int(cp.LinkType), cp.Data, cp.Length, cp.Timestamp)
	if p.Err != decode.ErrNone {
		w.errs[p.Err&15]++
	}
	w.sink.Before(p)
	f, dir := w.Flows.Process(p)
	w.sink.Packet(p, f, dir)
	if w.packets.Add(1)%publishEvery == 0 {
		w.publish()
	}
	w.bytes.Add(uint64(cp.Length))
}

// Pipeline owns the workers.
type Pipeline struct {
	cfg     Config
	Workers []*Worker
	frame   atomic.Uint64
	drops   atomic.Uint64
	sources []capture.Source
	mu      sync.Mutex
}

// New builds a pipeline whose workers use reg and a sink from newSink.
func New(cfg Config, reg *dissect.Registry, newSink func(worker int) Sink) *Pipeline {
	cfg.fill()
	p := &Pipeline{cfg: cfg}
	// Flow IDs: worker i hands out IDs i<<48 + n, unique across workers.
	for i := 0; i < cfg.Workers; i++ {
		s := newSink(i)
		w := &Worker{ID: i, dec: decode.New(cfg.Decode), sink: s}
		w.Flows = flow.New(cfg.Flow, reg, s, s, uint64(i)<<48)
		p.Workers = append(p.Workers, w)
	}
	return p
}

// Run reads src to its end (or until ctx is done) and then ends every flow.
// A read error (a truncated file) is returned after everything before it was
// processed.
func (p *Pipeline) Run(ctx context.Context, src capture.Source) error {
	p.mu.Lock()
	p.sources = []capture.Source{src}
	p.mu.Unlock()
	var err error
	if len(p.Workers) == 1 {
		err = p.inline(ctx, p.Workers[0], src)
	} else {
		err = p.dispatch(ctx, src)
	}
	for _, w := range p.Workers {
		w.Flows.Flush()
		w.publish()
	}
	return err
}

// RunSources gives each worker its own source (AF_PACKET fanout sockets):
// len(srcs) must equal the number of workers.
func (p *Pipeline) RunSources(ctx context.Context, srcs []capture.Source) error {
	if len(srcs) != len(p.Workers) {
		return fmt.Errorf("pipeline: %d sources for %d workers", len(srcs), len(p.Workers))
	}
	p.mu.Lock()
	p.sources = srcs
	p.mu.Unlock()
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Add(1)
		go func(i int, s capture.Source) {
			defer wg.Done()
			errs[i] = p.inline(ctx, p.Workers[i], s)
			p.Workers[i].Flows.Flush()
			p.Workers[i].publish()
		}(i, s)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func endOfInput(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, capture.ErrClosed)
}

// readErrors collects the errors of a source. A damaged file in a merged
// set does not stop the others: reading goes on and every file's error is
// reported at the end. Any other error, or a second error from the same
// file, stops reading.
type readErrors struct {
	errs   []error
	failed map[string]bool
}

// add records err and reports whether reading should go on.
func (r *readErrors) add(err error) bool {
	if endOfInput(err) {
		return false
	}
	var fe *capture.FileError
	if !errors.As(err, &fe) || r.failed[fe.Path] {
		if !errors.As(err, &fe) {
			r.errs = append(r.errs, err)
		}
		return false
	}
	if r.failed == nil {
		r.failed = map[string]bool{}
	}
	r.failed[fe.Path] = true
	r.errs = append(r.errs, err)
	return true
}

func (r *readErrors) err() error {
	if len(r.errs) == 1 {
		return r.errs[0]
	}
	return errors.Join(r.errs...)
}

func (p *Pipeline) inline(ctx context.Context, w *Worker, src capture.Source) error {
	var (
		cp   capture.Packet
		errs readErrors
	)
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			break
		}
		if err := src.Next(&cp); err != nil {
			if errs.add(err) {
				continue
			}
			break
		}
		w.Process(&cp, p.frame.Add(1))
	}
	return errs.err()
}

type batch struct {
	arena  []byte
	pkts   []capture.Packet
	frames []uint64
}

// dispatch reads src on this goroutine, shards packets by host pair and
// hands batches to the workers.
func (p *Pipeline) dispatch(ctx context.Context, src capture.Source) error {
	n := len(p.Workers)
	queues := make([]chan *batch, n)
	frees := make([]chan *batch, n)
	var wg sync.WaitGroup
	for i := range p.Workers {
		queues[i] = make(chan *batch, p.cfg.QueueBatches)
		frees[i] = make(chan *batch, p.cfg.QueueBatches+2)
		for j := 0; j < p.cfg.QueueBatches+2; j++ {
			frees[i] <- &batch{arena: make([]byte, 0, p.cfg.BatchSize*1600)}
		}
		wg.Add(1)
		go func(w *Worker, in, free chan *batch) {
			defer wg.Done()
			for b := range in {
				for k := range b.pkts {
					w.Process(&b.pkts[k], b.frames[k])
				}
				b.pkts, b.frames, b.arena = b.pkts[:0], b.frames[:0], b.arena[:0]
				free <- b
			}
		}(p.Workers[i], queues[i], frees[i])
	}
	cur := make([]*batch, n)
	flush := func(i int) {
		b := cur[i]
		cur[i] = nil
		if p.cfg.DropWhenFull {
			select {
			case queues[i] <- b:
			default:
				p.drops.Add(uint64(len(b.pkts)))
				b.pkts, b.frames, b.arena = b.pkts[:0], b.frames[:0], b.arena[:0]
				frees[i] <- b
			}
			return
		}
		queues[i] <- b
	}
	shard := decode.New(decode.Config{MaxFragDatagrams: 1})
	var (
		cp   capture.Packet
		dp   decode.Packet
		errs readErrors
	)
	for k := 0; ; k++ {
		if k&1023 == 0 && ctx.Err() != nil {
			break
		}
		if err := src.Next(&cp); err != nil {
			if errs.add(err) {
				continue
			}
			break
		}
		shard.Decode(&dp, int(cp.LinkType), cp.Data, cp.Length, cp.Timestamp)
		i := int(dp.ShardHash() % uint64(n))
		if cur[i] == nil {
			cur[i] = <-frees[i]
		}
		b := cur[i]
		if len(b.arena)+len(cp.Data) > cap(b.arena) && len(b.pkts) > 0 {
			flush(i)
			cur[i] = <-frees[i]
			b = cur[i]
		}
		off := len(b.arena)
		b.arena = append(b.arena, cp.Data...)
		pk := cp
		pk.Data = b.arena[off:len(b.arena):len(b.arena)]
		b.pkts = append(b.pkts, pk)
		b.frames = append(b.frames, p.frame.Add(1))
		if len(b.pkts) == p.cfg.BatchSize {
			flush(i)
		}
	}
	for i := range cur {
		if cur[i] != nil && len(cur[i].pkts) > 0 {
			flush(i)
		}
	}
	for i := range queues {
		close(queues[i])
	}
	wg.Wait()
	return errs.err()
}

// Snapshot returns the counters so far; it may be called from any
// goroutine. Packet and byte totals are exact at any time; the decoder and
// flow counters trail by up to a few thousand packets while a run goes on
// and are exact once Run has returned.
func (p *Pipeline) Snapshot() Stats {
	var s Stats
	for _, w := range p.Workers {
		s.Packets += w.packets.Load()
		s.Bytes += w.bytes.Load()
		w.mu.Lock()
		pub := w.pub
		w.mu.Unlock()
		for i := range pub.errs {
			s.DecodeErrs[i] += pub.errs[i]
		}
		addDecode(&s.Decode, &pub.dec)
		addFlow(&s.Flow, &pub.flow)
	}
	s.QueueDrops = p.drops.Load()
	p.mu.Lock()
	for _, src := range p.sources {
		s.SourceStats = append(s.SourceStats, src.Stats())
	}
	p.mu.Unlock()
	return s
}

func addDecode(a, b *decode.Stats) {
	a.Fragments += b.Fragments
	a.Reassembled += b.Reassembled
	a.FragDropped += b.FragDropped
	a.FragLimitDatagram += b.FragLimitDatagram
	a.FragLimitBytes += b.FragLimitBytes
	a.FragTimeouts += b.FragTimeouts
}

func addFlow(a, b *flow.Stats) {
	a.Flows += b.Flows
	a.Active += b.Active
	a.Expired += b.Expired
	a.Closed += b.Closed
	a.Evicted += b.Evicted
	a.FlowLimitHits += b.FlowLimitHits
	a.Gaps += b.Gaps
	a.GapBytes += b.GapBytes
	a.Retransmissions += b.Retransmissions
	a.OutOfOrder += b.OutOfOrder
	a.StreamBufHits += b.StreamBufHits
	a.TotalBufHits += b.TotalBufHits
	a.DepthBytes += b.DepthBytes
	a.BufferedBytes += b.BufferedBytes
	a.Unidentified += b.Unidentified
	a.Dissected += b.Dissected
}

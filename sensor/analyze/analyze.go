// Package analyze runs captures through the sensor pipeline and summarises
// them: packets, bytes, time span, L2–L4 protocols, addresses, flows per
// application protocol, top talkers, decoded fields (under the field names
// of the reference facts in pcaps/expected) and errors. It also writes JSON
// Lines of flows, transactions, hints and violations.
//
// It is what `otsensor analyze` prints, and the same pipeline the live
// sensor runs, so an offline analysis finds what the sensor would.
package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/otwatch/otwatch/baseline/detect"
	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
	"github.com/otwatch/otwatch/sensor/pipeline"
	"github.com/otwatch/otwatch/sensor/snippet"
)

// Options configure an analysis.
type Options struct {
	Registry *dissect.Registry
	Pipeline pipeline.Config
	// Out receives JSON Lines (flows, transactions, hints, violations);
	// nil writes none.
	Out io.Writer
	// Progress is called now and then with bytes read and total bytes.
	Progress func(done, total int64)
	// TopTalkers is how many talkers the summary lists (default 10).
	TopTalkers int
	// NoFields skips counting decoded fields (the summary's "fields" map),
	// which the human-readable summary does not print.
	NoFields bool
	// Inventory, when set, is fed with the endpoints of every flow, the
	// packets outside flows and the dissectors' asset hints.
	Inventory *inventory.Inventory
	// Detect, when set, runs the detection engines; every worker keeps a
	// ring of recent packets (Snippets) to cut the alerts' pcap snippets.
	Detect   *detect.Engine
	Snippets snippet.Config
	// InventoryLock, when set, is the lock the workers take to update
	// Inventory, so that the caller can read the inventory while the
	// analysis runs (a live sensor). Default: a lock of the analysis.
	InventoryLock sync.Locker
	// Tap, when set, is told about flows and violations as they happen
	// (see Tap).
	Tap Tap
	// Live keeps no per-address sets (the summary's addresses and top
	// talkers), whose memory grows with every address seen: for captures
	// that run for months. The summary's counters are still kept.
	Live bool
	// Started, when set, is called with the pipeline before it runs, so
	// that the caller can read its counters (Pipeline.Snapshot) meanwhile.
	Started func(*pipeline.Pipeline)
}

// ProtocolStats count one application protocol.
type ProtocolStats struct {
	Flows        uint64 `json:"flows"`
	Packets      uint64 `json:"packets"`
	Bytes        uint64 `json:"bytes"`
	Transactions uint64 `json:"transactions"`
	Violations   uint64 `json:"violations"`
	Hints        uint64 `json:"hints"`
}

// Talker is an address with its traffic.
type Talker struct {
	Address string `json:"address"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Summary is the result of an analysis. Its JSON form is `otsensor analyze
// --json`.
type Summary struct {
	Files              []string                     `json:"files"`
	Packets            uint64                       `json:"packets"`
	Bytes              uint64                       `json:"bytes"`
	First              time.Time                    `json:"first,omitzero"`
	Last               time.Time                    `json:"last,omitzero"`
	DurationSeconds    float64                      `json:"duration_seconds"`
	FramesWithProtocol map[string]uint64            `json:"frames_with_protocol"`
	MACAddresses       []string                     `json:"mac_addresses"`
	IPAddresses        []string                     `json:"ip_addresses"`
	Fields             map[string]map[string]uint64 `json:"fields"`
	Protocols          map[string]*ProtocolStats    `json:"protocols"`
	Flows              uint64                       `json:"flows"`
	TopTalkers         []Talker                     `json:"top_talkers"`
	Transactions       uint64                       `json:"transactions"`
	Hints              uint64                       `json:"hints"`
	Violations         map[string]uint64            `json:"violations"`
	DecodeErrors       map[string]uint64            `json:"decode_errors"`
	FlowStats          flow.Stats                   `json:"flow_stats"`
	DecodeStats        decode.Stats                 `json:"decode_stats"`
	QueueDrops         uint64                       `json:"queue_drops"`
	Error              string                       `json:"error,omitempty"`
	// Alerts and Baseline are set by RunDetect.
	Alerts   []AlertSummary   `json:"alerts,omitempty"`
	Baseline *BaselineSummary `json:"baseline,omitempty"`
}

// Run analyses the files (merged in timestamp order). A truncated or corrupt
// file yields the summary of everything readable and a *capture.FileError.
func Run(ctx context.Context, paths []string, opt Options) (*Summary, error) {
	src, err := capture.OpenFiles(paths, capture.FileOptions{})
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	defer src.Close()
	return RunSource(ctx, src, paths, opt)
}

// RunSource analyses an open source.
func RunSource(ctx context.Context, src capture.Source, names []string, opt Options) (*Summary, error) {
	return run(ctx, src, names, opt, func(pl *pipeline.Pipeline) error { return pl.Run(ctx, src) })
}

// run builds the pipeline, runs it with runPipeline and summarises; prog
// is the source asked for progress (may be nil).
func run(ctx context.Context, prog capture.Source, names []string, opt Options,
	runPipeline func(*pipeline.Pipeline) error) (*Summary, error) {
	if opt.Registry == nil {
		opt.Registry = dissect.NewRegistry()
	}
	out := &lineWriter{w: opt.Out}
	var inv *lockedInventory
	if opt.Inventory != nil {
		inv = &lockedInventory{inv: opt.Inventory, mu: opt.InventoryLock}
		if inv.mu == nil {
			inv.mu = &sync.Mutex{}
		}
	}
	var cols []*collector
	pl := pipeline.New(opt.Pipeline, opt.Registry, func(int) pipeline.Sink {
		c := newCollector(out, opt.NoFields)
		c.inv = inv
		c.tap, c.live = opt.Tap, opt.Live
		if opt.Detect != nil {
			c.det = &detector{eng: opt.Detect, ring: snippet.New(opt.Snippets)}
		}
		cols = append(cols, c)
		return c
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if opt.Started != nil {
		opt.Started(pl)
	}
	if pr, ok := prog.(capture.Progresser); ok && opt.Progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					opt.Progress(pr.Progress())
					return
				case <-t.C:
					opt.Progress(pr.Progress())
				}
			}
		}()
	}
	runErr := runPipeline(pl)
	close(stop)
	wg.Wait()
	for _, c := range cols {
		c.flush()
		if c.det != nil {
			c.det.flush()
		}
	}
	if err := out.err; err != nil && runErr == nil {
		runErr = fmt.Errorf("analyze: writing output: %w", err)
	}
	s := merge(cols, opt)
	s.Files = names
	st := pl.Snapshot()
	s.FlowStats = st.Flow
	s.DecodeStats = st.Decode
	s.QueueDrops = st.QueueDrops
	names2 := decode.ErrorNames()
	for i, n := range st.DecodeErrs {
		if n > 0 && i < len(names2) {
			s.DecodeErrors[names2[i]] += n
		}
	}
	if runErr != nil {
		s.Error = runErr.Error()
		var fe *capture.FileError
		if !errors.As(runErr, &fe) {
			return s, runErr
		}
	}
	return s, runErr
}

// lineWriter serialises JSON lines from several workers.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (l *lineWriter) write(b []byte) {
	if l.w == nil || len(b) == 0 {
		return
	}
	l.mu.Lock()
	if l.err == nil {
		_, l.err = l.w.Write(b)
	}
	l.mu.Unlock()
}

type talker struct{ packets, bytes uint64 }

// collector is one worker's sink. Everything in it is owned by the worker.
type collector struct {
	out  *lineWriter
	buf  []byte
	pkts uint64
	byts uint64

	firstN     int64 // UnixNano of the earliest packet
	lastN      int64
	layers     [32]uint64
	macs       map[[6]byte]struct{}
	ips        map[netip.Addr]struct{}
	talkers    map[netip.Addr]*talker
	fieldsU    map[string]map[uint64]uint64
	fieldsB    map[string]map[string]uint64
	protos     map[string]*ProtocolStats
	flows      uint64
	txs, hints uint64
	viols      map[string]uint64
	noFields   bool
	inv        *lockedInventory
	det        *detector
	cur        *decode.Packet // the packet being processed, for hints
	tap        Tap
	live       bool // no address sets (Options.Live)
}

// Before implements pipeline.Sink.
func (c *collector) Before(p *decode.Packet) { c.cur = p }

// lockedInventory serialises the workers' updates of one inventory. The
// updates are per flow, per hint and per packet outside flows, so the lock is
// taken rarely.
type lockedInventory struct {
	mu  sync.Locker
	inv *inventory.Inventory
}

func newCollector(out *lineWriter, noFields bool) *collector {
	return &collector{
		out:      out,
		noFields: noFields,
		macs:     map[[6]byte]struct{}{},
		ips:      map[netip.Addr]struct{}{},
		talkers:  map[netip.Addr]*talker{},
		fieldsU:  map[string]map[uint64]uint64{},
		fieldsB:  map[string]map[string]uint64{},
		protos:   map[string]*ProtocolStats{},
		viols:    map[string]uint64{},
	}
}

func (c *collector) addMAC(m [6]byte) {
	if c.live {
		return
	}
	if _, ok := c.macs[m]; !ok {
		c.macs[m] = struct{}{}
	}
}

func (c *collector) addIP(a netip.Addr) {
	if !a.IsValid() || c.live {
		return
	}
	if _, ok := c.ips[a]; !ok {
		c.ips[a] = struct{}{}
	}
}

// Tag bits the collector sets on flows.
const (
	tagMACs = 1 << iota // the flow's endpoint MACs are in the address set
	tagIPs              // the flow's IPs are in the address set
	tagInv              // the flow's endpoints are in the inventory
)

// Packet implements pipeline.Sink. Per-flow facts (addresses, talkers,
// protocol totals) are recorded once per flow and at its end, so the
// per-packet cost stays a few counter updates.
func (c *collector) Packet(p *decode.Packet, f *flow.Flow, dir dissect.Direction) {
	if c.det != nil {
		c.det.packet(p, f, dir)
	}
	if c.tap != nil && f != nil {
		c.tapPacket(f)
	}
	c.pkts++
	c.byts += uint64(p.WireLen)
	if ts := p.Time.UnixNano(); c.pkts == 1 {
		c.firstN, c.lastN = ts, ts
	} else if ts < c.firstN {
		c.firstN = ts
	} else if ts > c.lastN {
		c.lastN = ts
	}
	for l := p.Layers; l != 0; l &= l - 1 {
		c.layers[trailingZeros(uint32(l))]++
	}
	if p.Layers&decode.LARP != 0 && p.ARPOp != 0 {
		c.FieldUint("arp_opcode", uint64(p.ARPOp))
	}
	if p.InnerSrcIP.IsValid() {
		c.addIP(p.InnerSrcIP)
		c.addIP(p.InnerDstIP)
		if c.inv != nil {
			c.inv.mu.Lock()
			c.inv.inv.Endpoint([6]byte{}, p.InnerSrcIP, 0, p.Time, false)
			c.inv.inv.Endpoint([6]byte{}, p.InnerDstIP, 0, p.Time, false)
			c.inv.mu.Unlock()
		}
	}
	if c.inv != nil && (f == nil || f.Tag&tagInv == 0 || p.Layers&decode.LARP != 0) {
		c.inventoryPacket(p, f)
	}
	if f == nil {
		if p.Layers&decode.LEth != 0 {
			c.addMAC(p.SrcMAC)
			c.addMAC(p.DstMAC)
		}
		if p.SrcIP.IsValid() {
			c.addIP(p.SrcIP)
			c.addIP(p.DstIP)
			c.talk(p.SrcIP, 1, uint64(p.WireLen))
		}
		return
	}
	if p.Layers&decode.LEth != 0 {
		src, dst := &f.Info.Client.MAC, &f.Info.Server.MAC
		if dir == dissect.ToClient {
			src, dst = dst, src
		}
		if f.Tag&tagMACs == 0 || p.SrcMAC != *src || p.DstMAC != *dst {
			c.addMAC(p.SrcMAC)
			c.addMAC(p.DstMAC)
			if f.Tag&tagMACs != 0 && c.inv != nil {
				// Another MAC on a known flow: a router pair, a NIC change.
				c.inventoryPacket(p, f)
			}
			f.Tag |= tagMACs
		}
	}
	if f.Tag&tagIPs == 0 && p.SrcIP.IsValid() {
		c.addIP(p.SrcIP)
		c.addIP(p.DstIP)
		f.Tag |= tagIPs
	}
}

// inventoryPacket records the addresses of a packet outside flows, or of
// the first packet of a flow.
func (c *collector) inventoryPacket(p *decode.Packet, f *flow.Flow) {
	vlan := uint16(0)
	if p.NumVLAN > 0 {
		vlan = p.VLANs[p.NumVLAN-1]
	}
	var srcMAC, dstMAC [6]byte
	if p.HasMAC && p.Layers&decode.LEth != 0 {
		srcMAC, dstMAC = p.SrcMAC, p.DstMAC
	} else if p.HasMAC {
		srcMAC = p.SrcMAC // Linux cooked captures know the sender only
	}
	c.inv.mu.Lock()
	if p.Layers&decode.LARP != 0 && p.ARPSenderIP.IsValid() {
		// The sender's own binding; the target's only when it answers.
		c.inv.inv.Endpoint(p.ARPSenderMAC, p.ARPSenderIP, vlan, p.Time, true)
		c.inv.inv.Endpoint(dstMAC, netip.Addr{}, vlan, p.Time, false)
	} else {
		c.inv.inv.Endpoint(srcMAC, p.SrcIP, vlan, p.Time, false)
		c.inv.inv.Endpoint(dstMAC, p.DstIP, vlan, p.Time, false)
		if p.SrcIP.IsValid() {
			c.inv.inv.TTL(srcMAC, p.SrcIP, p.TTL)
		}
	}
	c.inv.mu.Unlock()
	if f != nil {
		f.Tag |= tagInv
	}
}

func (c *collector) talk(a netip.Addr, packets, bytes uint64) {
	if !a.IsValid() || c.live {
		return
	}
	t := c.talkers[a]
	if t == nil {
		t = &talker{}
		c.talkers[a] = t
	}
	t.packets += packets
	t.bytes += bytes
}

func trailingZeros(x uint32) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

func (c *collector) proto(name string) *ProtocolStats {
	ps := c.protos[name]
	if ps == nil {
		ps = &ProtocolStats{}
		c.protos[name] = ps
	}
	return ps
}

// endLine terminates the record just appended to c.buf.
func (c *collector) endLine() {
	c.buf = append(c.buf, '\n')
	if len(c.buf) > 64<<10 {
		c.flush()
	}
}

func (c *collector) flush() {
	c.out.write(c.buf)
	c.buf = c.buf[:0]
}

var _ pipeline.Sink = (*collector)(nil)

// Transaction implements dissect.Emitter.
func (c *collector) Transaction(t *dissect.Transaction) {
	if c.det != nil {
		c.det.eng.Transaction(t, c.det)
	}
	c.txs++
	c.proto(t.Protocol).Transactions++
	if c.out.w != nil {
		c.buf = dissect.AppendTransactionJSON(c.buf, t)
		c.endLine()
	}
}

// Hint implements dissect.Emitter.
func (c *collector) Hint(h *dissect.AssetHint) {
	if c.det != nil {
		c.det.eng.Hint(h, c.det)
	}
	c.hints++
	if c.inv != nil {
		if c.cur != nil {
			// The packet's own addresses first, so that the hint finds the
			// device the wire shows.
			c.inventoryPacket(c.cur, nil)
		}
		c.inv.mu.Lock()
		c.inv.inv.Hint(h)
		c.inv.mu.Unlock()
	}
	c.proto(h.Protocol).Hints++
	if c.out.w != nil {
		c.buf = dissect.AppendHintJSON(c.buf, h)
		c.endLine()
	}
}

// Violation implements dissect.Emitter.
func (c *collector) Violation(v *dissect.Violation) {
	if c.det != nil {
		c.det.eng.Violation(v, c.det)
	}
	if c.tap != nil {
		c.tap.Violation(v)
	}
	c.proto(v.Protocol).Violations++
	key := v.Protocol + ":" + v.Kind.String()
	c.viols[key]++
	if c.out.w != nil {
		c.buf = dissect.AppendViolationJSON(c.buf, v)
		c.endLine()
	}
}

// FieldUint implements dissect.Emitter.
func (c *collector) FieldUint(name string, v uint64) {
	if c.noFields {
		return
	}
	m := c.fieldsU[name]
	if m == nil {
		m = map[uint64]uint64{}
		c.fieldsU[name] = m
	}
	m[v]++
}

// FieldBytes implements dissect.Emitter.
func (c *collector) FieldBytes(name string, v []byte) {
	if c.det != nil && c.cur != nil {
		c.det.field(name, v, c.cur)
	}
	if c.noFields {
		return
	}
	m := c.fieldsB[name]
	if m == nil {
		m = map[string]uint64{}
		c.fieldsB[name] = m
	}
	if n, ok := m[string(v)]; ok {
		m[string(v)] = n + 1
	} else {
		m[string(v)] = 1
	}
}

// FlowEnd implements flow.Observer.
func (c *collector) FlowEnd(f *flow.Flow, reason string) {
	if c.det != nil {
		c.det.eng.FlowEnd(&f.Info, f.Protocol(), f.Packets, f.Last(), reason, c.det)
	}
	if c.tap != nil {
		c.tap.FlowEnd(f, reason)
	}
	c.flows++
	if f.Protocol() != "" {
		ps := c.proto(f.Protocol())
		ps.Flows++
		ps.Packets += f.Packets[0] + f.Packets[1]
		ps.Bytes += f.Bytes[0] + f.Bytes[1]
	}
	if f.Info.Transport != dissect.TransportL2 {
		c.talk(f.Info.Client.IP, f.Packets[0], f.Bytes[0])
		c.talk(f.Info.Server.IP, f.Packets[1], f.Bytes[1])
	}
	if c.inv != nil && f.Info.Transport != 0 {
		c.inv.mu.Lock()
		c.inv.inv.Flow(&f.Info, f.Protocol(), f.Packets[1] > 0, f.Last())
		c.inv.mu.Unlock()
	}
	if c.out.w != nil {
		c.buf = appendFlowJSON(c.buf, f, reason)
		c.endLine()
	}
}

func appendFlowJSON(b []byte, f *flow.Flow, reason string) []byte {
	b = append(b, `{"type":"flow","flow":`...)
	b = dissect.AppendFlowJSON(b, &f.Info)
	b = append(b, `,"start":"`...)
	b = f.Info.Start.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","last":"`...)
	b = f.Last().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","protocol":`...)
	b = dissect.AppendString(b, f.Protocol())
	b = append(b, `,"packets":[`...)
	b = strconv.AppendUint(b, f.Packets[0], 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, f.Packets[1], 10)
	b = append(b, `],"bytes":[`...)
	b = strconv.AppendUint(b, f.Bytes[0], 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, f.Bytes[1], 10)
	b = append(b, `],"stream_bytes":[`...)
	b = strconv.AppendUint(b, f.StreamBytes(0), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, f.StreamBytes(1), 10)
	b = append(b, `],"gaps":`...)
	b = strconv.AppendUint(b, uint64(f.Gaps()), 10)
	b = append(b, `,"end":`...)
	b = dissect.AppendString(b, reason)
	return append(b, '}')
}

func macString(m [6]byte) string { return string(dissect.AppendMAC(nil, m)) }

func merge(cols []*collector, opt Options) *Summary {
	s := &Summary{
		FramesWithProtocol: map[string]uint64{},
		Fields:             map[string]map[string]uint64{},
		Protocols:          map[string]*ProtocolStats{},
		Violations:         map[string]uint64{},
		DecodeErrors:       map[string]uint64{},
		MACAddresses:       []string{},
		IPAddresses:        []string{},
	}
	macs := map[[6]byte]struct{}{}
	ips := map[netip.Addr]struct{}{}
	talkers := map[netip.Addr]*talker{}
	for _, c := range cols {
		s.Packets += c.pkts
		s.Bytes += c.byts
		if c.pkts > 0 {
			first, last := time.Unix(0, c.firstN).UTC(), time.Unix(0, c.lastN).UTC()
			if s.First.IsZero() || first.Before(s.First) {
				s.First = first
			}
			if last.After(s.Last) {
				s.Last = last
			}
		}
		for i, n := range c.layers {
			if n > 0 {
				if name := decode.LayerName(decode.Layer(1) << i); name != "" {
					s.FramesWithProtocol[name] += n
				}
			}
		}
		for m := range c.macs {
			macs[m] = struct{}{}
		}
		for a := range c.ips {
			ips[a] = struct{}{}
		}
		for a, t := range c.talkers {
			x := talkers[a]
			if x == nil {
				x = &talker{}
				talkers[a] = x
			}
			x.packets += t.packets
			x.bytes += t.bytes
		}
		for f, m := range c.fieldsU {
			dst := fieldMap(s, f)
			for v, n := range m {
				dst[strconv.FormatUint(v, 10)] += n
			}
		}
		for f, m := range c.fieldsB {
			dst := fieldMap(s, f)
			for v, n := range m {
				dst[v] += n
			}
		}
		for name, ps := range c.protos {
			x := s.Protocols[name]
			if x == nil {
				x = &ProtocolStats{}
				s.Protocols[name] = x
			}
			x.Flows += ps.Flows
			x.Packets += ps.Packets
			x.Bytes += ps.Bytes
			x.Transactions += ps.Transactions
			x.Violations += ps.Violations
			x.Hints += ps.Hints
		}
		s.Flows += c.flows
		s.Transactions += c.txs
		s.Hints += c.hints
		for k, n := range c.viols {
			s.Violations[k] += n
		}
	}
	if !s.First.IsZero() {
		s.DurationSeconds = s.Last.Sub(s.First).Seconds()
	}
	for m := range macs {
		s.MACAddresses = append(s.MACAddresses, macString(m))
	}
	sort.Strings(s.MACAddresses)
	for a := range ips {
		s.IPAddresses = append(s.IPAddresses, a.String())
	}
	sort.Strings(s.IPAddresses)
	for a, t := range talkers {
		s.TopTalkers = append(s.TopTalkers, Talker{Address: a.String(), Packets: t.packets, Bytes: t.bytes})
	}
	sort.Slice(s.TopTalkers, func(i, j int) bool {
		if s.TopTalkers[i].Bytes != s.TopTalkers[j].Bytes {
			return s.TopTalkers[i].Bytes > s.TopTalkers[j].Bytes
		}
		return s.TopTalkers[i].Address < s.TopTalkers[j].Address
	})
	n := opt.TopTalkers
	if n <= 0 {
		n = 10
	}
	if len(s.TopTalkers) > n {
		s.TopTalkers = s.TopTalkers[:n]
	}
	return s
}

func fieldMap(s *Summary, f string) map[string]uint64 {
	m := s.Fields[f]
	if m == nil {
		m = map[string]uint64{}
		s.Fields[f] = m
	}
	return m
}

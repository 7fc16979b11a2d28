package flow

import (
	"github.com/otwatch/otwatch/dissectors/dissect"
	"github.com/otwatch/otwatch/sensor/decode"
)

// maxOOOSegments bounds the out-of-order segments held per direction.
const maxOOOSegments = 64

// seqDiff returns a-b in sequence space (RFC 1982 arithmetic).
func seqDiff(a, b uint32) int32 { return int32(a - b) }

func (t *Table) tcpPacket(f *Flow, dir dissect.Direction, p *decode.Packet) {
	h := &f.tcp[dir]
	flags := p.TCPFlags
	if flags&decode.TCPSyn != 0 {
		h.next = p.Seq + 1
		h.init = true
		f.sawSYN = true
		if f.state == tcpNew {
			f.state = tcpSynSent
		}
		if flags&decode.TCPAck != 0 {
			f.state = tcpEstablished
		}
	}
	// An ACK that covers data we hold out of order in the other direction
	// proves the bytes before it were lost by the capture: report the gap.
	if flags&decode.TCPAck != 0 {
		rev := &f.tcp[dir^1]
		if rev.q != nil && len(rev.q.segs) > 0 && seqDiff(p.Ack, rev.q.segs[0].seq) > 0 {
			t.fillGap(f, dir^1)
		}
	}
	if n := len(p.Payload); n > 0 && flags&decode.TCPSyn == 0 {
		if f.state < tcpEstablished {
			f.state = tcpEstablished
		}
		if !h.init {
			h.next = p.Seq
			h.init = true
		}
		d := seqDiff(p.Seq, h.next)
		switch {
		case d == 0:
			t.deliverTCP(f, dir, p.Payload)
			h.next += uint32(n)
			t.drain(f, dir)
		case d < 0:
			if int(-d) >= n {
				t.Stats.Retransmissions++
			} else {
				t.deliverTCP(f, dir, p.Payload[-d:])
				h.next = p.Seq + uint32(n)
				t.drain(f, dir)
			}
		default:
			t.buffer(f, dir, p.Seq, p.Payload)
		}
	}
	if flags&decode.TCPFin != 0 {
		h.fin = true
		if f.tcp[dir^1].fin {
			f.state = tcpClosed
		} else if f.state != tcpClosed {
			f.state = tcpClosing
		}
	}
	if flags&decode.TCPRst != 0 {
		f.state = tcpClosed
	}
	if f.state == tcpClosed {
		t.touch(f, listClosed)
	} else {
		t.touch(f, listOpen)
	}
}

// buffer keeps an out-of-order segment, within the stream and table caps.
func (t *Table) buffer(f *Flow, dir dissect.Direction, seq uint32, data []byte) {
	h := &f.tcp[dir]
	if h.q == nil {
		h.q = &oooQueue{}
	}
	q := h.q
	switch {
	case q.bytes+len(data) > t.cfg.MaxStreamBuffer:
		t.Stats.StreamBufHits++
	case t.Stats.BufferedBytes+len(data) > t.cfg.MaxTotalBuffer:
		t.Stats.TotalBufHits++
	case len(q.segs) >= maxOOOSegments:
		t.Stats.StreamBufHits++
	default:
		t.Stats.OutOfOrder++
		buf := t.getBuf(len(data))
		buf = append(buf, data...)
		// Insert sorted by sequence number; drop exact duplicates.
		i := len(q.segs)
		for i > 0 && seqDiff(q.segs[i-1].seq, seq) > 0 {
			i--
		}
		if i > 0 && q.segs[i-1].seq == seq {
			t.putBuf(buf)
			t.Stats.Retransmissions++
			return
		}
		q.segs = append(q.segs, seg{})
		copy(q.segs[i+1:], q.segs[i:])
		q.segs[i] = seg{seq: seq, data: buf}
		q.bytes += len(buf)
		t.Stats.BufferedBytes += len(buf)
		return
	}
	// Caps hit: give up on the missing bytes, deliver what we hold, then
	// this segment.
	if len(q.segs) > 0 {
		t.fillGap(f, dir)
	}
	if d := seqDiff(seq, h.next); d > 0 {
		t.gap(f, dir, int(d))
		h.next = seq
	}
	t.deliverTCP(f, dir, data)
	h.next = seq + uint32(len(data))
	t.drain(f, dir)
}

// fillGap declares the bytes before the first buffered segment lost and
// delivers the buffer.
func (t *Table) fillGap(f *Flow, dir dissect.Direction) {
	h := &f.tcp[dir]
	if h.q == nil || len(h.q.segs) == 0 {
		return
	}
	if d := seqDiff(h.q.segs[0].seq, h.next); d > 0 {
		t.gap(f, dir, int(d))
		h.next = h.q.segs[0].seq
	}
	t.drain(f, dir)
}

// drain delivers buffered segments that are now in order.
func (t *Table) drain(f *Flow, dir dissect.Direction) {
	h := &f.tcp[dir]
	for h.q != nil && len(h.q.segs) > 0 {
		d := seqDiff(h.q.segs[0].seq, h.next)
		if d > 0 {
			return
		}
		t.takeOOO(f, dir)
	}
}

// takeOOO removes the first buffered segment and delivers what of it lies
// at or after h.next.
func (t *Table) takeOOO(f *Flow, dir dissect.Direction) {
	h := &f.tcp[dir]
	q := h.q
	s := q.segs[0]
	copy(q.segs, q.segs[1:])
	q.segs[len(q.segs)-1] = seg{}
	q.segs = q.segs[:len(q.segs)-1]
	q.bytes -= len(s.data)
	t.Stats.BufferedBytes -= len(s.data)
	d := seqDiff(s.seq, h.next)
	if d <= 0 && int(-d) < len(s.data) {
		t.deliverTCP(f, dir, s.data[-d:])
		h.next = s.seq + uint32(len(s.data))
	} else if d <= 0 {
		t.Stats.Retransmissions++
	}
	t.putBuf(s.data)
}

func (t *Table) gap(f *Flow, dir dissect.Direction, n int) {
	t.Stats.Gaps++
	t.Stats.GapBytes += uint64(n)
	f.gaps++
	if f.dis != nil {
		f.dis.Gap(&t.ctx, dir, n)
	}
}

func (t *Table) deliverTCP(f *Flow, dir dissect.Direction, data []byte) {
	h := &f.tcp[dir]
	if t.cfg.MaxStreamDepth > 0 {
		if h.delivered >= t.cfg.MaxStreamDepth {
			t.Stats.DepthBytes += uint64(len(data))
			return
		}
		if left := t.cfg.MaxStreamDepth - h.delivered; uint64(len(data)) > left {
			t.Stats.DepthBytes += uint64(len(data)) - left
			data = data[:left]
		}
	}
	h.delivered += uint64(len(data))
	t.deliver(f, dir, data, nil)
}

// maxProbeBuffer bounds the TCP bytes held while a probe asks for more.
const maxProbeBuffer = 2048

// probeHold keeps the TCP bytes of one direction that a probe could not yet
// judge, so that the dissector chosen later sees the stream from its start.
type probeHold struct {
	dir dissect.Direction
	buf []byte
}

// deliver hands application bytes to the flow's dissector, choosing one on
// the first payload (p is the packet for L2 flows, nil otherwise).
func (t *Table) deliver(f *Flow, dir dissect.Direction, data []byte, p *decode.Packet) {
	if !f.given {
		inHeld := t.choose(f, dir, data, p)
		if f.dis == nil {
			return
		}
		if h := f.held; h != nil {
			// Feed what the probes held, then this chunk if it was not part of it.
			f.held = nil
			f.dis.Feed(&t.ctx, h.dir, h.buf)
			if inHeld {
				return
			}
		}
	}
	if f.dis != nil {
		f.dis.Feed(&t.ctx, dir, data)
	}
}

// choose picks the flow's dissector. It reports whether data was added to
// the bytes held for the probes (and so must not be fed again).
func (t *Table) choose(f *Flow, dir dissect.Direction, data []byte, p *decode.Packet) (inHeld bool) {
	if t.reg == nil {
		f.given = true
		return false
	}
	idx := -1
	if f.l2 {
		f.given = true
		if p != nil {
			if p.EtherType != 0 {
				idx = t.reg.ByEtherType(p.EtherType)
			} else if p.Layers&decode.LLLC != 0 {
				idx = t.reg.ByLLC(dissect.LLCKey(p.DSAP, p.SNAPOUI, p.SNAPPID))
			}
		}
	} else {
		probe := data
		tcp := f.Info.Transport == dissect.TransportTCP
		if tcp && f.held != nil && f.held.dir == dir && len(f.held.buf)+len(data) <= maxProbeBuffer {
			f.held.buf = append(f.held.buf, data...)
			probe = f.held.buf
			inHeld = true
		}
		var res dissect.ProbeResult
		idx, res = t.reg.Select(f.Info.Transport, f.Info.Server.Port, f.Info.Client.Port, probe)
		if res == dissect.ProbeNeedMore {
			f.probes++
			if int(f.probes) < t.cfg.ProbeLimit {
				if tcp && f.held == nil && len(data) <= maxProbeBuffer {
					f.held = &probeHold{dir: dir, buf: append(make([]byte, 0, 256), data...)}
				}
				return inHeld
			}
		}
		f.given = true
		if idx < 0 {
			f.held = nil
		}
	}
	if idx < 0 {
		t.Stats.Unidentified++
		return inHeld
	}
	s := t.reg.Spec(idx)
	f.dis = s.New()
	f.spec = s
	t.Stats.Dissected++
	return inHeld
}

func (t *Table) getBuf(n int) []byte {
	for i := len(t.bufPool) - 1; i >= 0; i-- {
		if b := t.bufPool[i]; cap(b) >= n {
			t.bufPool[i] = t.bufPool[len(t.bufPool)-1]
			t.bufPool = t.bufPool[:len(t.bufPool)-1]
			return b[:0]
		}
	}
	c := 2048
	for c < n {
		c *= 2
	}
	return make([]byte, 0, c)
}

func (t *Table) putBuf(b []byte) {
	if len(t.bufPool) < 1024 {
		t.bufPool = append(t.bufPool, b[:0])
	}
}

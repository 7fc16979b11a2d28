package dissect

import "time"

// PendingCap is the number of outstanding requests a Pending table holds.
// Industrial protocols rarely pipeline more than a handful; a full table
// evicts its oldest entry, which the dissector reports as unmatched.
const PendingCap = 32

type pendingSlot[T any] struct {
	key  uint64
	at   time.Time
	used bool
	val  T
}

// Pending is a fixed-size table of outstanding requests keyed by a
// transaction ID (Modbus transaction ID, BACnet invoke ID, DNP3 sequence…).
// It never allocates. The zero value is ready to use.
type Pending[T any] struct {
	slots [PendingCap]pendingSlot[T]
	n     int
}

// Len returns the number of outstanding requests.
func (p *Pending[T]) Len() int { return p.n }

// Put stores a request. When key is already outstanding, or the table is
// full, the displaced request is returned with evicted = true so the caller
// can emit it as unmatched.
func (p *Pending[T]) Put(key uint64, at time.Time, v T) (old T, oldAt time.Time, evicted bool) {
	free, oldest := -1, -1
	for i := range p.slots {
		s := &p.slots[i]
		if !s.used {
			if free < 0 {
				free = i
			}
			continue
		}
		if s.key == key {
			old, oldAt = s.val, s.at
			s.at, s.val = at, v
			return old, oldAt, true
		}
		if oldest < 0 || s.at.Before(p.slots[oldest].at) {
			oldest = i
		}
	}
	if free >= 0 {
		p.slots[free] = pendingSlot[T]{key: key, at: at, used: true, val: v}
		p.n++
		return old, oldAt, false
	}
	s := &p.slots[oldest]
	old, oldAt = s.val, s.at
	*s = pendingSlot[T]{key: key, at: at, used: true, val: v}
	return old, oldAt, true
}

// Take removes and returns the request stored under key.
func (p *Pending[T]) Take(key uint64) (v T, at time.Time, ok bool) {
	if p.n == 0 {
		return v, at, false
	}
	for i := range p.slots {
		s := &p.slots[i]
		if s.used && s.key == key {
			v, at = s.val, s.at
			var zero T
			s.used, s.val = false, zero
			p.n--
			return v, at, true
		}
	}
	return v, at, false
}

// TakeOldest removes and returns the oldest request (for protocols without
// transaction IDs that answer in order).
func (p *Pending[T]) TakeOldest() (key uint64, v T, at time.Time, ok bool) {
	oldest := -1
	for i := range p.slots {
		s := &p.slots[i]
		if s.used && (oldest < 0 || s.at.Before(p.slots[oldest].at)) {
			oldest = i
		}
	}
	if oldest < 0 {
		return 0, v, at, false
	}
	s := &p.slots[oldest]
	key, v, at = s.key, s.val, s.at
	var zero T
	s.used, s.val = false, zero
	p.n--
	return key, v, at, true
}

// Expire removes every request older than now-timeout (all of them when
// timeout is 0) and passes each to fn, oldest first is not guaranteed.
func (p *Pending[T]) Expire(now time.Time, timeout time.Duration, fn func(key uint64, v T, at time.Time)) {
	if p.n == 0 {
		return
	}
	for i := range p.slots {
		s := &p.slots[i]
		if !s.used || (timeout > 0 && now.Sub(s.at) < timeout) {
			continue
		}
		v, at, key := s.val, s.at, s.key
		var zero T
		s.used, s.val = false, zero
		p.n--
		fn(key, v, at)
	}
}

// DefaultMaxPDU is the default largest PDU a Framer buffers.
const DefaultMaxPDU = 64 << 10

// Framer cuts a TCP byte stream into PDUs. Complete PDUs inside one chunk are
// returned without copying; only a PDU split across chunks is buffered.
//
// Use: f.Push(data); for { pdu, st := f.Next(lengthFn); if st != FrameOK {break}; … }
type Framer struct {
	buf  []byte // partial PDU carried over from earlier chunks
	src  []byte // unread part of the current chunk
	Max  int    // largest PDU buffered; 0 means DefaultMaxPDU
	Lost uint64 // bytes dropped while resynchronising
}

// FrameStatus is the result of Framer.Next.
type FrameStatus uint8

// Framer results.
const (
	FrameOK      FrameStatus = iota // a complete PDU is returned
	FrameNeed                       // more bytes are needed
	FrameInvalid                    // the length function rejected the header: the rest of the chunk was dropped
)

// LengthFunc returns the total length of the PDU at the start of b, 0 when b
// is too short to tell, or -1 when b cannot start a valid PDU.
type LengthFunc func(b []byte) int

// Push hands the framer the next chunk of the stream.
func (f *Framer) Push(data []byte) { f.src = data }

// Reset drops all buffered bytes (after a gap).
func (f *Framer) Reset() {
	f.buf = f.buf[:0]
	f.src = nil
}

// Buffered returns the number of bytes held for an incomplete PDU.
func (f *Framer) Buffered() int { return len(f.buf) }

// Next returns the next complete PDU. The slice is valid until the next call.
func (f *Framer) Next(length LengthFunc) ([]byte, FrameStatus) {
	max := f.Max
	if max <= 0 {
		max = DefaultMaxPDU
	}
	if len(f.buf) == 0 {
		if len(f.src) == 0 {
			return nil, FrameNeed
		}
		n := length(f.src)
		switch {
		case n < 0 || n > max:
			f.Lost += uint64(len(f.src))
			f.src = nil
			return nil, FrameInvalid
		case n > 0 && n <= len(f.src):
			pdu := f.src[:n]
			f.src = f.src[n:]
			return pdu, FrameOK
		}
		if cap(f.buf) == 0 {
			f.buf = make([]byte, 0, 1024)
		}
		f.buf = append(f.buf, f.src...)
		f.src = nil
		return nil, FrameNeed
	}
	// Complete the buffered PDU from the current chunk, a few bytes at a
	// time while the header is incomplete.
	for {
		n := length(f.buf)
		if n < 0 || n > max {
			f.Lost += uint64(len(f.buf) + len(f.src))
			f.buf, f.src = f.buf[:0], nil
			return nil, FrameInvalid
		}
		if n > 0 && len(f.buf) >= n {
			// The buffer holds exactly one PDU (we only ever add up to n).
			pdu := f.buf[:n]
			f.buf = f.buf[:0]
			return pdu, FrameOK
		}
		if len(f.src) == 0 {
			return nil, FrameNeed
		}
		want := n - len(f.buf)
		if n == 0 {
			want = 1
		}
		if want > len(f.src) {
			want = len(f.src)
		}
		f.buf = append(f.buf, f.src[:want]...)
		f.src = f.src[want:]
	}
}

package decode

import (
	"net/netip"
	"time"
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragRange struct{ start, end int }

const maxFragRanges = 16

type fragSlot struct {
	key    fragKey
	first  time.Time
	used   bool
	total  int // datagram length once the last fragment was seen, else 0
	buf    []byte
	ranges [maxFragRanges]fragRange
	nr     int
}

// fragTable reassembles IP datagrams within fixed bounds. Buffers are kept
// when a slot is freed, so steady-state reassembly does not allocate.
type fragTable struct {
	cfg     Config
	slots   []fragSlot
	inUse   int
	bytes   int // capacity of the buffers of used slots
	scratch []byte
}

func (t *fragTable) init(cfg Config) {
	t.cfg = cfg
	t.slots = make([]fragSlot, cfg.MaxFragDatagrams)
}

func (t *fragTable) free(s *fragSlot) {
	t.bytes -= cap(s.buf)
	s.used = false
	s.nr = 0
	s.total = 0
	s.buf = s.buf[:0]
	t.inUse--
}

// add stores one fragment; it returns the whole datagram when this fragment
// completes it. The returned slice is valid until the next call.
func (t *fragTable) add(st *Stats, now time.Time, key fragKey, off int, more bool, data []byte) ([]byte, bool) {
	var slot, free *fragSlot
	for i := range t.slots {
		s := &t.slots[i]
		if !s.used {
			if free == nil {
				free = s
			}
			continue
		}
		if now.Sub(s.first) > t.cfg.FragTimeout {
			st.FragTimeouts++
			st.FragDropped += uint64(s.nr)
			t.free(s)
			if free == nil {
				free = s
			}
			continue
		}
		if s.key == key {
			slot = s
		}
	}
	end := off + len(data)
	if end > 65535+8 {
		st.FragDropped++
		if slot != nil {
			t.free(slot)
		}
		return nil, false
	}
	if slot == nil {
		if free == nil {
			st.FragLimitDatagram++
			st.FragDropped++
			return nil, false
		}
		slot = free
		slot.used, slot.key, slot.first, slot.nr, slot.total = true, key, now, 0, 0
		t.bytes += cap(slot.buf)
		t.inUse++
	}
	if cap(slot.buf) < end {
		newCap := 2048
		for newCap < end {
			newCap *= 2
		}
		if t.bytes-cap(slot.buf)+newCap > t.cfg.MaxFragBytes {
			st.FragLimitBytes++
			st.FragDropped += uint64(slot.nr) + 1
			t.free(slot)
			return nil, false
		}
		nb := make([]byte, len(slot.buf), newCap)
		copy(nb, slot.buf)
		t.bytes += newCap - cap(slot.buf)
		slot.buf = nb
	}
	if len(slot.buf) < end {
		slot.buf = slot.buf[:end]
	}
	copy(slot.buf[off:end], data)
	if !more {
		slot.total = end
	}
	if !slot.insert(off, end) {
		st.FragDropped += uint64(slot.nr) + 1
		t.free(slot)
		return nil, false
	}
	if slot.total > 0 && slot.nr == 1 && slot.ranges[0].start == 0 && slot.ranges[0].end >= slot.total {
		// Complete. Hand out the bytes through scratch so the slot can be
		// reused at once.
		t.scratch = append(t.scratch[:0], slot.buf[:slot.total]...)
		t.free(slot)
		st.Reassembled++
		return t.scratch, true
	}
	return nil, false
}

// insert merges [start,end) into the sorted, disjoint range list.
func (s *fragSlot) insert(start, end int) bool {
	if end <= start {
		return true
	}
	// Find the position and merge overlapping or adjacent ranges.
	i := 0
	for i < s.nr && s.ranges[i].end < start {
		i++
	}
	j := i
	for j < s.nr && s.ranges[j].start <= end {
		if s.ranges[j].start < start {
			start = s.ranges[j].start
		}
		if s.ranges[j].end > end {
			end = s.ranges[j].end
		}
		j++
	}
	// Replace ranges[i:j] by one.
	removed := j - i
	if removed == 0 {
		if s.nr == maxFragRanges {
			return false
		}
		copy(s.ranges[i+1:s.nr+1], s.ranges[i:s.nr])
		s.nr++
	} else if removed > 1 {
		copy(s.ranges[i+1:], s.ranges[j:s.nr])
		s.nr -= removed - 1
	}
	s.ranges[i] = fragRange{start, end}
	return true
}

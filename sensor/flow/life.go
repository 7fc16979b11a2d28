package flow

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// link appends flow slot to the tail of list l.
func (t *Table) link(f *Flow, slot int32, l uint8) {
	f.list = l
	f.queuedNs = f.lastNs
	f.prev, f.next = t.tails[l], -1
	if t.tails[l] >= 0 {
		t.flow(t.tails[l]).next = slot
	} else {
		t.heads[l] = slot
	}
	t.tails[l] = slot
}

func (t *Table) unlink(f *Flow) {
	l := f.list
	if f.prev >= 0 {
		t.flow(f.prev).next = f.next
	} else {
		t.heads[l] = f.next
	}
	if f.next >= 0 {
		t.flow(f.next).prev = f.prev
	} else {
		t.tails[l] = f.prev
	}
	f.prev, f.next = -1, -1
}

// touch puts f on list l. A flow that stays on its list is not moved on
// every packet: the lists are kept in order lazily, by expire, which gives a
// head that was active since it was queued a second chance at the tail.
func (t *Table) touch(f *Flow, l uint8) {
	if f.list == l {
		return
	}
	t.unlink(f)
	t.link(f, f.self, l)
}

func (t *Table) timeout(l int) time.Duration {
	switch l {
	case listOpen:
		return t.cfg.TCPIdle
	case listClosed:
		return t.cfg.ClosedIdle
	}
	return t.cfg.UDPIdle
}

// expire ends flows idle longer than their list's timeout.
func (t *Table) expire(now time.Time) {
	for l := 0; l < numLists; l++ {
		to := t.timeout(l)
		// Flows are queued in the order they joined the list, not of their
		// last packet: a head that saw a packet since is moved to the tail
		// (at most once per flow per pass), the first truly young head ends
		// the pass. Every flow idle longer than the timeout is ended within
		// one more timeout.
		nowNs := now.UnixNano()
		for n := t.Stats.Active; t.heads[l] >= 0; n-- {
			f := t.flow(t.heads[l])
			if nowNs-f.lastNs <= int64(to) {
				if n <= 0 || f.next < 0 {
					break
				}
				if nowNs-f.queuedNs <= int64(to) {
					break // queued recently: everything behind it is younger still
				}
				t.unlink(f)
				t.link(f, f.self, uint8(l))
				continue
			}
			if l == listClosed {
				t.Stats.Closed++
				t.end(f, "closed")
			} else {
				t.Stats.Expired++
				t.end(f, "idle")
			}
		}
	}
}

// evictOldest ends the least recently used flow, preferring closed flows.
func (t *Table) evictOldest() bool {
	best := int32(-1)
	for _, l := range [...]int{listClosed, listDatagram, listOpen} {
		h := t.heads[l]
		if h < 0 {
			continue
		}
		if best < 0 || t.flow(h).lastNs < t.flow(best).lastNs || l == listClosed {
			best = h
			if l == listClosed {
				break
			}
		}
	}
	if best < 0 {
		return false
	}
	t.Stats.Evicted++
	t.end(t.flow(best), "evicted")
	return true
}

// Flush ends every flow (at the end of a capture, or at shutdown).
func (t *Table) Flush() {
	for l := 0; l < numLists; l++ {
		for t.heads[l] >= 0 {
			t.end(t.flow(t.heads[l]), "flush")
		}
	}
}

// ExpireNow runs expiry against a clock (live capture calls it on a timer
// so that flows end even when no packet arrives).
func (t *Table) ExpireNow(now time.Time) { t.expire(now) }

// end flushes a flow's stream buffers to its dissector, tells the dissector
// and the observer, and frees the flow.
func (t *Table) end(f *Flow, reason string) {
	t.ctx.Flow = &f.Info
	t.ctx.Time = f.Last()
	if f.l2 || f.proto != 6 {
		// nothing buffered
	} else {
		for d := range f.tcp {
			h := &f.tcp[d]
			for h.q != nil && len(h.q.segs) > 0 {
				s := h.q.segs[0]
				gap := int(s.seq - h.next)
				if gap > 0 {
					t.gap(f, dissect.Direction(d), gap)
				}
				h.next = s.seq
				t.takeOOO(f, dissect.Direction(d))
			}
		}
	}
	if f.dis != nil {
		f.dis.End(&t.ctx)
		f.dis = nil
	}
	if t.obs != nil {
		t.obs.FlowEnd(f, reason)
	}
	t.unlink(f)
	t.remove(f)
	f.used = false
	t.Stats.Active--
	t.free = append(t.free, f.self)
}

// remove deletes f from the open-addressing index with backward-shift
// deletion (no tombstones).
func (t *Table) remove(f *Flow) {
	pos := f.hash & t.mask
	for t.index[pos] != f.self+1 {
		if t.index[pos] == 0 {
			return
		}
		pos = (pos + 1) & t.mask
	}
	t.index[pos] = 0
	for j := (pos + 1) & t.mask; t.index[j] != 0; j = (j + 1) & t.mask {
		home := t.flow(t.index[j]-1).hash & t.mask
		// Move entry j into the hole if its home is not in (pos, j].
		if (j > pos && (home <= pos || home > j)) || (j < pos && home <= pos && home > j) {
			t.index[pos] = t.index[j]
			t.index[j] = 0
			pos = j
		}
	}
}

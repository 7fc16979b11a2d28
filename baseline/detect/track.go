package detect

import "time"

// win is one key's window: its start, the events counted and the distinct
// values seen in it.
type win struct {
	start time.Time
	n     int
	vals  map[uint64]struct{}
	fired bool
	// dead: swept or forgotten, no longer in its tracker (for callers
	// that keep a pointer to a window, see flowSlot)
	dead bool
}

// tracker keeps tumbling windows per key, capped at max keys: when full,
// expired windows are swept, and if none expired the new key is dropped and
// counted.
type tracker[K comparable] struct {
	m      map[K]*win
	max    int
	maxWin time.Duration // the longest window used, for sweeping
}

func (tr *tracker[K]) init(max int) {
	tr.m = map[K]*win{}
	tr.max = max
}

func (tr *tracker[K]) get(k K, t time.Time, w time.Duration, dropped *uint64) *win {
	if w > tr.maxWin {
		tr.maxWin = w
	}
	x := tr.m[k]
	if x == nil {
		if len(tr.m) >= tr.max {
			tr.sweep(t)
			if len(tr.m) >= tr.max {
				*dropped++
				return nil
			}
		}
		x = &win{start: t}
		tr.m[k] = x
		return x
	}
	x.renew(t, w)
	return x
}

// renew starts a new window at t when t is outside the current one.
func (x *win) renew(t time.Time, w time.Duration) {
	if t.Sub(x.start) > w || t.Before(x.start.Add(-w)) {
		x.start, x.n, x.fired = t, 0, false
		clear(x.vals)
	}
}

// count adds an event and reports the count, and true the first time it
// reaches thr within the window.
func (tr *tracker[K]) count(k K, t time.Time, w time.Duration, thr int, dropped *uint64) (int, bool) {
	x := tr.get(k, t, w, dropped)
	if x == nil {
		return 0, false
	}
	x.n++
	if x.n >= thr && !x.fired {
		x.fired = true
		return x.n, true
	}
	return x.n, false
}

// distinct adds value v and reports the number of distinct values, and
// true the first time it reaches thr within the window. At most thr values
// are kept per key.
func (tr *tracker[K]) distinct(k K, v uint64, t time.Time, w time.Duration, thr int, dropped *uint64) (int, bool) {
	x := tr.get(k, t, w, dropped)
	if x == nil {
		return 0, false
	}
	return x.distinct(v, thr)
}

// distinct adds value v to the window x, renewed by the caller, as
// tracker.distinct does.
func (x *win) distinct(v uint64, thr int) (int, bool) {
	if x.fired {
		return len(x.vals), false
	}
	if x.vals == nil {
		x.vals = make(map[uint64]struct{}, 8)
	}
	x.vals[v] = struct{}{}
	if len(x.vals) >= thr {
		x.fired = true
		return len(x.vals), true
	}
	return len(x.vals), false
}

// sweep drops the windows that ended before now.
func (tr *tracker[K]) sweep(now time.Time) {
	for k, x := range tr.m {
		if now.Sub(x.start) > tr.maxWin {
			x.dead = true
			delete(tr.m, k)
		}
	}
}

// len returns the number of keys tracked.
func (tr *tracker[K]) len() int { return len(tr.m) }

// forget drops a key's window.
func (tr *tracker[K]) forget(k K) {
	if x := tr.m[k]; x != nil {
		x.dead = true
		delete(tr.m, k)
	}
}

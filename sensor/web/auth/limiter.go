package auth

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (a user name or a client IP) and
// locks a key out for exponentially growing periods once it reaches its
// threshold: threshold failures lock it for base, each further failure
// doubles the lock, up to maxLock. A key with no failure for forget (after
// its lock ends) is forgotten. At most capacity keys are tracked.
type limiter struct {
	base, maxLock, forget time.Duration
	capacity              int

	mu      sync.Mutex
	keys    map[string]*failures
	evicted uint64
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

func newLimiter(base, maxLock, forget time.Duration, capacity int) *limiter {
	return &limiter{base: base, maxLock: maxLock, forget: forget, capacity: capacity, keys: make(map[string]*failures)}
}

// stale reports whether f can be forgotten at now.
func (l *limiter) stale(f *failures, now time.Time) bool {
	return now.Sub(f.last) > l.forget && !now.Before(f.until)
}

// locked returns how long key stays locked at now (0: not locked).
func (l *limiter) locked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok {
		return 0
	}
	if l.stale(f, now) {
		delete(l.keys, key)
		return 0
	}
	if now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// fail records a failure of key at now and returns the lock it earned (0:
// none yet).
func (l *limiter) fail(key string, threshold int, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if ok && l.stale(f, now) {
		f.n, f.until = 0, time.Time{}
	}
	if !ok {
		l.makeRoom(now)
		f = &failures{}
		l.keys[key] = f
	}
	f.n++
	f.last = now
	if f.n < threshold {
		return 0
	}
	lock := l.base
	for i := threshold; i < f.n && lock < l.maxLock; i++ {
		lock *= 2
	}
	lock = min(lock, l.maxLock)
	f.until = now.Add(lock)
	return lock
}

// count returns the failures recorded for key.
func (l *limiter) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.keys[key]; ok {
		return f.n
	}
	return 0
}

// reset forgets key's failures.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

// makeRoom keeps the table under capacity: it drops the stale keys, then,
// if needed, unlocked keys and at last any, and counts what it dropped.
// Called with mu held.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.keys) < l.capacity {
		return
	}
	target := l.capacity * 3 / 4
	for pass := 0; pass < 3 && len(l.keys) > target; pass++ {
		for k, f := range l.keys {
			if len(l.keys) <= target {
				break
			}
			if pass == 0 && !l.stale(f, now) || pass == 1 && now.Before(f.until) {
				continue
			}
			delete(l.keys, k)
			l.evicted++
		}
	}
}

// stats returns the number of keys tracked and evicted.
func (l *limiter) stats() (tracked int, evicted uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys), l.evicted
}

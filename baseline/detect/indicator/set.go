package indicator

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxAddErrors caps the errors Add and Replace join.
const maxAddErrors = 10

// Set is a thread-safe set of indicators, indexed for matching. The zero
// value is an empty set capped at DefaultMaxIndicators; NewSet sets another
// cap. Indicators returned by the Match methods are shared and must not be
// modified.
//
// When two indicators have the same value (the same address, prefix,
// domain rule or URL), the first one added is the one that matches; the
// others are counted as duplicates.
type Set struct {
	wmu sync.Mutex   // serialises writers, so that rebuilds can run unlocked
	mu  sync.RWMutex // guards the fields below
	idx *index
	// sources keeps every indicator by source, in the order sources were
	// first added, for rebuilds (Replace, RemoveSource, Expire).
	sources map[string][]*Indicator
	order   []string
	invalid int
	max     int
	hits    atomic.Uint64
}

// NewSet returns an empty set that holds at most max indicators (0: the
// default).
func NewSet(max int) *Set {
	return &Set{max: max}
}

// index is the lookup structure; it is replaced whole by rebuilds.
type index struct {
	addrs        map[netip.Addr]*Indicator
	prefixes     map[netip.Prefix]*Indicator
	bits4, bits6 []int // prefix lengths present, longest first
	exact        map[string]*Indicator
	subs         map[string]*Indicator // name → its "*." rule
	urls         map[string]*Indicator
	n            int
	dups         int
	dropped      int
}

func newIndex() *index {
	return &index{
		addrs:    map[netip.Addr]*Indicator{},
		prefixes: map[netip.Prefix]*Indicator{},
		exact:    map[string]*Indicator{},
		subs:     map[string]*Indicator{},
		urls:     map[string]*Indicator{},
	}
}

// add indexes a normalised indicator unless its value is already there or
// the set is full; it reports whether it was added.
func (x *index) add(ind *Indicator, max int) bool {
	if x.n >= max {
		x.dropped++
		return false
	}
	var dup bool
	switch ind.Kind {
	case KindAddr:
		dup = putNew(x.addrs, ind.Prefix.Addr(), ind)
	case KindPrefix:
		if dup = putNew(x.prefixes, ind.Prefix, ind); !dup {
			if ind.Prefix.Addr().Is4() {
				x.bits4 = insertBits(x.bits4, ind.Prefix.Bits())
			} else {
				x.bits6 = insertBits(x.bits6, ind.Prefix.Bits())
			}
		}
	case KindDomain:
		if ind.Subdomains {
			dup = putNew(x.subs, ind.domainKey(), ind)
		} else {
			dup = putNew(x.exact, ind.Value, ind)
		}
	case KindURL:
		dup = putNew(x.urls, ind.Value, ind)
	}
	if dup {
		x.dups++
		return false
	}
	x.n++
	return true
}

// holds reports whether ind itself (not a duplicate) is indexed.
func (x *index) holds(ind *Indicator) bool {
	switch ind.Kind {
	case KindAddr:
		return x.addrs[ind.Prefix.Addr()] == ind
	case KindPrefix:
		return x.prefixes[ind.Prefix] == ind
	case KindDomain:
		if ind.Subdomains {
			return x.subs[ind.domainKey()] == ind
		}
		return x.exact[ind.Value] == ind
	case KindURL:
		return x.urls[ind.Value] == ind
	}
	return false
}

// putNew stores v under k unless k is present, and reports whether it was.
func putNew[K comparable](m map[K]*Indicator, k K, v *Indicator) (present bool) {
	if _, ok := m[k]; ok {
		return true
	}
	m[k] = v
	return false
}

// insertBits inserts b into the descending list bits if it is not there.
func insertBits(bits []int, b int) []int {
	i := 0
	for i < len(bits) && bits[i] > b {
		i++
	}
	if i < len(bits) && bits[i] == b {
		return bits
	}
	return slices.Insert(bits, i, b)
}

func (s *Set) limit() int {
	if s.max <= 0 {
		return DefaultMaxIndicators
	}
	return s.max
}

// normalizeAll copies and normalises inds; invalid ones are counted and
// reported (at most maxAddErrors of them).
func normalizeAll(inds []Indicator) (out []*Indicator, invalid int, err error) {
	out = make([]*Indicator, 0, len(inds))
	var errs []error
	for i := range inds {
		c := inds[i]
		c.Labels = slices.Clone(c.Labels)
		if e := c.normalize(); e != nil {
			invalid++
			if len(errs) < maxAddErrors {
				errs = append(errs, fmt.Errorf("indicator %d (%q from %s): %w", i, inds[i].Value, inds[i].Source, e))
			}
			continue
		}
		out = append(out, &c)
	}
	if invalid > len(errs) {
		errs = append(errs, fmt.Errorf("%d invalid indicators in all", invalid))
	}
	return out, invalid, errors.Join(errs...)
}

// Add normalises and adds indicators, and returns how many were indexed
// (duplicates and those beyond the cap are not, and are counted in Stats).
// The error reports invalid indicators, which are left out.
func (s *Set) Add(inds ...Indicator) (int, error) {
	norm, invalid, err := normalizeAll(inds)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		s.idx = newIndex()
		s.sources = map[string][]*Indicator{}
	}
	s.invalid += invalid
	added := 0
	for _, ind := range norm {
		if s.idx.add(ind, s.limit()) {
			added++
		}
		if _, ok := s.sources[ind.Source]; !ok {
			s.order = append(s.order, ind.Source)
		}
		s.sources[ind.Source] = append(s.sources[ind.Source], ind)
	}
	return added, err
}

// Replace swaps the indicators of one source for inds (a reloaded feed)
// and returns how many of them were indexed. The new index is built aside,
// so matching goes on meanwhile. The error reports invalid indicators.
func (s *Set) Replace(source string, inds []Indicator) (int, error) {
	norm, invalid, err := normalizeAll(inds)
	for _, ind := range norm {
		ind.Source = source
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	srcs := s.snapshotSources()
	if _, ok := srcs[source]; !ok && len(norm) > 0 {
		s.order = append(s.order, source) // only writers touch order
	}
	if len(norm) > 0 {
		srcs[source] = norm
	} else {
		delete(srcs, source)
	}
	idx, order := s.build(srcs)
	added := 0
	for _, ind := range norm {
		if idx.holds(ind) {
			added++
		}
	}
	s.swap(idx, srcs, order, invalid)
	return added, err
}

// RemoveSource drops every indicator of a source and returns how many
// there were.
func (s *Set) RemoveSource(source string) int {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	srcs := s.snapshotSources()
	n := len(srcs[source])
	if n == 0 {
		return 0
	}
	delete(srcs, source)
	idx, order := s.build(srcs)
	s.swap(idx, srcs, order, 0)
	return n
}

// Expire drops the indicators whose validity ended at or before now and
// returns how many there were.
func (s *Set) Expire(now time.Time) int {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	srcs := s.snapshotSources()
	n := 0
	for src, inds := range srcs {
		keep := inds[:0:0]
		for _, ind := range inds {
			if ind.Expired(now) {
				n++
				continue
			}
			keep = append(keep, ind)
		}
		if len(keep) == 0 {
			delete(srcs, src)
		} else {
			srcs[src] = keep
		}
	}
	if n > 0 {
		idx, order := s.build(srcs)
		s.swap(idx, srcs, order, 0)
	}
	return n
}

// snapshotSources copies the source map (the slices are shared; writers
// replace them rather than modify them). The caller holds wmu.
func (s *Set) snapshotSources() map[string][]*Indicator {
	out := make(map[string][]*Indicator, len(s.sources)+1)
	for k, v := range s.sources {
		out[k] = v
	}
	return out
}

// build indexes srcs in source order. The caller holds wmu.
func (s *Set) build(srcs map[string][]*Indicator) (*index, []string) {
	idx := newIndex()
	var order []string
	for _, src := range s.order {
		inds, ok := srcs[src]
		if !ok {
			continue
		}
		order = append(order, src)
		for _, ind := range inds {
			idx.add(ind, s.limit())
		}
	}
	return idx, order
}

// swap installs a rebuilt index. The caller holds wmu.
func (s *Set) swap(idx *index, srcs map[string][]*Indicator, order []string, invalid int) {
	s.mu.Lock()
	s.idx, s.sources, s.order = idx, srcs, order
	s.invalid += invalid
	s.mu.Unlock()
}

// MatchIP returns the indicator that matches a: the address itself, else
// the longest matching prefix. IPv4-mapped IPv6 addresses match as IPv4;
// zones are ignored. It does not allocate.
func (s *Set) MatchIP(a netip.Addr) (*Indicator, bool) {
	if !a.IsValid() {
		return nil, false
	}
	a = a.Unmap().WithZone("")
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := s.idx
	if x == nil {
		return nil, false
	}
	if ind, ok := x.addrs[a]; ok {
		s.hits.Add(1)
		return ind, true
	}
	bits := x.bits4
	if a.Is6() {
		bits = x.bits6
	}
	for _, b := range bits {
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if ind, ok := x.prefixes[p]; ok {
			s.hits.Add(1)
			return ind, true
		}
	}
	return nil, false
}

// MatchDomain returns the indicator that matches a domain name: an exact
// indicator for the name, else the "*." rule of the name or of its nearest
// parent. Case is ignored, and so is a trailing dot. It does not allocate.
func (s *Set) MatchDomain(name string) (*Indicator, bool) {
	n := len(name)
	if n > 0 && name[n-1] == '.' {
		n--
	}
	if n == 0 || n > maxDomain {
		return nil, false
	}
	var buf [maxDomain]byte
	for i := 0; i < n; i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	b := buf[:n]
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := s.idx
	if x == nil {
		return nil, false
	}
	if ind, ok := x.exact[string(b)]; ok {
		s.hits.Add(1)
		return ind, true
	}
	if len(x.subs) == 0 {
		return nil, false
	}
	for i := 0; i < n; i++ {
		if i > 0 && b[i-1] != '.' {
			continue
		}
		if ind, ok := x.subs[string(b[i:])]; ok {
			s.hits.Add(1)
			return ind, true
		}
	}
	return nil, false
}

// MatchURL normalises u (see NormalizeURL) and returns the indicator for
// it; an indicator without a query also matches the URL with any query.
func (s *Set) MatchURL(u string) (*Indicator, bool) {
	n, err := NormalizeURL(u)
	if err != nil {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := s.idx
	if x == nil || len(x.urls) == 0 {
		return nil, false
	}
	ind, ok := x.urls[n]
	if !ok {
		if q := strings.IndexByte(n, '?'); q >= 0 {
			ind, ok = x.urls[n[:q]]
		}
	}
	if ok {
		s.hits.Add(1)
	}
	return ind, ok
}

// Len returns the number of indexed indicators.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.idx == nil {
		return 0
	}
	return s.idx.n
}

// Stats counts a Set's contents.
type Stats struct {
	Addrs      int // exact addresses
	Prefixes   int
	Domains    int // exact domain names
	Subdomains int // "*." domain rules
	URLs       int
	// Duplicates were not indexed because an indicator with the same value
	// was there first.
	Duplicates int
	// Dropped were not indexed because the set was full (Max).
	Dropped int
	// Invalid were refused by Add or Replace.
	Invalid int
	Max     int
	// Hits counts successful matches since the set was made.
	Hits uint64
	// Sources counts the indicators kept per source (duplicates included).
	Sources map[string]int
}

// Stats returns the set's counters.
func (s *Set) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Invalid: s.invalid, Max: s.limit(), Hits: s.hits.Load(), Sources: map[string]int{}}
	if x := s.idx; x != nil {
		st.Addrs, st.Prefixes, st.Domains, st.Subdomains, st.URLs = len(x.addrs), len(x.prefixes), len(x.exact), len(x.subs), len(x.urls)
		st.Duplicates, st.Dropped = x.dups, x.dropped
	}
	for src, inds := range s.sources {
		st.Sources[src] = len(inds)
	}
	return st
}

package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Store persists alerts and mutes. The sensor implements it on SQLite;
// SaveAlerts upserts by ID and must be atomic.
type Store interface {
	LoadAlerts(ctx context.Context) ([]*Alert, error)
	SaveAlerts(ctx context.Context, as []*Alert) error
	LoadMutes(ctx context.Context) ([]Mute, error)
	SaveMute(ctx context.Context, m Mute) error
	DeleteMute(ctx context.Context, key string) error
}

// Mute silences an alert key (rule, devices, protocol, function) for good.
type Mute struct {
	Key     string    `json:"key"`
	Title   string    `json:"title"`
	AlertID string    `json:"alert_id,omitempty"`
	By      string    `json:"by,omitempty"`
	Created time.Time `json:"created"`
}

// Exclusion suppresses alerts before they are raised. Every non-empty
// criterion must match: rules or title substrings, devices (IP or MAC, either
// side), subnets (either side), an absolute window and a daily window
// (minutes after midnight UTC; From > To wraps past midnight).
type Exclusion struct {
	Name      string         `json:"name" yaml:"name"`
	Rules     []string       `json:"rules,omitempty" yaml:"rules"`
	Titles    []string       `json:"titles,omitempty" yaml:"titles"`
	Devices   []string       `json:"devices,omitempty" yaml:"devices"`
	Subnets   []netip.Prefix `json:"subnets,omitempty" yaml:"subnets"`
	Start     time.Time      `json:"start,omitzero" yaml:"start"`
	End       time.Time      `json:"end,omitzero" yaml:"end"`
	DailyFrom int            `json:"daily_from,omitempty" yaml:"daily_from"` // minutes after midnight, UTC
	DailyTo   int            `json:"daily_to,omitempty" yaml:"daily_to"`
}

// Matches reports whether the exclusion covers alert a seen at time t.
func (e *Exclusion) Matches(a *Alert, t time.Time) bool {
	if len(e.Rules) > 0 && !contains(e.Rules, a.Rule) {
		return false
	}
	if len(e.Titles) > 0 {
		ok := false
		for _, s := range e.Titles {
			if strings.Contains(strings.ToLower(a.Title), strings.ToLower(s)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(e.Devices) > 0 {
		ok := false
		for _, d := range e.Devices {
			if d != "" && (strings.EqualFold(d, a.Src.IP) || strings.EqualFold(d, a.Dst.IP) ||
				strings.EqualFold(d, a.Src.MAC) || strings.EqualFold(d, a.Dst.MAC)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(e.Subnets) > 0 {
		ok := false
		src, dst := a.Src.Addr(), a.Dst.Addr()
		for _, p := range e.Subnets {
			if (src.IsValid() && p.Contains(src)) || (dst.IsValid() && p.Contains(dst)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if !e.Start.IsZero() && t.Before(e.Start) {
		return false
	}
	if !e.End.IsZero() && !t.Before(e.End) {
		return false
	}
	if e.DailyFrom != e.DailyTo {
		m := t.UTC().Hour()*60 + t.UTC().Minute()
		if e.DailyFrom < e.DailyTo {
			if m < e.DailyFrom || m >= e.DailyTo {
				return false
			}
		} else if m < e.DailyFrom && m >= e.DailyTo {
			return false
		}
	}
	return true
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// BookConfig bounds the book.
type BookConfig struct {
	// AutoClose closes an alert with no identical traffic for this long
	// (default 90 days).
	AutoClose time.Duration
	// MaxAlerts caps the alerts kept in memory (default 100,000). Closed
	// alerts are dropped first (they stay in the store); when only open
	// ones are left, new alerts are dropped and counted.
	MaxAlerts int
	// LoadClosed is how many of the most recent closed alerts Load keeps
	// in memory (default 1,000; the rest stay in the store and are fetched
	// on demand through Fetch).
	LoadClosed int
	// Fetch, when set, reads an alert that is not in memory from the store
	// (closed alerts left out by Load or evicted).
	Fetch func(id string) (*Alert, bool)
}

// BookStats count what the book did.
type BookStats struct {
	Raised     uint64 `json:"raised"`
	Updated    uint64 `json:"updated"`
	Excluded   uint64 `json:"excluded"`
	Muted      uint64 `json:"muted"`
	AutoClosed uint64 `json:"auto_closed"`
	Dropped    uint64 `json:"dropped"`
	Evicted    uint64 `json:"evicted"`
}

// Book holds the alerts: it aggregates identical traffic into the open
// alert, applies mutes and exclusions, and carries out the operator actions.
// It is safe for concurrent use.
type Book struct {
	mu    sync.Mutex
	cfg   BookConfig
	open  map[string]*Alert // by Key, open alerts only
	byID  map[string]*Alert
	order []*Alert // creation order
	mutes map[string]Mute
	excl  []Exclusion
	dirty map[string]*Alert
	stats BookStats
}

// NewBook returns an empty book.
func NewBook(cfg BookConfig) *Book {
	if cfg.AutoClose <= 0 {
		cfg.AutoClose = 90 * 24 * time.Hour
	}
	if cfg.MaxAlerts <= 0 {
		cfg.MaxAlerts = 100_000
	}
	if cfg.LoadClosed <= 0 {
		cfg.LoadClosed = 1000
	}
	return &Book{cfg: cfg, open: map[string]*Alert{}, byID: map[string]*Alert{}, mutes: map[string]Mute{},
		dirty: map[string]*Alert{}}
}

// Load reads the stored alerts and mutes into an empty book.
func (b *Book) Load(ctx context.Context, s Store) error {
	as, err := s.LoadAlerts(ctx)
	if err != nil {
		return fmt.Errorf("alert book: loading alerts: %w", err)
	}
	ms, err := s.LoadMutes(ctx)
	if err != nil {
		return fmt.Errorf("alert book: loading mutes: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	sort.SliceStable(as, func(i, j int) bool { return as[i].FirstSeen.Before(as[j].FirstSeen) })
	closed := 0
	for _, a := range as {
		if a.Status == StatusClosed {
			closed++
		}
	}
	skip := closed - b.cfg.LoadClosed // the oldest closed alerts stay in the store
	for _, a := range as {
		if a.Status == StatusClosed && skip > 0 {
			skip--
			continue
		}
		intern(a)
		b.byID[a.ID] = a
		b.order = append(b.order, a)
		if a.Status != StatusClosed {
			b.open[a.Key] = a
		}
	}
	for _, m := range ms {
		b.mutes[m.Key] = m
	}
	return nil
}

// SetExclusions replaces the exclusion rules.
func (b *Book) SetExclusions(ex []Exclusion) {
	b.mu.Lock()
	b.excl = append([]Exclusion(nil), ex...)
	b.mu.Unlock()
}

// Stats returns the book's counters.
func (b *Book) Stats() BookStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// KeyOf builds the aggregation key of a candidate alert.
func KeyOf(a *Alert) string {
	var sb strings.Builder
	sb.WriteString(a.Rule)
	for _, s := range []string{a.Src.IP, a.Src.MAC, a.Dst.IP, a.Dst.MAC, a.Protocol, a.Function} {
		sb.WriteByte('|')
		sb.WriteString(s)
	}
	if a.Rule == RuleCustom {
		sb.WriteByte('|')
		sb.WriteString(a.Title)
	}
	return sb.String()
}

// Outcome is what Raise did with a candidate.
type Outcome uint8

// Raise outcomes.
const (
	Created Outcome = iota + 1
	Updated
	Excluded
	Muted
	Dropped
)

// Raise records a candidate alert seen at time c.LastSeen (or FirstSeen):
// a new alert, or an update of the open alert for identical traffic. It
// returns the stored alert (nil when suppressed) and what happened. The
// book keeps c when it creates an alert; the caller must not reuse it.
func (b *Book) Raise(c *Alert) (*Alert, Outcome) {
	if c.Key == "" {
		c.Key = KeyOf(c)
	}
	t := c.LastSeen
	if t.IsZero() {
		t = c.FirstSeen
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.open[c.Key]; a != nil {
		n := c.Count
		if n == 0 {
			n = 1
		}
		a.Count += n
		if t.After(a.LastSeen) {
			a.LastSeen = t
		}
		if t.Before(a.FirstSeen) {
			a.FirstSeen = t
		}
		for _, e := range c.Evidence {
			if len(a.Evidence) >= MaxEvidence {
				break
			}
			a.Evidence = append(a.Evidence, e)
		}
		b.dirty[a.ID] = a
		b.stats.Updated++
		return a, Updated
	}
	if _, ok := b.mutes[c.Key]; ok {
		b.stats.Muted++
		return nil, Muted
	}
	for i := range b.excl {
		if b.excl[i].Matches(c, t) {
			b.stats.Excluded++
			return nil, Excluded
		}
	}
	if len(b.byID) >= b.cfg.MaxAlerts && !b.evictClosed() {
		b.stats.Dropped++
		return nil, Dropped
	}
	if c.FirstSeen.IsZero() {
		c.FirstSeen = t
	}
	if c.LastSeen.IsZero() {
		c.LastSeen = c.FirstSeen
	}
	if c.Count == 0 {
		c.Count = 1
	}
	c.Status = StatusNew
	if len(c.Evidence) > MaxEvidence {
		c.Evidence = c.Evidence[:MaxEvidence]
	}
	c.ID = b.newID(c)
	b.open[c.Key] = c
	b.byID[c.ID] = c
	b.order = append(b.order, c)
	b.dirty[c.ID] = c
	b.stats.Raised++
	return c, Created
}

func (b *Book) newID(c *Alert) string {
	h := sha256.Sum256([]byte(c.Key + "|" + strconv.FormatInt(c.FirstSeen.UnixNano(), 10)))
	id := hex.EncodeToString(h[:8])
	for i := 1; b.byID[id] != nil; i++ {
		h = sha256.Sum256([]byte(c.Key + "|" + strconv.FormatInt(c.FirstSeen.UnixNano(), 10) + "|" + strconv.Itoa(i)))
		id = hex.EncodeToString(h[:8])
	}
	return id
}

// evictClosed drops the oldest closed alert from memory.
func (b *Book) evictClosed() bool {
	for i, a := range b.order {
		if a.Status == StatusClosed {
			if _, d := b.dirty[a.ID]; d {
				continue // not stored yet
			}
			b.order = append(b.order[:i], b.order[i+1:]...)
			delete(b.byID, a.ID)
			b.stats.Evicted++
			return true
		}
	}
	return false
}

// Get returns a copy of the alert with the given ID.
func (b *Book) Get(id string) (*Alert, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.lookup(id)
	if a == nil {
		return nil, false
	}
	return a.Clone(), true
}

// Alerts returns copies of the alerts in creation order; open only when
// openOnly is set.
func (b *Book) Alerts(openOnly bool) []*Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*Alert, 0, len(b.order))
	for _, a := range b.order {
		if openOnly && a.Status == StatusClosed {
			continue
		}
		out = append(out, a.Clone())
	}
	return out
}

// Len returns the number of alerts in memory and of open ones.
func (b *Book) Len() (all, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byID), len(b.open)
}

// ErrNotFound is returned for an unknown alert ID.
var ErrNotFound = errors.New("alert: no such alert")

// ErrClosed is returned when an action needs an open alert.
var ErrClosed = errors.New("alert: alert is closed")

func (b *Book) closeLocked(a *Alert, reason string, now time.Time) {
	if a.Status == StatusClosed {
		return
	}
	a.Status = StatusClosed
	a.ClosedReason = reason
	a.ClosedAt = now
	if b.open[a.Key] == a {
		delete(b.open, a.Key)
	}
	b.dirty[a.ID] = a
}

// Ack marks an alert as being handled (New → Active).
func (b *Book) Ack(id string) (*Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.lookup(id)
	if a == nil {
		return nil, ErrNotFound
	}
	if a.Status == StatusClosed {
		return nil, ErrClosed
	}
	a.Status = StatusActive
	b.dirty[a.ID] = a
	return a.Clone(), nil
}

// Close closes an alert; identical traffic later raises a new one.
func (b *Book) Close(id string, now time.Time) (*Alert, error) {
	return b.closeAs(id, "closed", now)
}

// Learned closes an alert whose traffic the caller added to the baseline.
func (b *Book) Learned(id string, now time.Time) (*Alert, error) {
	return b.closeAs(id, "learned", now)
}

func (b *Book) closeAs(id, reason string, now time.Time) (*Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.lookup(id)
	if a == nil {
		return nil, ErrNotFound
	}
	b.closeLocked(a, reason, now)
	return a.Clone(), nil
}

// Mute closes an alert and never raises it again for the same devices,
// rule, protocol and function. It returns the mute to persist.
func (b *Book) Mute(id, by string, now time.Time) (*Alert, Mute, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.lookup(id)
	if a == nil {
		return nil, Mute{}, ErrNotFound
	}
	m := Mute{Key: a.Key, Title: a.Title, AlertID: a.ID, By: by, Created: now}
	b.mutes[a.Key] = m
	b.closeLocked(a, "muted", now)
	return a.Clone(), m, nil
}

// Unmute removes a mute by key.
func (b *Book) Unmute(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.mutes[key]
	delete(b.mutes, key)
	return ok
}

// Mutes returns the mutes.
func (b *Book) Mutes() []Mute {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Mute, 0, len(b.mutes))
	for _, m := range b.mutes {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Comment adds an operator's comment.
func (b *Book) Comment(id, author, text string, now time.Time) (*Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.lookup(id)
	if a == nil {
		return nil, ErrNotFound
	}
	a.Comments = append(a.Comments, Comment{Time: now, Author: author, Text: text})
	b.dirty[a.ID] = a
	return a.Clone(), nil
}

// SetSnippet attaches a pcap snippet to an alert that has none.
func (b *Book) SetSnippet(id string, pcap []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.lookup(id); a != nil && len(a.Snippet) == 0 && len(pcap) > 0 {
		a.Snippet = pcap
		b.dirty[a.ID] = a
	}
}

// Sweep closes the open alerts with no identical traffic since
// now − AutoClose and returns how many it closed.
func (b *Book) Sweep(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, a := range b.open {
		if now.Sub(a.LastSeen) >= b.cfg.AutoClose {
			b.closeLocked(a, "auto", now)
			n++
		}
	}
	b.stats.AutoClosed += uint64(n)
	return n
}

// Flush writes the alerts changed since the last flush.
func (b *Book) Flush(ctx context.Context, s Store) error {
	b.mu.Lock()
	if len(b.dirty) == 0 {
		b.mu.Unlock()
		return nil
	}
	as := make([]*Alert, 0, len(b.dirty))
	for _, a := range b.dirty {
		as = append(as, a.Clone())
	}
	b.dirty = map[string]*Alert{}
	b.mu.Unlock()
	if err := s.SaveAlerts(ctx, as); err != nil {
		b.mu.Lock()
		for _, a := range as {
			if cur := b.byID[a.ID]; cur != nil {
				b.dirty[a.ID] = cur
			}
		}
		b.mu.Unlock()
		return fmt.Errorf("alert book: saving %d alerts: %w", len(as), err)
	}
	return nil
}

// lookup returns the alert with the given ID, from memory or, for closed
// alerts not kept in memory, from Fetch (the alert is then kept). The
// caller holds b.mu.
func (b *Book) lookup(id string) *Alert {
	if a := b.byID[id]; a != nil {
		return a
	}
	if b.cfg.Fetch == nil {
		return nil
	}
	a, ok := b.cfg.Fetch(id)
	if !ok || a == nil || a.ID != id {
		return nil
	}
	intern(a)
	b.byID[a.ID] = a
	b.order = append(b.order, a)
	if a.Status != StatusClosed && b.open[a.Key] == nil {
		b.open[a.Key] = a
	}
	return a
}

// intern makes a loaded alert share the catalogue's strings (category,
// remediation, techniques) instead of holding decoded copies: 100,000
// stored alerts would otherwise carry 100,000 copies of the same texts.
func intern(a *Alert) {
	r, ok := byID[a.Rule]
	if !ok {
		return
	}
	if a.Category == r.Category {
		a.Category = r.Category
	}
	if a.Remediation == r.Remediation {
		a.Remediation = r.Remediation
	}
	if len(a.Techniques) == len(r.Techniques) {
		same := true
		for i := range a.Techniques {
			if a.Techniques[i] != r.Techniques[i] {
				same = false
				break
			}
		}
		if same {
			a.Techniques = r.Techniques[:len(r.Techniques):len(r.Techniques)]
		}
	}
}

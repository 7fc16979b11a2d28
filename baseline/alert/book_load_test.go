package alert

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// sliceStore holds alerts in memory: the store contract without SQLite
// (sensor/store tests the real one).
type sliceStore struct{ as []*Alert }

func (s *sliceStore) LoadAlerts(context.Context) ([]*Alert, error) {
	out := make([]*Alert, len(s.as))
	for i, a := range s.as {
		out[i] = a.Clone()
	}
	return out, nil
}
func (s *sliceStore) SaveAlerts(_ context.Context, as []*Alert) error {
	s.as = append(s.as, as...)
	return nil
}
func (s *sliceStore) LoadMutes(context.Context) ([]Mute, error) { return nil, nil }
func (s *sliceStore) SaveMute(context.Context, Mute) error      { return nil }
func (s *sliceStore) DeleteMute(context.Context, string) error  { return nil }

func TestLoadKeepsOpenAndRecentClosedAndFetchesTheRest(t *testing.T) {
	r := MustRule(RulePLCStop)
	st := &sliceStore{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ {
		a := &Alert{ID: fmt.Sprintf("a%02d", i), Key: fmt.Sprintf("k%d", i), Rule: r.ID, Engine: r.Engine,
			Category: r.Category, Title: "t", Severity: r.Severity, Remediation: r.Remediation,
			Techniques: append([]string(nil), r.Techniques...), FirstSeen: t0.Add(time.Duration(i) * time.Minute),
			Status: StatusClosed}
		if i%10 == 0 {
			a.Status = StatusNew
		}
		st.as = append(st.as, a)
	}
	byID := map[string]*Alert{}
	for _, a := range st.as {
		byID[a.ID] = a
	}
	fetched := 0
	b := NewBook(BookConfig{LoadClosed: 5, Fetch: func(id string) (*Alert, bool) {
		fetched++
		a, ok := byID[id]
		if !ok {
			return nil, false
		}
		return a.Clone(), true
	}})
	if err := b.Load(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	all, open := b.Len()
	if open != 5 || all != 10 {
		t.Fatalf("in memory: %d alerts, %d open; want 10 (5 open + 5 most recent closed), 5 open", all, open)
	}
	// The most recent closed alerts are the ones kept.
	if _, ok := b.byID["a49"]; !ok {
		t.Fatal("most recent closed alert a49 not kept")
	}
	if _, ok := b.byID["a01"]; ok {
		t.Fatal("old closed alert a01 kept in memory")
	}
	// An old closed alert comes back from the store on demand.
	a, ok := b.Get("a01")
	if !ok || a.ID != "a01" || fetched != 1 {
		t.Fatalf("Get(a01) = %v, %v after %d fetches", a, ok, fetched)
	}
	if _, err := b.Comment("a02", "ana", "seen", t0); err != nil {
		t.Fatalf("comment on a stored closed alert: %v", err)
	}
	if _, ok := b.Get("nope"); ok {
		t.Fatal("unknown ID found")
	}
	// Loaded alerts share the catalogue's strings.
	kept := b.byID["a49"]
	if &kept.Techniques[0] != &r.Techniques[0] {
		t.Fatal("techniques not shared with the catalogue")
	}
	if kept.Remediation != r.Remediation {
		t.Fatal("remediation changed by interning")
	}
}

package alert

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)

// candidate is what an engine hands the book: a Modbus write from src to dst.
func candidate(rule, src, dst string, at time.Time) *Alert {
	r := MustRule(rule)
	return &Alert{Rule: r.ID, Engine: r.Engine, Category: r.Category, Title: r.Title + ": " + src + " → " + dst,
		Severity: r.Severity, Src: Device{IP: src, MAC: "00:1d:9c:00:00:01"}, Dst: Device{IP: dst, MAC: "00:80:f4:00:00:02"},
		Protocol: "modbus", Function: "Write Single Register (6)", FirstSeen: at, LastSeen: at, Count: 1,
		Techniques: append([]string(nil), r.Techniques...),
		Evidence:   []Evidence{{Time: at, Protocol: "modbus", Src: src, Dst: dst, Detail: at.Format(time.RFC3339Nano)}}}
}

func mustRaise(t *testing.T, b *Book, c *Alert, want Outcome) *Alert {
	t.Helper()
	a, o := b.Raise(c)
	if o != want {
		t.Fatalf("Raise(%s %s→%s at %v) = %v, want %v", c.Rule, c.Src.IP, c.Dst.IP, c.LastSeen, o, want)
	}
	if (a == nil) != (want != Created && want != Updated) {
		t.Fatalf("Raise returned alert %v with outcome %v", a, o)
	}
	return a
}

func TestBookAggregates(t *testing.T) {
	b := NewBook(BookConfig{})
	first := mustRaise(t, b, candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", t0), Created)
	if first.ID == "" || first.Key != KeyOf(first) || first.Status != StatusNew || first.Count != 1 {
		t.Fatalf("created %+v", first)
	}
	id := first.ID
	for i := 1; i < 40; i++ {
		a := mustRaise(t, b, candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", t0.Add(time.Duration(i)*time.Second)), Updated)
		if a.ID != id {
			t.Fatalf("update %d went to alert %s, want %s", i, a.ID, id)
		}
	}
	// An earlier occurrence (a worker behind the others) moves FirstSeen
	// back; a candidate may carry a count.
	c := candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", t0.Add(-time.Minute))
	c.Count = 5
	mustRaise(t, b, c, Updated)
	a, ok := b.Get(id)
	if !ok {
		t.Fatal("Get: alert gone")
	}
	if a.Count != 45 || !a.FirstSeen.Equal(t0.Add(-time.Minute)) || !a.LastSeen.Equal(t0.Add(39*time.Second)) {
		t.Errorf("count %d first %v last %v, want 45, %v, %v", a.Count, a.FirstSeen, a.LastSeen, t0.Add(-time.Minute), t0.Add(39*time.Second))
	}
	if len(a.Evidence) != MaxEvidence {
		t.Fatalf("%d evidence records, want the cap %d", len(a.Evidence), MaxEvidence)
	}
	for i, e := range a.Evidence { // the first ones are kept
		if want := t0.Add(time.Duration(i) * time.Second); !e.Time.Equal(want) {
			t.Errorf("evidence %d at %v, want %v", i, e.Time, want)
		}
	}
	// Different devices, protocol or function: new alerts.
	other := []*Alert{
		candidate(RuleUnpermittedFunc, "10.0.0.6", "10.0.0.10", t0),
		candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.11", t0),
		candidate(RuleNewCommunication, "10.0.0.5", "10.0.0.10", t0),
	}
	fn := candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", t0)
	fn.Function = "Write Multiple Registers (16)"
	mac := candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", t0)
	mac.Src.MAC = "00:1d:9c:00:00:99"
	other = append(other, fn, mac)
	ids := map[string]bool{id: true}
	for _, c := range other {
		a := mustRaise(t, b, c, Created)
		if ids[a.ID] {
			t.Errorf("alert for %s: ID %s already used", a.Key, a.ID)
		}
		ids[a.ID] = true
	}
	// Custom rules aggregate by title too.
	c1, c2 := candidate(RuleCustom, "10.0.0.5", "10.0.0.10", t0), candidate(RuleCustom, "10.0.0.5", "10.0.0.10", t0)
	c1.Title, c2.Title = "Custom rule: writes to setpoints", "Custom rule: writes to limits"
	mustRaise(t, b, c1, Created)
	mustRaise(t, b, c2, Created)
	if all, open := b.Len(); all != 8 || open != 8 {
		t.Errorf("Len = %d, %d; want 8, 8", all, open)
	}
	if st := b.Stats(); st.Raised != 8 || st.Updated != 40 {
		t.Errorf("stats %+v, want 8 raised, 40 updated", st)
	}
	// Alerts are in creation order, and copies.
	as := b.Alerts(true)
	if len(as) != 8 || as[0].ID != id {
		t.Fatalf("Alerts: %d, first %s", len(as), as[0].ID)
	}
	as[0].Title = "changed"
	as[0].Evidence[0].Detail = "changed"
	if a, _ := b.Get(id); a.Title == "changed" || a.Evidence[0].Detail == "changed" {
		t.Error("Alerts returned the book's own alert")
	}
	// A candidate with too much evidence is cut to the cap.
	many := candidate(RulePortScan, "10.0.0.7", "10.0.0.10", t0)
	for range 20 {
		many.Evidence = append(many.Evidence, many.Evidence[0])
	}
	if a := mustRaise(t, b, many, Created); len(a.Evidence) != MaxEvidence {
		t.Errorf("created with %d evidence records, want %d", len(a.Evidence), MaxEvidence)
	}
}

func TestBookIDs(t *testing.T) {
	// The ID depends on the key and the first occurrence: two books fed
	// the same traffic (a restart replaying a capture) give the same IDs.
	feed := func() []string {
		b := NewBook(BookConfig{})
		var ids []string
		for i := range 50 {
			src := fmt.Sprintf("10.0.%d.%d", i/10, i%10+1)
			ids = append(ids, mustRaise(t, b, candidate(RuleNewAsset, src, "", t0.Add(time.Duration(i)*time.Millisecond)), Created).ID)
		}
		return ids
	}
	a, b := feed(), feed()
	seen := map[string]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("alert %d: IDs %s and %s for the same traffic", i, a[i], b[i])
		}
		if seen[a[i]] || len(a[i]) != 16 || strings.Trim(a[i], "0123456789abcdef") != "" {
			t.Errorf("alert %d: ID %q duplicate or not 16 hex digits", i, a[i])
		}
		seen[a[i]] = true
	}

	// Close, then identical traffic at the very same time: the same key and
	// first occurrence must still give a new, distinct ID.
	bk := NewBook(BookConfig{})
	ids := map[string]bool{}
	for i := range 5 {
		a := mustRaise(t, bk, candidate(RulePortZero, "10.0.0.5", "10.0.0.10", t0), Created)
		if ids[a.ID] {
			t.Fatalf("round %d: ID %s reused", i, a.ID)
		}
		ids[a.ID] = true
		if _, err := bk.Close(a.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBookLifecycle(t *testing.T) {
	b := NewBook(BookConfig{})
	a := mustRaise(t, b, candidate(RuleNewCommunication, "10.0.0.5", "10.0.0.10", t0), Created)
	got, err := b.Ack(a.ID)
	if err != nil || got.Status != StatusActive {
		t.Fatalf("Ack: %v %v", got, err)
	}
	got, err = b.Comment(a.ID, "alice", "checking with the process owner", t0.Add(time.Minute))
	if err != nil || len(got.Comments) != 1 || got.Comments[0].Author != "alice" || !got.Comments[0].Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Comment: %+v %v", got, err)
	}
	if _, err := b.Comment(a.ID, "bob", "approved", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Updates keep the status.
	mustRaise(t, b, candidate(RuleNewCommunication, "10.0.0.5", "10.0.0.10", t0.Add(time.Hour)), Updated)
	if got, _ := b.Get(a.ID); got.Status != StatusActive || len(got.Comments) != 2 || got.Count != 2 {
		t.Errorf("after update: %+v", got)
	}
	b.SetSnippet(a.ID, []byte("first"))
	b.SetSnippet(a.ID, []byte("second")) // the first snippet stays
	if got, _ := b.Get(a.ID); string(got.Snippet) != "first" {
		t.Errorf("snippet %q, want the first one", got.Snippet)
	}

	closeAt := t0.Add(2 * time.Hour)
	got, err = b.Close(a.ID, closeAt)
	if err != nil || got.Status != StatusClosed || got.ClosedReason != "closed" || !got.ClosedAt.Equal(closeAt) {
		t.Fatalf("Close: %+v %v", got, err)
	}
	if _, err := b.Ack(a.ID); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack of a closed alert: %v, want ErrClosed", err)
	}
	// Comments on closed alerts are allowed (post-mortem notes).
	if _, err := b.Comment(a.ID, "alice", "done", closeAt); err != nil {
		t.Errorf("Comment on a closed alert: %v", err)
	}
	// Closing again changes nothing.
	if got, _ := b.Close(a.ID, closeAt.Add(time.Hour)); !got.ClosedAt.Equal(closeAt) {
		t.Errorf("second Close moved ClosedAt to %v", got.ClosedAt)
	}
	// Identical traffic after Close: a new alert.
	n := mustRaise(t, b, candidate(RuleNewCommunication, "10.0.0.5", "10.0.0.10", closeAt.Add(time.Minute)), Created)
	if n.ID == a.ID || n.Count != 1 || n.Status != StatusNew {
		t.Errorf("after Close: %+v", n)
	}
	got, err = b.Learned(n.ID, closeAt.Add(2*time.Minute))
	if err != nil || got.ClosedReason != "learned" {
		t.Errorf("Learned: %+v %v", got, err)
	}
	if all, open := b.Len(); all != 2 || open != 0 {
		t.Errorf("Len = %d, %d; want 2, 0", all, open)
	}
	if len(b.Alerts(true)) != 0 || len(b.Alerts(false)) != 2 {
		t.Errorf("Alerts(open) %d, Alerts(all) %d", len(b.Alerts(true)), len(b.Alerts(false)))
	}
	for _, fn := range []func() error{
		func() error { _, err := b.Ack("nope"); return err },
		func() error { _, err := b.Close("nope", t0); return err },
		func() error { _, err := b.Learned("nope", t0); return err },
		func() error { _, _, err := b.Mute("nope", "x", t0); return err },
		func() error { _, err := b.Comment("nope", "x", "y", t0); return err },
	} {
		if err := fn(); !errors.Is(err, ErrNotFound) {
			t.Errorf("action on an unknown ID: %v, want ErrNotFound", err)
		}
	}
	if _, ok := b.Get("nope"); ok {
		t.Error("Get found an unknown ID")
	}
}

func TestBookMute(t *testing.T) {
	b := NewBook(BookConfig{})
	a := mustRaise(t, b, candidate(RulePortScan, "10.0.0.5", "10.0.0.10", t0), Created)
	got, m, err := b.Mute(a.ID, "alice", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusClosed || got.ClosedReason != "muted" || m.Key != a.Key || m.AlertID != a.ID || m.By != "alice" ||
		m.Title != a.Title || !m.Created.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Mute: %+v %+v", got, m)
	}
	// Muted for good: days, then years later.
	for i, d := range []time.Duration{time.Second, 24 * time.Hour, 400 * 24 * time.Hour, 10 * 365 * 24 * time.Hour} {
		mustRaise(t, b, candidate(RulePortScan, "10.0.0.5", "10.0.0.10", t0.Add(d)), Muted)
		if st := b.Stats(); st.Muted != uint64(i+1) {
			t.Errorf("muted count %d, want %d", st.Muted, i+1)
		}
	}
	// Other devices are not muted.
	mustRaise(t, b, candidate(RulePortScan, "10.0.0.6", "10.0.0.10", t0), Created)
	if ms := b.Mutes(); len(ms) != 1 || ms[0] != m {
		t.Errorf("Mutes() = %+v", ms)
	}
	if !b.Unmute(m.Key) || b.Unmute(m.Key) {
		t.Error("Unmute: want true, then false")
	}
	mustRaise(t, b, candidate(RulePortScan, "10.0.0.5", "10.0.0.10", t0.Add(time.Hour)), Created)
	if st := b.Stats(); st.Muted != 4 || st.Raised != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestExclusionMatches(t *testing.T) {
	a := candidate(RulePortScan, "10.1.2.3", "192.168.7.20", t0)
	a.Src.MAC = "00:1D:9C:AA:BB:CC"
	at := func(h, m int) time.Time { return time.Date(2025, 3, 10, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		e    Exclusion
		t    time.Time
		want bool
	}{
		{"empty matches everything", Exclusion{}, t0, true},
		{"rule", Exclusion{Rules: []string{RuleAddressScan, RulePortScan}}, t0, true},
		{"other rule", Exclusion{Rules: []string{RuleAddressScan}}, t0, false},
		{"title substring, any case", Exclusion{Titles: []string{"nope", "PORT SCAN"}}, t0, true},
		{"title not there", Exclusion{Titles: []string{"address scan"}}, t0, false},
		{"source IP", Exclusion{Devices: []string{"10.1.2.3"}}, t0, true},
		{"destination IP", Exclusion{Devices: []string{"192.168.7.20"}}, t0, true},
		{"source MAC, any case", Exclusion{Devices: []string{"00:1d:9c:aa:bb:cc"}}, t0, true},
		{"destination MAC", Exclusion{Devices: []string{"00:80:F4:00:00:02"}}, t0, true},
		{"other device", Exclusion{Devices: []string{"10.1.2.4", ""}}, t0, false},
		{"source subnet", Exclusion{Subnets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}, t0, true},
		{"destination subnet", Exclusion{Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.7.0/24")}}, t0, true},
		{"other subnet", Exclusion{Subnets: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}}, t0, false},
		{"inside window", Exclusion{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}, t0, true},
		{"window start is inclusive", Exclusion{Start: t0, End: t0.Add(time.Hour)}, t0, true},
		{"window end is exclusive", Exclusion{Start: t0.Add(-time.Hour), End: t0}, t0, false},
		{"before window", Exclusion{Start: t0.Add(time.Minute)}, t0, false},
		{"open-ended window", Exclusion{End: t0.Add(time.Minute)}, t0, true},
		{"daily 08:00–17:00 at 09:30", Exclusion{DailyFrom: 8 * 60, DailyTo: 17 * 60}, at(9, 30), true},
		{"daily 08:00–17:00 at 17:00", Exclusion{DailyFrom: 8 * 60, DailyTo: 17 * 60}, at(17, 0), false},
		{"daily 08:00–17:00 at 07:59", Exclusion{DailyFrom: 8 * 60, DailyTo: 17 * 60}, at(7, 59), false},
		{"daily 22:00–06:00 at 23:30", Exclusion{DailyFrom: 22 * 60, DailyTo: 6 * 60}, at(23, 30), true},
		{"daily 22:00–06:00 at 22:00", Exclusion{DailyFrom: 22 * 60, DailyTo: 6 * 60}, at(22, 0), true},
		{"daily 22:00–06:00 at 03:00", Exclusion{DailyFrom: 22 * 60, DailyTo: 6 * 60}, at(3, 0), true},
		{"daily 22:00–06:00 at 06:00", Exclusion{DailyFrom: 22 * 60, DailyTo: 6 * 60}, at(6, 0), false},
		{"daily 22:00–06:00 at 12:00", Exclusion{DailyFrom: 22 * 60, DailyTo: 6 * 60}, at(12, 0), false},
		{"daily window in UTC", Exclusion{DailyFrom: 18 * 60, DailyTo: 22 * 60},
			time.Date(2025, 3, 10, 20, 0, 0, 0, time.FixedZone("UTC-10", -10*3600)), false}, // 06:00 UTC next day
		{"daily window in UTC, inside", Exclusion{DailyFrom: 5 * 60, DailyTo: 7 * 60},
			time.Date(2025, 3, 10, 20, 0, 0, 0, time.FixedZone("UTC-10", -10*3600)), true},
		{"all criteria", Exclusion{Rules: []string{RulePortScan}, Devices: []string{"10.1.2.3"},
			Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}, DailyFrom: 9 * 60, DailyTo: 10 * 60}, at(9, 45), true},
		{"all criteria but one", Exclusion{Rules: []string{RulePortScan}, Devices: []string{"10.1.2.3"},
			Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}, DailyFrom: 9 * 60, DailyTo: 10 * 60}, at(10, 45), false},
	} {
		if got := tc.e.Matches(a, tc.t); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBookExclusions(t *testing.T) {
	b := NewBook(BookConfig{})
	b.SetExclusions([]Exclusion{
		{Name: "scanner", Devices: []string{"10.0.0.99"}},
		{Name: "night maintenance", Rules: []string{RuleUnpermittedFunc}, DailyFrom: 22 * 60, DailyTo: 6 * 60},
	})
	night := time.Date(2025, 3, 10, 23, 15, 0, 0, time.UTC)
	day := time.Date(2025, 3, 11, 11, 15, 0, 0, time.UTC)
	mustRaise(t, b, candidate(RulePortScan, "10.0.0.99", "10.0.0.10", day), Excluded)
	mustRaise(t, b, candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", night), Excluded)
	mustRaise(t, b, candidate(RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", day), Created)
	mustRaise(t, b, candidate(RulePortScan, "10.0.0.98", "10.0.0.10", night), Created)
	if st := b.Stats(); st.Excluded != 2 || st.Raised != 2 {
		t.Errorf("stats %+v", st)
	}
	// Replacing the exclusions takes effect at once.
	b.SetExclusions(nil)
	mustRaise(t, b, candidate(RulePortScan, "10.0.0.99", "10.0.0.10", day), Created)
}

func TestBookAutoClose(t *testing.T) {
	b := NewBook(BookConfig{}) // 90 days
	day := 24 * time.Hour
	a := mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.5", "", t0), Created)
	quiet := mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.6", "", t0), Created)
	if n := b.Sweep(t0.Add(90*day - time.Second)); n != 0 {
		t.Fatalf("Sweep before 90 days closed %d", n)
	}
	mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.5", "", t0.Add(60*day)), Updated)
	if n := b.Sweep(t0.Add(90 * day)); n != 1 {
		t.Fatalf("Sweep at 90 days closed %d, want the quiet alert only", n)
	}
	if got, _ := b.Get(quiet.ID); got.Status != StatusClosed || got.ClosedReason != "auto" || !got.ClosedAt.Equal(t0.Add(90*day)) {
		t.Errorf("quiet alert: %+v", got)
	}
	if got, _ := b.Get(a.ID); got.Status != StatusNew {
		t.Errorf("alert with traffic 30 days ago: status %v", got.Status)
	}
	if n := b.Sweep(t0.Add(150*day - time.Nanosecond)); n != 0 {
		t.Fatalf("Sweep 90 days minus 1 ns after the last traffic closed %d", n)
	}
	if n := b.Sweep(t0.Add(150 * day)); n != 1 {
		t.Fatalf("Sweep 90 days after the last traffic closed %d", n)
	}
	if st := b.Stats(); st.AutoClosed != 2 {
		t.Errorf("auto-closed %d, want 2", st.AutoClosed)
	}
	// Identical traffic after an auto-close raises a new alert.
	if n := mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.6", "", t0.Add(200*day)), Created); n.ID == quiet.ID {
		t.Error("new traffic reopened the auto-closed alert")
	}
	// A configured period.
	b = NewBook(BookConfig{AutoClose: time.Hour})
	mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.5", "", t0), Created)
	if b.Sweep(t0.Add(59*time.Minute)) != 0 || b.Sweep(t0.Add(time.Hour)) != 1 {
		t.Error("AutoClose of one hour not honoured")
	}
}

func TestBookMaxAlerts(t *testing.T) {
	b := NewBook(BookConfig{MaxAlerts: 3})
	var ids []string
	for i := range 3 {
		ids = append(ids, mustRaise(t, b, candidate(RuleNewAsset, fmt.Sprintf("10.0.0.%d", i+1), "", t0), Created).ID)
	}
	mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.4", "", t0), Dropped)
	// The open alerts still aggregate when the book is full.
	mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.1", "", t0.Add(time.Second)), Updated)
	// A closed alert that was never stored is not evicted: it would be lost.
	if _, err := b.Close(ids[0], t0); err != nil {
		t.Fatal(err)
	}
	mustRaise(t, b, candidate(RuleNewAsset, "10.0.0.4", "", t0), Dropped)
	if st := b.Stats(); st.Dropped != 2 || st.Evicted != 0 {
		t.Errorf("stats %+v, want 2 dropped, none evicted", st)
	}
	if all, _ := b.Len(); all != 3 {
		t.Errorf("%d alerts, want the cap 3", all)
	}
	// (Eviction of stored closed alerts: sensor/store's
	// TestBookFlushLoadRestart, with a real store.)
}

package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// latestMigration is the highest version among the embedded files.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded migrations: %v", err)
	}
	var hi int64
	for _, n := range names {
		base := filepath.Base(n)
		v, err := strconv.ParseInt(base[:strings.IndexByte(base, '_')], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", n, err)
		}
		hi = max(hi, v)
	}
	return hi
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		sync Sync
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{SyncFull, 2}, {SyncNormal, 1}} {
		t.Run(tc.sync.String(), func(t *testing.T) {
			s, err := Open(ctx, filepath.Join(t.TempDir(), "sensor.db"), Options{Sync: tc.sync, BusyTimeout: 1234 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var mode string
			var syncLevel, fk, busy int
			if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" {
				t.Errorf("journal_mode = %q, want wal", mode)
			}
			// A reader connection sees the persistent WAL mode too.
			if err := s.reader.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("reader journal_mode = %q (%v), want wal", mode, err)
			}
			for _, p := range []struct {
				name string
				v    *int
			}{{"synchronous", &syncLevel}, {"foreign_keys", &fk}, {"busy_timeout", &busy}} {
				if err := s.writer.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.v); err != nil {
					t.Fatal(err)
				}
			}
			if syncLevel != tc.want || fk != 1 || busy != 1234 {
				t.Errorf("synchronous=%d foreign_keys=%d busy_timeout=%d, want %d 1 1234", syncLevel, fk, busy, tc.want)
			}
			// Readers are read-only.
			if _, err := s.reader.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('x', 'y')"); err == nil {
				t.Error("a reader connection accepted a write")
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if s, err := Open(ctx, p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "no", "such", "dir.db"), Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), Options{Sync: 7}); err == nil {
		t.Error("Open with an unknown sync level succeeded")
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	want := latestMigration(t)
	for i := range 3 {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Errorf("open #%d: schema version %d, want %d", i+1, v, want)
		}
		// Each migration is recorded once, however often the file is opened.
		var applied, distinct int
		if err := s.reader.QueryRowContext(ctx,
			"SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0 AND is_applied").
			Scan(&applied, &distinct); err != nil {
			t.Fatal(err)
		}
		if applied != int(want) || distinct != int(want) {
			t.Errorf("open #%d: %d applied rows, %d versions; want %d", i+1, applied, distinct, want)
		}
		// The data of the previous opening is still there.
		if i > 0 {
			v, ok, err := s.Meta(ctx, "opened")
			if err != nil || !ok || string(v) != strconv.Itoa(i) {
				t.Errorf("open #%d: meta opened = %q %v %v, want %d", i+1, v, ok, err, i)
			}
		}
		if err := s.SetMeta(ctx, "opened", []byte(strconv.Itoa(i+1))); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	future := latestMigration(t) + 1
	if _, err := s.writer.ExecContext(ctx,
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)", future); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

func item(key, kind string, data string, first, last time.Time) learn.Item {
	return learn.Item{Key: key, Kind: kind, Data: []byte(data), First: first, Last: last}
}

func sameItems(t *testing.T, got, want []learn.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Kind != w.Kind || !bytes.Equal(g.Data, w.Data) || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
			t.Errorf("item %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.FixedZone("X", 3600))
	t1 := t0.Add(90 * time.Minute)
	put := []learn.Item{
		item("pair/10.0.0.1/10.0.0.2/modbus", "pair", `{"n":1}`, t0, t1),
		item("dev/10.0.0.1", "device", `{"ip":"10.0.0.1"}`, t0, t0),
		item("state", "learning", `{"mode":"learning"}`, time.Time{}, time.Time{}),
		{Key: "flag/empty", Kind: "flag"}, // nil data is stored as an empty blob
	}
	if err := s.SaveBaseline(ctx, put, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []learn.Item{put[1], put[3], put[0], put[2]} // by key
	want[1].Data = []byte{}
	sameItems(t, got, want)
	if !got[3].First.IsZero() || !got[3].Last.IsZero() {
		t.Errorf("zero times came back as %v %v", got[3].First, got[3].Last)
	}

	// Upsert replaces kind, data and times; del removes; del then put of
	// the same key keeps it.
	t2 := t1.Add(time.Hour)
	up := item("pair/10.0.0.1/10.0.0.2/modbus", "pair", `{"n":2}`, t0, t2)
	back := item("dev/10.0.0.1", "device", `{"ip":"10.0.0.1","v":2}`, t1, t2)
	if err := s.SaveBaseline(ctx, []learn.Item{up, back}, []string{"state", "dev/10.0.0.1", "never/there"}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BaselinePut != 6 || st.BaselineDeleted != 3 || st.Transactions != 2 {
		t.Errorf("stats %+v", st)
	}
	s.Close()

	// Everything survives a reopen.
	s = openTest(t, path)
	got, err = s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, got, []learn.Item{back, want[1], up})
}

func TestBaselineAtomic(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "sensor.db"))
	base := []learn.Item{item("a", "k", "1", time.Time{}, time.Time{})}
	if err := s.SaveBaseline(ctx, base, nil); err != nil {
		t.Fatal(err)
	}
	// An item without a key fails the call before anything is written.
	err := s.SaveBaseline(ctx, []learn.Item{item("b", "k", "2", time.Time{}, time.Time{}), {Kind: "k"}}, []string{"a"})
	if err == nil {
		t.Fatal("SaveBaseline accepted an item without a key")
	}
	// A cancelled context fails the call: nothing changes.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SaveBaseline(cctx, []learn.Item{item("c", "k", "3", time.Time{}, time.Time{})}, []string{"a"}); err == nil {
		t.Fatal("SaveBaseline with a cancelled context succeeded")
	}
	got, err := s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameItems(t, got, base)
	if s.Stats().WriteErrors != 1 {
		t.Errorf("write errors = %d, want 1", s.Stats().WriteErrors)
	}
}

func testAlert(id string, sev alert.Severity, st alert.Status, src, dst string, last time.Time) *alert.Alert {
	return &alert.Alert{
		ID: id, Key: "key-" + id, Rule: "rule-" + string(id[0]), Engine: alert.EnginePolicy,
		Category: "policy", Title: "Alert " + id, Severity: sev,
		Src: alert.Device{IP: src, MAC: "00:11:22:33:44:55", Port: 502}, Dst: alert.Device{IP: dst, Name: "plc"},
		Protocol: "modbus", Function: "write", FirstSeen: last.Add(-time.Hour), LastSeen: last, Count: 3,
		Status: st, Techniques: []string{"T0855"},
		Evidence: []alert.Evidence{{Time: last, Frame: 7, Protocol: "modbus", Op: "write", Detail: "x"}},
	}
}

// inUTC returns a copy of a with every time in UTC, as the store returns
// them.
func inUTC(a *alert.Alert) *alert.Alert {
	c := a.Clone()
	c.FirstSeen, c.LastSeen, c.ClosedAt = c.FirstSeen.UTC(), c.LastSeen.UTC(), c.ClosedAt.UTC()
	for i := range c.Evidence {
		c.Evidence[i].Time = c.Evidence[i].Time.UTC()
	}
	for i := range c.Comments {
		c.Comments[i].Time = c.Comments[i].Time.UTC()
	}
	return c
}

func sameAlert(t *testing.T, got, want *alert.Alert) {
	t.Helper()
	gj, err := json.Marshal(inUTC(got))
	if err != nil {
		t.Fatal(err)
	}
	wj, err := json.Marshal(inUTC(want))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gj, wj) {
		t.Errorf("alert %s:\n got %s\nwant %s", want.ID, gj, wj)
	}
	if !bytes.Equal(got.Snippet, want.Snippet) {
		t.Errorf("alert %s: snippet %q, want %q", want.ID, got.Snippet, want.Snippet)
	}
}

func TestAlertsRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	now := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	a := testAlert("a1", alert.Critical, alert.StatusNew, "10.0.0.1", "10.0.0.2", now)
	a.Snippet = []byte("\xd4\xc3\xb2\xa1pcap-bytes\x00\x01")
	a.Comments = []alert.Comment{{Time: now, Author: "ops", Text: "looking"}}
	a.Items = []string{"pair/x"}
	a.Learnable = true
	b := testAlert("b1", alert.Minor, alert.StatusClosed, "10.0.0.3", "10.0.0.1", now.Add(time.Minute))
	b.ClosedReason, b.ClosedAt = "closed", now.Add(2*time.Minute)
	if err := s.SaveAlerts(ctx, []*alert.Alert{a, b}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, path)
	got, err := s.LoadAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("loaded %d alerts, want 2", len(got))
	}
	sameAlert(t, got[0], a)
	sameAlert(t, got[1], b)

	// Upsert: a new comment, count and status; saved without its snippet,
	// the stored one stays.
	a2 := a.Clone()
	a2.Snippet = nil
	a2.Count, a2.Status, a2.LastSeen = 9, alert.StatusActive, now.Add(time.Hour)
	a2.Comments = append(a2.Comments, alert.Comment{Time: now.Add(time.Hour), Author: "ops2", Text: "fixed"})
	if err := s.SaveAlerts(ctx, []*alert.Alert{a2}); err != nil {
		t.Fatal(err)
	}
	got, err = s.LoadAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a2.Snippet = a.Snippet
	sameAlert(t, got[0], a2)
	if len(got[0].Comments) != 2 || got[0].Count != 9 {
		t.Errorf("upsert lost changes: %+v", got[0])
	}
	snip, err := s.AlertSnippet(ctx, "a1")
	if err != nil || !bytes.Equal(snip, a.Snippet) {
		t.Errorf("AlertSnippet(a1) = %q, %v", snip, err)
	}
	if snip, err := s.AlertSnippet(ctx, "b1"); err != nil || snip != nil {
		t.Errorf("AlertSnippet(b1) = %q, %v; want nil, nil", snip, err)
	}
	if _, err := s.AlertSnippet(ctx, "zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AlertSnippet(zz) error %v, want ErrNotFound", err)
	}
	// A new snippet replaces the old one.
	a3 := a2.Clone()
	a3.Snippet = []byte("new")
	if err := s.SaveAlerts(ctx, []*alert.Alert{a3}); err != nil {
		t.Fatal(err)
	}
	if snip, _ := s.AlertSnippet(ctx, "a1"); string(snip) != "new" {
		t.Errorf("snippet after replace = %q", snip)
	}
	// One bad alert fails the whole batch.
	c := testAlert("c1", alert.Major, alert.StatusNew, "1.1.1.1", "2.2.2.2", now)
	if err := s.SaveAlerts(ctx, []*alert.Alert{c, {Title: "no id"}}); err == nil {
		t.Error("SaveAlerts accepted an alert without an ID")
	}
	if got, _ := s.LoadAlerts(ctx); len(got) != 2 {
		t.Errorf("after a failed batch: %d alerts, want 2", len(got))
	}
}

func TestAlertsWithBook(t *testing.T) {
	// The alert Book's own Flush and Load go through the store.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	book := alert.NewBook(alert.BookConfig{})
	a := testAlert("ignored", alert.Major, alert.StatusNew, "10.0.0.1", "10.0.0.2", now)
	raised, outcome := book.Raise(a)
	if outcome != alert.Created || raised == nil {
		t.Fatalf("Raise: %v %v", raised, outcome)
	}
	book.SetSnippet(raised.ID, []byte("pcap"))
	if _, err := book.Comment(raised.ID, "ops", "checked", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := book.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, path)
	book2 := alert.NewBook(alert.BookConfig{})
	if err := book2.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, ok := book2.Get(raised.ID)
	if !ok {
		t.Fatalf("alert %s not loaded", raised.ID)
	}
	if len(got.Comments) != 1 || got.Comments[0].Text != "checked" || got.Key != raised.Key || string(got.Snippet) != "pcap" {
		t.Errorf("loaded %+v", got)
	}
}

func TestMutes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m1 := alert.Mute{Key: "k1", Title: "one", AlertID: "a1", By: "ops", Created: now}
	m2 := alert.Mute{Key: "k2", Title: "two", Created: now.Add(time.Minute)}
	for _, m := range []alert.Mute{m2, m1} {
		if err := s.SaveMute(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	m1.Title = "one, renamed"
	if err := s.SaveMute(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMute(ctx, alert.Mute{Title: "no key"}); err == nil {
		t.Error("SaveMute accepted a mute without a key")
	}
	s.Close()
	s = openTest(t, path)
	got, err := s.LoadMutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []alert.Mute{m1, m2}) {
		t.Errorf("mutes %+v, want %+v", got, []alert.Mute{m1, m2})
	}
	if err := s.DeleteMute(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMute(ctx, "missing"); err != nil {
		t.Errorf("deleting a missing mute: %v", err)
	}
	got, err = s.LoadMutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []alert.Mute{m2}) {
		t.Errorf("after delete: %+v", got)
	}
	if st := s.Stats(); st.MutesDeleted != 1 {
		t.Errorf("mutes deleted = %d, want 1", st.MutesDeleted)
	}
}

func TestListAlerts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "sensor.db"))
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sevs := []alert.Severity{alert.Warning, alert.Minor, alert.Major, alert.Critical}
	sts := []alert.Status{alert.StatusNew, alert.StatusActive, alert.StatusClosed}
	var all []*alert.Alert
	for i := range 60 {
		id := fmt.Sprintf("%c%03d", 'a'+i%3, i) // rule-a, rule-b, rule-c
		a := testAlert(id, sevs[i%4], sts[i%3], fmt.Sprintf("10.0.0.%d", i%5), "10.0.1.1", t0.Add(time.Duration(i)*time.Minute))
		if i%7 == 0 {
			a.Engine = alert.EngineProtocol
		}
		a.Snippet = []byte("snip")
		all = append(all, a)
	}
	if err := s.SaveAlerts(ctx, all); err != nil {
		t.Fatal(err)
	}
	// expected computes the answer from the in-memory alerts.
	expected := func(keep func(*alert.Alert) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- { // last seen grows with i
			if keep(all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		f    AlertFilter
		keep func(*alert.Alert) bool
	}{
		{"all", AlertFilter{Limit: 1000}, func(*alert.Alert) bool { return true }},
		{"status", AlertFilter{Status: "closed", Limit: 1000}, func(a *alert.Alert) bool { return a.Status == alert.StatusClosed }},
		{"severity console name", AlertFilter{Severity: "high", Limit: 1000}, func(a *alert.Alert) bool { return a.Severity == alert.Critical }},
		{"engine", AlertFilter{Engine: "protocol", Limit: 1000}, func(a *alert.Alert) bool { return a.Engine == alert.EngineProtocol }},
		{"rule", AlertFilter{Rule: "rule-b", Limit: 1000}, func(a *alert.Alert) bool { return a.Rule == "rule-b" }},
		{"ip either side", AlertFilter{IP: "10.0.0.3", Limit: 1000}, func(a *alert.Alert) bool { return a.Src.IP == "10.0.0.3" }},
		{"ip dst", AlertFilter{IP: "10.0.1.1", Limit: 1000}, func(*alert.Alert) bool { return true }},
		{"since", AlertFilter{Since: t0.Add(45 * time.Minute), Limit: 1000}, func(a *alert.Alert) bool { return !a.LastSeen.Before(t0.Add(45 * time.Minute)) }},
		{"combined", AlertFilter{Status: "new", Severity: "warning", Since: t0.Add(10 * time.Minute), Limit: 1000}, func(a *alert.Alert) bool {
			return a.Status == alert.StatusNew && a.Severity == alert.Warning && !a.LastSeen.Before(t0.Add(10*time.Minute))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := expected(tc.keep)
			got, total, err := s.ListAlerts(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
				if a.Snippet != nil {
					t.Errorf("%s: ListAlerts returned a snippet", a.ID)
				}
			}
			if total != len(want) || !reflect.DeepEqual(ids, want) {
				t.Errorf("got %d/%v, want %d/%v", total, ids, len(want), want)
			}
		})
	}
	// Paging: pages are disjoint, in order, and the total does not change.
	var paged []string
	for off := 0; ; off += 7 {
		page, total, err := s.ListAlerts(ctx, AlertFilter{Limit: 7, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(all) {
			t.Fatalf("total %d, want %d", total, len(all))
		}
		if len(page) == 0 {
			break
		}
		for _, a := range page {
			paged = append(paged, a.ID)
		}
	}
	if want := expected(func(*alert.Alert) bool { return true }); !reflect.DeepEqual(paged, want) {
		t.Errorf("paged %v, want %v", paged, want)
	}
	// The default and the cap.
	if page, _, _ := s.ListAlerts(ctx, AlertFilter{}); len(page) != min(len(all), DefaultListLimit) {
		t.Errorf("default page has %d alerts", len(page))
	}
	if _, _, err := s.ListAlerts(ctx, AlertFilter{Limit: MaxListLimit + 1}); err != nil || s.Stats().ListCapped != 1 {
		t.Errorf("capped list: %v, capped count %d", err, s.Stats().ListCapped)
	}
	for _, f := range []AlertFilter{{Status: "bogus"}, {Severity: "bogus"}, {Engine: "bogus"}, {Offset: -1}} {
		if _, _, err := s.ListAlerts(ctx, f); err == nil {
			t.Errorf("ListAlerts(%+v) accepted a bad filter", f)
		}
	}
}

func TestConcurrentReadersAndWriter(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "sensor.db"))
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const batches, perBatch = 30, 10
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Readers only ever see whole batches.
				_, total, err := s.ListAlerts(ctx, AlertFilter{Limit: 5})
				if err != nil {
					errc <- err
					return
				}
				if total%perBatch != 0 {
					errc <- fmt.Errorf("reader saw %d alerts: half a batch", total)
					return
				}
				items, err := s.LoadBaseline(ctx)
				if err != nil {
					errc <- err
					return
				}
				if len(items)%perBatch != 0 {
					errc <- fmt.Errorf("reader saw %d items: half a batch", len(items))
					return
				}
			}
		}()
	}
	for b := range batches {
		var as []*alert.Alert
		var items []learn.Item
		for i := range perBatch {
			id := fmt.Sprintf("x%03d-%02d", b, i)
			as = append(as, testAlert(id, alert.Major, alert.StatusNew, "10.0.0.1", "10.0.0.2", t0.Add(time.Duration(b)*time.Second)))
			items = append(items, item(id, "k", id, t0, t0))
		}
		if err := s.SaveAlerts(ctx, as); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveBaseline(ctx, items, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if _, total, _ := s.ListAlerts(ctx, AlertFilter{}); total != batches*perBatch {
		t.Errorf("total %d, want %d", total, batches*perBatch)
	}
}

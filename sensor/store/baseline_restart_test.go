package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

// The restart tests run a learn.Baseline and an alert.Book through the
// store as the sensor does: Pending → SaveBaseline, Book.Flush; then a
// restart (close, reopen, learn.Load, Book.Load) must give back what was
// there.

var restartT0 = time.Date(2025, 2, 3, 8, 0, 0, 0, time.UTC)

func ip4(a, b, c, d byte) learn.Host { return learn.Host{IP: netip.AddrFrom4([4]byte{a, b, c, d})} }

// roundHost, roundPair and roundOp are the baseline items that round r of
// a growing baseline adds: a new HMI polling the PLC of its cell.
func roundHost(r int) learn.Host { return ip4(10, 1, byte(r>>8), byte(r)) }
func roundPLC(r int) learn.Host  { return ip4(10, 2, byte(r>>4), 1) }
func roundPair(r int) learn.Pair {
	return learn.Pair{Client: roundHost(r), Server: roundPLC(r), Transport: 2, Port: 502}
}
func roundOp(r int) learn.Op {
	return learn.Op{Pair: roundPair(r), Protocol: "modbus", Function: uint32(1 + r%4)}
}

// learnRound feeds round r to a baseline: devices, pair, operations, a
// register range, the PLC's service, a flag, firmware and a polled channel;
// every tenth round forgets the HMI of round r-5.
func learnRound(b *learn.Baseline, r int) {
	at := restartT0.Add(time.Duration(r) * time.Minute)
	h, plc, p := roundHost(r), roundPLC(r), roundPair(r)
	b.Device(h, at)
	b.Device(plc, at)
	b.Flag(plc, learn.FlagOT, false, at)
	b.Pair(p, at)
	b.Op(roundOp(r), at)
	b.Op(learn.Op{Pair: p, Protocol: "modbus", Function: 8, Sub: uint32(r % 3), HasSub: true}, at)
	sp := learn.Space{Pair: p, Protocol: "modbus", Unit: 1, Name: "holding_registers"}
	b.InRange(sp, uint32(r*10), uint32(r*10+4), at)
	b.Service(learn.Service{Host: plc, Transport: 2, Port: 502}, at)
	b.Firmware(plc, "V4."+strconv.Itoa(r>>8), at)
	ch := learn.Channel{Op: roundOp(r), Unit: 1, AddrStart: uint32(r * 10)}
	for i := range 5 {
		b.Channel(ch, at.Add(time.Duration(i)*250*time.Millisecond), 12)
	}
	if r%10 == 0 && r > 5 {
		b.Remove(learn.DeviceKey(roundHost(r - 5)))
	}
}

func saveBaseline(ctx context.Context, t testing.TB, s *Store, b *learn.Baseline) {
	t.Helper()
	put, del := b.Pending()
	if err := s.SaveBaseline(ctx, put, del); err != nil {
		b.Restore(put, del)
		t.Fatal(err)
	}
}

func sameBaselines(t *testing.T, got, want *learn.Baseline, now time.Time) {
	t.Helper()
	gi, wi := got.Items(), want.Items()
	if !reflect.DeepEqual(gi, wi) {
		t.Errorf("restarted baseline has %d items, the original %d", len(gi), len(wi))
		for i := range min(len(gi), len(wi)) {
			if !reflect.DeepEqual(gi[i], wi[i]) {
				g, _ := json.Marshal(gi[i])
				w, _ := json.Marshal(wi[i])
				t.Errorf("item %d:\n got %s\nwant %s", i, g, w)
				break
			}
		}
	}
	if got.Stats() != want.Stats() || got.Mode() != want.Mode() || !got.Started().Equal(want.Started()) ||
		!got.Ended().Equal(want.Ended()) {
		t.Errorf("restarted: %+v %v %v %v, original %+v %v %v %v", got.Stats(), got.Mode(), got.Started(), got.Ended(),
			want.Stats(), want.Mode(), want.Started(), want.Ended())
	}
	if gp, wp := got.Progress(now), want.Progress(now); !reflect.DeepEqual(gp, wp) {
		t.Errorf("restarted progress %+v, original %+v", gp, wp)
	}
}

func restartBaseline(t *testing.T, path string, cfg learn.Config, now time.Time) (*Store, *learn.Baseline) {
	t.Helper()
	s := openTest(t, path)
	items, err := s.LoadBaseline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := learn.Load(cfg, items, now)
	if err != nil {
		t.Fatalf("learn.Load of the stored baseline: %v", err)
	}
	return s, b
}

func TestBaselineRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	cfg := learn.Config{MaxRanges: 16}
	s := openTest(t, path)
	b := learn.New(cfg, restartT0)
	for r := 1; r <= 60; r++ {
		learnRound(b, r)
		if r%7 == 0 { // saves now and then, as the sensor's timer does
			saveBaseline(ctx, t, s, b)
		}
	}
	saveBaseline(ctx, t, s, b)
	s.Close()
	now := restartT0.Add(2 * time.Hour)
	s, l := restartBaseline(t, path, cfg, now)
	sameBaselines(t, l, b, now)
	if st := l.Stats(); st.Devices < 55 || st.Ops < 60 || st.Ranges < 60 {
		t.Errorf("restarted baseline is too small to prove much: %+v", st)
	}

	// Operational, the operator's Learn and Unlearn, more saves: the
	// second restart is the original again.
	b.EndLearning(now)
	extra := ip4(10, 9, 9, 9)
	if err := b.Add(learn.FlagKey(extra, learn.FlagProgrammer), now); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{learn.PairKey(roundPair(3)), learn.OpKey(roundOp(4)), learn.DeviceKey(roundPLC(1))} {
		if err := b.Remove(k); err != nil {
			t.Fatal(err)
		}
	}
	saveBaseline(ctx, t, s, b)
	s.Close()
	now = now.Add(time.Hour)
	s, l = restartBaseline(t, path, cfg, now)
	sameBaselines(t, l, b, now)
	if l.Mode() != learn.Operational || !l.HasFlag(extra, learn.FlagProgrammer) || l.HasDevice(roundPLC(1)) {
		t.Errorf("after restart: mode %v, programmer %v, removed PLC present %v", l.Mode(), l.HasFlag(extra, learn.FlagProgrammer),
			l.HasDevice(roundPLC(1)))
	}
	if put, del := l.Pending(); len(put)+len(del) != 0 {
		t.Errorf("restarted operational baseline has %d changes pending", len(put)+len(del))
	}
	// The restarted baseline answers like the original in operational
	// mode: known pairs known, removed ones not, nothing learned.
	if !l.Pair(roundPair(5), now) || l.Pair(roundPair(3), now) || l.Op(roundOp(4), now) || !l.Op(roundOp(6), now) {
		t.Error("restarted baseline answers differently")
	}
}

func bookAlert(rule, src, dst string, at time.Time) *alert.Alert {
	r := alert.MustRule(rule)
	return &alert.Alert{Rule: r.ID, Engine: r.Engine, Category: r.Category, Title: r.Title + ": " + src + " → " + dst,
		Severity: r.Severity, Src: alert.Device{IP: src}, Dst: alert.Device{IP: dst}, Protocol: "modbus",
		Function: "Write Single Register (6)", FirstSeen: at, LastSeen: at, Count: 1, Techniques: r.Techniques,
		Remediation: r.Remediation, Learnable: r.Learnable,
		Evidence: []alert.Evidence{{Time: at, Protocol: "modbus", Src: src, Dst: dst, Detail: "evidence"}}}
}

func loadBook(t *testing.T, s *Store, cfg alert.BookConfig) *alert.Book {
	t.Helper()
	b := alert.NewBook(cfg)
	if err := b.Load(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBookFlushLoadRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	b := alert.NewBook(alert.BookConfig{})
	at := func(m int) time.Time { return restartT0.Add(time.Duration(m) * time.Minute) }
	open, _ := b.Raise(bookAlert(alert.RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", at(0)))
	for i := 1; i <= 20; i++ {
		b.Raise(bookAlert(alert.RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", at(i)))
	}
	acked, _ := b.Raise(bookAlert(alert.RuleNewCommunication, "10.0.0.6", "10.0.0.10", at(1)))
	muted, _ := b.Raise(bookAlert(alert.RulePortScan, "10.0.0.66", "10.0.0.10", at(2)))
	closed, _ := b.Raise(bookAlert(alert.RuleNewAsset, "10.0.0.7", "", at(3)))
	if _, err := b.Ack(acked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Comment(acked.ID, "alice", "new HMI, approved", at(30)); err != nil {
		t.Fatal(err)
	}
	b.SetSnippet(open.ID, []byte("\xd4\xc3\xb2\xa1 pcap"))
	_, m, err := b.Mute(muted.ID, "bob", at(31))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMute(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Close(closed.ID, at(32)); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx, s); err != nil { // nothing left to write
		t.Fatal(err)
	}
	saved := s.Stats().AlertsSaved
	if saved != 4 {
		t.Errorf("%d alerts saved, want the 4 alerts once", saved)
	}
	want := b.Alerts(false)
	s.Close()

	s = openTest(t, path)
	r := loadBook(t, s, alert.BookConfig{})
	got := r.Alerts(false)
	if len(got) != len(want) {
		t.Fatalf("restarted book has %d alerts, want %d", len(got), len(want))
	}
	for i := range want {
		sameAlert(t, got[i], want[i])
	}
	if all, nOpen := r.Len(); all != 4 || nOpen != 2 {
		t.Errorf("restarted book: %d alerts, %d open; want 4, 2", all, nOpen)
	}
	// Open alerts go on aggregating under the same ID; the mute holds;
	// identical traffic to a closed alert raises a new one.
	if a, o := r.Raise(bookAlert(alert.RuleUnpermittedFunc, "10.0.0.5", "10.0.0.10", at(60))); o != alert.Updated || a.ID != open.ID || a.Count != 22 {
		t.Errorf("after restart, identical traffic: %v %+v", o, a)
	}
	if _, o := r.Raise(bookAlert(alert.RulePortScan, "10.0.0.66", "10.0.0.10", at(61))); o != alert.Muted {
		t.Errorf("after restart, muted traffic: %v", o)
	}
	if a, o := r.Raise(bookAlert(alert.RuleNewAsset, "10.0.0.7", "", at(62))); o != alert.Created || a.ID == closed.ID {
		t.Errorf("after restart, traffic of a closed alert: %v %+v", o, a)
	}
	// A failed flush keeps its alerts for the next one.
	s.Close()
	if err := r.Flush(ctx, s); err == nil {
		t.Fatal("Flush to a closed store succeeded")
	}
	s = openTest(t, path)
	if err := r.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().AlertsSaved; n != 2 {
		t.Errorf("the flush after a failure saved %d alerts, want the 2 changed", n)
	}
	r2 := loadBook(t, s, alert.BookConfig{})
	if got := r2.Alerts(false); len(got) != 5 || got[0].Count != 22 {
		t.Errorf("after the retried flush: %d alerts, first count %d", len(got), got[0].Count)
	}
}

func TestBookMaxAlertsEvictsStored(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sensor.db")
	s := openTest(t, path)
	b := alert.NewBook(alert.BookConfig{MaxAlerts: 3})
	var ids []string
	for i := range 3 {
		a, _ := b.Raise(bookAlert(alert.RuleNewAsset, fmt.Sprintf("10.0.0.%d", i+1), "", restartT0.Add(time.Duration(i)*time.Second)))
		ids = append(ids, a.ID)
	}
	if _, err := b.Close(ids[1], restartT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Not stored yet: kept.
	if _, o := b.Raise(bookAlert(alert.RuleNewAsset, "10.0.0.4", "", restartT0.Add(time.Hour))); o != alert.Dropped {
		t.Fatalf("raise with an unstored closed alert: %v, want Dropped", o)
	}
	if err := b.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	// Stored: the closed alert leaves memory for the new one.
	if _, o := b.Raise(bookAlert(alert.RuleNewAsset, "10.0.0.4", "", restartT0.Add(time.Hour))); o != alert.Created {
		t.Fatalf("raise with a stored closed alert: %v, want Created", o)
	}
	if _, ok := b.Get(ids[1]); ok {
		t.Error("the evicted alert is still in memory")
	}
	// Only open alerts are left: dropped and counted.
	if _, o := b.Raise(bookAlert(alert.RuleNewAsset, "10.0.0.5", "", restartT0.Add(time.Hour))); o != alert.Dropped {
		t.Errorf("raise with only open alerts: %v, want Dropped", o)
	}
	if st := b.Stats(); st.Evicted != 1 || st.Dropped != 2 || st.Raised != 4 {
		t.Errorf("stats %+v", st)
	}
	if err := b.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	// The evicted alert is still in the store.
	stored, err := s.LoadAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 4 || stored[1].ID != ids[1] || stored[1].Status != alert.StatusClosed {
		t.Errorf("store holds %d alerts: %+v", len(stored), stored)
	}
}

// The kill -9 test of a growing baseline and alert book: the child
// (TestHelperBaselineWriter) learns round after round, saving Pending()
// through SaveBaseline and logging "B r", then raises round r's alert plus
// an update of one long-running alert, flushes the book and logs "A r".
const (
	crashEnvBaseDB  = "OTWATCH_STORE_BASELINE_CRASH_DB"
	crashEnvBaseLog = "OTWATCH_STORE_BASELINE_CRASH_LOG"
	baseCrashCycles = 4
)

var crashLearnCfg = learn.Config{MinDuration: 365 * 24 * time.Hour, MaxRanges: 16}

func crashRoundAlert(r int) *alert.Alert {
	return bookAlert(alert.RuleNewCommunication, roundHost(r).String(), roundPLC(r).String(),
		restartT0.Add(time.Duration(r)*time.Minute))
}

func crashCounterAlert(r int) *alert.Alert {
	return bookAlert(alert.RuleDoS, "10.0.0.250", "10.0.0.251", restartT0.Add(time.Duration(r)*time.Minute))
}

// counterRound is the number of rounds the long-running alert has seen.
func counterRound(b *alert.Book) int {
	key := alert.KeyOf(crashCounterAlert(0))
	for _, a := range b.Alerts(true) {
		if a.Key == key {
			return int(a.Count)
		}
	}
	return 0
}

func TestHelperBaselineWriter(t *testing.T) {
	path := os.Getenv(crashEnvBaseDB)
	if path == "" {
		t.Skip("helper process of TestKillDuringBaselineWrites: runs only when re-executed by it")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(os.Getenv(crashEnvBaseLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// Restart as the sensor does: load the baseline and the book, and go
	// on from the last round the book has.
	items, err := s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base, err := learn.Load(crashLearnCfg, items, restartT0)
	if err != nil {
		t.Fatal(err)
	}
	book := alert.NewBook(alert.BookConfig{})
	if err := book.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for r := counterRound(book) + 1; time.Now().Before(deadline); r++ {
		learnRound(base, r)
		put, del := base.Pending()
		if err := s.SaveBaseline(ctx, put, del); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(logf, "B %d\n", r); err != nil {
			t.Fatal(err)
		}
		book.Raise(crashRoundAlert(r))
		book.Raise(crashCounterAlert(r))
		if err := book.Flush(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(logf, "A %d\n", r); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("helper writer was not killed within 30 s")
}

// reportedRounds returns the last baseline and alert rounds the child
// reported stored.
func reportedRounds(t *testing.T, path string) (rb, ra int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		kind, num, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		if kind == "B" {
			rb = max(rb, n)
		} else if kind == "A" {
			ra = max(ra, n)
		}
	}
	return rb, ra
}

// checkBaselineCrashDB loads the stored baseline and book after a kill and
// checks them against the rounds; it returns the stored rounds.
func checkBaselineCrashDB(t *testing.T, s *Store) (kb, ka int) {
	t.Helper()
	ctx := context.Background()
	var integrity string
	if err := s.reader.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	items, err := s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := learn.Load(crashLearnCfg, items, restartT0)
	if err != nil {
		t.Fatalf("learn.Load after kill -9: %v", err)
	}
	keys := map[string]bool{}
	for _, it := range b.Items() {
		keys[it.Key] = true
	}
	// Rounds are stored whole and in order: pairs are never removed.
	for keys[learn.PairKey(roundPair(kb+1))] {
		kb++
	}
	for r := 1; r <= kb; r++ {
		removed := r%10 == 5 && r+5 <= kb
		for k, want := range map[string]bool{
			learn.PairKey(roundPair(r)):              true,
			learn.OpKey(roundOp(r)):                  true,
			learn.DeviceKey(roundPLC(r)):             true,
			learn.FlagKey(roundPLC(r), learn.FlagOT): true,
			learn.DeviceKey(roundHost(r)):            !removed,
			learn.SpaceKey(learn.Space{Pair: roundPair(r), Protocol: "modbus", Unit: 1, Name: "holding_registers"}): true,
		} {
			if keys[k] != want {
				t.Errorf("round %d of %d stored: item %s present %v, want %v", r, kb, k, keys[k], want)
			}
		}
	}
	if keys[learn.PairKey(roundPair(kb+2))] {
		t.Errorf("round %d stored after a missing round %d", kb+2, kb+1)
	}
	if st := b.Stats(); st.Items != len(items)-1-countKind(items, "chan") {
		t.Errorf("loaded %d items from %d stored (%d channel profiles and the state)", st.Items, len(items), countKind(items, "chan"))
	}
	book := alert.NewBook(alert.BookConfig{})
	if err := book.Load(ctx, s); err != nil {
		t.Fatalf("Book.Load after kill -9: %v", err)
	}
	ka = counterRound(book)
	have := map[string]bool{}
	for _, a := range book.Alerts(false) {
		have[a.Key] = true
	}
	for r := 1; r <= ka; r++ {
		if k := alert.KeyOf(crashRoundAlert(r)); !have[k] {
			t.Errorf("alert of round %d missing (counter at %d)", r, ka)
		}
	}
	if all, _ := book.Len(); all != ka+1 && ka > 0 {
		t.Errorf("book holds %d alerts after %d rounds, want %d", all, ka, ka+1)
	}
	return kb, ka
}

func countKind(items []learn.Item, kind string) int {
	n := 0
	for _, it := range items {
		if it.Kind == kind {
			n++
		}
	}
	return n
}

func TestKillDuringBaselineWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary: skipped in -short mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sensor.db")
	logPath := filepath.Join(dir, "rounds.log")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	prevA := 0
	for cycle := 1; cycle <= baseCrashCycles; cycle++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBaselineWriter$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), crashEnvBaseDB+"="+path, crashEnvBaseLog+"="+logPath)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		start := time.Now()
		for {
			if _, ra := reportedRounds(t, logPath); ra > prevA {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("cycle %d: writer exited before its first round: %v\n%s", cycle, err, out.Bytes())
			case <-time.After(5 * time.Millisecond):
			}
			if time.Since(start) > 20*time.Second {
				cmd.Process.Kill()
				<-exited
				t.Fatalf("cycle %d: writer stored no round in 20 s\n%s", cycle, out.Bytes())
			}
		}
		run := time.Duration(50+rng.IntN(351)) * time.Millisecond
		time.Sleep(run)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := <-exited
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("cycle %d: writer ended with %v, want killed\n%s", cycle, err, out.Bytes())
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("cycle %d: writer ended with %v, not by SIGKILL\n%s", cycle, err, out.Bytes())
		}
		rb, ra := reportedRounds(t, logPath)
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("cycle %d: reopening after kill -9: %v", cycle, err)
		}
		kb, ka := checkBaselineCrashDB(t, s)
		s.Close()
		t.Logf("cycle %d: killed %v after its first round; baseline rounds 1..%d stored (%d reported), alert rounds 1..%d (%d reported)",
			cycle, run, kb, rb, ka, ra)
		if kb < rb || ka < ra {
			t.Errorf("cycle %d: reported rounds lost: baseline %d < %d, alerts %d < %d", cycle, kb, rb, ka, ra)
		}
		if kb > rb+1 || ka > ra+1 || ka > kb || kb > ka+1 {
			t.Errorf("cycle %d: stored rounds baseline %d, alerts %d; reported %d, %d", cycle, kb, ka, rb, ra)
		}
		if ka <= prevA {
			t.Errorf("cycle %d: no progress (alert rounds %d → %d)", cycle, prevA, ka)
		}
		prevA = ka
		if t.Failed() {
			t.FailNow()
		}
	}
}

package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

// The kill -9 test re-executes the test binary as a writer (TestHelperWriter)
// that loops over numbered batches. Batch b is two transactions:
//
//   - SaveBaseline: crashItems items "batch/<b>/<i>" of kind "crash", plus
//     "rolling/<b>" put and "rolling/<b-1>" deleted in the same call;
//   - SaveAlerts: crashAlerts alerts "crash-<b>-<i>" with a snippet each,
//     plus the alert "counter" upserted with Count = b.
//
// After each commit returns, the writer appends "B <b>" or "A <b>" to a side
// file. The parent kills it with SIGKILL at a random moment and checks the
// database: it opens, passes integrity_check, holds batches 1..k whole and
// nothing else, and every batch the writer reported is there.
const (
	crashEnvDB   = "OTWATCH_STORE_CRASH_DB"
	crashEnvLog  = "OTWATCH_STORE_CRASH_LOG"
	crashEnvSync = "OTWATCH_STORE_CRASH_SYNC"
	crashItems   = 40
	crashAlerts  = 8
	crashCycles  = 5
)

func crashItemKey(b, i int) string { return fmt.Sprintf("batch/%08d/%03d", b, i) }
func crashRollKey(b int) string    { return fmt.Sprintf("rolling/%08d", b) }
func crashAlertID(b, i int) string { return fmt.Sprintf("crash-%08d-%02d", b, i) }

// crashPayload is the data of an item or the snippet of an alert: it names
// its owner and is long enough that batches span several pages.
func crashPayload(owner string, n int) []byte {
	return bytes.Repeat([]byte(owner+";"), n/(len(owner)+1)+1)[:n]
}

func crashBaselineBatch(b int, t0 time.Time) (put []learn.Item, del []string) {
	ts := t0.Add(time.Duration(b) * time.Second)
	for i := range crashItems {
		k := crashItemKey(b, i)
		put = append(put, learn.Item{Key: k, Kind: "crash", Data: crashPayload(k, 300), First: ts, Last: ts})
	}
	put = append(put, learn.Item{Key: crashRollKey(b), Kind: "rolling", Data: []byte(strconv.Itoa(b))})
	if b > 1 {
		del = []string{crashRollKey(b - 1)}
	}
	return put, del
}

func crashAlertBatch(b int, t0 time.Time) []*alert.Alert {
	ts := t0.Add(time.Duration(b) * time.Second)
	var as []*alert.Alert
	for i := range crashAlerts {
		a := testAlert(crashAlertID(b, i), alert.Major, alert.StatusNew, "10.0.0.1", "10.0.0.2", ts)
		a.Snippet = crashPayload(a.ID, 4096)
		as = append(as, a)
	}
	counter := testAlert("counter", alert.Warning, alert.StatusActive, "10.0.0.9", "10.0.0.8", ts)
	counter.Count = uint64(b)
	return append(as, counter)
}

// crashEpoch is the base time of the batches (2025-01-01 UTC).
const crashEpoch = 1735689600

// TestHelperWriter is the child process of TestKillDuringWrites; run on its
// own it skips.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(crashEnvDB)
	if path == "" {
		t.Skip("helper process of TestKillDuringWrites: runs only when re-executed by it")
	}
	ctx := context.Background()
	opts := Options{}
	if os.Getenv(crashEnvSync) == SyncNormal.String() {
		opts.Sync = SyncNormal
	}
	s, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(os.Getenv(crashEnvLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// Continue from where the previous (killed) writer stopped.
	kb, ka, err := crashState(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // in case the parent never kills
	for b := ka + 1; time.Now().Before(deadline); b++ {
		if b > kb {
			put, del := crashBaselineBatch(b, time.Unix(crashEpoch, 0).UTC())
			if err := s.SaveBaseline(ctx, put, del); err != nil {
				t.Fatal(err)
			}
			if _, err := fmt.Fprintf(logf, "B %d\n", b); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveAlerts(ctx, crashAlertBatch(b, time.Unix(crashEpoch, 0).UTC())); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(logf, "A %d\n", b); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("helper writer was not killed within 30 s")
}

// crashState returns the last baseline and alert batches in the database
// according to the rolling item and the counter alert.
func crashState(ctx context.Context, s *Store) (kb, ka int, err error) {
	items, err := s.LoadBaseline(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		if it.Kind == "rolling" {
			kb, err = strconv.Atoi(string(it.Data))
			if err != nil {
				return 0, 0, fmt.Errorf("rolling item %q: %w", it.Data, err)
			}
		}
	}
	as, err := s.LoadAlerts(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, a := range as {
		if a.ID == "counter" {
			ka = int(a.Count)
		}
	}
	return kb, ka, nil
}

// crashReported returns the highest baseline and alert batch the writer
// reported committed.
func crashReported(t *testing.T, path string) (rb, ra int) {
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
			continue // a line cut short by the kill
		}
		switch kind {
		case "B":
			rb = max(rb, n)
		case "A":
			ra = max(ra, n)
		}
	}
	return rb, ra
}

// checkCrashDB checks that the database holds whole batches 1..kb of
// baseline and 1..ka of alerts, and nothing else, and returns kb and ka.
func checkCrashDB(t *testing.T, s *Store) (kb, ka int) {
	t.Helper()
	ctx := context.Background()
	var integrity string
	if err := s.reader.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if integrity != "ok" {
		t.Fatalf("integrity_check: %s", integrity)
	}

	items, err := s.LoadBaseline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perBatch := map[int]int{}
	var rolling []string
	for _, it := range items {
		switch it.Kind {
		case "crash":
			var b, i int
			if _, err := fmt.Sscanf(it.Key, "batch/%d/%d", &b, &i); err != nil {
				t.Fatalf("item %q: %v", it.Key, err)
			}
			if !bytes.Equal(it.Data, crashPayload(it.Key, 300)) {
				t.Errorf("item %q: data damaged", it.Key)
			}
			perBatch[b]++
		case "rolling":
			rolling = append(rolling, it.Key)
		default:
			t.Errorf("unexpected item %q", it.Key)
		}
	}
	kb = len(perBatch)
	for b := 1; b <= kb; b++ {
		if perBatch[b] != crashItems {
			t.Errorf("baseline batch %d: %d items of %d (half a batch, or not a prefix: %v)", b, perBatch[b], crashItems, perBatch)
		}
	}
	if kb > 0 && (len(rolling) != 1 || rolling[0] != crashRollKey(kb)) {
		t.Errorf("rolling items %v, want only %s: a put and a delete of one call were split", rolling, crashRollKey(kb))
	}

	as, err := s.LoadAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perBatch = map[int]int{}
	counter := -1
	for _, a := range as {
		if a.ID == "counter" {
			counter = int(a.Count)
			continue
		}
		var b, i int
		if _, err := fmt.Sscanf(a.ID, "crash-%d-%d", &b, &i); err != nil {
			t.Fatalf("alert %q: %v", a.ID, err)
		}
		if !bytes.Equal(a.Snippet, crashPayload(a.ID, 4096)) {
			t.Errorf("alert %q: snippet damaged", a.ID)
		}
		perBatch[b]++
	}
	ka = len(perBatch)
	for b := 1; b <= ka; b++ {
		if perBatch[b] != crashAlerts {
			t.Errorf("alert batch %d: %d alerts of %d (half a batch, or not a prefix: %v)", b, perBatch[b], crashAlerts, perBatch)
		}
	}
	if ka > 0 && counter != ka {
		t.Errorf("counter alert says %d, %d alert batches stored: an upsert was split from its batch", counter, ka)
	}
	if ka != kb && ka+1 != kb {
		t.Errorf("%d baseline batches and %d alert batches: the writer saves the baseline of a batch first", kb, ka)
	}
	return kb, ka
}

func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary: skipped in -short mode")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sensor.db")
	logPath := filepath.Join(dir, "committed.log")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	prevB, prevA := 0, 0
	var unreported, lost int
	for cycle := 1; cycle <= crashCycles; cycle++ {
		level := SyncFull
		if cycle%2 == 0 {
			level = SyncNormal // kill -9 safety holds for NORMAL too
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), crashEnvDB+"="+path, crashEnvLog+"="+logPath, crashEnvSync+"="+level.String())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		// Let the writer commit at least one new alert batch, then let it
		// run for a random while and kill it.
		start := time.Now()
		for {
			if _, ra := crashReported(t, logPath); ra > prevA {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("cycle %d: writer exited before its first commit: %v\n%s", cycle, err, out.Bytes())
			case <-time.After(5 * time.Millisecond):
			}
			if time.Since(start) > 20*time.Second {
				cmd.Process.Kill()
				<-exited
				t.Fatalf("cycle %d: writer made no commit in 20 s\n%s", cycle, out.Bytes())
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
		var walSize int64
		if fi, err := os.Stat(path + "-wal"); err == nil {
			walSize = fi.Size()
		}

		rb, ra := crashReported(t, logPath)
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("cycle %d: reopening after kill -9: %v", cycle, err)
		}
		kb, ka := checkCrashDB(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("cycle %d (%s): killed %v after its first commit (WAL %d bytes); stored baseline batches 1..%d (reported %d), alert batches 1..%d (reported %d)",
			cycle, level, run, walSize, kb, rb, ka, ra)
		if kb < 1 || ka < 1 {
			t.Errorf("cycle %d: nothing stored", cycle)
		}
		// Every reported commit is there; at most the one commit in flight
		// at the kill is there without a report.
		if kb < rb || ka < ra {
			t.Errorf("cycle %d: committed batches lost: baseline %d < %d reported, alerts %d < %d reported", cycle, kb, rb, ka, ra)
			lost += max(rb-kb, 0) + max(ra-ka, 0)
		}
		if kb > rb+1 || ka > ra+1 {
			t.Errorf("cycle %d: more than one unreported batch: baseline %d vs %d, alerts %d vs %d", cycle, kb, rb, ka, ra)
		}
		unreported += kb - rb + ka - ra
		if ka <= prevA || kb < prevB {
			t.Errorf("cycle %d: no progress: baseline %d→%d, alerts %d→%d", cycle, prevB, kb, prevA, ka)
		}
		prevB, prevA = kb, ka
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d kill -9 cycles: %d baseline and %d alert batches stored, %d committed batches lost, %d in flight at a kill and kept without a report",
		crashCycles, prevB, prevA, lost, unreported)
}

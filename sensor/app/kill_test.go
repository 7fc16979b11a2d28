package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/web"
)

// childEnv makes the test binary run TestKillChild as the sensor to kill.
const childEnv = "OTWATCH_APP_KILL_CHILD"

// manifest is what the child has written to its database, as of a
// finished flush.
type manifest struct {
	Flushes int      `json:"flushes"`
	Devices []uint64 `json:"devices"`
	Alerts  []string `json:"alerts"`
	Items   []string `json:"items"`
}

// TestKillChild is the sensor that TestKillDashNine kills: it replays a
// capture in a loop and, after every flush, records what its database
// holds.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("run by TestKillDashNine only")
	}
	ctx := context.Background()
	flushes := 0
	var a *App
	cfg := Config{DataDir: dir, Pcaps: []string{pcap(t, "modbus/modicon_test.pcap"), pcap(t, "dnp3/DNP3-Malformed.pcap")},
		Loop: true, ReplaySpeed: 8, FlushInterval: 100 * time.Millisecond,
		OnFlush: func(fs FlushStats) {
			if fs.Err != nil {
				return
			}
			flushes++
			m := manifest{Flushes: flushes}
			recs, err1 := a.st.LoadDevices(ctx)
			as, err2 := a.st.LoadAlerts(ctx)
			items, err3 := a.st.LoadBaseline(ctx)
			if err1 != nil || err2 != nil || err3 != nil {
				return
			}
			for _, r := range recs {
				m.Devices = append(m.Devices, r.ID)
			}
			for _, al := range as {
				m.Alerts = append(m.Alerts, al.ID)
			}
			for _, it := range items {
				m.Items = append(m.Items, it.Key)
			}
			b, _ := json.Marshal(m)
			tmp := filepath.Join(dir, "manifest.tmp")
			if os.WriteFile(tmp, b, 0o600) == nil {
				os.Rename(tmp, filepath.Join(dir, "manifest.json"))
			}
		}}
	var err error
	a, err = Open(ctx, cfg, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Run(ctx) // until killed
}

// TestKillDashNine runs the sensor in a child process on a looping replay,
// kills it with SIGKILL after it has written its state a few times, and
// checks that the reopened sensor holds every device, alert and baseline
// item the child had stored.
func TestKillDashNine(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	for cycle := 1; cycle <= 2; cycle++ {
		os.Remove(filepath.Join(dir, "manifest.json"))
		cmd := exec.Command(exe, "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var m manifest
		deadline := time.Now().Add(30 * time.Second)
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil && json.Unmarshal(b, &m) == nil &&
				m.Flushes >= 5 && len(m.Alerts) > 0 && len(m.Devices) > 0 && len(m.Items) > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("cycle %d: the child wrote no state in time:\n%s", cycle, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Duration(cycle) * 70 * time.Millisecond) // kill it in the middle of something
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		// The last manifest the child wrote (it may have written one more
		// since we read it).
		if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
			json.Unmarshal(b, &m)
		}

		a := openApp(t, Config{DataDir: dir})
		s := snapshot(t, a)
		var ids []uint64
		devs, _, err := a.Devices(context.Background(), web.Live, web.DeviceFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			ids = append(ids, d.ID)
		}
		for _, id := range m.Devices {
			if !slices.Contains(ids, id) {
				t.Errorf("cycle %d: device %d lost", cycle, id)
			}
		}
		for _, id := range m.Alerts {
			if !slices.Contains(s.alerts, id) {
				t.Errorf("cycle %d: alert %s lost", cycle, id)
			}
		}
		stored, err := a.st.LoadBaseline(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range m.Items {
			if !slices.ContainsFunc(stored, func(it learn.Item) bool { return it.Key == k }) {
				t.Errorf("cycle %d: stored baseline item %s lost", cycle, k)
			}
			if k != "state" && !slices.Contains(s.items, k) {
				t.Errorf("cycle %d: baseline item %s lost", cycle, k)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("cycle %d: killed after %d flushes; reopened with %d devices, %d alerts, %d baseline items "+
			"(the child had stored %d, %d, %d)", cycle, m.Flushes, len(s.devices), len(s.alerts), len(s.items),
			len(m.Devices), len(m.Alerts), len(m.Items))
		if t.Failed() {
			t.Logf("child output:\n%s", out.String())
			return
		}
	}
}

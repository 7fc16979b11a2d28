package analyze_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// TestDetectExclusions checks that exclusions suppress alerts before they
// are raised, on EIP-RemoteModeChangeAttempt.pcap (2009-08-31 19:24 UTC):
// 192.168.10.105 (MAC 00:1d:09:99:b2:2c) locks 192.168.10.121, stops it and
// unlocks it, one request each.
func TestDetectExclusions(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	p := []string{pcapPath(t, "enip-cip/EIP-RemoteModeChangeAttempt.pcap")}
	lock := wantAlert{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.121", function: "Logix Acquire Lock (75)"}
	stop := wantAlert{rule: alert.RulePLCStop, src: "192.168.10.105", dst: "192.168.10.121", function: "Stop (7)"}
	unlock := wantAlert{rule: alert.RulePLCLock, src: "192.168.10.105", dst: "192.168.10.121", function: "Logix Release Lock (76)"}
	day := time.Date(2009, 8, 31, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		ex       alert.Exclusion
		want     []wantAlert
		excluded uint64
	}{
		{"none matches", alert.Exclusion{Devices: []string{"10.9.9.9"}}, []wantAlert{lock, stop, unlock}, 0},
		{"by rule", alert.Exclusion{Rules: []string{alert.RulePLCStop}}, []wantAlert{lock, unlock}, 1},
		{"by device IP", alert.Exclusion{Devices: []string{"192.168.10.121"}}, nil, 3},
		{"by device MAC", alert.Exclusion{Devices: []string{"00:1D:09:99:B2:2C"}}, nil, 3},
		{"by subnet and title", alert.Exclusion{Subnets: []netip.Prefix{netip.MustParsePrefix("192.168.10.0/24")},
			Titles: []string{"lock state"}}, []wantAlert{stop}, 2},
		{"by rule in a window", alert.Exclusion{Rules: []string{alert.RulePLCStop}, Start: day, End: day.Add(24 * time.Hour)},
			[]wantAlert{lock, unlock}, 1},
		{"by rule, window passed", alert.Exclusion{Rules: []string{alert.RulePLCStop}, Start: day.Add(-48 * time.Hour),
			End: day}, []wantAlert{lock, stop, unlock}, 0},
		{"by rule, daily window", alert.Exclusion{Rules: []string{alert.RulePLCStop}, DailyFrom: 19 * 60, DailyTo: 20 * 60},
			[]wantAlert{lock, unlock}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.ex.Name = c.name
			r := ck.run(t, p, analyze.DetectOptions{Exclusions: []alert.Exclusion{c.ex}})
			expectAlerts(t, r.alerts, c.want)
			if st := r.det.Book.Stats(); st.Excluded != c.excluded || st.Raised != uint64(len(c.want)) {
				t.Errorf("book stats %+v: want %d excluded, %d raised", st, c.excluded, len(c.want))
			}
		})
	}
}

// TestDetectLearnMuteLifecycle runs the operator actions on real policy
// alerts: learning on EIP-ViewDeviceStatus.pcap, then detecting on
// EIP-SoftwareUpload.pcap, Learn an "Unauthorized PLC programming" and an
// "Unpermitted function code" alert, Mute another, and run the same
// traffic again through the same engine (and book): nothing new is raised,
// the muted traffic is suppressed, the alerts nobody acted upon count the
// traffic twice. Unlearn then brings the programming alert back.
func TestDetectLearnMuteLifecycle(t *testing.T) {
	t.Parallel()
	ck := newChecker(t)
	upload := []string{pcapPath(t, "enip-cip/EIP-SoftwareUpload.pcap")}
	r := ck.run(t, upload, analyze.DetectOptions{Learn: []string{pcapPath(t, "enip-cip/EIP-ViewDeviceStatus.pcap")}})
	find := func(as []*alert.Alert, rule, fn string) *alert.Alert {
		t.Helper()
		for _, a := range as {
			if a.Rule == rule && a.Function == fn && a.Src.IP == "192.168.10.105" && a.Dst.IP == "192.168.10.120" {
				return a
			}
		}
		t.Fatalf("no alert %s [%s] 192.168.10.105 → 192.168.10.120:%s", rule, fn, describe(as))
		return nil
	}
	prog := find(r.alerts, alert.RuleUnauthProgramming, "Logix Upload Transfer (79)")
	fn := find(r.alerts, alert.RuleUnpermittedFunc, "Logix Upload Transfer (79)")
	muted := find(r.alerts, alert.RuleUnpermittedFunc, "Get Attribute List (3)")
	other := find(r.alerts, alert.RuleUnpermittedFunc, "Forward Open (84)")
	otherProg := only(r.alerts, alert.RuleUnauthProgramming)
	if len(otherProg) != 3 {
		t.Fatalf("%d programming alerts, want 3:%s", len(otherProg), describe(otherProg))
	}
	before := r.det.Book.Stats()
	counts := map[string]uint64{}
	for _, a := range r.alerts {
		counts[a.ID] = a.Count
	}

	now := r.sum.Last.Add(time.Minute)
	for _, a := range []*alert.Alert{prog, fn} {
		got, err := r.det.Engine.Learn(a.ID, now)
		if err != nil {
			t.Fatalf("Learn %s: %v", alertKey(a), err)
		}
		if got.Status != alert.StatusClosed || got.ClosedReason != "learned" {
			t.Errorf("learned %s: status %s (%s)", alertKey(a), got.Status, got.ClosedReason)
		}
	}
	if _, m, err := r.det.Book.Mute(muted.ID, "test", now); err != nil || m.Key != muted.Key {
		t.Fatalf("Mute %s: %v (mute %+v)", alertKey(muted), err, m)
	}

	rerun := func() {
		t.Helper()
		_, err := analyze.Run(context.Background(), upload, analyze.Options{Registry: all.Registry(), NoFields: true,
			Detect: r.det.Engine})
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
	}
	rerun()
	after := r.det.Book.Stats()
	if after.Raised != before.Raised {
		t.Errorf("the same traffic again raised %d new alerts:%s", after.Raised-before.Raised,
			describe(r.det.Book.Alerts(false)[len(r.alerts):]))
	}
	if after.Muted-before.Muted != muted.Count {
		t.Errorf("%d occurrences suppressed by the mute, the muted alert counted %d", after.Muted-before.Muted,
			muted.Count)
	}
	as := r.det.Book.Alerts(false)
	ck.add(as...)
	for _, a := range as {
		switch {
		case a.Key == prog.Key || a.Key == fn.Key || a.Key == muted.Key:
			if a.Status != alert.StatusClosed {
				t.Errorf("%s reopened after %s", alertKey(a), map[bool]string{true: "Mute", false: "Learn"}[a.Key == muted.Key])
			}
			if a.Count != counts[a.ID] {
				t.Errorf("%s: count %d after the second run, was %d", alertKey(a), a.Count, counts[a.ID])
			}
		case a.Rule == alert.RuleUnauthProgramming || (a.Rule == alert.RuleNewAsset && a.Src.IP == "192.168.10.105"):
			// 192.168.10.105 is a programming device now, so a known
			// device: its other transfers and its presence stop counting.
			if a.Count != counts[a.ID] {
				t.Errorf("%s: count %d after the second run, was %d", alertKey(a), a.Count, counts[a.ID])
			}
		default:
			// Untouched: the same traffic counted twice.
			if a.Count != 2*counts[a.ID] {
				t.Errorf("%s: count %d after the second run, want 2 × %d", alertKey(a), a.Count, counts[a.ID])
			}
		}
	}
	if got, _ := r.det.Book.Get(other.ID); got == nil || got.Count != 2*other.Count || got.Status == alert.StatusClosed {
		t.Errorf("untouched %s after the second run: %+v", alertKey(other), got)
	}

	// Unlearn the programming alert: the source is no programming device
	// again, and the same traffic raises a new alert (the old one stays
	// closed).
	if _, err := r.det.Engine.Unlearn(prog.ID); err != nil {
		t.Fatalf("Unlearn: %v", err)
	}
	rerun()
	var reopened []*alert.Alert
	for _, a := range r.det.Book.Alerts(false) {
		if a.Key == prog.Key && a.ID != prog.ID {
			reopened = append(reopened, a)
		}
	}
	if len(reopened) != 1 || reopened[0].Status != alert.StatusNew || reopened[0].Count != prog.Count {
		t.Errorf("after Unlearn, alerts for %s: %s; want one new ×%d", alertKey(prog), describe(reopened), prog.Count)
	}
	if st := r.det.Book.Stats(); st.Raised != before.Raised+1 {
		t.Errorf("after Unlearn: %d alerts raised in all, want %d (one more)", st.Raised, before.Raised+1)
	}
	ck.add(r.det.Book.Alerts(false)...)

	// Learn needs baseline items: an operational alert has none.
	op := ck.run(t, []string{pcapPath(t, "enip-cip/cip_stop_plc.pcap")}, analyze.DetectOptions{})
	if len(op.alerts) != 1 {
		t.Fatalf("cip_stop_plc: %d alerts", len(op.alerts))
	}
	if _, err := op.det.Engine.Learn(op.alerts[0].ID, now); err == nil || !strings.Contains(err.Error(), "no baseline items") {
		t.Errorf("Learn of an operational alert: %v, want a refusal", err)
	}
}

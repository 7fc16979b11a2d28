package app

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
	"github.com/otwatch/otwatch/sensor/web"
)

// replayed opens a sensor on dir, replays files once and returns it
// stopped (not closed).
func replayed(t *testing.T, dir string, files ...string) *App {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, pcap(t, f))
	}
	a := openApp(t, Config{DataDir: dir, Pcaps: paths, ReplaySpeed: -1})
	stop := running(t, a)
	waitDone(t, a)
	stop()
	return a
}

func ptr[T any](v T) *T { return &v }

func TestDeviceOperations(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	a := replayed(t, dir, "enip-cip/EIP-RemoteModeChangeAttempt.pcap")
	all, total, err := a.Devices(ctx, web.Live, web.DeviceFilter{Sort: "ip"})
	if err != nil || total != 12 || len(all) != 12 {
		t.Fatalf("devices: %d %v", total, err)
	}
	for i := 1; i < len(all); i++ {
		if firstIP(&all[i]).Less(firstIP(&all[i-1])) {
			t.Fatalf("not sorted by IP: %v before %v", all[i-1].IPs, all[i].IPs)
		}
	}
	desc, _, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Sort: "ip", Desc: true})
	if desc[0].ID != all[len(all)-1].ID {
		t.Fatal("descending order is not the reverse")
	}
	page, total, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Sort: "ip", Limit: 5, Offset: 10})
	if total != 12 || len(page) != 2 || page[0].ID != all[10].ID {
		t.Fatalf("page: %d of %d", len(page), total)
	}
	for _, f := range []web.DeviceFilter{{Sort: "bogus"}, {Offset: -1}, {Subnet: "10.0.0.300/8"}} {
		if _, _, err := a.Devices(ctx, web.Live, f); !errors.Is(err, web.ErrInvalid) {
			t.Errorf("filter %+v: %v", f, err)
		}
	}
	var target, other web.Device
	for _, d := range all {
		if len(d.IPs) > 0 && slices.Contains(d.ServerProtocols, "enip") && target.ID == 0 {
			target = d
		} else if len(d.IPs) > 0 && other.ID == 0 {
			other = d
		}
	}
	if target.ID == 0 || other.ID == 0 {
		t.Fatalf("no EtherNet/IP server among %v", all)
	}
	enip, _, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Protocol: "enip"})
	if !slices.ContainsFunc(enip, func(d web.Device) bool { return d.ID == target.ID }) {
		t.Fatal("protocol filter misses the EtherNet/IP server")
	}
	ip := netip.MustParseAddr(target.IPs[0])
	pfx, _ := ip.Prefix(24)
	sub, _, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Subnet: pfx.String()})
	for _, d := range sub {
		if !pfx.Contains(firstIP(&d)) {
			t.Fatalf("subnet filter %v returned %v", pfx, d.IPs)
		}
	}

	// Edit.
	d, err := a.EditDevice(ctx, target.ID, web.DeviceEdit{Name: ptr("Press PLC"), Notes: ptr("line 3"),
		Role: ptr("plc"), Purdue: ptr(1)}, "alice")
	if err != nil || d.CustomName != "Press PLC" || d.Notes != "line 3" || d.RoleOverride != "plc" ||
		d.PurdueOverride == nil || *d.PurdueOverride != 1 {
		t.Fatalf("edit: %+v %v", d, err)
	}
	if got, n, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Q: "press plc"}); n != 1 || got[0].ID != target.ID {
		t.Fatalf("search by the operator's name: %d", n)
	}
	if got, _, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Purdue: ptr(1), Role: "plc"}); !slices.ContainsFunc(got,
		func(x web.Device) bool { return x.ID == target.ID }) {
		t.Fatal("role/Purdue filters ignore the overrides")
	}
	for _, e := range []web.DeviceEdit{{Role: ptr("toaster")}, {Purdue: ptr(9)}, {Name: ptr(strings.Repeat("x", 300))}} {
		if _, err := a.EditDevice(ctx, target.ID, e, "alice"); !errors.Is(err, web.ErrInvalid) {
			t.Errorf("edit %+v: %v", e, err)
		}
	}
	if _, err := a.EditDevice(ctx, 99999, web.DeviceEdit{Name: ptr("x")}, "alice"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("edit of an unknown device: %v", err)
	}

	// Authorize: the device joins the baseline.
	d, err = a.AuthorizeDevice(ctx, target.ID, "alice")
	if err != nil || !d.Authorized {
		t.Fatalf("authorize: %+v %v", d, err)
	}
	key := learn.DeviceKey(learn.HostOf([6]byte{}, ip))
	if !slices.Contains(a.BaselineItemKeys(), key) {
		t.Fatalf("baseline lacks %s after authorizing", key)
	}
	if got, n, _ := a.Devices(ctx, web.Live, web.DeviceFilter{Authorized: ptr(true)}); n != 1 || got[0].ID != target.ID {
		t.Fatalf("authorized filter: %d", n)
	}

	// Merge.
	d, err = a.MergeDevices(ctx, other.ID, target.ID, "alice")
	if err != nil || !slices.Contains(d.IPs, other.IPs[0]) {
		t.Fatalf("merge: %+v %v", d, err)
	}
	if _, err := a.Device(ctx, web.Live, other.ID); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("merged device still there: %v", err)
	}
	if _, err := a.MergeDevices(ctx, target.ID, target.ID, "alice"); !errors.Is(err, web.ErrInvalid) {
		t.Fatalf("merge into itself: %v", err)
	}
	if _, err := a.MergeDevices(ctx, 99999, target.ID, "alice"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("merge of an unknown device: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything survives a restart.
	b := openApp(t, Config{DataDir: dir})
	defer b.Close()
	d, err = b.Device(ctx, web.Live, target.ID)
	if err != nil || d.CustomName != "Press PLC" || !d.Authorized || !slices.Contains(d.IPs, other.IPs[0]) {
		t.Fatalf("after restart: %+v %v", d, err)
	}
	if _, total, _ := b.Devices(ctx, web.Live, web.DeviceFilter{}); total != 11 {
		t.Fatalf("%d devices after restart, want 11", total)
	}
	if !slices.Contains(b.BaselineItemKeys(), key) {
		t.Fatal("authorization lost across a restart")
	}
}

func TestAlertActions(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	a := replayed(t, dir, "modbus/modicon_test.pcap")
	as, n, err := a.Alerts(ctx, web.Live, web.AlertFilter{})
	if err != nil || n < 3 {
		t.Fatalf("alerts: %d %v", n, err)
	}
	ack, cls, mute := as[0].ID, as[1].ID, as[2].ID
	if al, err := a.ActOnAlert(ctx, ack, web.ActionAck, "bob"); err != nil || al.Status != alert.StatusActive {
		t.Fatalf("ack: %+v %v", al, err)
	}
	if al, err := a.CommentAlert(ctx, ack, "looking into it", "bob"); err != nil || len(al.Comments) != 1 ||
		al.Comments[0].Author != "bob" {
		t.Fatalf("comment: %+v %v", al, err)
	}
	if _, err := a.CommentAlert(ctx, ack, "  ", "bob"); !errors.Is(err, web.ErrInvalid) {
		t.Fatalf("empty comment: %v", err)
	}
	if al, err := a.ActOnAlert(ctx, cls, web.ActionClose, "bob"); err != nil || al.Status != alert.StatusClosed {
		t.Fatalf("close: %+v %v", al, err)
	}
	if _, err := a.ActOnAlert(ctx, cls, web.ActionAck, "bob"); !errors.Is(err, web.ErrConflict) {
		t.Fatalf("ack of a closed alert: %v", err)
	}
	if al, err := a.ActOnAlert(ctx, mute, web.ActionMute, "bob"); err != nil || al.ClosedReason != "muted" {
		t.Fatalf("mute: %+v %v", al, err)
	}
	mutes, err := a.st.LoadMutes(ctx)
	if err != nil || len(mutes) != 1 || mutes[0].AlertID != mute || mutes[0].By != "bob" {
		t.Fatalf("stored mutes: %+v %v", mutes, err)
	}
	if _, err := a.ActOnAlert(ctx, ack, web.ActionLearn, "bob"); !errors.Is(err, web.ErrInvalid) {
		t.Fatalf("learn of a non-policy alert: %v", err)
	}
	if _, err := a.ActOnAlert(ctx, "nope", web.ActionClose, "bob"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	if _, err := a.ActOnAlert(ctx, ack, "dance", "bob"); !errors.Is(err, web.ErrInvalid) {
		t.Fatalf("unknown action: %v", err)
	}
	if _, open, _ := a.Alerts(ctx, web.Live, web.AlertFilter{Status: "open"}); open != n-2 {
		t.Fatalf("%d open alerts, want %d", open, n-2)
	}
	if _, closed, _ := a.Alerts(ctx, web.Live, web.AlertFilter{Status: "closed"}); closed != 2 {
		t.Fatalf("%d closed alerts, want 2", closed)
	}
	for _, f := range []web.AlertFilter{{Status: "bogus"}, {Severity: "huge"}, {Engine: "magic"}, {Offset: -1}} {
		if _, _, err := a.Alerts(ctx, web.Live, f); !errors.Is(err, web.ErrInvalid) {
			t.Errorf("filter %+v: %v", f, err)
		}
	}
	q := strings.ToUpper(as[0].Title[:5])
	if got, _, _ := a.Alerts(ctx, web.Live, web.AlertFilter{Q: q}); !slices.ContainsFunc(got,
		func(x *alert.Alert) bool { return x.ID == ack }) {
		t.Fatalf("title search %q misses %s", q, ack)
	}
	if _, err := a.EndLearning(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// Against the operational baseline, another capture raises policy
	// alerts that can be learned and unlearned.
	b := replayed(t, dir, "dnp3/DNP3-SelectOperate.pcap")
	defer b.Close()
	pol, _, err := b.Alerts(ctx, web.Live, web.AlertFilter{Engine: "policy", Status: "open"})
	if err != nil || len(pol) == 0 {
		t.Fatalf("no policy alert: %v", err)
	}
	var learnable *alert.Alert
	for _, al := range pol {
		if al.Learnable {
			learnable = al
			break
		}
	}
	if learnable == nil {
		t.Fatalf("no learnable policy alert among %d", len(pol))
	}
	al, err := b.ActOnAlert(ctx, learnable.ID, web.ActionLearn, "bob")
	if err != nil || al.ClosedReason != "learned" {
		t.Fatalf("learn: %+v %v", al, err)
	}
	keys := b.BaselineItemKeys()
	for _, k := range learnable.Items {
		if !slices.Contains(keys, k) && !strings.HasPrefix(k, "range|") {
			t.Fatalf("learned item %s not in the baseline", k)
		}
	}
	if _, err := b.ActOnAlert(ctx, learnable.ID, web.ActionUnlearn, "bob"); err != nil {
		t.Fatal(err)
	}
	for _, k := range learnable.Items {
		if slices.Contains(b.BaselineItemKeys(), k) {
			t.Fatalf("unlearned item %s still in the baseline", k)
		}
	}
	// The first sensor's decisions survived its restart.
	got, err := b.Alert(ctx, web.Live, ack)
	if err != nil || got.Status != alert.StatusActive || len(got.Comments) != 1 {
		t.Fatalf("acked alert after restart: %+v %v", got, err)
	}
	st, err := b.Baseline(ctx)
	if err != nil || st.Mode != "operational" {
		t.Fatalf("baseline after restart: %+v %v", st, err)
	}
	items, total, err := b.BaselineItems(ctx, "device", "", 2, 0)
	if err != nil || len(items) != min(2, total) || total == 0 {
		t.Fatalf("baseline items: %d of %d, %v", len(items), total, err)
	}
	for _, it := range items {
		if it.Kind != "device" {
			t.Fatalf("kind filter returned %+v", it)
		}
	}
}

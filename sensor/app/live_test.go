//go:build linux

package app

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/internal/scenario"
	"github.com/otwatch/otwatch/sensor/web"
)

// TestLiveModbus captures with AF_PACKET on the host end of a veth pair
// while a real Modbus client (goburrow) polls a real server (simonvetter):
// the devices show through the Backend, and after learning ends on the
// polling, writes raise a policy alert within 2 seconds of the traffic.
func TestLiveModbus(t *testing.T) {
	n := scenario.New(t) // skips without root
	n.ServeModbus(t)
	ctx := context.Background()
	a := openApp(t, Config{DataDir: filepath.Join(t.TempDir(), "data"), Interfaces: []string{n.Pair.Host},
		Workers: 2, FlushInterval: 200 * time.Millisecond})
	defer a.Close()
	running(t, a)
	// Wait until the capture is up: the sockets are open once the
	// interface shows in the health report.
	eventually(t, 5*time.Second, "capture interface up", func() bool {
		h, _ := a.Health(ctx)
		return len(h.Interfaces) == 1 && h.Interfaces[0].Up
	})

	res := n.RunModbus(t, scenario.ModbusPolling(20*time.Millisecond, 10))
	if res.Responses != 20 {
		t.Fatalf("polling: %+v", res)
	}
	polled := time.Now()
	ips := func() []string {
		devs, _, err := a.Devices(ctx, web.Live, web.DeviceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range devs {
			out = append(out, d.IPs...)
		}
		return out
	}
	eventually(t, 2*time.Second, "Modbus devices in the inventory", func() bool {
		got := ips()
		return slices.Contains(got, scenario.HostIP) && slices.Contains(got, scenario.PeerIP)
	})
	t.Logf("devices visible %v after the polling", time.Since(polled).Round(time.Millisecond))
	eventually(t, 2*time.Second, "Modbus connection", func() bool {
		cs, _, _ := a.Connections(ctx, web.Live, web.ConnFilter{Protocol: "modbus"})
		return len(cs) == 1 && cs[0].Client == scenario.PeerIP && cs[0].Server == scenario.HostIP && cs[0].Port == 502
	})
	// No alert from learning traffic.
	if _, n, _ := a.Alerts(ctx, web.Live, web.AlertFilter{Engine: "policy"}); n != 0 {
		t.Fatalf("%d policy alerts while learning", n)
	}
	if st, err := a.EndLearning(ctx, "tester"); err != nil || st.Mode != "operational" {
		t.Fatalf("end learning: %+v %v", st, err)
	}

	res = n.RunModbus(t, scenario.ModbusWrites(0, 1))
	if res.Responses != 2 {
		t.Fatalf("writes: %+v", res)
	}
	wrote := time.Now()
	var found *alert.Alert
	eventually(t, 2*time.Second, "policy alert for the writes", func() bool {
		as, _, err := a.Alerts(ctx, web.Live, web.AlertFilter{Engine: "policy", IP: scenario.PeerIP})
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range as {
			if al.Protocol == "modbus" && al.Src.IP == scenario.PeerIP && al.Dst.IP == scenario.HostIP {
				found = al
				return true
			}
		}
		return false
	})
	t.Logf("policy alert %q (%s) %v after the writes", found.Title, found.Rule, time.Since(wrote).Round(time.Millisecond))
	if snip, err := a.AlertSnippet(ctx, web.Live, found.ID); err != nil || !captureMagic(snip) {
		t.Errorf("snippet of the live alert: %v", err)
	}
	h, _ := a.Health(ctx)
	if h.Interfaces[0].Packets == 0 || h.Interfaces[0].Kind != MethodAFPacket {
		t.Errorf("interface health: %+v", h.Interfaces[0])
	}
}

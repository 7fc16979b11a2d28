package analyze_test

import (
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/baseline/inventory"
	"github.com/otwatch/otwatch/baseline/inventory/oui"
	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
)

// inventoryMACDiffs lists captures whose inventory MACs deliberately differ
// from tshark's eth.src/eth.dst set, with the reason.
var inventoryMACDiffs = map[string]string{
	"pcaps/arp/linuxsll-arp.pcap": "Linux cooked capture: the sender's MAC is in the SLL header (sll.src.eth), " +
		"which the inventory uses and tshark does not list under eth.src",
}

// arpSenders asks tshark for the MAC/IP bindings that ARP senders and
// DHCP clients announce (needed only for captures that carry ARP or DHCP;
// skips them when tshark is absent).
func arpSenders(t *testing.T, path string, exp *dissectortest.Expected) (macs, ips []string) {
	t.Helper()
	_, hasDHCP := exp.Fields["dhcp_hostname"]
	if exp.FramesWithProtocol["arp"] == 0 && !hasDHCP && !strings.Contains(path, "/dhcp/") {
		return nil, nil
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("capture carries ARP or DHCP and tshark is not installed to list their bindings (make deps as root)")
	}
	for _, q := range [][]string{
		{"arp", "arp.src.hw_mac", "arp.src.proto_ipv4"},
		{"dhcp", "dhcp.hw.mac_addr", "dhcp.ip.client"},
		{"dhcp && dhcp.option.dhcp == 5", "dhcp.hw.mac_addr", "dhcp.ip.your"},
	} {
		out, err := exec.Command("tshark", "-n", "-r", path, "-Y", q[0], "-T", "fields", "-E", "occurrence=f",
			"-e", q[1], "-e", q[2]).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 2 || len(f[0]) != 17 {
				continue // malformed ARP lacks a half
			}
			if unicastMAC(f[0]) {
				macs = append(macs, f[0])
			}
			if f[1] != "" && f[1] != "0.0.0.0" {
				ips = append(ips, f[1])
			}
		}
	}
	return macs, ips
}

// union returns the sorted distinct elements of a and b.
func union(a, b []string) []string {
	m := map[string]bool{}
	for _, x := range append(a, b...) {
		m[x] = true
	}
	out := make([]string, 0, len(m))
	for x := range m {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

func unicastMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	// The first octet's low bit marks group (multicast/broadcast) addresses.
	var b byte
	for _, c := range s[:2] {
		b <<= 4
		switch {
		case c >= '0' && c <= '9':
			b |= byte(c - '0')
		case c >= 'a' && c <= 'f':
			b |= byte(c-'a') + 10
		}
	}
	return b&1 == 0 && s != "00:00:00:00:00:00"
}

// TestInventoryAddressesMatchTshark builds the inventory of every capture
// and checks that its devices hold exactly the unicast MAC and IP addresses
// tshark lists. Broadcast, multicast and unspecified addresses are not
// devices (documented in baseline/inventory).
func TestInventoryAddressesMatchTshark(t *testing.T) {
	for _, c := range sample(t, dissectortest.Captures(t, "")) {
		t.Run(strings.TrimPrefix(c, "pcaps/"), func(t *testing.T) {
			t.Parallel()
			exp := dissectortest.LoadExpected(t, c)
			inv := inventory.New(inventory.Config{}, oui.New())
			if _, err := analyze.Run(context.Background(), []string{filepath.Join(dissectortest.RepoRoot(t), c)},
				analyze.Options{Registry: all.Registry(), Inventory: inv, NoFields: true}); err != nil {
				t.Logf("read: %v", err)
			}
			var gotMAC, gotIP, wantMAC, wantIP []string
			for _, d := range inv.Devices() {
				if d.HasMAC {
					gotMAC = append(gotMAC, d.MACString())
				}
				for _, a := range d.IPs {
					gotIP = append(gotIP, a.String())
				}
			}
			for _, m := range exp.MACAddresses {
				if unicastMAC(m) {
					wantMAC = append(wantMAC, m)
				}
			}
			// ARP senders are devices too, though tshark lists their
			// addresses under arp.src, not ip.src/eth.src.
			arpMACs, arpIPs := arpSenders(t, filepath.Join(dissectortest.RepoRoot(t), c), exp)
			wantMAC = union(wantMAC, arpMACs)
			for _, s := range append(exp.IPAddresses, arpIPs...) {
				if a, err := netip.ParseAddr(s); err == nil && inventory.UnicastIP(a) {
					wantIP = append(wantIP, a.String())
				}
			}
			sort.Strings(gotMAC)
			sort.Strings(wantMAC)
			sort.Strings(gotIP)
			wantIP = union(wantIP, nil)
			if g, w := strings.Join(gotMAC, ","), strings.Join(wantMAC, ","); g != w {
				if why, ok := inventoryMACDiffs[c]; ok {
					t.Logf("MACs differ deliberately: %s", why)
				} else {
					t.Errorf("inventory MACs:\n got %s\nwant %s", g, w)
				}
			}
			if g, w := strings.Join(gotIP, ","), strings.Join(wantIP, ","); g != w {
				t.Errorf("inventory IPs:\n got %s\nwant %s", g, w)
			}
		})
	}
}

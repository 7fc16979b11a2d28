package analyze_test

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/otwatch/otwatch/dissectors/all"
	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/analyze"
	"github.com/otwatch/otwatch/sensor/capture"
)

// l234 are the lower-layer protocols whose frame counts must equal tshark's.
var l234 = []string{"eth", "sll", "vlan", "arp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6", "llc", "lldp", "cdp"}

// frameDiffs lists deliberate differences from tshark's frame counts, per
// capture and protocol, with the reason.
var frameDiffs = map[string]map[string]string{}

// TestFrameCountsMatchTshark runs every capture in pcaps/ through the
// analyser and checks the packet count, the L2–L4 frame counts and the sets
// of MAC and IP addresses against the facts tshark derived (pcaps/expected).
func TestFrameCountsMatchTshark(t *testing.T) {
	caps := dissectortest.Captures(t, "")
	if len(caps) < 150 {
		t.Fatalf("only %d captures found under pcaps/", len(caps))
	}
	for _, c := range sample(t, caps) {
		t.Run(strings.TrimPrefix(c, "pcaps/"), func(t *testing.T) {
			t.Parallel()
			exp := dissectortest.LoadExpected(t, c)
			sum, err := analyze.Run(context.Background(), []string{filepath.Join(dissectortest.RepoRoot(t), c)},
				analyze.Options{Registry: all.Registry()})
			if err != nil {
				var fe *capture.FileError
				if !errors.As(err, &fe) {
					t.Fatalf("analyze: %v", err)
				}
				t.Logf("read error (file cut short): %v", err)
			}
			if int(sum.Packets) != exp.Packets {
				t.Errorf("packets = %d, tshark %d", sum.Packets, exp.Packets)
			}
			var diffs []string
			for _, p := range l234 {
				got, want := sum.FramesWithProtocol[p], uint64(exp.FramesWithProtocol[p])
				if got == want {
					continue
				}
				if why, ok := frameDiffs[c][p]; ok {
					t.Logf("%s: %d frames, tshark %d: deliberate: %s", p, got, want, why)
					continue
				}
				diffs = append(diffs, p)
				t.Errorf("%s frames = %d, tshark %d", p, got, want)
			}
			sort.Strings(diffs)
			// Every source and destination address tshark lists (eth.src/dst,
			// ip.src/dst, ipv6.src/dst, broadcast and multicast included, and
			// the inner headers of tunnels and ICMP errors).
			if g, w := strings.Join(sum.MACAddresses, ","), strings.Join(exp.MACAddresses, ","); g != w {
				t.Errorf("MAC addresses differ from tshark:\n got %s\nwant %s", g, w)
			}
			if g, w := strings.Join(sum.IPAddresses, ","), strings.Join(exp.IPAddresses, ","); g != w {
				t.Errorf("IP addresses differ from tshark:\n got %s\nwant %s", g, w)
			}
		})
	}
}

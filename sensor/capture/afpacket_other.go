//go:build !linux

package capture

import (
	"fmt"
	"runtime"
)

// OpenAFPacket is only available on Linux; elsewhere it returns an error.
// Build with -tags pcap and use OpenPcapLive instead.
func OpenAFPacket(iface string, n int, opt AFPacketOptions) ([]Source, error) {
	return nil, fmt.Errorf("capture: AF_PACKET capture on %s: not available on %s (use libpcap: build with -tags pcap)", iface, runtime.GOOS)
}

//go:build !pcap

package capture

import "errors"

// PcapAvailable reports whether this build includes libpcap (the pcap build
// tag).
const PcapAvailable = false

// errNoPcap is what the libpcap entry points return in builds without it.
var errNoPcap = errors.New("capture: built without libpcap (build with -tags pcap)")

// OpenPcapLive captures through libpcap; this build has none, so it returns
// an error saying to build with -tags pcap.
func OpenPcapLive(iface string, snaplen int, bpf string, promisc bool) (Source, error) {
	return nil, errNoPcap
}

// OpenPcapFile reads a capture through libpcap; this build has none, so it
// returns an error saying to build with -tags pcap.
func OpenPcapFile(path string, bpf string) (Source, error) {
	return nil, errNoPcap
}

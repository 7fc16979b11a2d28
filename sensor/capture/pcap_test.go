//go:build pcap

package capture

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPcapFileMatchesPcapgo reads captures through libpcap and checks that
// it delivers exactly what the pcapgo reader does.
func TestPcapFileMatchesPcapgo(t *testing.T) {
	for _, name := range []string{"modbus/modbus_test.pcap", "arp/linuxsll-arp.pcap", "arp/snap-arp.pcapng",
		"opcua/open62541_browse_next.pcap", "bacnet/q-in-q.pcap", "bacnet/bacnet_test.pcap"} {
		path := filepath.Join(pcapsDir, name)
		want := readFile(t, path)
		src, err := OpenPcapFile(path, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: libpcap %d packets, pcapgo %d", name, len(got), len(want))
		}
		checkPrefix(t, name, got, want)
		if st := src.Stats(); st.Packets != uint64(len(got)) {
			t.Errorf("%s: stats %+v", name, st)
		}
		src.Close()
	}
}

// isTCPPort reports whether an untagged Ethernet frame is IPv4 TCP to or
// from port.
func isTCPPort(b []byte, port uint16) bool {
	if len(b) < 34 || binary.BigEndian.Uint16(b[12:]) != 0x0800 || b[23] != 6 {
		return false
	}
	ihl := int(b[14]&0xf) * 4
	if len(b) < 14+ihl+4 {
		return false
	}
	tcp := b[14+ihl:]
	return binary.BigEndian.Uint16(tcp) == port || binary.BigEndian.Uint16(tcp[2:]) == port
}

func TestPcapFileFilter(t *testing.T) {
	path := filepath.Join(pcapsDir, "modbus/modbus_test.pcap")
	src, err := OpenFiles([]string{path}, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	var p Packet
	for src.Next(&p) == nil {
		if isTCPPort(p.Data, 502) {
			want++
		}
	}
	src.Close()
	f, err := OpenPcapFile(path, "tcp port 502")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readAll(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != want || want == 0 {
		t.Errorf("tcp port 502: libpcap %d packets, parsed %d", len(got), want)
	}
	if _, err := OpenPcapFile(path, "no such filter ((("); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("bad filter: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	if _, err := OpenPcapFile(missing, ""); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func TestPcapFileTruncated(t *testing.T) {
	path := filepath.Join(pcapsDir, "modbus/modicon_test.pcap")
	b, _ := os.ReadFile(path)
	starts := pcapRecords(t, b)
	full := readFile(t, path)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, b[:starts[30]+20], 0o644)
	src, err := OpenPcapFile(cut, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Offset != -1 || fe.Packet != 30 || fe.Path != cut {
		t.Fatalf("%d packets, %v; want a FileError after 30", len(got), err)
	}
	checkPrefix(t, "libpcap truncated", got, full)
	t.Log(fe)
}

func TestPcapFileAllocs(t *testing.T) {
	src, err := OpenPcapFile(filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p Packet
	var nextErr error
	allocs := testing.AllocsPerRun(2000, func() {
		if err := src.Next(&p); err != nil {
			nextErr = err
		}
	})
	if nextErr != nil {
		t.Fatal(nextErr)
	}
	if allocs != 0 {
		t.Errorf("%.2f allocations per packet, want 0", allocs)
	}
}

// TestPcapLive captures the replayed frames through libpcap on the veth
// pair, without and with a BPF filter.
func TestPcapLive(t *testing.T) {
	v := setupVeth(t)
	want, total := expectFrames(t, liveFiles...)
	src, err := OpenPcapLive(v.host, 0, "", false)
	if err != nil {
		t.Fatal(err)
	}
	got := captureDuring(t, []Source{src}, 0, want, total, func() { v.replay(t, liveFiles...) })
	checkFrames(t, got, want, total)
	t.Logf("no filter: %d frames, stats %+v", len(got[0].hashes), src.Stats())

	arp, n := map[uint64]int{}, 0
	for _, f := range liveFiles {
		s, err := OpenFiles([]string{f}, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for s.Next(&p) == nil {
			if len(p.Data) >= 14 && binary.BigEndian.Uint16(p.Data[12:]) == 0x0806 {
				arp[hashBytes(p.Data)]++
				n++
			}
		}
		s.Close()
	}
	src, err = OpenPcapLive(v.host, 0, "arp", false)
	if err != nil {
		t.Fatal(err)
	}
	got = captureDuring(t, []Source{src}, 0, arp, n, func() { v.replay(t, liveFiles...) })
	checkFrames(t, got, arp, n)
	if len(got[0].hashes) != n {
		t.Errorf("filter arp: %d frames, want the %d ARP frames sent", len(got[0].hashes), n)
	}
	t.Logf("filter arp: %s frames", strconv.Itoa(len(got[0].hashes)))
}

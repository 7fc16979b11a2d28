package snippet

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/otwatch/otwatch/dissectors/dissectortest"
	"github.com/otwatch/otwatch/sensor/capture"
	"github.com/otwatch/otwatch/sensor/decode"
	"github.com/otwatch/otwatch/sensor/flow"
)

const (
	modbusPcap   = "../../pcaps/modbus/ModbusTCP.pcap"
	loopbackPcap = "../../pcaps/opcua/open62541_client-server_minimal.pcap"
	mdnsPcap     = "../../pcaps/dns/mdns.pcap"
)

// frame is one packet of a real capture as the pipeline would hand it to a
// sink: the raw frame, what the decoder made of it and its flow's ID.
type frame struct {
	link   int
	data   []byte
	wire   int
	ts     time.Time
	flowID uint64
	src    netip.Addr
	dst    netip.Addr
	srcMAC [6]byte
	dstMAC [6]byte
}

// load reads a capture through sensor/capture, sensor/decode and a
// sensor/flow table, as a pipeline worker does.
func load(tb testing.TB, paths ...string) []frame {
	tb.Helper()
	src, err := capture.OpenFiles(paths, capture.FileOptions{})
	if err != nil {
		tb.Fatalf("open %v: %v", paths, err)
	}
	defer src.Close()
	dec := decode.New(decode.Config{})
	tab := flow.New(flow.Config{}, nil, &dissectortest.NullEmitter{}, nil, 0)
	var (
		cp  capture.Packet
		p   decode.Packet
		out []frame
	)
	for {
		if err := src.Next(&cp); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			tb.Fatalf("read %v: %v", paths, err)
		}
		dec.Decode(&p, int(cp.LinkType), cp.Data, cp.Length, cp.Timestamp)
		if p.LinkType != int(cp.LinkType) {
			tb.Fatalf("decode.Packet.LinkType %d, captured %d", p.LinkType, cp.LinkType)
		}
		var id uint64
		if f, _ := tab.Process(&p); f != nil {
			id = f.Info.ID
		}
		out = append(out, frame{link: p.LinkType, data: bytes.Clone(cp.Data), wire: cp.Length, ts: cp.Timestamp,
			flowID: id, src: p.SrcIP, dst: p.DstIP, srcMAC: p.SrcMAC, dstMAC: p.DstMAC})
	}
	if len(out) == 0 {
		tb.Fatalf("%v: no packets", paths)
	}
	return out
}

// feed decodes every frame again and adds it as a pipeline sink would.
func feed(r *Ring, frames []frame) {
	dec := decode.New(decode.Config{})
	var p decode.Packet
	for i := range frames {
		f := &frames[i]
		dec.Decode(&p, f.link, f.data, f.wire, f.ts)
		r.AddPacket(&p, f.flowID)
	}
}

// held is the reference model of what a ring holds after frames were fed:
// the longest suffix whose kept bytes fit the arena and whose length fits
// the entry table.
func held(cfg Config, frames []frame) []frame {
	sum, n := 0, 0
	for i := len(frames) - 1; i >= 0; i-- {
		sum += min(len(frames[i].data), cfg.MaxSnapLen)
		if sum > cfg.Bytes || n == cfg.Entries {
			break
		}
		n++
	}
	return frames[len(frames)-n:]
}

func (s Selector) matches(f *frame) bool {
	switch {
	case s.FlowID != 0:
		return f.flowID == s.FlowID
	case s.Host.IsValid():
		h := s.Host.Unmap()
		return f.src.Unmap() == h || f.dst.Unmap() == h
	case s.MAC != [6]byte{}:
		return f.srcMAC == s.MAC || f.dstMAC == s.MAC
	}
	return false
}

// want is the reference answer of Snippet: the newest max matching frames
// of the newest match's link type, oldest first.
func want(cfg Config, frames []frame, sel Selector, max int) []frame {
	var out []frame
	link := -1
	for i := len(frames) - 1; i >= 0 && len(out) < max; i-- {
		f := &frames[i]
		if !sel.matches(f) {
			continue
		}
		if link < 0 {
			link = f.link
		}
		if f.link == link {
			out = append(out, *f)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// checkPcap parses file with gopacket's pcapgo reader (an independent
// parser) and compares every record with the frames it should hold.
func checkPcap(t *testing.T, file []byte, snap int, frames []frame) {
	t.Helper()
	if len(frames) == 0 {
		if file != nil {
			t.Fatalf("snippet of %d bytes, want nil", len(file))
		}
		return
	}
	if file == nil {
		t.Fatalf("nil snippet, want %d packets", len(frames))
	}
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("pcapgo: %v", err)
	}
	if got := r.Resolution().ToDuration(); got != time.Nanosecond {
		t.Errorf("resolution %v, want ns", got)
	}
	if int(r.LinkType()) != frames[0].link {
		t.Errorf("link type %d, want %d", r.LinkType(), frames[0].link)
	}
	if r.Snaplen() != uint32(snap) {
		t.Errorf("snaplen %d, want %d", r.Snaplen(), snap)
	}
	for i, f := range frames {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d of %d: %v", i+1, len(frames), err)
		}
		keep := f.data[:min(len(f.data), snap)]
		if !bytes.Equal(data, keep) {
			t.Fatalf("record %d: %d bytes differ from the %d-byte frame", i+1, len(data), len(f.data))
		}
		if ci.CaptureLength != len(keep) || ci.Length != f.wire {
			t.Fatalf("record %d: caplen %d origlen %d, want %d %d", i+1, ci.CaptureLength, ci.Length, len(keep), f.wire)
		}
		if !ci.Timestamp.Equal(f.ts) {
			t.Fatalf("record %d: time %v, want %v", i+1, ci.Timestamp, f.ts)
		}
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d records: %v, want EOF", len(frames), err)
	}
}

// busiest returns the commonest flow ID, source IP and source MAC of frames.
func busiest(frames []frame) (flowID uint64, host netip.Addr, mac [6]byte) {
	flows := map[uint64]int{}
	ips := map[netip.Addr]int{}
	macs := map[[6]byte]int{}
	for _, f := range frames {
		if f.flowID != 0 {
			flows[f.flowID]++
		}
		if f.src.IsValid() {
			ips[f.src]++
		}
		macs[f.srcMAC]++
	}
	best := 0
	for k, n := range flows {
		if n > best || (n == best && k < flowID) {
			flowID, best = k, n
		}
	}
	best = 0
	for k, n := range ips {
		if n > best || (n == best && k.Less(host)) {
			host, best = k, n
		}
	}
	best = 0
	for k, n := range macs {
		if n > best || (n == best && bytes.Compare(k[:], mac[:]) < 0) {
			mac, best = k, n
		}
	}
	return
}

func TestEntrySize(t *testing.T) {
	got := unsafe.Sizeof(uint64(0)) + unsafe.Sizeof(ipPair{}) + unsafe.Sizeof(macPair{}) + unsafe.Sizeof(rec{})
	if got != EntrySize {
		t.Fatalf("an entry takes %d bytes, EntrySize says %d", got, EntrySize)
	}
}

func TestConfigBounds(t *testing.T) {
	r := New(Config{})
	c := r.Config()
	if c.Bytes != DefaultBytes || c.Entries != DefaultBytes/BytesPerEntry || c.MaxPackets != DefaultMaxPackets ||
		c.MaxSnapLen != DefaultMaxSnapLen {
		t.Fatalf("defaults %+v", c)
	}
	if len(r.arena) != c.Bytes || len(r.recs) != c.Entries {
		t.Fatalf("arena %d entries %d for %+v", len(r.arena), len(r.recs), c)
	}
	if m := c.Memory(); m != c.Bytes+c.Entries*EntrySize {
		t.Fatalf("memory %d", m)
	}
	c = New(Config{Bytes: 100, Entries: 3, MaxPackets: 1000, MaxSnapLen: 1 << 20}).Config()
	if c.Bytes != MinBytes || c.Entries != MinEntries || c.MaxPackets != MinEntries || c.MaxSnapLen != MinBytes {
		t.Fatalf("small bounds not clamped: %+v", c)
	}
	// The largest bounds would take more than a gigabyte: fill without a ring.
	c = Config{Bytes: 2 * MaxBytes, Entries: 2 * MaxEntries, MaxSnapLen: 1 << 20}
	c.fill()
	if c.Bytes != MaxBytes || c.Entries != MaxEntries || c.MaxSnapLen != LimitSnapLen {
		t.Fatalf("large bounds not clamped: %+v", c)
	}
}

// TestWrapAround feeds a real capture through rings much smaller than it:
// bounded by the arena, and by the entry table. What is held must be exactly
// the newest packets, byte for byte.
func TestWrapAround(t *testing.T) {
	frames := load(t, modbusPcap)
	total := 0
	for _, f := range frames {
		total += len(f.data)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"arena", Config{Bytes: 64 << 10, Entries: 1 << 16, MaxPackets: 1 << 16}},
		{"entries", Config{Bytes: 1 << 20, Entries: 500, MaxPackets: 500}},
		{"snaplen", Config{Bytes: 16 << 10, Entries: 1 << 16, MaxPackets: 1 << 16, MaxSnapLen: 70}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.cfg)
			cfg := r.Config()
			feed(r, frames)
			keep := held(cfg, frames)
			if len(keep) == len(frames) || len(keep) == 0 {
				t.Fatalf("ring holds %d of %d packets: the test must overflow it", len(keep), len(frames))
			}
			if r.Len() != len(keep) {
				t.Fatalf("Len %d, want %d", r.Len(), len(keep))
			}
			kept := 0
			for _, f := range frames {
				kept += min(len(f.data), cfg.MaxSnapLen)
			}
			if r.Stats.Packets != uint64(len(frames)) || r.Stats.Bytes != uint64(kept) ||
				r.Stats.Wraps != uint64(kept/cfg.Bytes) {
				t.Fatalf("stats %+v, want %d packets %d bytes %d wraps", r.Stats, len(frames), kept, kept/cfg.Bytes)
			}
			// Every held packet, by the MAC that the busiest host's packets carry.
			_, _, mac := busiest(keep)
			sel := Selector{MAC: mac}
			exp := want(cfg, keep, sel, cfg.MaxPackets)
			if len(exp) < 100 {
				t.Fatalf("only %d packets of %x held", len(exp), mac)
			}
			checkPcap(t, r.Snippet(sel, 0), cfg.MaxSnapLen, exp)
			// The flow of the newest packet no longer held: its snippet has
			// exactly its held packets, none of the overwritten ones.
			lost := frames[len(frames)-len(keep)-1]
			sel = Selector{FlowID: lost.flowID}
			exp = want(cfg, keep, sel, cfg.MaxPackets)
			if all := want(cfg, frames, sel, len(frames)); len(exp) >= len(all) || lost.flowID == 0 {
				t.Fatalf("flow %d: %d of %d packets held: the test must evict some", lost.flowID, len(exp), len(all))
			}
			checkPcap(t, r.Snippet(sel, 0), cfg.MaxSnapLen, exp)
		})
	}
}

// TestTruncation cuts real frames at a snap length: the records keep the
// first bytes and the original length.
func TestTruncation(t *testing.T) {
	frames := load(t, modbusPcap)
	r := New(Config{MaxSnapLen: 64})
	feed(r, frames)
	long := 0
	for _, f := range frames {
		if len(f.data) > 64 {
			long++
		}
	}
	if long == 0 || r.Stats.Truncated != uint64(long) {
		t.Fatalf("truncated %d, want %d (> 0)", r.Stats.Truncated, long)
	}
	cfg := r.Config()
	id, _, _ := busiest(frames)
	exp := want(cfg, frames, Selector{FlowID: id}, cfg.MaxPackets)
	cut := 0
	for _, f := range exp {
		if len(f.data) > 64 {
			cut++
		}
	}
	if cut == 0 {
		t.Fatal("no long frame in the snippet: the test proves nothing")
	}
	checkPcap(t, r.Snippet(Selector{FlowID: id}, 0), 64, exp)
	tsharkCheck(t, r.Snippet(Selector{FlowID: id}, 0), 64, exp)
}

// TestSelectors picks packets by flow, host and MAC, and checks them against
// the reference filter of the decoded capture.
func TestSelectors(t *testing.T) {
	frames := load(t, modbusPcap)
	r := New(Config{})
	feed(r, frames)
	cfg := r.Config()
	if r.Len() != len(frames) {
		t.Fatalf("Len %d, want all %d", r.Len(), len(frames))
	}
	id, host, mac := busiest(frames)
	// The first flow, long quiet, and a packet outside flows, if any.
	first := frames[0].flowID
	var hostOnly netip.Addr
	for _, f := range frames {
		if f.dst.IsValid() && f.dst != host {
			hostOnly = f.dst
			break
		}
	}
	for _, tc := range []struct {
		name string
		sel  Selector
		max  int
	}{
		{"flow", Selector{FlowID: id}, 0},
		{"first-flow", Selector{FlowID: first}, 10},
		{"host", Selector{Host: host}, 0},
		{"host-mapped", Selector{Host: netip.AddrFrom16(host.As16())}, 5},
		{"other-host", Selector{Host: hostOnly}, 200},
		{"mac", Selector{MAC: mac}, 1},
		{"flow-wins", Selector{FlowID: first, Host: host, MAC: mac}, 7},
		{"host-over-mac", Selector{Host: hostOnly, MAC: mac}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 || max > cfg.MaxPackets {
				max = cfg.MaxPackets
			}
			exp := want(cfg, frames, tc.sel, max)
			if len(exp) != max {
				t.Fatalf("reference holds %d packets, want %d: pick another selector", len(exp), max)
			}
			checkPcap(t, r.Snippet(tc.sel, tc.max), cfg.MaxSnapLen, exp)
		})
	}
	before := r.Stats
	for _, sel := range []Selector{{}, {FlowID: 1 << 60}, {Host: netip.MustParseAddr("192.0.2.1")},
		{MAC: [6]byte{2, 0, 0, 0, 0, 1}}} {
		if s := r.Snippet(sel, 0); s != nil {
			t.Errorf("%+v: %d bytes, want nil", sel, len(s))
		}
	}
	if r.Stats.Misses != before.Misses+4 || r.Stats.Snippets != before.Snippets {
		t.Errorf("stats after misses %+v, before %+v", r.Stats, before)
	}
}

// TestLinkTypes: one flow seen over two link types (Ethernet, then BSD
// loopback, then Ethernet again), as when a sensor reads two interfaces:
// a snippet holds only the newest packet's link type.
func TestLinkTypes(t *testing.T) {
	eth := load(t, modbusPcap)[:40]
	loop := load(t, loopbackPcap)[:30]
	const id = 77
	var all []frame
	for _, part := range [][]frame{eth[:30], loop, eth[30:]} {
		for _, f := range part {
			f.flowID = id
			all = append(all, f)
		}
	}
	r := New(Config{})
	cfg := r.Config()
	sel := Selector{FlowID: id}
	feed(r, all[:60])
	exp := want(cfg, all[:60], sel, 50)
	if len(exp) != 30 || exp[0].link != decode.LinkNull {
		t.Fatalf("reference: %d packets of link %d", len(exp), exp[0].link)
	}
	file := r.Snippet(sel, 50)
	if r.Stats.LinkSkipped != 30 {
		t.Errorf("LinkSkipped %d, want the 30 Ethernet packets", r.Stats.LinkSkipped)
	}
	checkPcap(t, file, cfg.MaxSnapLen, exp)
	tsharkCheck(t, file, cfg.MaxSnapLen, exp)
	feed(r, all[60:])
	exp = want(cfg, all, sel, 50)
	if len(exp) != 40 || exp[0].link != decode.LinkEthernet {
		t.Fatalf("reference: %d packets of link %d", len(exp), exp[0].link)
	}
	checkPcap(t, r.Snippet(sel, 50), cfg.MaxSnapLen, exp)
	tsharkCheck(t, r.Snippet(sel, 50), cfg.MaxSnapLen, exp)
}

// TestAllocs: adding a packet allocates nothing, wrapping included.
func TestAllocs(t *testing.T) {
	frames := load(t, modbusPcap)[:2000]
	r := New(Config{Bytes: MinBytes, Entries: 100})
	dec := decode.New(decode.Config{})
	var p decode.Packet
	i := 0
	next := func() {
		f := &frames[i%len(frames)]
		i++
		dec.Decode(&p, f.link, f.data, f.wire, f.ts)
		r.AddPacket(&p, f.flowID)
	}
	for range 200 {
		next()
	}
	if n := testing.AllocsPerRun(5000, next); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
	if r.Stats.Wraps < 10 {
		t.Fatalf("only %d wraps: the test must wrap", r.Stats.Wraps)
	}
}

// TestTimestamps: times before 1970 and the zero time are written as 0.
func TestTimestamps(t *testing.T) {
	r := New(Config{})
	data := make([]byte, 60)
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	for _, tt := range []time.Time{{}, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), ts} {
		r.Add(&Meta{Time: tt, LinkType: decode.LinkEthernet, WireLen: 60, FlowID: 5}, data)
	}
	pr, err := pcapgo.NewReader(bytes.NewReader(r.Snippet(Selector{FlowID: 5}, 0)))
	if err != nil {
		t.Fatal(err)
	}
	for i, exp := range []time.Time{time.Unix(0, 0), time.Unix(0, 0), ts} {
		_, ci, err := pr.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if !ci.Timestamp.Equal(exp) {
			t.Errorf("record %d: %v, want %v", i, ci.Timestamp, exp)
		}
	}
}

// TestTshark is the acceptance test: snippets written to files open in
// tshark with the right packets and addresses.
func TestTshark(t *testing.T) {
	frames := load(t, modbusPcap)
	r := New(Config{Bytes: 256 << 10, MaxPackets: 100})
	feed(r, frames)
	cfg := r.Config()
	keep := held(cfg, frames)
	id, host, mac := busiest(keep)
	for _, sel := range []Selector{{FlowID: id}, {Host: host}, {MAC: mac}} {
		exp := want(cfg, keep, sel, 100)
		if len(exp) != 100 {
			t.Fatalf("%+v: reference holds %d", sel, len(exp))
		}
		file := r.Snippet(sel, 100)
		rereadCheck(t, file, exp)
		tsharkCheck(t, file, cfg.MaxSnapLen, exp)
	}
}

// rereadCheck reads a snippet back through the sensor's own capture and
// decode path: an alert's packets can be analysed again.
func rereadCheck(t *testing.T, file []byte, exp []frame) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snippet.pcap")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	got := load(t, path)
	if len(got) != len(exp) {
		t.Fatalf("sensor/capture reads %d packets, want %d", len(got), len(exp))
	}
	for i, g := range got {
		e := exp[i]
		if g.link != e.link || !bytes.Equal(g.data, e.data) || g.wire != e.wire || !g.ts.Equal(e.ts) || g.src != e.src ||
			g.dst != e.dst || g.srcMAC != e.srcMAC || g.dstMAC != e.dstMAC {
			t.Fatalf("packet %d read back differs", i+1)
		}
	}
}

// TestIPv6Host selects by an IPv6 address in a real mDNS capture that
// mixes IPv4 and IPv6.
func TestIPv6Host(t *testing.T) {
	frames := load(t, mdnsPcap)
	r := New(Config{})
	feed(r, frames)
	var host netip.Addr
	v4 := 0
	for _, f := range frames {
		if f.src.Is6() && !host.IsValid() {
			host = f.src
		}
		if f.src.Is4() {
			v4++
		}
	}
	if !host.IsValid() || v4 == 0 {
		t.Fatalf("%s: IPv6 source %v, %d IPv4 packets: want both", mdnsPcap, host, v4)
	}
	exp := want(r.Config(), frames, Selector{Host: host}, 64)
	if len(exp) < 2 {
		t.Fatalf("%d packets of %v", len(exp), host)
	}
	file := r.Snippet(Selector{Host: host}, 0)
	checkPcap(t, file, r.Config().MaxSnapLen, exp)
	tsharkCheck(t, file, r.Config().MaxSnapLen, exp)
}

// tsharkCheck writes file and reads it back with tshark: one line per
// packet, with the frame number and the IP addresses of the reference.
func tsharkCheck(t *testing.T, file []byte, snap int, exp []frame) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: skipped")
	}
	path := filepath.Join(t.TempDir(), "snippet.pcap")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.number", "-e", "ip.src", "-e", "ip.dst",
		"-e", "ipv6.src", "-e", "ipv6.dst", "-e", "frame.len", "-e", "frame.cap_len").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(exp) {
		t.Fatalf("tshark reads %d packets, want %d", len(lines), len(exp))
	}
	for i, l := range lines {
		f := exp[i]
		addr := func(a netip.Addr, v4 bool) string {
			if a.IsValid() && a.Is4() == v4 {
				return a.String()
			}
			return ""
		}
		w := strings.Join([]string{strconv.Itoa(i + 1), addr(f.src, true), addr(f.dst, true), addr(f.src, false),
			addr(f.dst, false), strconv.Itoa(f.wire),
			strconv.Itoa(min(len(f.data), snap))}, "\t")
		if l != w {
			t.Fatalf("tshark line %d: %q, want %q", i+1, l, w)
		}
	}
}

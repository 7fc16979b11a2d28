package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapsDir is the repository's sample captures.
const pcapsDir = "../../pcaps"

// rec is what a test remembers of a packet.
type rec struct {
	hash   uint64
	ts     time.Time
	caplen int
	length int
	link   LinkType
	source int
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// readAll reads src until the first error (bounded), returning the packets
// and that error (nil for io.EOF).
func readAll(t testing.TB, src Source) ([]rec, error) {
	t.Helper()
	var out []rec
	var p Packet
	for i := 0; i < 10_000_000; i++ {
		err := src.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if p.Length < len(p.Data) {
			t.Fatalf("packet %d: Length %d < len(Data) %d", i, p.Length, len(p.Data))
		}
		out = append(out, rec{hashBytes(p.Data), p.Timestamp, len(p.Data), p.Length, p.LinkType, p.Source})
	}
	t.Fatal("readAll: no end after 10M packets")
	return nil, nil
}

// readFile opens one file and reads it all; it fails the test on any error.
func readFile(t testing.TB, path string) []rec {
	t.Helper()
	src, err := OpenFiles([]string{path}, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs, err := readAll(t, src)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

type manifestEntry struct {
	path    string
	packets int
	encap   string
}

func readManifest(t *testing.T) []manifestEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pcapsDir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []manifestEntry
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head := strings.Split(lines[0], "\t")
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		n, err := strconv.Atoi(f[col["packets"]])
		if err != nil {
			t.Fatalf("manifest line %q: %v", l, err)
		}
		out = append(out, manifestEntry{filepath.Join(pcapsDir, f[col["local_file"]]), n, f[col["encapsulation"]]})
	}
	if len(out) < 100 {
		t.Fatalf("manifest has %d entries", len(out))
	}
	return out
}

// TestManifest reads every sample capture and checks the packet count and
// the link type against the manifest (tshark's figures), the counters, and
// the progress at the end.
func TestManifest(t *testing.T) {
	encap := map[string]LinkType{"ether": LinkEthernet, "linux-sll": LinkLinuxSLL, "null": LinkNull}
	for _, m := range readManifest(t) {
		src, err := OpenFiles([]string{m.path}, FileOptions{})
		if err != nil {
			t.Errorf("%s: %v", m.path, err)
			continue
		}
		recs, err := readAll(t, src)
		if err != nil {
			t.Errorf("%s: %v", m.path, err)
		}
		if len(recs) != m.packets {
			t.Errorf("%s: %d packets, manifest says %d", m.path, len(recs), m.packets)
		}
		want, ok := encap[m.encap]
		if !ok {
			t.Errorf("%s: unknown encapsulation %q in manifest", m.path, m.encap)
		}
		var bytes uint64
		for i, r := range recs {
			if r.link != want {
				t.Errorf("%s: packet %d link type %v, want %v", m.path, i, r.link, want)
				break
			}
			bytes += uint64(r.caplen)
		}
		st := src.Stats()
		if st.Packets != uint64(len(recs)) || st.Bytes != bytes || st.Errors != 0 {
			t.Errorf("%s: stats %+v, read %d packets %d bytes", m.path, st, len(recs), bytes)
		}
		done, total := src.(Progresser).Progress()
		if fi, _ := os.Stat(m.path); done != total || total != fi.Size() {
			t.Errorf("%s: progress %d/%d at the end, size %d", m.path, done, total, fi.Size())
		}
		src.Close()
	}
}

func TestLinuxSLL(t *testing.T) {
	recs := readFile(t, filepath.Join(pcapsDir, "arp/linuxsll-arp.pcap"))
	if len(recs) != 12 {
		t.Fatalf("%d packets, want 12", len(recs))
	}
	for _, r := range recs {
		if r.link != LinkLinuxSLL {
			t.Fatalf("link type %v, want LINUX_SLL", r.link)
		}
	}
}

// writePcap writes a pcap file with the given link type and packets.
func writePcap(t testing.TB, path string, link uint32, ts []time.Time, data [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkType(link)); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		ci := gopacket.CaptureInfo{Timestamp: ts[i], CaptureLength: len(data[i]), Length: len(data[i])}
		if err := w.WritePacket(ci, data[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLinkTypes checks that cooked and raw link types pass through, DLT_RAW
// 12 and 14 become LinkRaw, and the FCS bits of the header are dropped.
func TestLinkTypes(t *testing.T) {
	dir := t.TempDir()
	ip := []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	cases := []struct {
		file uint32
		want LinkType
	}{
		{1, LinkEthernet}, {12, LinkRaw}, {14, LinkRaw}, {101, LinkRaw}, {113, LinkLinuxSLL},
		{228, LinkIPv4}, {229, LinkIPv6}, {276, LinkLinuxSLL2}, {0, LinkNull}, {147, LinkType(147)},
	}
	for _, c := range cases {
		path := filepath.Join(dir, "lt"+strconv.Itoa(int(c.file))+".pcap")
		writePcap(t, path, c.file, []time.Time{time.Unix(1, 0)}, [][]byte{ip})
		recs := readFile(t, path)
		if len(recs) != 1 || recs[0].link != c.want {
			t.Errorf("file link type %d: got %+v, want %v", c.file, recs, c.want)
		}
	}
	// pcapng: SLL2 and a second interface with another link type in one file.
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkType(276), SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkType(101), SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, ifc := range []int{0, id, 0} {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(ip), Length: len(ip), InterfaceIndex: ifc}
		if err := w.WritePacket(ci, ip); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	path := filepath.Join(dir, "mixed.pcapng")
	os.WriteFile(path, buf.Bytes(), 0o644)
	recs := readFile(t, path)
	if len(recs) != 3 || recs[0].link != LinkLinuxSLL2 || recs[1].link != LinkRaw || recs[2].link != LinkLinuxSLL2 {
		t.Errorf("mixed pcapng: %+v", recs)
	}
}

// pcapRecords returns the start offset of every record of a pcap file and
// its length.
func pcapRecords(t *testing.T, b []byte) (starts []int) {
	t.Helper()
	order := binary.ByteOrder(binary.LittleEndian)
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 {
		order = binary.BigEndian
	}
	for off := 24; off+16 <= len(b); {
		starts = append(starts, off)
		off += 16 + int(order.Uint32(b[off+8:]))
	}
	return starts
}

// pcapngBlocks returns the start offset and type of every block of a
// little-endian pcapng file.
func pcapngBlocks(t *testing.T, b []byte) (starts []int, types []uint32) {
	t.Helper()
	for off := 0; off+12 <= len(b); {
		starts = append(starts, off)
		types = append(types, binary.LittleEndian.Uint32(b[off:]))
		off += int(binary.LittleEndian.Uint32(b[off+4:]))
	}
	return starts, types
}

func isNgPacket(typ uint32) bool { return typ == 6 || typ == 3 || typ == 2 }

// checkPrefix checks that got is the first len(got) packets of want.
func checkPrefix(t *testing.T, what string, got, want []rec) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("%s: %d packets, more than the %d of the whole file", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: packet %d differs: %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// readTruncated opens path and reads it all, returning the packets and the
// *FileError it ended with (nil for a clean end).
func readTruncated(t *testing.T, path string) ([]rec, *FileError) {
	t.Helper()
	src, err := OpenFiles([]string{path}, FileOptions{BufferSize: 4096})
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("open %s: %v is not a *FileError", path, err)
		}
		return nil, fe
	}
	defer src.Close()
	recs, err := readAll(t, src)
	if err == nil {
		return recs, nil
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: %v is not a *FileError", path, err)
	}
	if src.Stats().Errors != 1 {
		t.Errorf("%s: Stats.Errors = %d, want 1", path, src.Stats().Errors)
	}
	var p Packet
	if err := src.Next(&p); err != io.EOF {
		t.Errorf("%s: Next after the FileError: %v, want io.EOF", path, err)
	}
	return recs, fe
}

// TestTruncatedPcap cuts a real pcap at every interesting place: inside the
// file header, at a record boundary, inside a record header and inside
// record data, and checks that every complete packet arrives, then a
// FileError with the exact offset of the broken record.
func TestTruncatedPcap(t *testing.T) {
	src := filepath.Join(pcapsDir, "modbus/modicon_test.pcap")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	full := readFile(t, src)
	starts := pcapRecords(t, b)
	if len(starts) != len(full) {
		t.Fatalf("%d records, reader gave %d", len(starts), len(full))
	}
	dir := t.TempDir()
	cuts := []int{0, 3, 10, 23}
	for _, k := range []int{0, 1, 2, 50, 100, len(starts) - 1} {
		s := starts[k]
		cuts = append(cuts, s, s+1, s+15, s+16, s+17, s+30)
	}
	for _, cut := range cuts {
		if cut > len(b) {
			continue
		}
		path := filepath.Join(dir, "cut"+strconv.Itoa(cut)+".pcap")
		os.WriteFile(path, b[:cut], 0o644)
		recs, fe := readTruncated(t, path)
		if cut < 24 {
			if fe == nil || fe.Offset != 0 || !strings.Contains(fe.Error(), path) {
				t.Errorf("cut %d inside the file header: %v", cut, fe)
			}
			continue
		}
		// k complete records before the cut; the broken one starts at starts[k].
		k := 0
		for k < len(starts) && k+1 <= len(starts) && recordEnd(starts, k, len(b)) <= cut {
			k++
		}
		checkPrefix(t, "cut "+strconv.Itoa(cut), recs, full)
		if len(recs) != k {
			t.Errorf("cut %d: %d packets, want %d", cut, len(recs), k)
		}
		atBoundary := cut == 24 || (k < len(starts) && starts[k] == cut) || cut == len(b)
		switch {
		case atBoundary && fe != nil:
			t.Errorf("cut %d at a record boundary: %v, want a clean end", cut, fe)
		case !atBoundary && fe == nil:
			t.Errorf("cut %d inside record %d: clean end, want a FileError", cut, k)
		case !atBoundary:
			if fe.Offset != int64(starts[k]) || fe.Packet != uint64(k) || !errors.Is(fe, io.ErrUnexpectedEOF) || fe.Path != path {
				t.Errorf("cut %d: %+v, want offset %d after %d packets, unexpected EOF", cut, fe, starts[k], k)
			}
			want := path + ": byte offset " + strconv.Itoa(starts[k]) + " (after " + strconv.Itoa(k) + " packets): unexpected EOF"
			if fe.Error() != want {
				t.Errorf("message %q, want %q", fe.Error(), want)
			}
		}
	}
}

// recordEnd is the end offset of record k.
func recordEnd(starts []int, k, size int) int {
	if k+1 < len(starts) {
		return starts[k+1]
	}
	return size
}

// TestTruncatedPcapng cuts a real pcapng inside and between blocks: every
// complete packet, then the offset of the block that was cut.
func TestTruncatedPcapng(t *testing.T) {
	src := filepath.Join(pcapsDir, "opcua/open62541_browse_next.pcap")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	full := readFile(t, src)
	starts, types := pcapngBlocks(t, b)
	dir := t.TempDir()
	var cuts []int
	for _, j := range []int{1, 2, 3, 4, 10, 100, len(starts) / 2, len(starts) - 1} {
		if j < len(starts) {
			s := starts[j]
			cuts = append(cuts, s, s+3, s+8, s+27, s+40)
		}
	}
	cuts = append(cuts, 5, starts[1]-1)
	for _, cut := range cuts {
		path := filepath.Join(dir, "cut"+strconv.Itoa(cut)+".pcapng")
		os.WriteFile(path, b[:cut], 0o644)
		recs, fe := readTruncated(t, path)
		// Packets in blocks that end at or before the cut, and the end of
		// the last one (or of the section header when there is none).
		k, broken, boundary := 0, -1, false
		for j := range starts {
			end := len(b)
			if j+1 < len(starts) {
				end = starts[j+1]
			}
			if starts[j] == cut || end == cut {
				boundary = true
			}
			if end <= cut && isNgPacket(types[j]) {
				k++
			}
			if starts[j] < cut && cut < end {
				broken = starts[j]
			}
		}
		if cut < starts[1] { // inside the section header: fails at open
			if fe == nil || fe.Offset != 0 || recs != nil {
				t.Errorf("cut %d inside the section header: %v", cut, fe)
			}
			continue
		}
		checkPrefix(t, "cut "+strconv.Itoa(cut), recs, full)
		if len(recs) != k {
			t.Errorf("cut %d: %d packets, want %d", cut, len(recs), k)
		}
		switch {
		case boundary && fe != nil:
			t.Errorf("cut %d at a block boundary: %v", cut, fe)
		case !boundary && fe == nil:
			t.Errorf("cut %d inside a block: clean end", cut)
		case !boundary && (fe.Offset != int64(broken) || fe.Packet != uint64(k) || !errors.Is(fe, io.ErrUnexpectedEOF)):
			t.Errorf("cut %d: %+v, want offset %d after %d packets", cut, fe, broken, k)
		}
	}
}

// TestCorruptHeaders checks impossible record headers: capture length above
// the snap length, above 256 KiB, above the original length; and pcapng
// packet blocks that lie about their length.
func TestCorruptHeaders(t *testing.T) {
	dir := t.TempDir()
	good := readFile(t, filepath.Join(pcapsDir, "arp/arp.pcap"))
	b, _ := os.ReadFile(filepath.Join(pcapsDir, "arp/arp.pcap"))
	starts := pcapRecords(t, b)
	type mod struct {
		name    string
		snaplen uint32 // 0: keep
		caplen  uint32
		length  uint32 // 0: keep
	}
	for _, m := range []mod{
		{"above-snaplen", 64, 65, 100},
		{"above-256k", 0xffffffff, 300 << 10, 300 << 10},
		{"above-len", 0, 60, 59},
		{"huge", 0, 0xfffffff0, 0xfffffff0},
	} {
		c := bytes.Clone(b)
		if m.snaplen != 0 {
			binary.LittleEndian.PutUint32(c[16:], m.snaplen)
		}
		r := starts[2]
		binary.LittleEndian.PutUint32(c[r+8:], m.caplen)
		if m.length != 0 {
			binary.LittleEndian.PutUint32(c[r+12:], m.length)
		}
		path := filepath.Join(dir, m.name+".pcap")
		os.WriteFile(path, c, 0o644)
		recs, fe := readTruncated(t, path)
		if fe == nil || fe.Offset != int64(r) || fe.Packet != 2 || len(recs) != 2 {
			t.Errorf("%s: %d packets, %v; want a FileError at %d after 2", m.name, len(recs), fe, r)
			continue
		}
		if m.name != "huge" && !errors.Is(fe, ErrCorrupt) {
			t.Errorf("%s: %v does not wrap ErrCorrupt", m.name, fe)
		}
		checkPrefix(t, m.name, recs, good)
	}

	// pcapng: an enhanced packet block whose capture length exceeds the
	// original length, and one whose block length is too short.
	ng, _ := os.ReadFile(filepath.Join(pcapsDir, "arp/snap-arp.pcapng"))
	bs, types := pcapngBlocks(t, ng)
	var epb, epbEnd []int
	for j, typ := range types {
		if typ == 6 {
			epb = append(epb, bs[j])
			if j+1 < len(bs) {
				epbEnd = append(epbEnd, bs[j+1])
			}
		}
	}
	if len(epb) < 2 {
		t.Fatalf("snap-arp.pcapng: %d EPBs", len(epb))
	}
	c := bytes.Clone(ng)
	binary.LittleEndian.PutUint32(c[epb[1]+24:], 10) // original length 10 < capture length
	path := filepath.Join(dir, "caplen.pcapng")
	os.WriteFile(path, c, 0o644)
	recs, fe := readTruncated(t, path)
	// The offset is the start of the broken block, not the end of the last
	// packet delivered: an interface block lies between the two.
	if epbEnd[0] == epb[1] {
		t.Fatal("snap-arp.pcapng has no block between its first two packets")
	}
	if fe == nil || !errors.Is(fe, ErrCorrupt) || len(recs) != 1 || fe.Offset != int64(epb[1]) {
		t.Errorf("pcapng caplen > len: %d packets, %v", len(recs), fe)
	}
	for _, blen := range []uint32{0, 4, 12, 0xfffffffc} {
		c := bytes.Clone(ng)
		binary.LittleEndian.PutUint32(c[epb[1]+4:], blen)
		path := filepath.Join(dir, "blocklen"+strconv.Itoa(int(blen))+".pcapng")
		os.WriteFile(path, c, 0o644)
		recs, fe := readTruncated(t, path)
		if fe == nil || len(recs) != 1 || fe.Offset != int64(epb[1]) {
			t.Errorf("pcapng block length %d: %d packets, %v", blen, len(recs), fe)
		}
	}
}

// TestGarbage checks files that are not captures.
func TestGarbage(t *testing.T) {
	dir := t.TempDir()
	garbage := make([]byte, 5000)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i>>3)
	}
	files := map[string][]byte{
		"garbage.pcap": garbage,
		"empty.pcap":   nil,
		"short.pcap":   {0xd4, 0xc3},
		"text.pcapng":  []byte("this is not a capture file\n"),
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, data, 0o644)
		_, err := OpenFiles([]string{path}, FileOptions{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want a FileError wrapping ErrFormat", name, err)
		}
	}
	// gzip of garbage, and a gzip stream cut short.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(garbage)
	zw.Close()
	path := filepath.Join(dir, "garbage.gz")
	os.WriteFile(path, gz.Bytes(), 0o644)
	if _, err := OpenFiles([]string{path}, FileOptions{}); !errors.Is(err, ErrFormat) {
		t.Errorf("gzip garbage: %v", err)
	}
	path = filepath.Join(dir, "cut.gz")
	os.WriteFile(path, gz.Bytes()[:6], 0o644)
	if _, err := OpenFiles([]string{path}, FileOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("gzip cut in its header: %v", err)
	}

	missing := filepath.Join(dir, "missing.pcap")
	_, err := OpenFiles([]string{filepath.Join(pcapsDir, "arp/arp.pcap"), missing}, FileOptions{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenFiles([]string{dir}, FileOptions{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
	if _, err := OpenFiles(nil, FileOptions{}); err == nil {
		t.Error("no files: no error")
	}
}

func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	os.WriteFile(dst, buf.Bytes(), 0o644)
}

// TestGzip reads gzip copies (named without .gz: detection is by magic) of a
// pcap and a pcapng, then a gzip copy cut short.
func TestGzip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"modbus/modbus_test.pcap", "opcua/open62541_browse_next.pcap"} {
		src := filepath.Join(pcapsDir, name)
		dst := filepath.Join(dir, filepath.Base(name))
		gzipFile(t, src, dst)
		want := readFile(t, src)
		s, err := OpenFiles([]string{dst}, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d packets, plain file %d", name, len(got), len(want))
		}
		checkPrefix(t, name, got, want)
		fi, _ := os.Stat(dst)
		if done, total := s.(Progresser).Progress(); done != fi.Size() || total != fi.Size() {
			t.Errorf("%s: progress %d/%d, compressed size %d", name, done, total, fi.Size())
		}
		s.Close()

		// Cut the compressed file: every packet before the damage, then a
		// FileError (the gzip reader decides where the damage shows).
		gz, _ := os.ReadFile(dst)
		for _, cut := range []int{len(gz) / 3, len(gz) - 5, len(gz) - 1} {
			path := filepath.Join(dir, "cut"+strconv.Itoa(cut)+filepath.Base(name))
			os.WriteFile(path, gz[:cut], 0o644)
			recs, fe := readTruncated(t, path)
			checkPrefix(t, path, recs, want)
			if fe == nil || !fe.Compressed || !strings.Contains(fe.Error(), "uncompressed byte offset") {
				t.Errorf("%s: %d packets, %v; want a FileError", path, len(recs), fe)
			}
		}
	}
}

// shifted writes a copy of the pcap at src with every timestamp moved by d.
func shifted(t *testing.T, src, dst string, d time.Duration) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.Create(dst)
	defer out.Close()
	bw := bufio.NewWriter(out)
	defer bw.Flush()
	w := pcapgo.NewWriterNanos(bw)
	w.WriteFileHeader(r.Snaplen(), r.LinkType())
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ci.Timestamp = ci.Timestamp.Add(d)
		w.WritePacket(ci, data)
	}
}

// refMerge is the expected merge: repeatedly the head with the smallest
// timestamp, the lowest file index on ties.
func refMerge(files [][]rec) []rec {
	var out []rec
	pos := make([]int, len(files))
	for {
		best := -1
		for i, f := range files {
			if pos[i] < len(f) && (best < 0 || f[pos[i]].ts.Before(files[best][pos[best]].ts)) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		r := files[best][pos[best]]
		r.source = best
		out = append(out, r)
		pos[best]++
	}
}

// TestMerge merges real captures whose timestamps interleave (copies of one
// capture shifted by less than its packet spacing, a pcapng and a synthetic
// file with ties) and checks the order, the stability on ties and Source.
func TestMerge(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(pcapsDir, "modbus/modicon_test.pcap")
	a := filepath.Join(dir, "a.pcap")
	b := filepath.Join(dir, "b.pcap")
	shifted(t, base, a, 0)
	shifted(t, base, b, 3*time.Millisecond)
	ng := filepath.Join(pcapsDir, "opcua/open62541_browse_next.pcap")

	// Ties: c has packets at exactly the timestamps of the first packets of a.
	ra := readFile(t, a)
	c := filepath.Join(dir, "c.pcap")
	writePcap(t, c, 1, []time.Time{ra[0].ts, ra[1].ts, ra[1].ts, ra[5].ts}, [][]byte{
		bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 60), bytes.Repeat([]byte{3}, 60), bytes.Repeat([]byte{4}, 60)})

	paths := []string{c, a, b, ng, base}
	var files [][]rec
	for _, p := range paths {
		files = append(files, readFile(t, p))
	}
	want := refMerge(files)
	src, err := OpenFiles(paths, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	interleaved := 0
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("packet %d: %+v, want %+v", i, got[i], want[i])
		}
		if i > 0 {
			if got[i].ts.Before(got[i-1].ts) {
				t.Fatalf("packet %d goes back in time", i)
			}
			if got[i].ts.Equal(got[i-1].ts) && got[i].source < got[i-1].source {
				t.Fatalf("packet %d: tie not in file order", i)
			}
			if got[i].source != got[i-1].source {
				interleaved++
			}
		}
	}
	if interleaved < 100 {
		t.Errorf("only %d switches between files: the test captures do not interleave", interleaved)
	}
	if st := src.Stats(); st.Packets != uint64(len(want)) {
		t.Errorf("stats %+v, want %d packets", st, len(want))
	}
	var total int64
	for _, p := range paths {
		fi, _ := os.Stat(p)
		total += fi.Size()
	}
	if done, tot := src.(Progresser).Progress(); done != total || tot != total {
		t.Errorf("progress %d/%d, want %d", done, tot, total)
	}
	var p Packet
	src.Close()
	if err := src.Next(&p); err != ErrClosed {
		t.Errorf("Next after Close: %v", err)
	}
}

// TestMergeTruncated merges a good file with a truncated one: the FileError
// comes once, then the rest of the good file.
func TestMergeTruncated(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(pcapsDir, "modbus/modicon_test.pcap")
	a := filepath.Join(dir, "a.pcap")
	shifted(t, base, a, time.Millisecond)
	b, _ := os.ReadFile(base)
	starts := pcapRecords(t, b)
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, b[:starts[40]+20], 0o644)

	src, err := OpenFiles([]string{cut, a}, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p Packet
	n, fromCut, fileErrs := 0, 0, 0
	for i := 0; i < 100000; i++ {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		var fe *FileError
		if errors.As(err, &fe) {
			fileErrs++
			if fe.Path != cut || fe.Packet != 40 || fe.Offset != int64(starts[40]) {
				t.Errorf("FileError %+v", fe)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if p.Source == 0 {
			fromCut++
		}
	}
	if fileErrs != 1 || fromCut != 40 || n != 40+len(starts) {
		t.Errorf("%d file errors, %d packets from the cut file, %d in all; want 1, 40, %d", fileErrs, fromCut, n, 40+len(starts))
	}
	if st := src.Stats(); st.Errors != 1 || st.Packets != uint64(n) {
		t.Errorf("stats %+v", st)
	}
}

// TestFileAllocs proves that Next allocates nothing per packet for plain pcap
// and pcapng files, alone and merged.
func TestFileAllocs(t *testing.T) {
	cases := map[string][]string{
		"pcap":   {filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap")},
		"pcapng": {filepath.Join(pcapsDir, "opcua/open62541_browse_next.pcap")},
		"merged": {filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap"), filepath.Join(pcapsDir, "modbus/modbus_test_2.pcap"), filepath.Join(pcapsDir, "opcua/open62541_browse_next.pcap")},
	}
	for name, paths := range cases {
		src, err := OpenFiles(paths, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for i := 0; i < 10; i++ { // buffers are sized on the first packets
			if err := src.Next(&p); err != nil {
				t.Fatal(err)
			}
		}
		var nextErr error
		allocs := testing.AllocsPerRun(700, func() {
			if err := src.Next(&p); err != nil {
				nextErr = err
			}
		})
		if nextErr != nil {
			t.Fatalf("%s: %v", name, nextErr)
		}
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per packet, want 0", name, allocs)
		}
		src.Close()
	}
}

// TestFileAllocsGzip measures gzip files: the decompressor refills the
// buffer in 1 MiB steps, so per packet it rounds to nothing.
func TestFileAllocsGzip(t *testing.T) {
	gz := filepath.Join(t.TempDir(), "ModbusTCP.pcap.gz")
	gzipFile(t, filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap"), gz)
	src, err := OpenFiles([]string{gz}, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p Packet
	var nextErr error
	allocs := testing.AllocsPerRun(10000, func() {
		if err := src.Next(&p); err != nil {
			nextErr = err
		}
	})
	if nextErr != nil {
		t.Fatal(nextErr)
	}
	if allocs > 0.01 {
		t.Errorf("gzip: %.4f allocations per packet", allocs)
	}
}

// TestConcurrentCounters reads Stats and Progress from another goroutine
// while Next runs (for the race detector), and Close ends reading.
func TestConcurrentCounters(t *testing.T) {
	paths := []string{filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap"), filepath.Join(pcapsDir, "modbus/modbus_test.pcap")}
	src, err := OpenFiles(paths, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	polled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				polled <- n
				return
			default:
			}
			st := src.Stats()
			done, total := src.(Progresser).Progress()
			if done > total || st.Packets > 20000 {
				t.Errorf("stats %+v progress %d/%d", st, done, total)
			}
			n++
			time.Sleep(time.Millisecond)
		}
	}()
	var p Packet
	n := 0
	for ; n < 5000; n++ {
		if err := src.Next(&p); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	if err := src.Next(&p); err != ErrClosed {
		t.Errorf("Next after Close: %v", err)
	}
	close(stop)
	t.Logf("Stats polled %d times", <-polled)
}

// FuzzOpenFiles feeds arbitrary bytes to the file reader: it must end with
// io.EOF or an error, never panic or loop.
func FuzzOpenFiles(f *testing.F) {
	for _, name := range []string{"arp/arp.pcap", "arp/snap-arp.pcapng", "arp/linuxsll-arp.pcap", "dnp3/assign_class.pcap"} {
		b, err := os.ReadFile(filepath.Join(pcapsDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenFiles([]string{path}, FileOptions{BufferSize: 4096})
		if err != nil {
			return
		}
		defer src.Close()
		var p Packet
		for i := 0; i <= len(data); i++ {
			if err := src.Next(&p); err != nil {
				return
			}
		}
		t.Fatalf("more packets than bytes in the file")
	})
}

// toPcapng writes the packets of the pcap at src as a pcapng file at dst.
func toPcapng(tb testing.TB, src, dst string) {
	tb.Helper()
	f, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	w, err := pcapgo.NewNgWriter(out, r.LinkType())
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Flush()
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.WritePacket(ci, data); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkFileRead reads captures in a loop, reopening them at the end
// (reopening is not timed); one iteration is one packet. pcapng is
// ModbusTCP.pcap converted in a temporary directory.
func BenchmarkFileRead(b *testing.B) {
	ng := filepath.Join(b.TempDir(), "ModbusTCP.pcapng")
	toPcapng(b, filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap"), ng)
	for _, bc := range []struct{ name, path string }{
		{"pcap", filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap")},
		{"pcapng", ng},
		{"mixed-ot-it", filepath.Join(pcapsDir, "mixed-ot-it/mb2.pcap")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			open := func() Source {
				src, err := OpenFiles([]string{bc.path}, FileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				return src
			}
			src := open()
			var p Packet
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := src.Next(&p)
				if err == io.EOF {
					b.StopTimer()
					src.Close()
					src = open()
					b.StartTimer()
					err = src.Next(&p)
				}
				if err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(p.Data))
			}
			b.StopTimer()
			src.Close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			b.SetBytes(bytes / int64(max(b.N, 1)))
		})
	}
}

// BenchmarkPcapgoBaseline is pcapgo's own read loop over a 1 MiB buffer on
// the capture of BenchmarkFileRead/pcap: the floor this package adds to.
func BenchmarkPcapgoBaseline(b *testing.B) {
	path := filepath.Join(pcapsDir, "modbus/ModbusTCP.pcap")
	var f *os.File
	var r *pcapgo.Reader
	open := func() {
		var err error
		if f, err = os.Open(path); err != nil {
			b.Fatal(err)
		}
		if r, err = pcapgo.NewReader(bufio.NewReaderSize(f, DefaultFileBufferSize)); err != nil {
			b.Fatal(err)
		}
	}
	open()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			b.StopTimer()
			f.Close()
			open()
			b.StartTimer()
			_, _, err = r.ZeroCopyReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	f.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/gopacket/gopacket/pcapgo"
)

// FileOptions configures OpenFiles.
type FileOptions struct {
	// BufferSize is the read buffer of each file in bytes (default 1 MiB;
	// pcapgo's own 4 KiB default makes reading cost as much as decoding).
	// Gzip files get a second buffer of the same size for the compressed
	// stream.
	BufferSize int
}

// DefaultFileBufferSize is the read buffer of each file when
// FileOptions.BufferSize is zero.
const DefaultFileBufferSize = 1 << 20

// ErrFormat is wrapped by the FileError for a file that is neither pcap nor
// pcapng (after gzip decompression).
var ErrFormat = errors.New("not a pcap or pcapng capture")

// publishEvery is how many packets a file reader delivers between updates of
// the counters that Stats and Progress read from other goroutines.
const publishEvery = 64

// OpenFiles opens pcap and pcapng files, each optionally gzip-compressed
// (detected by magic, not name), and merges them in timestamp order (stable:
// ties keep file order; each file keeps its own order). Packet.Source is the
// file's index in paths.
//
// Non-existent, unreadable or unrecognisable files fail here with the path in
// the error (a *FileError for content problems). A file that turns out
// truncated or corrupt while reading makes Next return a *FileError once,
// after every packet before the damage; calling Next again goes on with the
// other files, and io.EOF follows when all are done. The returned Source also
// implements Progresser.
func OpenFiles(paths []string, opt FileOptions) (Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("capture: no capture files given")
	}
	size := opt.BufferSize
	if size <= 0 {
		size = DefaultFileBufferSize
	}
	s := &fileSource{files: make([]*fileReader, 0, len(paths)), heap: make([]int, 0, len(paths)), last: -1}
	for i, path := range paths {
		fr, err := openFile(path, i, size)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		s.files = append(s.files, fr)
		s.total += fr.size
	}
	return s, nil
}

// countingReader counts the bytes read through it and keeps the first error
// other than io.EOF (pcapgo's pcapng reader reports a stream that fails with
// io.ErrUnexpectedEOF between blocks as a clean io.EOF).
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

// Read implements io.Reader.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// ngIface is what the reader needs of a pcapng interface description.
type ngIface struct {
	link    LinkType
	snaplen int
}

// fileReader reads one capture file. Its fields are owned by the goroutine
// calling Next, except the atomics, which Stats and Progress read.
type fileReader struct {
	path  string
	index int
	f     *os.File
	size  int64

	raw   countingReader // bytes read from the file
	plain countingReader // uncompressed bytes read into br (gzip only)
	in    *countingReader
	gzbuf *bufio.Reader // compressed stream under the gzip reader, nil for plain files
	gz    *gzip.Reader
	br    *bufio.Reader

	pcap        *pcapgo.Reader
	link        LinkType // pcap
	snaplen     int      // pcap: snap length in effect, at most maxRecord
	ng          *pcapgo.NgReader
	ifaces      []ngIface // pcapng: interfaces of the current section
	ngBigEndian bool      // pcapng: byte order of the first section
	stale       bool      // pcapng: a new section began, ifaces must be reloaded

	offset  int64 // byte offset after the last delivered packet
	packets uint64
	bytes   uint64
	done    bool   // io.EOF or an error was returned
	head    Packet // merge: the file's next packet

	pubPackets atomic.Uint64
	pubBytes   atomic.Uint64
	pubDone    atomic.Int64 // progress: bytes of the file consumed
}

// openFile opens path and reads its file header.
func openFile(path string, index, bufSize int) (*fileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("capture: %s: is a directory", path)
	}
	fr := &fileReader{path: path, index: index, f: f, size: st.Size()}
	if err := fr.init(bufSize); err != nil {
		f.Close()
		return nil, err
	}
	return fr, nil
}

// headerError is a FileError at offset 0 for a file whose header is bad.
func (fr *fileReader) headerError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &FileError{Path: fr.path, Offset: 0, Compressed: fr.gz != nil, Err: err}
}

// init detects gzip, pcap or pcapng by magic and opens the pcapgo reader.
func (fr *fileReader) init(bufSize int) error {
	fr.raw.r = fr.f
	fr.in = &fr.raw
	fr.br = bufio.NewReaderSize(&fr.raw, bufSize)
	magic, err := fr.br.Peek(4)
	if err != nil {
		if err == io.EOF && len(magic) == 0 {
			return &FileError{Path: fr.path, Err: fmt.Errorf("empty file: %w", ErrFormat)}
		}
		if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			err = io.ErrUnexpectedEOF // a gzip header is longer than 4 bytes
		} else if err == io.EOF {
			err = fmt.Errorf("file of %d bytes: %w", len(magic), ErrFormat)
		}
		return fr.headerError(err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		fr.gzbuf = fr.br
		if fr.gz, err = gzip.NewReader(fr.gzbuf); err != nil {
			return &FileError{Path: fr.path, Compressed: true, Err: fmt.Errorf("gzip: %w", err)}
		}
		fr.plain.r = fr.gz
		fr.in = &fr.plain
		fr.br = bufio.NewReaderSize(&fr.plain, bufSize)
		if magic, err = fr.br.Peek(4); err != nil {
			if err == io.EOF && len(magic) > 0 {
				err = io.ErrUnexpectedEOF
			} else if err == io.EOF {
				err = fmt.Errorf("empty gzip stream: %w", ErrFormat)
			}
			return fr.headerError(err)
		}
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1: // pcap µs and ns, both byte orders
		// pcapgo wraps br in bufio.NewReader, which returns br itself
		// because it is larger than the default size.
		if fr.pcap, err = pcapgo.NewReader(fr.br); err != nil {
			return fr.headerError(fmt.Errorf("pcap header: %w", err))
		}
		fr.link = linkTypeFromFile(uint32(fr.pcap.LinkType()))
		fr.snaplen = int(fr.pcap.Snaplen())
		if fr.snaplen <= 0 || fr.snaplen > maxRecord {
			fr.snaplen = maxRecord // as libpcap does for 0 and oversized snap lengths
		}
		// pcapgo then rejects records above max(snaplen, 256 KiB) before
		// reading them and sizes its buffer to the snap length.
		fr.pcap.SetSnaplen(uint32(fr.snaplen))
	case 0x0a0d0d0a: // pcapng section header block
		if bo, err := fr.br.Peek(12); err == nil {
			fr.ngBigEndian = binary.BigEndian.Uint32(bo[8:]) == 0x1a2b3c4d
		}
		fr.ng, err = pcapgo.NewNgReader(fr.br, pcapgo.NgReaderOptions{
			WantMixedLinkType:  true, // keep packets of every interface
			SkipUnknownVersion: true,
			SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { fr.stale = true },
		})
		if err != nil {
			return fr.headerError(fmt.Errorf("pcapng section header: %w", err))
		}
		fr.stale = true
	default:
		return fr.headerError(fmt.Errorf("magic %02x: %w", magic, ErrFormat))
	}
	fr.offset = fr.consumed()
	return nil
}

// consumed is the offset of the next unread byte (uncompressed for gzip).
func (fr *fileReader) consumed() int64 {
	return fr.in.n - int64(fr.br.Buffered())
}

// publish makes the counters visible to Stats and Progress.
func (fr *fileReader) publish() {
	fr.pubPackets.Store(fr.packets)
	fr.pubBytes.Store(fr.bytes)
	switch {
	case fr.done:
		fr.pubDone.Store(fr.size)
	case fr.gzbuf != nil:
		fr.pubDone.Store(fr.raw.n - int64(fr.gzbuf.Buffered()))
	default:
		fr.pubDone.Store(fr.offset)
	}
}

// fail ends the file with cause err at the start of the record or block
// that could not be read.
func (fr *fileReader) fail(err error) error {
	off := fr.offset
	if fr.ng != nil {
		off = fr.ngFailOffset()
	}
	fr.done = true
	fe := &FileError{Path: fr.path, Offset: off, Packet: fr.packets, Compressed: fr.gz != nil, Err: err}
	fr.publish()
	return fe
}

// ngFailOffset finds the start of the pcapng block that failed. pcapgo
// reads non-packet blocks on its way to the next packet, so the failing
// block may lie after the end of the last packet delivered (fr.offset).
// For plain files the block lengths are walked from there with ReadAt: the
// failing block is the first one that is cut short, has an impossible
// length (or a trailing copy that differs), or reaches the point where the
// reader stopped. Gzip files cannot
// be walked back; for them, and whenever the walk finds nothing, the answer
// is fr.offset, where everything before was delivered too.
func (fr *fileReader) ngFailOffset() int64 {
	if fr.gz != nil {
		return fr.offset
	}
	stop := fr.consumed()
	off, big := fr.offset, fr.ngBigEndian
	var h [12]byte
	for i := 0; i < 1<<20; i++ {
		if off >= stop {
			return off
		}
		n, _ := fr.f.ReadAt(h[:], off)
		if n < 8 {
			return off
		}
		if binary.LittleEndian.Uint32(h[0:4]) == 0x0a0d0d0a { // a section header sets the byte order
			if n < 12 {
				return off
			}
			switch binary.LittleEndian.Uint32(h[8:12]) {
			case 0x1a2b3c4d:
				big = false
			case 0x4d3c2b1a:
				big = true
			default:
				return off
			}
		}
		l := binary.LittleEndian.Uint32(h[4:8])
		if big {
			l = binary.BigEndian.Uint32(h[4:8])
		}
		end := off + int64(l)
		if l < 12 || l%4 != 0 || end > fr.size || end >= stop {
			return off
		}
		if _, err := fr.f.ReadAt(h[:4], end-4); err != nil { // the length is repeated at the end
			return off
		}
		trailer := binary.LittleEndian.Uint32(h[:4])
		if big {
			trailer = binary.BigEndian.Uint32(h[:4])
		}
		if trailer != l {
			return off
		}
		off = end
	}
	return fr.offset
}

// read fills p with the file's next packet. It returns io.EOF at the clean
// end of the file and a *FileError (once) for a truncated or corrupt one.
func (fr *fileReader) read(p *Packet) error {
	if fr.done {
		return io.EOF
	}
	var err error
	if fr.pcap != nil {
		err = fr.readPcap(p)
	} else {
		err = fr.readNg(p)
	}
	if err != nil {
		return err
	}
	fr.offset = fr.consumed()
	fr.packets++
	fr.bytes += uint64(len(p.Data))
	if fr.packets%publishEvery == 0 {
		fr.publish()
	}
	return nil
}

// readEnd turns the error of a read that delivered no packet into io.EOF
// or a *FileError. pcapgo's pcapng reader returns io.EOF only where a block
// would start; its pcap reader also returns it when a record header is
// followed by no data at all, which the offset tells apart.
func (fr *fileReader) readEnd(err error) error {
	if err == io.EOF && fr.in.err != nil {
		err = fr.in.err // the stream failed (a gzip stream cut short)
	}
	if err == io.EOF && (fr.ng != nil || fr.consumed() == fr.offset) {
		fr.done = true
		fr.publish()
		return io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the file ends inside a record
	}
	return fr.fail(err)
}

func (fr *fileReader) readPcap(p *Packet) error {
	data, ci, err := fr.pcap.ZeroCopyReadPacketData()
	// pcapgo fills ci from the record header before it checks the lengths.
	switch {
	case ci.CaptureLength < 0 || ci.CaptureLength > fr.snaplen: // < 0: above 2 GiB on 32-bit
		return fr.fail(fmt.Errorf("%w: capture length %d > snap length %d", ErrCorrupt, ci.CaptureLength, fr.snaplen))
	case ci.CaptureLength > ci.Length:
		return fr.fail(fmt.Errorf("%w: capture length %d > original length %d", ErrCorrupt, ci.CaptureLength, ci.Length))
	case err != nil:
		return fr.readEnd(err)
	}
	p.Data = data
	p.Timestamp = ci.Timestamp
	p.Length = ci.Length
	p.LinkType = fr.link
	p.Source = fr.index
	return nil
}

func (fr *fileReader) readNg(p *Packet) error {
	data, ci, err := fr.ng.ZeroCopyReadPacketData()
	if err != nil {
		return fr.readEnd(err)
	}
	if fr.stale || ci.InterfaceIndex >= len(fr.ifaces) {
		fr.loadInterfaces()
	}
	if ci.InterfaceIndex >= len(fr.ifaces) { // pcapgo checks this; never trust it blindly
		return fr.fail(fmt.Errorf("%w: packet of interface %d, the section has %d", ErrCorrupt, ci.InterfaceIndex, len(fr.ifaces)))
	}
	iface := fr.ifaces[ci.InterfaceIndex]
	switch {
	case ci.CaptureLength < 0 || ci.CaptureLength > maxRecord || (iface.snaplen > 0 && ci.CaptureLength > iface.snaplen):
		return fr.fail(fmt.Errorf("%w: capture length %d > snap length %d", ErrCorrupt, ci.CaptureLength, iface.snaplen))
	case ci.CaptureLength > ci.Length:
		return fr.fail(fmt.Errorf("%w: capture length %d > original length %d", ErrCorrupt, ci.CaptureLength, ci.Length))
	}
	p.Data = data
	p.Timestamp = ci.Timestamp
	p.Length = ci.Length
	p.LinkType = iface.link
	p.Source = fr.index
	return nil
}

// loadInterfaces caches the link type and snap length of the section's
// interfaces (pcapgo's Interface copies a large struct).
func (fr *fileReader) loadInterfaces() {
	fr.ifaces = fr.ifaces[:0]
	for i := 0; i < fr.ng.NInterfaces(); i++ {
		in, err := fr.ng.Interface(i)
		if err != nil {
			break
		}
		fr.ifaces = append(fr.ifaces, ngIface{link: linkTypeFromFile(uint32(in.LinkType)), snaplen: int(in.SnapLength)})
	}
	fr.stale = false
}

// fileSource merges the packets of one or more files by timestamp.
type fileSource struct {
	files  []*fileReader
	total  int64
	heap   []int // indexes of files whose head packet is pending, min first
	primed int   // files whose first packet has been read
	last   int   // file whose head was delivered by the last Next, -1 if none
	errs   atomic.Uint64
	closed atomic.Bool
}

// Next implements Source.
func (s *fileSource) Next(p *Packet) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(s.files) == 1 { // no merge: read straight into p
		err := s.files[0].read(p)
		return s.result(err)
	}
	// Refill the file whose packet the caller has now finished with.
	if s.last >= 0 {
		fr := s.files[s.last]
		s.last = -1
		if err := fr.read(&fr.head); err != nil {
			s.pop()
			if err != io.EOF {
				return s.result(err)
			}
		} else {
			s.down(0)
		}
	}
	for s.primed < len(s.files) {
		fr := s.files[s.primed]
		s.primed++
		if err := fr.read(&fr.head); err != nil {
			if err != io.EOF {
				return s.result(err)
			}
			continue
		}
		s.push(fr.index)
	}
	if len(s.heap) == 0 {
		return s.result(io.EOF)
	}
	s.last = s.heap[0]
	*p = s.files[s.last].head
	return nil
}

// result counts errors and reports ErrClosed for reads a Close interrupted.
func (s *fileSource) result(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	s.errs.Add(1)
	return err
}

// less orders heap entries by timestamp, then by file index.
func (s *fileSource) less(i, j int) bool {
	a, b := s.files[s.heap[i]], s.files[s.heap[j]]
	if c := a.head.Timestamp.Compare(b.head.Timestamp); c != 0 {
		return c < 0
	}
	return a.index < b.index
}

func (s *fileSource) push(idx int) {
	s.heap = append(s.heap, idx)
	for i := len(s.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s.heap[i], s.heap[parent] = s.heap[parent], s.heap[i]
		i = parent
	}
}

func (s *fileSource) pop() {
	n := len(s.heap) - 1
	s.heap[0] = s.heap[n]
	s.heap = s.heap[:n]
	if n > 0 {
		s.down(0)
	}
}

func (s *fileSource) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			return
		}
		s.heap[i], s.heap[m] = s.heap[m], s.heap[i]
		i = m
	}
}

// Stats implements Source. While files are being read the counters may lag
// Next by up to 63 packets per file; they are exact once Next has returned an
// error (io.EOF at the end).
func (s *fileSource) Stats() Stats {
	st := Stats{Errors: s.errs.Load()}
	for _, fr := range s.files {
		st.Packets += fr.pubPackets.Load()
		st.Bytes += fr.pubBytes.Load()
	}
	return st
}

// Progress implements Progresser: bytes consumed (compressed bytes for gzip
// files) and the total size of all files. It lags like Stats.
func (s *fileSource) Progress() (done, total int64) {
	for _, fr := range s.files {
		done += fr.pubDone.Load()
	}
	return done, s.total
}

// Close implements Source. It closes every file; Next then returns ErrClosed.
func (s *fileSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeFiles()
}

func (s *fileSource) closeFiles() error {
	var errs []error
	for _, fr := range s.files {
		if err := fr.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("capture: close %s: %w", fr.path, err))
		}
	}
	return errors.Join(errs...)
}

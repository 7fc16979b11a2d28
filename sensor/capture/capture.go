// Package capture delivers raw captured frames to the sensor pipeline from
// capture files (pcap and pcapng, optionally gzip-compressed), from live
// AF_PACKET TPACKET_V3 rings with PACKET_FANOUT, and, when built with the
// "pcap" build tag, from libpcap.
//
// Every source implements Source. Next fills a caller-owned Packet whose Data
// points into memory owned by the source (a read buffer or the kernel ring):
// it is valid until the next call to Next and must be copied to be kept.
// Next performs no allocation per packet for files and AF_PACKET.
package capture

import (
	"errors"
	"fmt"
	"time"
)

// LinkType values follow the pcap LINKTYPE_ registry
// (https://www.tcpdump.org/linktypes.html). Values that are not named here
// pass through unchanged, except DLT_RAW 12 and 14, which are mapped to
// LinkRaw on read.
type LinkType uint16

// Link types the sensor decodes.
const (
	// LinkNull is BSD loopback encapsulation: a 4-byte host-order address
	// family, then the network layer (LINKTYPE_NULL).
	LinkNull LinkType = 0
	// LinkEthernet is IEEE 802.3 Ethernet (LINKTYPE_ETHERNET).
	LinkEthernet LinkType = 1
	// LinkRaw is raw IPv4 or IPv6, told apart by the version nibble
	// (LINKTYPE_RAW; DLT_RAW 12 and 14 in files are mapped to it).
	LinkRaw LinkType = 101
	// LinkLinuxSLL is the Linux "cooked" v1 header (LINKTYPE_LINUX_SLL).
	LinkLinuxSLL LinkType = 113
	// LinkIPv4 is raw IPv4 (LINKTYPE_IPV4).
	LinkIPv4 LinkType = 228
	// LinkIPv6 is raw IPv6 (LINKTYPE_IPV6).
	LinkIPv6 LinkType = 229
	// LinkLinuxSLL2 is the Linux "cooked" v2 header (LINKTYPE_LINUX_SLL2).
	LinkLinuxSLL2 LinkType = 276
)

// String returns the registry name of well-known link types and
// "LinkType(n)" for the others.
func (t LinkType) String() string {
	switch t {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "ETHERNET"
	case LinkRaw:
		return "RAW"
	case LinkLinuxSLL:
		return "LINUX_SLL"
	case LinkIPv4:
		return "IPV4"
	case LinkIPv6:
		return "IPV6"
	case LinkLinuxSLL2:
		return "LINUX_SLL2"
	}
	return fmt.Sprintf("LinkType(%d)", uint16(t))
}

// linkTypeFromFile maps a link-layer header type as found in a capture file
// (or reported by libpcap) to a LinkType: the FCS bits above the low 16 are
// dropped, and the platform-dependent DLT_RAW values 12 and 14 become LinkRaw.
func linkTypeFromFile(v uint32) LinkType {
	switch v &= 0xffff; v {
	case 12, 14:
		return LinkRaw
	default:
		return LinkType(v)
	}
}

// Packet is one captured frame. Data is owned by the source and valid until
// the next call to Next (or Close).
type Packet struct {
	// Data is the captured bytes, starting at the link-layer header.
	Data []byte
	// Timestamp is the capture time, in UTC.
	Timestamp time.Time
	// Length is the original length on the wire (>= len(Data) when the
	// frame was truncated to the snap length).
	Length int
	// LinkType says how to decode Data.
	LinkType LinkType
	// Source is the index of the file (in the paths given to OpenFiles) or
	// the interface number the caller gave (AFPacketOptions.Source) that the
	// packet came from.
	Source int
}

// Source is every packet source: files, AF_PACKET, libpcap.
//
// Next fills p with the next packet. File sources return io.EOF at the end;
// live sources return ErrClosed after Close. Next makes no allocation per
// packet for files and AF_PACKET. A Source is read by one goroutine; Stats,
// Close and (for files) Progress may be called from any goroutine.
type Source interface {
	// Next fills p with the next packet; p.Data is valid until the next call.
	Next(p *Packet) error
	// Stats returns the counters so far.
	Stats() Stats
	// Close releases the source. Data from the last Next is invalid after it.
	Close() error
}

// Stopper is a Source that can be told to stop without releasing anything:
// a Next in progress or to come returns ErrClosed soon after Stop, while the
// data of the last packet it returned stays valid until Close. A live
// sensor stops its sources, waits for its workers to finish with their
// last packets, and only then closes them.
type Stopper interface {
	Stop()
}

// Stats are the counters of one Source.
type Stats struct {
	// Packets and Bytes count what Next delivered (Bytes counts captured
	// bytes, len(Packet.Data)).
	Packets, Bytes uint64
	// KernelDrops counts packets the kernel dropped because the socket's
	// ring or buffer was full (AF_PACKET tp_drops, libpcap ps_drop).
	KernelDrops uint64
	// IfaceDrops counts packets the interface or driver dropped (libpcap
	// ps_ifdrop; for AF_PACKET the increase of the interface's
	// rx_missed_errors + rx_fifo_errors since open, reported by the first
	// socket of a group only, so that summing the group's Stats counts it
	// once).
	IfaceDrops uint64
	// QueueFreezes counts how often the kernel froze the TPACKET_V3 ring
	// because user space did not keep up (tp_freeze_q_cnt), AF_PACKET only.
	QueueFreezes uint64
	// Errors counts errors Next returned other than io.EOF and ErrClosed
	// (for files: truncated or corrupt captures).
	Errors uint64
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("capture: source closed")

// ErrCorrupt is wrapped by the FileError for a record header that cannot be
// right: a capture length above the snap length or 256 KiB, or above the
// original length.
var ErrCorrupt = errors.New("corrupt record header")

// FileError reports a truncated or corrupt capture: everything before Offset
// was delivered.
type FileError struct {
	// Path is the file as given to OpenFiles.
	Path string
	// Offset is the byte offset of the first record (pcap) or block
	// (pcapng) that could not be read. For gzip files it counts uncompressed
	// bytes, and for gzip pcapng it is the end of the last packet delivered
	// (the stream cannot be walked back to the failing block). -1 when
	// unknown, as for files read through libpcap.
	Offset int64
	// Packet is the number of packets read from this file before the error.
	Packet uint64
	// Compressed is true for gzip files, whose Offset counts uncompressed
	// bytes.
	Compressed bool
	// Err is the cause: io.ErrUnexpectedEOF for a truncated file, ErrCorrupt
	// for an impossible record header, or the reader's or the OS's error.
	Err error
}

// Error returns "path: byte offset N (after P packets): cause".
func (e *FileError) Error() string {
	switch {
	case e.Offset < 0:
		return fmt.Sprintf("%s: after %d packets: %v", e.Path, e.Packet, e.Err)
	case e.Compressed:
		return fmt.Sprintf("%s: uncompressed byte offset %d (after %d packets): %v", e.Path, e.Offset, e.Packet, e.Err)
	}
	return fmt.Sprintf("%s: byte offset %d (after %d packets): %v", e.Path, e.Offset, e.Packet, e.Err)
}

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// Progresser lets a progress bar ask how far reading is. The file source
// implements it; it is safe to call while another goroutine reads.
type Progresser interface {
	// Progress returns the bytes consumed (compressed bytes for gzip files)
	// and the total size of all files.
	Progress() (done, total int64)
}

// maxRecord is the largest capture length accepted in a record, libpcap's
// MAXIMUM_SNAPLEN.
const maxRecord = 256 << 10

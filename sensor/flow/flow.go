// Package flow keeps the sensor's bidirectional flow table: flows keyed by
// addresses, ports, transport and VLAN (or by MAC addresses and EtherType for
// L2 protocols), TCP state, in-order stream reassembly per direction with
// gaps reported, idle and closed expiry, and the choice of a dissector per
// flow (by port, confirmed by content).
//
// A Table belongs to one worker goroutine and takes no lock. Every bound is
// configurable and counted when hit. Steady-state packet processing does not
// allocate: flows live in a slab, the index is an open-addressing table of
// int32, and out-of-order segments are copied into pooled buffers.
package flow

import (
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Config bounds a flow table.
type Config struct {
	MaxFlows int // flows held at once; the oldest idle flow is evicted beyond it
	// MaxStreamBuffer caps the out-of-order bytes buffered per TCP direction.
	MaxStreamBuffer int
	// MaxTotalBuffer caps the out-of-order bytes buffered by the whole table.
	MaxTotalBuffer int
	// MaxStreamDepth caps the bytes per TCP direction handed to a dissector
	// (0: no cap). Bytes past it are counted, not dissected.
	MaxStreamDepth uint64
	TCPIdle        time.Duration // idle timeout of open TCP flows
	UDPIdle        time.Duration // idle timeout of UDP and L2 flows
	ClosedIdle     time.Duration // lingering time after FIN/RST
	// ProbeLimit is how many payload-carrying packets may be probed before
	// a flow is given up as unknown.
	ProbeLimit int
}

// DefaultConfig returns the defaults: 1,000,000 flows, 256 KiB per stream,
// 256 MiB in total, TCP idle 10 min, UDP 2 min, closed 15 s, 8 probes.
func DefaultConfig() Config {
	return Config{
		MaxFlows:        1_000_000,
		MaxStreamBuffer: 256 << 10,
		MaxTotalBuffer:  256 << 20,
		TCPIdle:         10 * time.Minute,
		UDPIdle:         2 * time.Minute,
		ClosedIdle:      15 * time.Second,
		ProbeLimit:      8,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
	if c.MaxStreamBuffer <= 0 {
		c.MaxStreamBuffer = d.MaxStreamBuffer
	}
	if c.MaxTotalBuffer <= 0 {
		c.MaxTotalBuffer = d.MaxTotalBuffer
	}
	if c.TCPIdle <= 0 {
		c.TCPIdle = d.TCPIdle
	}
	if c.UDPIdle <= 0 {
		c.UDPIdle = d.UDPIdle
	}
	if c.ClosedIdle <= 0 {
		c.ClosedIdle = d.ClosedIdle
	}
	if c.ProbeLimit <= 0 {
		c.ProbeLimit = d.ProbeLimit
	}
}

// Stats counts what the table did and every bound it hit.
type Stats struct {
	Flows           uint64 // flows created
	Active          int    // flows held now
	Expired         uint64 // flows ended by idle timeout
	Closed          uint64 // flows ended after FIN/RST
	Evicted         uint64 // flows ended early because MaxFlows was hit
	FlowLimitHits   uint64 // times a new flow found the table full
	Gaps            uint64 // TCP gaps reported to dissectors
	GapBytes        uint64 // bytes lost in those gaps
	Retransmissions uint64 // TCP segments with no new data
	OutOfOrder      uint64 // TCP segments buffered out of order
	StreamBufHits   uint64 // times MaxStreamBuffer was hit
	TotalBufHits    uint64 // times MaxTotalBuffer was hit
	DepthBytes      uint64 // bytes not dissected because of MaxStreamDepth
	BufferedBytes   int    // out-of-order bytes held now
	Unidentified    uint64 // flows with payload for which no dissector matched
	Dissected       uint64 // flows handed to a dissector
}

// TCP connection states.
const (
	tcpNew uint8 = iota
	tcpSynSent
	tcpEstablished
	tcpClosing // FIN seen in one direction
	tcpClosed  // FIN both ways or RST
)

const (
	listOpen = iota
	listClosed
	listDatagram
	numLists
)

type seg struct {
	seq  uint32
	data []byte
}

// half is one direction of a TCP flow.
type half struct {
	next      uint32 // next expected sequence number
	init      bool
	fin       bool
	delivered uint64
	q         *oooQueue // out-of-order segments, nil when none were ever held
}

// oooQueue holds a direction's out-of-order segments, sorted by sequence
// number. It is allocated the first time a flow needs it and kept.
type oooQueue struct {
	segs  []seg
	bytes int
}

// Flow is one conversation. The dissect.Flow inside it is what dissectors
// and records see.
type Flow struct {
	Info   dissect.Flow
	lastNs int64 // time of the last packet, UnixNano
	// queuedNs is lastNs when the flow was put at the tail of its list.
	queuedNs int64
	hash     uint64
	Packets  [2]uint64 // per dissect.Direction
	Bytes    [2]uint64 // wire bytes per direction
	spec     *dissect.Spec
	dis      dissect.Dissector
	held     *probeHold // TCP bytes held while probes ask for more
	tcp      [2]half
	// Tag is free for the pipeline's sink to mark what it already recorded
	// about the flow; the table zeroes it when the flow is created.
	Tag       uint32
	gaps      uint32
	self      int32
	prev      int32
	next      int32
	etherType uint16
	state     uint8
	list      uint8
	l2        bool
	sawSYN    bool
	probes    uint8
	given     bool // dissector search over (found or given up)
	used      bool
	proto     uint8 // IP protocol
	llcDSAP   uint8
}

// Protocol returns the name of the dissector attached, "" when none.
func (f *Flow) Protocol() string {
	if f.spec == nil {
		return ""
	}
	return f.spec.Name
}

// StreamBytes returns the TCP stream bytes delivered in direction d (0 for
// other transports).
func (f *Flow) StreamBytes(d dissect.Direction) uint64 { return f.tcp[d].delivered }

// Last returns the time of the flow's last packet.
func (f *Flow) Last() time.Time { return time.Unix(0, f.lastNs).UTC() }

// Gaps returns the number of TCP gaps seen in the flow.
func (f *Flow) Gaps() uint32 { return f.gaps }

// Observer is told about flows ending (for flow records and statistics).
type Observer interface {
	FlowEnd(f *Flow, reason string)
}

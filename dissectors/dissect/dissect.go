// Package dissect is the contract between the sensor's flow engine and the
// protocol dissectors: what a dissector declares about itself (Spec), how it is
// fed (Dissector, Context), and what it produces (Transaction, AssetHint,
// Violation and summary fields, through an Emitter).
//
// The package imports the standard library only. Dissectors never do I/O and
// never log per packet: everything they learn leaves through the Emitter.
//
// Memory rules: every slice and pointer handed to an Emitter is only valid for
// the duration of the call. Consumers that keep a record copy it. Dissectors
// reuse their records between calls so that the common path allocates nothing.
package dissect

import (
	"net/netip"
	"time"
)

// Class tells whether a protocol belongs to the IT or the OT world.
type Class uint8

// Protocol classes.
const (
	ClassIT Class = iota + 1
	ClassOT
)

// String returns "it" or "ot".
func (c Class) String() string {
	switch c {
	case ClassIT:
		return "it"
	case ClassOT:
		return "ot"
	}
	return "unknown"
}

// Transport is how a flow is carried.
type Transport uint8

// Transports a dissector can be attached to.
const (
	TransportL2 Transport = iota + 1 // a raw EtherType or LLC/SNAP frame
	TransportTCP
	TransportUDP
)

// String returns the lower-case transport name.
func (t Transport) String() string {
	switch t {
	case TransportL2:
		return "l2"
	case TransportTCP:
		return "tcp"
	case TransportUDP:
		return "udp"
	}
	return "unknown"
}

// Direction is the side that sent a chunk of data.
type Direction uint8

// Directions of a flow. The client is the side that opened the connection
// (TCP SYN), or for UDP and L2 the side that does not own the well-known port
// (or, failing that, the first sender).
const (
	ToServer Direction = iota // client → server (requests)
	ToClient                  // server → client (responses)
)

// Reverse returns the opposite direction.
func (d Direction) Reverse() Direction { return d ^ 1 }

// String returns "to_server" or "to_client".
func (d Direction) String() string {
	if d == ToServer {
		return "to_server"
	}
	return "to_client"
}

// Endpoint is one side of a flow.
type Endpoint struct {
	MAC  [6]byte
	IP   netip.Addr // invalid for L2 flows
	Port uint16
}

// Flow describes the conversation a dissector is attached to. The flow engine
// owns it; dissectors read it and never keep pointers into it beyond a call.
type Flow struct {
	ID        uint64
	Transport Transport
	VLAN      uint16
	EtherType uint16 // L2 flows: the EtherType (or 0 for LLC)
	Client    Endpoint
	Server    Endpoint
	Start     time.Time
}

// Endpoint returns the sender of data travelling in direction d.
func (f *Flow) Endpoint(d Direction) *Endpoint {
	if d == ToServer {
		return &f.Client
	}
	return &f.Server
}

// Context is what the flow engine hands a dissector with every call.
type Context struct {
	Flow  *Flow
	Time  time.Time // timestamp of the packet that carried the data
	Frame uint64    // 1-based frame number in the capture or live stream
	Emit  Emitter
}

// Emitter receives everything a dissector produces. All arguments are only
// valid during the call.
type Emitter interface {
	// Transaction reports a request/response pair, a lone request that timed
	// out (StatusUnmatched), or a lone message (notifications, I/O data).
	Transaction(t *Transaction)
	// Hint reports what a dissector learnt about a device.
	Hint(h *AssetHint)
	// Violation reports a malformed or out-of-spec PDU.
	Violation(v *Violation)
	// FieldUint and FieldBytes report a decoded field for the analysis
	// summary, under the field names of pcaps/expected (e.g.
	// "modbus_function"). A consumer may ignore them.
	FieldUint(name string, v uint64)
	FieldBytes(name string, v []byte)
}

// ProbeResult is a content probe's verdict on the first payload of a flow.
type ProbeResult uint8

// Probe verdicts.
const (
	ProbeNo       ProbeResult = iota // not this protocol
	ProbeNeedMore                    // too few bytes to tell
	ProbeYes                         // this protocol
)

// Dissector decodes one flow. The flow engine creates one per flow with
// Spec.New and feeds it both directions.
type Dissector interface {
	// Feed delivers application bytes sent in direction dir. For TCP these
	// are in-order stream bytes, in chunks that need not align with PDUs; for
	// UDP one datagram payload; for L2 one frame payload after the EtherType
	// (or LLC/SNAP header).
	Feed(ctx *Context, dir Direction, data []byte)
	// Gap tells that n bytes of the TCP stream in dir were lost; the
	// dissector must drop partial PDUs and resynchronise.
	Gap(ctx *Context, dir Direction, n int)
	// End tells that the flow is closed or expired: pending requests are
	// emitted as unmatched.
	End(ctx *Context)
}

// Spec declares a dissector to the registry.
type Spec struct {
	Name        string // lower-case protocol name, e.g. "modbus"
	Class       Class
	Description string
	TCPPorts    []uint16
	UDPPorts    []uint16
	EtherTypes  []uint16 // raw L2 protocols, e.g. 0x88B8 for GOOSE
	// LLC selects L2 frames by their 802.2 LLC header; keys come from LLCKey.
	LLC []uint64
	// Probe tells from the first payload of a flow whether it carries this
	// protocol. A spec that shares a port with another, or that should be
	// found on odd ports, must have one. It must not allocate or keep data.
	Probe func(data []byte) ProbeResult
	// New creates the per-flow state.
	New func() Dissector
}

// LLCKey builds the Spec.LLC key for an 802.2 LLC frame: for SNAP (DSAP 0xAA)
// the OUI and protocol ID count, otherwise the DSAP alone.
func LLCKey(dsap byte, oui uint32, pid uint16) uint64 {
	if dsap == 0xAA {
		return 0xAA<<40 | uint64(oui&0xFFFFFF)<<16 | uint64(pid)
	}
	return uint64(dsap) << 40
}

package capture

import "time"

// FanoutMode is how the kernel spreads packets over the sockets of a
// PACKET_FANOUT group. The zero value is FanoutHash.
type FanoutMode uint8

// Fanout modes (PACKET_FANOUT_*).
const (
	// FanoutHash keeps each flow on one socket: the kernel's flow hash is
	// symmetric, so both directions of a connection go to the same worker.
	FanoutHash FanoutMode = iota
	// FanoutHashDefrag is FanoutHash with IP fragments reassembled first,
	// so that fragments hash like the rest of their flow.
	FanoutHashDefrag
	// FanoutLoadBalance deals packets round-robin (flows are split).
	FanoutLoadBalance
	// FanoutCPU picks the socket by the CPU that received the packet.
	FanoutCPU
	// FanoutRollover fills one socket and moves on when it is full.
	FanoutRollover
	// FanoutRandom picks a socket at random (flows are split).
	FanoutRandom
	// FanoutQueueMapping picks the socket by the NIC's receive queue.
	FanoutQueueMapping
)

// AFPacketOptions configures OpenAFPacket. Zero values take the defaults.
type AFPacketOptions struct {
	// Snaplen truncates frames to this many bytes with a socket filter;
	// 0 keeps whole frames (up to BlockSize).
	Snaplen int
	// BlockSize is the size of one TPACKET_V3 ring block in bytes, a
	// multiple of the page size (default 1 MiB). A frame must fit in a
	// block.
	BlockSize int
	// NumBlocks is the number of blocks in each socket's ring (default 32:
	// 32 MiB per socket with the default BlockSize).
	NumBlocks int
	// BlockTimeout is how long the kernel waits before handing over a
	// partly filled block (default 50ms). It is the latency at low packet
	// rates, and it bounds buffering there: every timeout uses up a block,
	// so a reader that stalls longer than NumBlocks×BlockTimeout (1.6s by
	// default) loses packets even when the ring is nearly empty.
	BlockTimeout time.Duration
	// PollTimeout bounds how long a Next blocked on an idle interface takes
	// to notice Close (default 100ms).
	PollTimeout time.Duration
	// Promisc puts the interface into promiscuous mode while the sockets
	// are open (a membership that the kernel drops when they close).
	Promisc bool
	// FanoutGroup is the PACKET_FANOUT group id, used when n > 1. Zero
	// derives one from the process id and the interface index. Ids are
	// shared by the whole network namespace: another process joining the
	// same id shares the packets.
	FanoutGroup uint16
	// FanoutMode spreads packets over the sockets (default FanoutHash).
	FanoutMode FanoutMode
	// Source is stamped on every packet as Packet.Source, so that a caller
	// capturing on several interfaces can tell them apart.
	Source int
}

// Defaults of AFPacketOptions.
const (
	DefaultAFPacketBlockSize    = 1 << 20
	DefaultAFPacketNumBlocks    = 32
	DefaultAFPacketBlockTimeout = 50 * time.Millisecond
	DefaultAFPacketPollTimeout  = 100 * time.Millisecond
)

// withDefaults fills in the zero values.
func (o AFPacketOptions) withDefaults() AFPacketOptions {
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultAFPacketBlockSize
	}
	if o.NumBlocks <= 0 {
		o.NumBlocks = DefaultAFPacketNumBlocks
	}
	if o.BlockTimeout <= 0 {
		o.BlockTimeout = DefaultAFPacketBlockTimeout
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultAFPacketPollTimeout
	}
	return o
}

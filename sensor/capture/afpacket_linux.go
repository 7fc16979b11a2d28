//go:build linux

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
)

// OpenAFPacket opens n AF_PACKET sockets with TPACKET_V3 rings on iface in
// one PACKET_FANOUT group (hash mode by default: the kernel keeps a flow on
// one socket), so that n workers each read their own share. n == 1 means no
// fanout. Frames are read zero-copy from the ring; the VLAN tag the kernel
// strips is put back (OptAddVLANHeader). Each Source reports the kernel's
// drop counters (tp_drops, tp_freeze_q_cnt) in Stats.
//
// Each Source is read by one goroutine. Close may be called from another
// goroutine: a Next blocked on an idle interface returns ErrClosed within
// PollTimeout. Opening needs CAP_NET_RAW.
func OpenAFPacket(iface string, n int, opt AFPacketOptions) ([]Source, error) {
	if n < 1 {
		return nil, fmt.Errorf("capture: AF_PACKET on %s: %d sockets requested, need at least 1", iface, n)
	}
	opt = opt.withDefaults()
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("capture: AF_PACKET on %s: %w", iface, err)
	}
	link, err := ifaceLinkType(iface)
	if err != nil {
		return nil, err
	}
	mode, err := fanoutType(opt.FanoutMode)
	if err != nil {
		return nil, fmt.Errorf("capture: AF_PACKET on %s: %w", iface, err)
	}
	group := opt.FanoutGroup
	if group == 0 {
		group = uint16(os.Getpid()*31 + ifc.Index)
	}
	var filter []bpf.RawInstruction
	if opt.Snaplen > 0 {
		if filter, err = bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: uint32(opt.Snaplen)}}); err != nil {
			return nil, fmt.Errorf("capture: AF_PACKET on %s: snaplen filter: %w", iface, err)
		}
	}
	srcs := make([]Source, 0, n)
	fail := func(err error) ([]Source, error) {
		for _, s := range srcs {
			s.Close()
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		tp, err := afpacket.NewTPacket(
			afpacket.OptInterface(iface),
			afpacket.TPacketVersion3,
			afpacket.OptBlockSize(opt.BlockSize),
			afpacket.OptNumBlocks(opt.NumBlocks),
			afpacket.OptBlockTimeout(opt.BlockTimeout),
			afpacket.OptPollTimeout(opt.PollTimeout),
			afpacket.OptAddVLANHeader(true),
		)
		if err != nil {
			return fail(fmt.Errorf("capture: AF_PACKET socket %d/%d on %s: %w", i+1, n, iface, err))
		}
		s := &afSource{tp: tp, iface: iface, link: link, source: opt.Source}
		srcs = append(srcs, s)
		if filter != nil {
			if err := tp.SetBPF(filter); err != nil {
				return fail(fmt.Errorf("capture: AF_PACKET on %s: snaplen filter: %w", iface, err))
			}
		}
		if opt.Promisc {
			if err := tp.SetPromiscuous(true); err != nil {
				return fail(fmt.Errorf("capture: AF_PACKET on %s: promiscuous mode: %w", iface, err))
			}
		}
		if n > 1 {
			if err := tp.SetFanout(mode, group); err != nil {
				return fail(fmt.Errorf("capture: AF_PACKET on %s: join fanout group %d: %w", iface, group, err))
			}
		}
		if i == 0 {
			s.ifDropsPath = filepath.Join("/sys/class/net", iface, "statistics")
			s.ifDropsBase, _ = ifaceDrops(s.ifDropsPath)
		}
	}
	return srcs, nil
}

// fanoutType maps a FanoutMode to afpacket's.
func fanoutType(m FanoutMode) (afpacket.FanoutType, error) {
	switch m {
	case FanoutHash:
		return afpacket.FanoutHash, nil
	case FanoutHashDefrag:
		return afpacket.FanoutHash | afpacket.FanoutHashWithDefrag, nil
	case FanoutLoadBalance:
		return afpacket.FanoutLoadBalance, nil
	case FanoutCPU:
		return afpacket.FanoutCPU, nil
	case FanoutRollover:
		return afpacket.FanoutRollover, nil
	case FanoutRandom:
		return afpacket.FanoutRandom, nil
	case FanoutQueueMapping:
		return afpacket.FanoutQueueMapping, nil
	}
	return 0, fmt.Errorf("unknown fanout mode %d", m)
}

// ifaceLinkType is the link type of the frames an AF_PACKET SOCK_RAW socket
// reads on iface, from its ARPHRD_ type in sysfs.
func ifaceLinkType(iface string) (LinkType, error) {
	b, err := os.ReadFile(filepath.Join("/sys/class/net", iface, "type"))
	if err != nil {
		return LinkEthernet, nil // no sysfs: assume Ethernet, the usual case
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("capture: AF_PACKET on %s: hardware type %q: %w", iface, b, err)
	}
	switch t {
	case 1, 772: // ARPHRD_ETHER, ARPHRD_LOOPBACK (Ethernet framing)
		return LinkEthernet, nil
	case 65534, 776, 778: // ARPHRD_NONE (tun), ARPHRD_SIT, ARPHRD_IPGRE: bare IP
		return LinkRaw, nil
	}
	return 0, fmt.Errorf("capture: AF_PACKET on %s: hardware type %d is not supported (Ethernet or raw IP only; use libpcap)", iface, t)
}

// ifaceDrops sums the interface counters of frames the NIC could not take
// (rx_missed_errors: no receive buffer; rx_fifo_errors: FIFO overrun) in the
// sysfs statistics directory dir. rx_dropped is left out on purpose: the
// kernel also counts there every frame no protocol wanted after the packet
// sockets saw it, which on a SPAN port is all PROFINET, GOOSE and LLDP.
func ifaceDrops(dir string) (uint64, bool) {
	missed, err1 := readCounter(filepath.Join(dir, "rx_missed_errors"))
	fifo, err2 := readCounter(filepath.Join(dir, "rx_fifo_errors"))
	return missed + fifo, err1 == nil || err2 == nil
}

// readCounter reads a decimal counter file such as the interface statistics
// in sysfs.
func readCounter(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// afSource is one AF_PACKET socket of a group.
type afSource struct {
	tp     *afpacket.TPacket
	iface  string
	link   LinkType
	source int

	mu      sync.Mutex // held by Next while it uses tp; Close takes it to free tp
	closed  atomic.Bool
	stopped atomic.Bool // Stop: Next returns ErrClosed, the ring stays mapped

	packets atomic.Uint64
	bytes   atomic.Uint64
	errs    atomic.Uint64

	statsMu     sync.Mutex // guards tp's socket statistics and final
	final       *Stats     // kernel counters at Close
	ifDropsPath string     // first socket of a group only
	ifDropsBase uint64
}

// Next implements Source.
func (s *afSource) Next(p *Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed.Load() || s.stopped.Load() {
			return ErrClosed
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				continue // idle: look at closed again
			}
			s.errs.Add(1)
			return fmt.Errorf("capture: AF_PACKET read on %s: %w", s.iface, err)
		}
		p.Data = data
		p.Timestamp = ci.Timestamp.UTC()
		p.Length = ci.Length
		p.LinkType = s.link
		p.Source = s.source
		s.packets.Add(1)
		s.bytes.Add(uint64(len(data)))
		return nil
	}
}

// Stats implements Source. KernelDrops and QueueFreezes come from the
// socket's PACKET_STATISTICS.
func (s *afSource) Stats() Stats {
	st := Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Errors: s.errs.Load()}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	var k Stats
	if s.final != nil {
		k = *s.final
	} else {
		k = s.kernelStatsLocked()
	}
	st.KernelDrops, st.QueueFreezes, st.IfaceDrops = k.KernelDrops, k.QueueFreezes, k.IfaceDrops
	return st
}

// kernelStatsLocked reads the socket's counters (the kernel resets them on
// every read; afpacket accumulates them) and the interface's drops.
func (s *afSource) kernelStatsLocked() Stats {
	var k Stats
	if _, v3, err := s.tp.SocketStats(); err == nil {
		k.KernelDrops = uint64(v3.Drops())
		k.QueueFreezes = uint64(v3.QueueFreezes())
	}
	if s.ifDropsPath != "" {
		if v, ok := ifaceDrops(s.ifDropsPath); ok && v >= s.ifDropsBase {
			k.IfaceDrops = v - s.ifDropsBase
		}
	}
	return k
}

// Stop implements Stopper: a Next waiting on an idle interface returns
// ErrClosed within the poll timeout, and the frame the last Next returned
// stays readable until Close.
func (s *afSource) Stop() { s.stopped.Store(true) }

// Close implements Source. It waits for a Next in progress (at most the poll
// timeout), keeps the final counters and frees the socket and its ring.
func (s *afSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	k := s.kernelStatsLocked()
	s.final = &k
	s.tp.Close()
	return nil
}

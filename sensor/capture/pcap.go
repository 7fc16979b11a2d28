//go:build pcap

package capture

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/gopacket/gopacket/pcap"
)

// PcapAvailable reports whether this build includes libpcap (the pcap build
// tag).
const PcapAvailable = true

// OpenPcapLive captures on iface through libpcap (cgo), for BPF filter
// expressions (bpf, "" for none) and platforms without AF_PACKET. snaplen 0
// means 262144. Close may be called from another goroutine: it wakes a
// blocked Next, which returns ErrClosed.
func OpenPcapLive(iface string, snaplen int, bpf string, promisc bool) (Source, error) {
	if snaplen <= 0 {
		snaplen = maxRecord
	}
	h, err := pcap.OpenLive(iface, int32(snaplen), promisc, pcap.BlockForever)
	if err != nil {
		return nil, fmt.Errorf("capture: libpcap open %s: %w", iface, err)
	}
	if bpf != "" {
		if err := h.SetBPFFilter(bpf); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture: libpcap filter %q on %s: %w", bpf, iface, err)
		}
	}
	return &pcapSource{h: h, name: iface, live: true, link: linkTypeFromFile(uint32(h.LinkType()))}, nil
}

// OpenPcapFile reads a pcap or pcapng file through libpcap, with an optional
// BPF filter expression. libpcap reports no byte offsets: a damaged file
// ends with a *FileError whose Offset is -1.
func OpenPcapFile(path string, bpf string) (Source, error) {
	h, err := pcap.OpenOffline(path)
	if err != nil {
		return nil, fmt.Errorf("capture: libpcap open %s: %w", path, err)
	}
	if bpf != "" {
		if err := h.SetBPFFilter(bpf); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture: libpcap filter %q on %s: %w", bpf, path, err)
		}
	}
	return &pcapSource{h: h, name: path, link: linkTypeFromFile(uint32(h.LinkType()))}, nil
}

// pcapSource reads a libpcap handle.
type pcapSource struct {
	h      *pcap.Handle
	name   string
	live   bool
	link   LinkType
	done   bool // file: io.EOF or an error was returned
	closed atomic.Bool

	packets atomic.Uint64
	bytes   atomic.Uint64
	errs    atomic.Uint64
	statsMu sync.Mutex // orders Stats against Close
	final   *Stats     // live: kernel counters at Close
}

// Next implements Source.
func (s *pcapSource) Next(p *Packet) error {
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		if s.done {
			return io.EOF
		}
		data, ci, err := s.h.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			p.Data = data
			p.Timestamp = ci.Timestamp.UTC()
			p.Length = ci.Length
			p.LinkType = s.link
			p.Source = 0
			s.packets.Add(1)
			s.bytes.Add(uint64(len(data)))
			return nil
		case errors.Is(err, pcap.NextErrorTimeoutExpired):
			continue
		case s.closed.Load():
			return ErrClosed
		case err == io.EOF && s.live:
			return ErrClosed // the handle was closed
		case err == io.EOF:
			s.done = true
			return io.EOF
		case s.live:
			s.errs.Add(1)
			return fmt.Errorf("capture: libpcap read on %s: %w", s.name, err)
		default:
			s.done = true
			s.errs.Add(1)
			cause := s.h.Error()
			if cause == nil {
				cause = err
			}
			return &FileError{Path: s.name, Offset: -1, Packet: s.packets.Load(), Err: fmt.Errorf("libpcap: %w", cause)}
		}
	}
}

// Stats implements Source; live handles add libpcap's ps_drop and
// ps_ifdrop.
func (s *pcapSource) Stats() Stats {
	st := Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Errors: s.errs.Load()}
	if !s.live {
		return st
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if f := s.final; f != nil {
		st.KernelDrops, st.IfaceDrops = f.KernelDrops, f.IfaceDrops
	} else if !s.closed.Load() {
		if ps, err := s.h.Stats(); err == nil {
			st.KernelDrops, st.IfaceDrops = uint64(ps.PacketsDropped), uint64(ps.PacketsIfDropped)
		}
	}
	return st
}

// Close implements Source.
func (s *pcapSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.live {
		if ps, err := s.h.Stats(); err == nil {
			s.final = &Stats{KernelDrops: uint64(ps.PacketsDropped), IfaceDrops: uint64(ps.PacketsIfDropped)}
		}
	}
	s.h.Close()
	return nil
}

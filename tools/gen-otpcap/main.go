// Command gen-otpcap writes a large, realistic, deterministic synthetic OT
// capture (classic pcap, Ethernet, microsecond timestamps) for benchmarking
// the sensor's packet rate.
//
//	go run ./tools/gen-otpcap -o .bench/ot.pcap -packets 2000000 [-seed 1]
//
// The capture interleaves Modbus/TCP, S7comm, DNP3, EtherNet/IP (explicit,
// class-1 I/O, ListIdentity), IEC 60870-5-104 and BACnet/IP with IT
// background traffic (ARP, DNS, DHCP, HTTP, TLS). Every frame carries correct
// IPv4, TCP and UDP checksums; TCP connections start with a handshake and keep
// consistent sequence numbers. See README.md for the mix and the flags.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// config is everything that shapes the capture.
type config struct {
	packets int
	seed    uint64

	modbusPLCs, modbusMasters int
	s7PLCs                    int
	dnp3Outstations           int
	enipAdapters              int
	iec104RTUs                int
	bacnetDevices             int
	itHosts                   int

	pollMin, pollMax time.Duration
	ioRPIMin         time.Duration
	vlans            bool
}

func defaultConfig() config {
	return config{
		packets:         1000000,
		seed:            1,
		modbusPLCs:      200,
		modbusMasters:   5,
		s7PLCs:          40,
		dnp3Outstations: 40,
		enipAdapters:    30,
		iec104RTUs:      20,
		bacnetDevices:   40,
		itHosts:         60,
		pollMin:         100 * time.Millisecond,
		pollMax:         time.Second,
		ioRPIMin:        100 * time.Millisecond,
		vlans:           true,
	}
}

func (c config) validate() error {
	switch {
	case c.packets < 1:
		return errors.New("-packets must be at least 1")
	case c.modbusMasters < 1:
		return errors.New("-modbus-masters must be at least 1")
	case c.pollMin <= 0 || c.pollMax < c.pollMin:
		return errors.New("-poll-min must be positive and not above -poll-max")
	case c.ioRPIMin < time.Millisecond:
		return errors.New("-io-rpi must be at least 1ms")
	}
	for _, n := range []int{c.modbusPLCs, c.s7PLCs, c.dnp3Outstations, c.enipAdapters, c.iec104RTUs, c.bacnetDevices, c.itHosts} {
		if n < 0 || n > 4000 {
			return errors.New("device counts must be between 0 and 4000")
		}
	}
	return nil
}

// stats summarises a generated capture.
type stats struct {
	packets  int
	bytes    int64
	perProto [numProtos]int
	first    int64 // µs since the epoch
	last     int64
}

// baseTime is the capture start: 2026-03-02 06:00:00 UTC, in µs.
const baseTime = int64(1772431200) * usSec

func main() {
	cfg := defaultConfig()
	out := flag.String("o", "", "output pcap file (required)")
	flag.IntVar(&cfg.packets, "packets", cfg.packets, "number of packets to write")
	flag.Uint64Var(&cfg.seed, "seed", cfg.seed, "random seed; the same seed and flags give the same bytes")
	flag.IntVar(&cfg.modbusPLCs, "modbus", cfg.modbusPLCs, "Modbus/TCP PLCs polled on port 502")
	flag.IntVar(&cfg.modbusMasters, "modbus-masters", cfg.modbusMasters, "HMI/SCADA masters polling the Modbus PLCs")
	flag.IntVar(&cfg.s7PLCs, "s7", cfg.s7PLCs, "S7comm PLCs on TCP 102 (VLAN 20)")
	flag.IntVar(&cfg.dnp3Outstations, "dnp3", cfg.dnp3Outstations, "DNP3 outstations on TCP 20000 (VLAN 30)")
	flag.IntVar(&cfg.enipAdapters, "enip", cfg.enipAdapters, "EtherNet/IP adapters (explicit TCP 44818, class-1 I/O UDP 2222, ListIdentity)")
	flag.IntVar(&cfg.iec104RTUs, "iec104", cfg.iec104RTUs, "IEC 60870-5-104 RTUs on TCP 2404 (VLAN 30)")
	flag.IntVar(&cfg.bacnetDevices, "bacnet", cfg.bacnetDevices, "BACnet/IP devices on UDP 47808")
	flag.IntVar(&cfg.itHosts, "it", cfg.itHosts, "IT LAN hosts making ARP, DNS, DHCP, HTTP and TLS background traffic (0: none)")
	flag.DurationVar(&cfg.pollMin, "poll-min", cfg.pollMin, "shortest per-device poll cycle")
	flag.DurationVar(&cfg.pollMax, "poll-max", cfg.pollMax, "longest per-device poll cycle")
	flag.DurationVar(&cfg.ioRPIMin, "io-rpi", cfg.ioRPIMin, "shortest EtherNet/IP class-1 RPI (each connection uses 1–4×)")
	flag.BoolVar(&cfg.vlans, "vlan", cfg.vlans, "802.1Q-tag the S7 (VLAN 20) and substation (VLAN 30) segments")
	quiet := flag.Bool("q", false, "do not print the summary")
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gen-otpcap -o FILE [-packets N] [-seed S] [flags]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	start := time.Now()
	st, err := writeFile(*out, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-otpcap:", err)
		os.Exit(1)
	}
	if !*quiet {
		printSummary(os.Stderr, *out, st, time.Since(start))
	}
}

// writeFile generates the capture into path (its directory is created).
func writeFile(path string, cfg config) (st stats, err error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return st, fmt.Errorf("create output directory: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return st, fmt.Errorf("create output: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	st, err = generate(f, cfg)
	if err != nil {
		return st, fmt.Errorf("write %s: %w", path, err)
	}
	return st, nil
}

func printSummary(w io.Writer, path string, st stats, took time.Duration) {
	span := time.Duration(st.last-st.first) * time.Microsecond
	fmt.Fprintf(w, "%s: %d packets, %d bytes, capture span %s, generated in %s (%.0f packets/s)\n",
		path, st.packets, st.bytes, span.Round(time.Millisecond), took.Round(time.Millisecond),
		float64(st.packets)/took.Seconds())
	for p := range numProtos {
		n := st.perProto[p]
		fmt.Fprintf(w, "  %-28s %10d  %5.1f%%\n", p.String(), n, 100*float64(n)/float64(max(st.packets, 1)))
	}
}

// generate writes the pcap stream for cfg to w.
func generate(w io.Writer, cfg config) (stats, error) {
	var st stats
	if err := cfg.validate(); err != nil {
		return st, err
	}
	g := newGen(cfg.seed)
	sessions := buildNetwork(g, cfg)
	if len(sessions) == 0 {
		return st, errors.New("no traffic configured")
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [24]byte
	copy(hdr[:], []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0})
	if _, err := bw.Write(hdr[:]); err != nil {
		return st, fmt.Errorf("pcap header: %w", err)
	}
	bursts := make([]burst, len(sessions))
	h := make(evHeap, len(sessions))
	for i, s := range sessions {
		b := &bursts[i]
		b.buf = make([]byte, 0, 2048)
		b.frames = make([]frameRef, 0, 16)
		s.step(g, b)
		h[i] = event{t: b.frames[0].dt, i: int32(i)}
	}
	h.init()
	st.first = baseTime + h[0].t
	rec := hdr[:16]
	for st.packets < cfg.packets {
		ev := h[0]
		b := &bursts[ev.i]
		f := b.frames[b.next]
		ts := baseTime + ev.t
		frame := b.buf[f.off : f.off+f.n]
		rec[0], rec[1], rec[2], rec[3] = byte(ts/usSec), byte(ts/usSec>>8), byte(ts/usSec>>16), byte(ts/usSec>>24)
		us := ts % usSec
		rec[4], rec[5], rec[6], rec[7] = byte(us), byte(us>>8), byte(us>>16), 0
		rec[8], rec[9], rec[10], rec[11] = byte(f.n), byte(f.n>>8), 0, 0
		copy(rec[12:16], rec[8:12])
		bw.Write(rec)
		if _, err := bw.Write(frame); err != nil {
			return st, fmt.Errorf("packet %d: %w", st.packets+1, err)
		}
		st.packets++
		st.bytes += int64(f.n)
		st.perProto[f.proto]++
		st.last = ts
		b.next++
		if b.next == len(b.frames) {
			b.reset()
			sessions[ev.i].step(g, b)
		}
		h[0].t = ev.t + b.frames[b.next].dt
		h.down(0)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("flush: %w", err)
	}
	return st, nil
}

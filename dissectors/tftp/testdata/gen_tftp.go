//go:build ignore

// gen_tftp writes tftp.pcap: a read with a retransmitted block, a write of
// a "firmware" image with negotiated options (OACK), a read refused with
// ERROR 1, and a request with an invalid mode. As on the wire, each
// transfer runs from a new server port (RFC 1350 TIDs).
//
//	go run gen_tftp.go   (in dissectors/tftp/testdata)
package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"time"
)

var (
	out   []byte
	clock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func udp(src, dst byte, sport, dport uint16, payload []byte) {
	l4 := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[8:], payload)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	copy(ip[12:], []byte{10, 0, 0, src})
	copy(ip[16:], []byte{10, 0, 0, dst})
	binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
	ph := append(append([]byte{}, ip[12:20]...), 0, 17, byte(len(l4)>>8), byte(len(l4)))
	var s uint32
	for i := 0; i < len(ph); i += 2 {
		s += uint32(binary.BigEndian.Uint16(ph[i:]))
	}
	binary.BigEndian.PutUint16(l4[6:], csum(l4, s))
	eth := []byte{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 8, 0}
	pkt := append(append(eth, ip...), l4...)
	clock = clock.Add(10 * time.Millisecond)
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(clock.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(clock.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(pkt)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(pkt)))
	out = append(append(out, h[:]...), pkt...)
}

func req(op byte, file, mode string, opts ...string) []byte {
	b := []byte{0, op}
	for _, s := range append([]string{file, mode}, opts...) {
		b = append(append(b, s...), 0)
	}
	return b
}

func block(op byte, n uint16, data []byte) []byte {
	return append([]byte{0, op, byte(n >> 8), byte(n)}, data...)
}

func main() {
	out = []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	const cl, cl2, srv = 10, 11, 20
	// Read of config.txt (1124 bytes): blocks 1, 2 (retransmitted), 3.
	udp(cl, srv, 3000, 69, req(1, "config.txt", "octet"))
	udp(srv, cl, 4000, 3000, block(3, 1, bytes.Repeat([]byte{'a'}, 512)))
	udp(cl, srv, 3000, 4000, block(4, 1, nil))
	udp(srv, cl, 4000, 3000, block(3, 2, bytes.Repeat([]byte{'b'}, 512)))
	udp(srv, cl, 4000, 3000, block(3, 2, bytes.Repeat([]byte{'b'}, 512)))
	udp(cl, srv, 3000, 4000, block(4, 2, nil))
	udp(srv, cl, 4000, 3000, block(3, 3, bytes.Repeat([]byte{'c'}, 100)))
	udp(cl, srv, 3000, 4000, block(4, 3, nil))
	// Write of firmware.bin (1500 bytes) with blksize 1024 and tsize.
	udp(cl2, srv, 3001, 69, req(2, "firmware.bin", "octet", "blksize", "1024", "tsize", "1500"))
	udp(srv, cl2, 4001, 3001, append([]byte{0, 6}, "blksize\x001024\x00tsize\x001500\x00"...))
	udp(cl2, srv, 3001, 4001, block(3, 1, bytes.Repeat([]byte{0xee}, 1024)))
	udp(srv, cl2, 4001, 3001, block(4, 1, nil))
	udp(cl2, srv, 3001, 4001, block(3, 2, bytes.Repeat([]byte{0xee}, 476)))
	udp(srv, cl2, 4001, 3001, block(4, 2, nil))
	// A refused read.
	udp(cl, srv, 3002, 69, req(1, "missing.cfg", "netascii"))
	udp(srv, cl, 4002, 3002, append(block(5, 1, []byte("File not found")), 0))
	// A write with an invalid mode, never answered.
	udp(cl2, srv, 3003, 69, req(2, "plc.cfg", "binary"))
	if err := os.WriteFile("tftp.pcap", out, 0o644); err != nil {
		panic(err)
	}
}

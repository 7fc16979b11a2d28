//go:build ignore

// gen_syslog writes syslog.pcap: RFC 3164 and RFC 5424 messages over UDP
// 514, and over TCP 601 with octet-counting and with LF framing (messages
// split across segments and several messages in one segment).
//
//	go run gen_syslog.go   (in dissectors/syslog/testdata)
package main

import (
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

func frame(src, dst byte, proto byte, l4 []byte) {
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	copy(ip[12:], []byte{10, 0, 0, src})
	copy(ip[16:], []byte{10, 0, 0, dst})
	binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
	// L4 checksum over the pseudo header.
	ph := append(append([]byte{}, ip[12:20]...), 0, proto, byte(len(l4)>>8), byte(len(l4)))
	off := 6
	if proto == 6 {
		off = 16
	}
	binary.BigEndian.PutUint16(l4[off:], 0)
	var s uint32
	for i := 0; i < len(ph); i += 2 {
		s += uint32(binary.BigEndian.Uint16(ph[i:]))
	}
	binary.BigEndian.PutUint16(l4[off:], csum(l4, s))
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

func udp(src, dst byte, sport, dport uint16, payload string) {
	l4 := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(l4[0:], sport)
	binary.BigEndian.PutUint16(l4[2:], dport)
	binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	copy(l4[8:], payload)
	frame(src, dst, 17, l4)
}

type tcpConn struct {
	c, s         byte
	cport, sport uint16
	cseq, sseq   uint32
}

func (t *tcpConn) seg(fromClient bool, flags byte, payload string) {
	l4 := make([]byte, 20+len(payload))
	src, dst, sp, dp, seq, ack := t.c, t.s, t.cport, t.sport, &t.cseq, t.sseq
	if !fromClient {
		src, dst, sp, dp, seq, ack = t.s, t.c, t.sport, t.cport, &t.sseq, t.cseq
	}
	binary.BigEndian.PutUint16(l4[0:], sp)
	binary.BigEndian.PutUint16(l4[2:], dp)
	binary.BigEndian.PutUint32(l4[4:], *seq)
	if flags&0x10 != 0 {
		binary.BigEndian.PutUint32(l4[8:], ack)
	}
	l4[12], l4[13] = 5<<4, flags
	binary.BigEndian.PutUint16(l4[14:], 65535)
	copy(l4[20:], payload)
	frame(src, dst, 6, l4)
	*seq += uint32(len(payload))
	if flags&0x03 != 0 { // SYN or FIN
		*seq++
	}
}

func (t *tcpConn) open() {
	t.seg(true, 0x02, "")
	t.seg(false, 0x12, "")
	t.seg(true, 0x10, "")
}

func (t *tcpConn) send(p string) {
	t.seg(true, 0x18, p)
	t.seg(false, 0x10, "")
}

func (t *tcpConn) close() {
	t.seg(true, 0x11, "")
	t.seg(false, 0x11, "")
	t.seg(true, 0x10, "")
}

func main() {
	// pcap header: little-endian, v2.4, snaplen 65535, Ethernet.
	out = []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	// UDP from 10.0.0.5 to the collector 10.0.0.100.
	udp(5, 100, 40001, 514, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
	udp(5, 100, 40001, 514, `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`)
	udp(5, 100, 40001, 514, "<13>Feb  5 17:32:18 10.0.0.99 myproc[8710]: %% It's time to make the do-nuts.\n")
	udp(5, 100, 40001, 514, "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
	udp(5, 100, 40001, 514, `<190>1 2026-01-02T03:04:05Z plc-gw01 - - - [origin ip="10.0.0.5"][meta sequenceId="1"] boot complete`)
	udp(5, 100, 40001, 514, "<1a>bad priority")
	udp(5, 100, 40001, 514, "<200>1 - - - - - - PRI out of range")
	udp(6, 100, 40002, 514, "<86>1 - - sshd 123 - - Accepted publickey for root")
	udp(6, 100, 40002, 514, "<78>Jan  2 03:04:05 cron[99]: (root) CMD (run-parts)")
	// TCP 601, octet counting: two frames in one segment, one split.
	oc := &tcpConn{c: 7, s: 100, cport: 50000, sport: 601, cseq: 1000, sseq: 9000}
	oc.open()
	m1 := "<14>1 2026-01-02T03:04:06Z rtu-7 app 1 M1 - first"
	m2 := "<11>1 2026-01-02T03:04:07Z rtu-7 app 1 M2 - second"
	m3 := "<10>Jan  2 03:04:08 rtu-7 app[1]: third, split across two segments"
	oc.send(itoa(len(m1)) + " " + m1 + itoa(len(m2)) + " " + m2)
	f3 := itoa(len(m3)) + " " + m3
	oc.send(f3[:20])
	oc.send(f3[20:])
	oc.close()
	// TCP 601, LF framing.
	lf := &tcpConn{c: 8, s: 100, cport: 50001, sport: 601, cseq: 2000, sseq: 8000}
	lf.open()
	lf.send("<38>Jan  2 03:04:09 hmi-2 login[7]: session opened\n<37>Jan  2 03:04:10 hmi-2 login[7]: ses")
	lf.send("sion closed\n<39>1 2026-01-02T03:04:11Z hmi-2 kernel - - - eth0 link up\n")
	lf.close()
	if err := os.WriteFile("syslog.pcap", out, 0o644); err != nil {
		panic(err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

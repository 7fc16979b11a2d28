#!/usr/bin/env python3
"""Writes ftp-synthetic.pcap: three FTP control connections built to RFC 959
(TCP handshake with correct sequence numbers, greeting, failed and successful
logins, SYST, PASV/PORT, RETR/STOR/DELE, a pipelined USER/PASS, a multi-line
FEAT reply, AUTH TLS followed by opaque bytes, teardown), for the ftp
dissector's tests. No capture in pcaps/ holds FTP.

usage: python3 ftp-synthetic.py   (from any folder)
"""
import os, random, struct

HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(959)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    ip_src, ip_dst = bytes(src), bytes(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = ip_src + ip_dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, ip_src, ip_dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00" + bytes([dst[3]]) + b"\x02\x00\x00\x00\x00" + bytes([src[3]])
    return eth + b"\x08\x00" + ip + tcp


class Conn:
    """One TCP connection; send() appends a segment and advances the sequence numbers."""

    def __init__(self, frames, t, client, server, cport, sport):
        self.frames, self.t = frames, t
        self.cseq, self.sseq = random.getrandbits(31), random.getrandbits(31)
        self.C, self.S = (client, server, cport, sport), (server, client, sport, cport)
        self.send("C", 0x02)
        self.send("S", 0x12)
        self.send("C", 0x10)

    def send(self, side, flags, payload=b""):
        self.t = round(self.t + 0.01, 3)
        if side == "C":
            ack = self.sseq if flags & 0x10 else 0
            self.frames.append((self.t, packet(*self.C, self.cseq, ack, flags, payload)))
            self.cseq += len(payload) + (1 if flags & 0x03 else 0)
        else:
            self.frames.append((self.t, packet(*self.S, self.sseq, self.cseq, flags, payload)))
            self.sseq += len(payload) + (1 if flags & 0x03 else 0)

    def c(self, s):
        self.send("C", 0x18, s.encode() if isinstance(s, str) else s)

    def s(self, s):
        self.send("S", 0x18, s.encode() if isinstance(s, str) else s)

    def close(self):
        self.send("C", 0x11)
        self.send("S", 0x11)
        self.send("C", 0x10)
        return self.t


def main():
    frames = []
    t = 1700000000.0
    # 1. vsftpd on Ubuntu: a failed then a successful login, SYST, PASV+RETR, PORT+STOR, DELE refused.
    c = Conn(frames, t, [10, 0, 0, 10], [10, 0, 0, 20], 50100, 21)
    c.s("220 (vsFTPd 3.0.5)\r\n")
    c.c("USER operator\r\n"); c.s("331 Please specify the password.\r\n")
    c.c("PASS wrongpass\r\n"); c.s("530 Login incorrect.\r\n")
    c.c("USER operator\r\n"); c.s("331 Please specify the password.\r\n")
    c.c("PASS s3cret!\r\n"); c.s("230 Login successful.\r\n")
    c.c("SYST\r\n"); c.s("215 UNIX Type: L8\r\n")
    c.c("TYPE I\r\n"); c.s("200 Switching to Binary mode.\r\n")
    c.c("PASV\r\n"); c.s("227 Entering Passive Mode (10,0,0,20,195,80).\r\n")
    c.c("RETR /plc/recipes/line1.csv\r\n")
    c.s("150 Opening BINARY mode data connection for /plc/recipes/line1.csv (2048 bytes).\r\n")
    c.s("226 Transfer complete.\r\n")
    c.c("PORT 10,0,0,10,200,10\r\n"); c.s("200 PORT command successful. Consider using PASV.\r\n")
    c.c("STOR firmware_v2.bin\r\n"); c.s("150 Ok to send data.\r\n"); c.s("226 Transfer complete.\r\n")
    c.c("DELE /var/log/audit.log\r\n"); c.s("550 Delete operation failed.\r\n")
    c.c("QUIT\r\n"); c.s("221 Goodbye.\r\n")
    t = c.close()
    # 2. IIS FTP: multi-line greeting, pipelined anonymous login, FEAT, EPSV+LIST, then AUTH TLS.
    c = Conn(frames, t + 1, [10, 0, 0, 11], [10, 0, 0, 21], 50200, 21)
    c.s("220-Microsoft FTP Service\r\n220 Plant historian file drop\r\n")
    c.c("USER anonymous\r\nPASS guest@example.com\r\n")
    c.s("331 Anonymous access allowed, send identity (e-mail name) as password.\r\n230 User logged in.\r\n")
    c.c("FEAT\r\n"); c.s("211-Extended features supported:\r\n EPSV\r\n SIZE\r\n AUTH TLS\r\n211 END\r\n")
    c.c("EPSV\r\n"); c.s("229 Entering Extended Passive Mode (|||50123|)\r\n")
    c.c("LIST\r\n"); c.s("125 Data connection already open; Transfer starting.\r\n"); c.s("226 Transfer complete.\r\n")
    c.c("AUTH TLS\r\n"); c.s("234 AUTH command ok. Expecting TLS Negotiation.\r\n")
    c.c(bytes(random.getrandbits(8) for _ in range(80)))
    c.s(bytes(random.getrandbits(8) for _ in range(120)))
    t = c.close()
    # 3. A VxWorks PLC: two failed logins, then the client gives up (a password guesser).
    c = Conn(frames, t + 1, [10, 0, 0, 12], [10, 0, 0, 22], 50300, 21)
    c.s("220 VxWorks (VxWorks 6.9) FTP server ready\r\n")
    for pw in ("admin", "1234"):
        c.c("USER target\r\n"); c.s("331 Password required\r\n")
        c.c("PASS %s\r\n" % pw); c.s("530 Login failed\r\n")
    c.c("USER root\r\n"); c.s("331 Password required\r\n")
    c.c("PASS root\r\n")
    c.s("421 Too many login failures, closing control connection\r\n")
    t = c.close()
    out = os.path.join(HERE, "ftp-synthetic.pcap")
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            sec, usec = divmod(int(round(ts * 1e6)), 1000000)
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()

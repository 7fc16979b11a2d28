#!/usr/bin/env python3
"""Writes telnet-synthetic.pcap: three Telnet sessions built to RFC 854
(TCP handshake with correct sequence numbers, IAC option negotiation with a
subnegotiation, banner, a NEW-ENVIRON "-f root" injection, login prompts, a remote-echo client typing one
character per segment, failed and successful logins, teardown), for the
telnet dissector's tests. No capture in pcaps/ holds Telnet.

usage: python3 telnet-synthetic.py   (from any folder)
"""
import os, random, struct

HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(854)


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



IAC, DO, DONT, WILL, WONT, SB, SE = 255, 253, 254, 251, 252, 250, 240
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31


def neg(*pairs):
    return bytes(b for p in pairs for b in (IAC,) + p)


def typed(c, text):
    """The client types text one key per segment; the server echoes each key."""
    for ch in text:
        c.c(ch)
        c.s(ch)


def main():
    frames = []
    t = 1700000000.0
    # 1. Linux (Ubuntu) with full negotiation: a failed then a successful login, character-at-a-time with echo.
    c = Conn(frames, t, [10, 0, 0, 10], [10, 0, 0, 30], 50400, 23)
    c.s(neg((DO, TTYPE), (DO, NAWS), (WILL, ECHO), (WILL, SGA)))
    c.c(neg((WILL, TTYPE), (WILL, NAWS), (DO, ECHO), (DO, SGA)) + bytes([IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
    c.s(bytes([IAC, SB, TTYPE, 1, IAC, SE]))
    c.c(bytes([IAC, SB, TTYPE, 0]) + b"XTERM" + bytes([IAC, SE]))
    c.s(b"Ubuntu 22.04.3 LTS\r\nplc-gw login: ")
    typed(c, "operator")
    c.c("\r\n"); c.s("\r\n")
    c.s("Password: ")
    for ch in "wrong":
        c.c(ch)
    c.c("\r\n"); c.s("\r\n")
    c.s("\r\nLogin incorrect\r\nplc-gw login: ")
    typed(c, "operator")
    c.c("\r\n"); c.s("\r\nPassword: ")
    for ch in "s3cret!":
        c.c(ch)
    c.c("\r\n")
    c.s("\r\nLast login: Mon Nov 20 08:12:44 UTC 2023 from 10.0.0.9 on pts/0\r\n")
    c.s("Welcome to Ubuntu 22.04.3 LTS (GNU/Linux 5.15.0-88-generic x86_64)\r\n\r\noperator@plc-gw:~$ ")
    typed(c, "exit")
    c.c("\r\n"); c.s("\r\nlogout\r\n")
    t = c.close()
    # 2. A Cisco switch: password-only login, line mode, a wrong then a right password.
    c = Conn(frames, t + 1, [10, 0, 0, 11], [10, 0, 0, 31], 50401, 23)
    c.s(neg((WILL, ECHO), (WILL, SGA), (DO, NAWS)))
    c.c(neg((DO, ECHO), (DO, SGA), (WONT, NAWS)))
    c.s("\r\n\r\nUser Access Verification\r\n\r\nPassword: ")
    c.c("cisco\r\n")
    c.s("\r\nPassword: ")
    c.c("Sw1tch#2023\r\n")
    c.s("\r\nSW-CELL3>")
    c.c("quit\r\n")
    t = c.close()
    # 3. A BusyBox RTU without negotiation: a guesser tries twice and is refused.
    c = Conn(frames, t + 1, [10, 0, 0, 12], [10, 0, 0, 32], 50402, 23)
    c.s("\r\nBusyBox v1.31.1 built-in shell\r\n\r\nrtu7 login: ")
    for user, pw in (("admin", "admin"), ("root", "1234")):
        c.c(user + "\r\n"); c.s(user + "\r\nPassword: ")
        c.c(pw + "\r\n"); c.s("\r\nLogin incorrect\r\nrtu7 login: ")
    t = c.close()
    # 4. The NEW-ENVIRON "-f root" injection: USER passed to login as an option, a root shell without a password.
    c = Conn(frames, t + 1, [10, 0, 0, 13], [10, 0, 0, 33], 50403, 23)
    c.s(neg((DO, 39)))
    c.c(neg((WILL, 39)))
    c.s(bytes([IAC, SB, 39, 1, IAC, SE]))
    c.c(bytes([IAC, SB, 39, 0, 0]) + b"USER" + bytes([1]) + b"-f root" + bytes([IAC, SE]))
    c.s("\r\nLinux gw-old 2.6.32 #1 SMP\r\n\r\nroot@gw-old:~# ")
    c.c("id\r\n"); c.s("id\r\nuid=0(root) gid=0(root)\r\nroot@gw-old:~# ")
    t = c.close()
    out = os.path.join(HERE, "telnet-synthetic.pcap")
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            sec, usec = divmod(int(round(ts * 1e6)), 1000000)
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()

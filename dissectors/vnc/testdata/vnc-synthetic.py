#!/usr/bin/env python3
"""Writes vnc-synthetic.pcap: five VNC (RFB, RFC 6143) handshakes (TCP
handshake with correct sequence numbers, ProtocolVersion both ways, security
types, VNC authentication challenge/response, SecurityResult, ClientInit,
ServerInit, a little framebuffer traffic, teardown): a failed and a
successful VNC-auth login on RFB 3.8, an HMI panel with no authentication,
an RFB 3.3 server choosing VNC auth, and an RFB 3.7 server refusing the
connection. For the vnc dissector's tests; no capture in pcaps/ holds VNC.

usage: python3 vnc-synthetic.py   (from any folder)
"""
import os, random, struct

HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(6143)


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



def rnd(n):
    return bytes(random.getrandbits(8) for _ in range(n))


def server_init(w, h, name):
    pf = bytes([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0])
    return struct.pack("!HH", w, h) + pf + struct.pack("!I", len(name)) + name.encode()


def main():
    frames = []
    t = 1700000000.0
    C = [10, 0, 0, 10]
    # 1. RFB 3.8, VNC auth, wrong password (with a reason), then the right one.
    c = Conn(frames, t, C, [10, 0, 0, 40], 50500, 5900)
    c.s("RFB 003.008\n"); c.c("RFB 003.008\n")
    c.s(bytes([1, 2])); c.c(bytes([2]))
    c.s(rnd(16)); c.c(rnd(16))
    reason = b"Authentication failure"
    c.s(struct.pack("!II", 1, len(reason)) + reason)
    t = c.close()
    c = Conn(frames, t + 1, C, [10, 0, 0, 40], 50501, 5900)
    c.s("RFB 003.008\n"); c.c("RFB 003.008\n")
    c.s(bytes([1, 2])); c.c(bytes([2]))
    c.s(rnd(16)); c.c(rnd(16))
    c.s(struct.pack("!I", 0)); c.c(bytes([1]))
    c.s(server_init(1280, 800, "HMI-LINE3 (operator)"))
    c.c(bytes([3, 0]) + struct.pack("!HHHH", 0, 0, 1280, 800))  # FramebufferUpdateRequest
    c.s(bytes([0, 0]) + struct.pack("!H", 0))
    t = c.close()
    # 2. An HMI panel with no authentication (RFB 3.8: SecurityResult still sent).
    c = Conn(frames, t + 1, [10, 0, 0, 11], [10, 0, 0, 41], 50502, 5900)
    c.s("RFB 003.008\n"); c.c("RFB 003.008\n")
    c.s(bytes([2, 1, 2])); c.c(bytes([1]))
    c.s(struct.pack("!I", 0)); c.c(bytes([0]))
    c.s(server_init(800, 480, "SIMATIC Panel TP700"))
    t = c.close()
    # 3. RFB 3.3: the server chooses VNC auth; the client speaks 3.3 too.
    c = Conn(frames, t + 1, [10, 0, 0, 12], [10, 0, 0, 42], 50503, 5901)
    c.s("RFB 003.003\n"); c.c("RFB 003.003\n")
    c.s(struct.pack("!I", 2) + rnd(16)); c.c(rnd(16))
    c.s(struct.pack("!I", 0)); c.c(bytes([1]))
    c.s(server_init(1920, 1080, "engineering-ws:0"))
    t = c.close()
    # 4. RFB 3.7 refusing the connection (no security types, with a reason).
    c = Conn(frames, t + 1, [10, 0, 0, 13], [10, 0, 0, 43], 50504, 5900)
    c.s("RFB 003.007\n"); c.c("RFB 003.007\n")
    reason = b"Too many security failures"
    c.s(bytes([0]) + struct.pack("!I", len(reason)) + reason)
    t = c.close()
    out = os.path.join(HERE, "vnc-synthetic.pcap")
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            sec, usec = divmod(int(round(ts * 1e6)), 1000000)
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes rdp-synthetic.pcap: four RDP connection starts built from
MS-RDPBCGR (no public capture in pcaps/ holds RDP).

1. mstshash cookie "alice", RDP_NEG_REQ TLS|CredSSP -> RDP_NEG_RSP CredSSP,
   then the client's TLS ClientHello (not decoded: encrypted from there on).
2. mstshash cookie "bob", RDP_NEG_REQ standard RDP -> RDP_NEG_RSP RDP, then a
   clear-text MCS Connect Initial with client core data (name WS-ENG01,
   keyboard 0x409, build 7601).
3. RDP_NEG_REQ TLS only, no cookie -> RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER.
4. Old client: cookie "carol", no RDP_NEG_REQ -> Connection Confirm without
   negotiation data (standard RDP security); no further data.

Run: python3 rdp-synthetic.py (writes rdp-synthetic.pcap beside itself), then
derive the tshark facts the tests compare with (rdp-synthetic.tshark.tsv: the
lines of this command that have a negotiation type, cookie or client name):
  tshark -r rdp-synthetic.pcap -T fields -e frame.number -e rdp.neg_type
    -e rdp.negReq.requestedProtocols -e rdp.negReq.selectedProtocol
    -e rdp.negFailure.failureCode -e rdp.rt_cookie -e rdp.client.name
    -e rdp.client.build -e rdp.keyboardLayout
"""
import os
import struct

T0 = 1767323045  # 2026-01-02T03:04:05Z


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Conn:
    def __init__(self, cli, srv, cport, smac, cmac):
        self.cli, self.srv, self.cport = cli, srv, cport
        self.cmac, self.smac = cmac, smac
        self.seq = {0: 1000, 1: 5000}

    def frame(self, d, flags, payload=b""):
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        sp, dp = (self.cport, 3389) if d == 0 else (3389, self.cport)
        smac, dmac = (self.cmac, self.smac) if d == 0 else (self.smac, self.cmac)
        seq, ack = self.seq[d], self.seq[1 - d]
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
        ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
        c = csum(ph + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
        iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
        self.seq[d] += len(payload) + (1 if flags & 0x03 else 0)
        return dmac + smac + b"\x08\x00" + iph + tcp

    def handshake(self):
        f = [self.frame(0, 0x02)]
        f.append(self.frame(1, 0x12))
        f.append(self.frame(0, 0x10))
        return f

    def close(self):
        return [self.frame(0, 0x11), self.frame(1, 0x11), self.frame(0, 0x10)]


def tpkt(x224):
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def cr(user_data):
    return tpkt(struct.pack("!BBHHB", 6 + len(user_data), 0xE0, 0, 0, 0) + user_data)


def cc(user_data):
    return tpkt(struct.pack("!BBHHB", 6 + len(user_data), 0xD0, 0, 0x1234, 0) + user_data)


def neg(typ, flags, value):
    return struct.pack("<BBHI", typ, flags, 8, value)


def ber_len(n):
    return bytes([n]) if n < 0x80 else b"\x82" + struct.pack("!H", n)


def per_len(n):
    return bytes([n]) if n < 0x80 else struct.pack("!H", 0x8000 | n)


def client_core(name, kbd, build):
    nm = name.encode("utf-16-le").ljust(32, b"\0")
    body = struct.pack("<IHHHHII", 0x00080004, 1280, 1024, 0xCA01, 0xAA03, kbd, build) + nm
    body += struct.pack("<III", 4, 0, 12) + b"\0" * 64
    body += struct.pack("<HHIHHH", 0xCA01, 1, 0, 0x18, 0x0F, 0x0001) + b"\0" * 64
    body += struct.pack("<BBI", 0, 0, 0)
    return struct.pack("<HH", 0xC001, 4 + len(body)) + body


def connect_initial():
    blocks = client_core("WS-ENG01", 0x409, 7601)
    blocks += struct.pack("<HHII", 0xC002, 12, 0x1B, 0)
    blocks += struct.pack("<HHI", 0xC003, 8, 0)
    ccr = bytes.fromhex("0008001000 01c000 44756361".replace(" ", "")) + per_len(len(blocks)) + blocks
    gcc = bytes.fromhex("000500147c0001") + per_len(len(ccr)) + ccr
    params = [bytes.fromhex(h) for h in (
        "30190201220201020201000201010201000201010202ffff020102",
        "3019020101020101020101020101020100020101020204200201 02".replace(" ", ""),
        "301c0202ffff0202fc170202ffff0201010201000201010202ffff020102")]
    body = bytes.fromhex("040101040101 0101ff".replace(" ", "")) + b"".join(params)
    body += b"\x04" + ber_len(len(gcc)) + gcc
    mcs = b"\x7f\x65" + ber_len(len(body)) + body
    return tpkt(b"\x02\xf0\x80" + mcs)


def main():
    smac = bytes.fromhex("001122334455")
    frames = []
    # 1. TLS|CredSSP requested, CredSSP selected.
    c = Conn("10.0.0.10", "10.0.0.1", 50001, smac, bytes.fromhex("66778899aa01"))
    frames += c.handshake()
    frames.append(c.frame(0, 0x18, cr(b"Cookie: mstshash=alice\r\n" + neg(1, 0, 0x03))))
    frames.append(c.frame(1, 0x18, cc(neg(2, 0x1F, 0x02))))
    frames.append(c.frame(0, 0x18, bytes.fromhex("160301002f0100002b0303") + b"\x11" * 32 + b"\x00\x00\x02\x00\x2f\x01\x00"))
    frames += c.close()
    # 2. Standard RDP security with the client core data in clear.
    c = Conn("10.0.0.11", "10.0.0.1", 50002, smac, bytes.fromhex("66778899aa02"))
    frames += c.handshake()
    frames.append(c.frame(0, 0x18, cr(b"Cookie: mstshash=bob\r\n" + neg(1, 0, 0x00))))
    frames.append(c.frame(1, 0x18, cc(neg(2, 0x00, 0x00))))
    frames.append(c.frame(0, 0x18, connect_initial()))
    frames += c.close()
    # 3. TLS only requested: the server requires CredSSP.
    c = Conn("10.0.0.12", "10.0.0.1", 50003, smac, bytes.fromhex("66778899aa03"))
    frames += c.handshake()
    frames.append(c.frame(0, 0x18, cr(neg(1, 0, 0x01))))
    frames.append(c.frame(1, 0x18, cc(neg(3, 0, 5))))
    frames += c.close()
    # 4. Old client: cookie only.
    c = Conn("10.0.0.13", "10.0.0.1", 50004, smac, bytes.fromhex("66778899aa04"))
    frames += c.handshake()
    frames.append(c.frame(0, 0x18, cr(b"Cookie: mstshash=carol\r\n")))
    frames.append(c.frame(1, 0x18, cc(b"")))
    frames += c.close()

    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", T0 + i // 10, (i % 10) * 1000, len(f), len(f)) + f
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rdp-synthetic.pcap")
    with open(path, "wb") as fh:
        fh.write(out)


if __name__ == "__main__":
    main()

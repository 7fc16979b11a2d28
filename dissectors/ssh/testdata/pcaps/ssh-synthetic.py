#!/usr/bin/env python3
"""Writes ssh-synthetic.pcap: three SSH sessions built to RFC 4253 (TCP
handshake, identification lines, KEXINIT, NEWKEYS, then opaque encrypted
bytes), for the ssh dissector's tests. Then derives the tshark facts into
expected/ssh-synthetic.pcap.json with pcaps/derive_expected.py.

usage: python3 ssh-synthetic.py   (from this folder; needs tshark)
"""
import json, os, random, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
random.seed(4253)


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


def namelist(names):
    b = ",".join(names).encode()
    return struct.pack("!I", len(b)) + b


def binpkt(payload):
    pad = 8 - (len(payload) + 5) % 8
    if pad < 4:
        pad += 8
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + bytes(pad)


def kexinit(kex, hostkey, enc, mac):
    p = bytes([20]) + bytes(random.getrandbits(8) for _ in range(16))
    for l in (kex, hostkey, enc, enc, mac, mac, ["none", "zlib@openssh.com"], ["none", "zlib@openssh.com"], [], []):
        p += namelist(l)
    return binpkt(p + b"\0" + bytes(4))


def session(frames, t, client, server, cport, sport, cbanner, sbanner, ckex, skex):
    cseq, sseq = random.getrandbits(31), random.getrandbits(31)
    C, S = (client, server, cport, sport), (server, client, sport, cport)

    def send(side, flags, payload=b""):
        nonlocal cseq, sseq, t
        t += 0.001
        if side is C:
            frames.append((t, packet(*C, cseq, sseq, flags, payload)))
            cseq += len(payload) + (1 if flags & 0x03 else 0)
        else:
            frames.append((t, packet(*S, sseq, cseq, flags, payload)))
            sseq += len(payload) + (1 if flags & 0x03 else 0)

    send(C, 0x02)
    send(S, 0x12)
    send(C, 0x10)
    send(S, 0x18, sbanner + b"\r\n")
    send(C, 0x18, cbanner + b"\r\n")
    if ckex is not None:
        send(C, 0x18, ckex)
        send(S, 0x18, skex)
        send(C, 0x18, binpkt(bytes([21])))
        send(S, 0x18, binpkt(bytes([21])))
        send(C, 0x18, bytes(random.getrandbits(8) for _ in range(64)))
        send(S, 0x18, bytes(random.getrandbits(8) for _ in range(96)))
    send(C, 0x11)
    send(S, 0x11)
    send(C, 0x10)
    return t


def main():
    frames = []
    modern = (["curve25519-sha256", "ecdh-sha2-nistp256"], ["ssh-ed25519", "rsa-sha2-512"],
              ["chacha20-poly1305@openssh.com", "aes128-ctr"], ["hmac-sha2-256-etm@openssh.com"])
    old = (["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"], ["ssh-rsa", "ssh-dss"],
           ["aes128-cbc", "3des-cbc"], ["hmac-sha1", "hmac-md5"])
    t = 1700000000.0
    t = session(frames, t, [10, 0, 0, 10], [10, 0, 0, 20], 51000, 22, b"SSH-2.0-OpenSSH_9.6",
                b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", kexinit(*modern), kexinit(*modern))
    t = session(frames, t + 1, [10, 0, 0, 11], [10, 0, 0, 21], 51001, 22, b"SSH-2.0-libssh_0.9.6",
                b"SSH-2.0-dropbear_2012.55", kexinit(*old), kexinit(*old))
    t = session(frames, t + 1, [10, 0, 0, 12], [10, 0, 0, 22], 51002, 22, b"SSH-1.5-PuTTY_Release_0.58",
                b"SSH-1.5-Cisco-1.25", None, None)
    out = os.path.join(HERE, "ssh-synthetic.pcap")
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(data), len(data)))
            f.write(data)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "pcaps"))
    import derive_expected
    facts = derive_expected.derive(out)
    facts["capture"] = "ssh-synthetic.pcap"
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    with open(os.path.join(HERE, "expected", "ssh-synthetic.pcap.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes dcp-synthetic.pcap: DCP, RT, RTA and PTCP frames built from
IEC 61158-6-10 (the same bytes as the fixtures of dcp_test.go and rt_test.go,
plus Identify filters, alias names and device instances), and its tshark facts
in expected/dcp-synthetic.pcap.json with ../../../../../pcaps/derive_expected.py.

usage: python3 dcp-synthetic.py   (in this folder; needs tshark)"""
import importlib.util, json, os, re, struct

CTRL = bytes.fromhex("000c29ba09ea")  # requester
DEV = bytes.fromhex("080006 93cf32".replace(" ", ""))
MC = bytes.fromhex("010ecf000000")
# (sender, receiver, payload after the EtherType)
FRAMES = [
    (CTRL, DEV, "fefe 0500 01000001 0001 0004 ffff 0000"),
    (DEV, CTRL, "feff 0501 01000001 0000 005e 0205 001c 0000 0101 0102 0201 0202 0203 0204 0205 033d 0501 0502 0503"
                " 0504 ffff 0201 0005 0000 494e43 00 0202 000b 0000 583230382d424f5244 00 0203 0006 0000 002a 0a01"
                " 0204 0004 0000 0100 0102 000e 0001 c0a80006 ffffff00 c0a80001"),
    (CTRL, DEV, "fefd 0400 01000002 0000 0012 0102 000e 0001 c0a8000a ffffff00 c0a80001"),
    (DEV, CTRL, "fefd 0401 01000002 0000 0008 0504 0003 010200 00"),
    (CTRL, DEV, "fefd 0400 01000003 0000 0014 0202 0009 0001 256e256e256e20 00 0502 0002 0000"),
    (DEV, CTRL, "fefd 0401 01000003 0000 0010 0504 0003 020200 00 0504 0003 050200 00"),
    (CTRL, DEV, "fefd 0400 00000010 0000 0006 0506 0002 0004"),
    (CTRL, DEV, "fefd 0400 00000011 0000 0006 0505 0002 0001"),
    (DEV, CTRL, "fefd 0405 00000011 0000 0000"),
    (CTRL, DEV, "fefd 0400 00000012 0000 0008 0503 0004 0001 0100"),
    (DEV, CTRL, "fefd 0401 00000012 0000 0008 0504 0003 050301 00"),
    (CTRL, DEV, "fefd 0300 00000020 0000 0002 0202"),
    (DEV, CTRL, "fefd 0301 00000020 0000 000a 0202 0006 0000 706c6331"),
    (DEV, MC, "fefc 0600 00000030 0000 002e 0202 0006 0000 706c6331 0203 0006 0000 002a 0101 0204 0004 0000 0200"
              " 0102 000e 0001 0a000001 ffffff00 00000000"),
    (CTRL, DEV, "fefe 0500 00000050 0001 0008 0203 0004 002a 0101"),
    (CTRL, DEV, "fefe 0500 00000051 0001 0012 0202 0005 6162636465 00 0206 0003 78797a 00"),
    (DEV, CTRL, "feff 0501 00000051 0000 0014 0202 0007 0000 6162636400 00 0207 0004 0000 0102"),
    (DEV, CTRL, "fe01 0001 0002 11 11 0000 fffe 0022 0002 001e 0100 0001 00000000 0001 0001 00000030 00000001"
                " a000 8000 8000 0800 0001"),
    (CTRL, DEV, "fe01 0002 0001 13 00 ffff 0000 0000"),
    (DEV, CTRL, "fc01 0001 0002 14 00 0001 0000 0004 cf810000"),
    (CTRL, DEV, "ff40 " + "00" * 40),
    (CTRL, DEV, "8001 " + "00" * 40 + " 0001 35 00"),
    (DEV, CTRL, "c001 " + "00" * 40 + " 0001 35 00"),
    (CTRL, DEV, "8001 " + "00" * 40 + " 0021 25 00"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "dcp-synthetic.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (src, dst, hx) in enumerate(FRAMES):
            frame = dst + src + b"\x88\x92" + bytes.fromhex(re.sub(r"\s", "", hx))
            frame += b"\x00" * max(0, 60 - len(frame))  # Ethernet padding
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)
    derive = os.path.join(here, "..", "..", "..", "..", "pcaps", "derive_expected.py")
    spec = importlib.util.spec_from_file_location("derive_expected", derive)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    facts = mod.derive(path)
    facts["capture"] = "dcp-synthetic.pcap"
    os.makedirs(os.path.join(here, "expected"), exist_ok=True)
    with open(os.path.join(here, "expected", "dcp-synthetic.pcap.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

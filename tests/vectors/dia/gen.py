#!/usr/bin/env python3
"""Writes the hand-made golden Diameter messages of tests/vectors/dia/*.hex.

An encoder independent of server/proto/dia.c (RFC 6733 §3/§4 packing with
struct), laying the AVPs out in the order Kamailio 5.6.3's cdp/ims_auth use
(REFERENCE.md §7.1). Regenerate: python3 tests/vectors/dia/gen.py
Files captured from a real Kamailio run (kamailio_*.hex) are not made here.
"""
import os
import struct

V3GPP = 10415
M, V = 0x40, 0x80


def avp(code, data, flags=M, vendor=0):
    if vendor:
        flags |= V
    hdr = struct.pack(">I", code) + bytes([flags]) + struct.pack(">I", (12 if vendor else 8) + len(data))[1:]
    if vendor:
        hdr += struct.pack(">I", vendor)
    body = hdr + data
    return body + b"\0" * (-len(body) % 4)


def u32(code, v, flags=M, vendor=0):
    return avp(code, struct.pack(">I", v), flags, vendor)


def msg(flags, cmd, app, hbh, e2e, avps):
    body = b"".join(avps)
    n = 20 + len(body)
    return bytes([1]) + struct.pack(">I", n)[1:] + bytes([flags]) + struct.pack(">I", cmd)[1:] + \
        struct.pack(">III", app, hbh, e2e) + body


def vsai():
    return avp(260, u32(266, V3GPP) + u32(258, 16777216))


def write(name, comment, data):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, "w") as f:
        f.write("# %s\n# %d bytes, made by gen.py\n" % (comment, len(data)))
        for i in range(0, len(data), 16):
            f.write(" ".join("%02x" % b for b in data[i:i + 16]) + "\n")


def main():
    cer = msg(0x80, 257, 0, 0x11223344, 0x55667788, [
        avp(264, b"scscf.ims.test"), avp(296, b"ims.test"),
        avp(257, b"\x00\x01" + bytes([127, 0, 0, 1])), u32(266, V3GPP),
        avp(269, b"CDiameterPeer", flags=0), vsai(), u32(265, V3GPP)])
    write("cer_kamailio.hex", "CER as Kamailio 5.6.3 cdp sends it (no Origin-State-Id)", cer)

    mar_avps = [
        avp(263, b"scscf.ims.test;1700000000;1"), avp(264, b"scscf.ims.test"),
        avp(296, b"ims.test"), avp(283, b"ims.test"), vsai(), u32(277, 1),
        avp(601, b"sip:alice@ims.test", vendor=V3GPP), avp(1, b"alice@ims.test"),
        u32(607, 1, vendor=V3GPP),
        avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP), vendor=V3GPP),
        avp(602, b"sip:scscf.ims.test:6060", vendor=V3GPP)]
    write("mar_kamailio.hex", "MAR as Kamailio 5.6.3 ims_auth sends it (REFERENCE 7.1)",
          msg(0xc0, 303, 16777216, 0x0a0b0c0d, 0x01020304, mar_avps))

    rand = bytes(range(0x10, 0x20))
    auts = bytes(range(0xa0, 0xae))
    mar_avps[9] = avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP) +
                      avp(610, rand + auts, vendor=V3GPP), vendor=V3GPP)
    write("mar_resync.hex", "MAR resync: SIP-Authorization = RAND||AUTS (30 bytes)",
          msg(0xc0, 303, 16777216, 0x0a0b0c0e, 0x01020305, mar_avps))

    sar = msg(0xc0, 301, 16777216, 0x0a0b0c0f, 0x01020306, [
        avp(263, b"scscf.ims.test;1700000000;2"), avp(264, b"scscf.ims.test"),
        avp(296, b"ims.test"), avp(283, b"ims.test"), vsai(), u32(277, 1),
        avp(1, b"alice@ims.test"), avp(601, b"sip:alice@ims.test", vendor=V3GPP),
        avp(602, b"sip:scscf.ims.test:6060", vendor=V3GPP), u32(614, 1, vendor=V3GPP),
        u32(624, 0, vendor=V3GPP),
        avp(494, b"callid-1234@127.0.0.1", flags=0, vendor=50)])
    write("sar_kamailio.hex", "SAR REGISTRATION with Kamailio's vendor-50 AVP 494 (V only)", sar)


if __name__ == "__main__":
    main()

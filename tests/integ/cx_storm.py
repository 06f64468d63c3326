#!/usr/bin/env python3
"""A registration storm from one Cx peer: SARs for users PREFIX1..PREFIXn of
REALM, DEPTH in flight, of one Server-Assignment-Type (1 REGISTRATION,
2 RE_REGISTRATION). Checks every SAA is 2001 for its own request and prints
'<n> SARs in <s> s = <rate>/s'. Used by tests/integ/cx_storm.sh.

usage: cx_storm.py HOST PORT PREFIX REALM N DEPTH TYPE
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dia_badinput import V3GPP, avp, msg, read_msg, result, u32, vsai  # noqa: E402


def main():
    host, port, prefix, realm = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n, depth, sat = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    peer, r = b"storm." + realm.encode(), realm.encode()
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(msg(0x80, 257, 0, 1, [avp(264, peer), avp(296, r),
                                    avp(257, b"\x00\x01\x7f\x00\x00\x01"), u32(266, V3GPP),
                                    avp(269, b"cx_storm", flags=0), vsai(), u32(265, V3GPP)]))
    m = read_msg(s, 30)
    if not m or result(m)[0] != 2001:
        sys.exit("CER refused: %r" % (result(m) if m else None,))

    def sar(i):
        impi = ("%s%d@%s" % (prefix, i, realm)).encode()
        return msg(0xc0, 301, 16777216, 1000 + i, [
            avp(263, b"%s;storm;%d" % (peer, i)), vsai(), u32(277, 1), avp(264, peer),
            avp(296, r), avp(283, r), avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP),
            avp(602, b"sip:scscf." + r, vendor=V3GPP), u32(614, sat, vendor=V3GPP),
            u32(624, 0, vendor=V3GPP)])

    # every SAR answered exactly once: an answer must match a SAR still
    # outstanding (a repeated or unknown Hop-by-Hop id fails the run)
    t0, sent, got, waiting = time.time(), 1, 1, set()
    while got <= n:
        while sent <= n and sent - got < depth:
            s.sendall(sar(sent))
            waiting.add(1000 + sent)
            sent += 1
        m = read_msg(s, 30)
        if not m:
            sys.exit("connection closed after %d answers" % (got - 1))
        hbh = struct.unpack(">I", m[12:16])[0]
        if result(m)[0] != 2001 or hbh not in waiting:
            sys.exit("SAA %d: %r" % (hbh, result(m)))
        waiting.remove(hbh)
        got += 1
    dt = time.time() - t0
    print("%d SARs in %.2f s = %.0f/s" % (n, dt, n / dt))


if __name__ == "__main__":
    main()

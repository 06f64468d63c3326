#!/usr/bin/env python3
"""While a SAR's store commit is held at the disk (the fsync gate file exists,
see tests/shim/fsync_gate.c), a MAR on the same Diameter connection and an
AVS/1 CHALLENGE must still be answered: registration state has its own
thread (the registrar, server/wrk/wrk.h). Then the gate opens and the SAA
must come, 2001. Used by tests/integ/cx_registrar.sh.

usage: cx_registrar.py HOST DIA_PORT GATE_FILE AKAVS AVS_PORT SAR_USER MAR_USER AVS_USER
"""
import os
import select
import struct
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dia_badinput import V3GPP, avp, cer, mar, msg, read_msg, result, u32, vsai  # noqa: E402

SAR_HBH, MAR_HBH = 7, 8


def sar(impi, hbh):
    return msg(0xc0, 301, 16777216, hbh, [
        avp(263, b"registrar.peer.test;1;%d" % hbh), vsai(), u32(277, 1),
        avp(264, b"bad.peer.test"), avp(296, b"ims.test"), avp(283, b"ims.test"),
        avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP),
        avp(602, b"sip:scscf.ims.test", vendor=V3GPP), u32(614, 1, vendor=V3GPP),
        u32(624, 0, vendor=V3GPP)])


def read_or_none(s, timeout):
    try:
        return read_msg(s, timeout)
    except (socket.timeout, TimeoutError):
        return None


def hbh_of(m):
    return struct.unpack(">I", m[12:16])[0]


def main():
    host, dport, gate, akavs, aport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    sar_user, mar_user, avs_user = (u.encode() for u in sys.argv[6:9])
    problems = []
    s = socket.create_connection((host, dport), timeout=10)
    s.sendall(cer())
    m = read_msg(s, 10)
    if not m or result(m)[0] != 2001:
        sys.exit("CER refused: %r" % (result(m) if m else None,))
    if not os.path.exists(gate):
        sys.exit("the gate file is not there: the test would prove nothing")

    # a first registration (its commit waits at the gate), then a MAR
    s.sendall(sar(sar_user, SAR_HBH))
    s.sendall(mar(mar_user, b"sip:" + mar_user, hbh=MAR_HBH))
    m = read_or_none(s, 10)
    if m is None:
        problems.append("no answer to the MAR in 10 s while a SAR waited for the disk")
    elif hbh_of(m) != MAR_HBH:
        problems.append("answer %d came first: the MAR waited for the SAR's commit" % hbh_of(m))
    elif result(m)[0] != 2001:
        problems.append("MAA %r" % (result(m),))
    else:
        print("ok: MAA 2001 while the SAR's commit waits at the disk")

    # an AVS/1 challenge meanwhile
    r = subprocess.run([akavs, "client", "--connect", "%s:%s" % (host, aport), "--timeout", "5000",
                        "--json", "challenge", avs_user.decode()],
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0 or '"autn"' not in r.stdout:
        problems.append("AVS/1 CHALLENGE while the SAR waits: rc %d %s %s" %
                        (r.returncode, r.stdout.strip(), r.stderr.strip()))
    else:
        print("ok: AVS/1 CHALLENGE answered while the SAR's commit waits")

    # the SAR must really be held (else this test shows nothing)
    ready, _, _ = select.select([s], [], [], 0.5)
    if ready and not problems:
        problems.append("the SAA came before the gate opened: the commit was not held")
    os.unlink(gate)
    saa = None
    for _ in range(2):      # the MAA too, when it waited for the gate
        m = read_or_none(s, 10)
        if m is None or hbh_of(m) == SAR_HBH:
            saa = m
            break
    if saa is None or result(saa)[0] != 2001:
        problems.append("SAA after the gate opened: %r" % (result(saa) if saa else None,))
    else:
        print("ok: SAA 2001 once the commit reached the disk")
    for p in problems:
        print("FAIL: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
""""Authentication pending" over real Diameter connections (TS 29.228 §6.3.1,
§6.1.1.1): two S-CSCFs and an I-CSCF talk to the server under test. After a
MAR, the I-CSCF's UAR for the not yet registered user names the S-CSCF that
holds the vectors (Experimental-Result 2001 FIRST_REGISTRATION + Server-Name),
so that the second REGISTER reaches it; the SAR then settles the state. The
MARs of one peer repeat one shape, so most are decoded from the learned plan
(dia_cx.c), which must note the name too. Used by tests/integ/cx_pending.sh.

usage: cx_pending.py HOST DIA_PORT PREFIX N
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dia_badinput import V3GPP, avp, avps, msg, read_msg, result, u32, vsai  # noqa: E402

FAILS = 0


def common(peer, hbh):
    return [avp(263, b"%s;1;%d" % (peer, hbh)), vsai(), u32(277, 1),
            avp(264, peer), avp(296, b"ims.test"), avp(283, b"ims.test")]


def cer(peer):
    return msg(0x80, 257, 0, 1, [
        avp(264, peer), avp(296, b"ims.test"), avp(257, b"\x00\x01\x7f\x00\x00\x01"),
        u32(266, 0), avp(269, b"pending-test"), vsai()])


def mar(peer, scscf, impi, hbh):
    return msg(0xc0, 303, 16777216, hbh, common(peer, hbh) + [
        avp(601, b"sip:" + impi, vendor=V3GPP), avp(1, impi), u32(607, 1, vendor=V3GPP),
        avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP), vendor=V3GPP),
        avp(602, scscf, vendor=V3GPP)])


def sar(peer, scscf, impi, sat, hbh):
    return msg(0xc0, 301, 16777216, hbh, common(peer, hbh) + [
        avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP), avp(602, scscf, vendor=V3GPP),
        u32(614, sat, vendor=V3GPP), u32(624, 0, vendor=V3GPP)])


def uar(impi, uat, hbh):
    return msg(0xc0, 300, 16777216, hbh, common(b"icscf.ims.test", hbh) + [
        avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP), u32(623, uat, vendor=V3GPP)])


def server_name(m):
    names = [d for c, v, d in avps(m[20:]) if c == 602 and v == V3GPP]
    return names[0] if names else None


def check(what, cond, got):
    global FAILS
    if cond:
        print("ok   %s" % what)
    else:
        FAILS += 1
        print("FAIL %s: got %s" % (what, got))


def ask(s, m):
    s.sendall(m)
    a = read_msg(s)
    if a is None:
        raise SystemExit("FAIL no answer (connection closed)")
    return a


def connect(host, port, peer):
    s = socket.create_connection((host, port), timeout=5)
    rc = result(ask(s, cer(peer)))[0]
    check("CEA 2001 for %s" % peer.decode(), rc == 2001, rc)
    return s


def main():
    host, port, prefix, n = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
    s1n, s2n = b"sip:scscf1.ims.test:6060", b"sip:scscf2.ims.test:6062"
    s1 = connect(host, port, b"scscf1.ims.test")
    s2 = connect(host, port, b"scscf2.ims.test")
    ic = connect(host, port, b"icscf.ims.test")
    users = [b"%s%d@ims.test" % (prefix, i) for i in range(1, n + 1)]
    hbh = 100

    # Before any MAR: no name, the I-CSCF selects.
    a = ask(ic, uar(users[0], 0, hbh))
    check("UAR before any MAR: 2001 FIRST_REGISTRATION, no Server-Name",
          result(a)[:2] == (None, 2001) and server_name(a) is None, (result(a), server_name(a)))
    # Odd users challenged by S-CSCF 1, even ones by S-CSCF 2.
    for i, u in enumerate(users):
        hbh += 1
        s, name = (s1, s1n) if i % 2 == 0 else (s2, s2n)
        rc = result(ask(s, mar(b"scscf%d.ims.test" % (1 + i % 2), name, u, hbh)))[0]
        if rc != 2001:
            check("MAA 2001 for %s" % u.decode(), False, rc)
    wrong = []
    for i, u in enumerate(users):
        hbh += 1
        a = ask(ic, uar(u, 0, hbh))
        want = s1n if i % 2 == 0 else s2n
        if result(a)[:2] != (None, 2001) or server_name(a) != want:
            wrong.append((u, result(a), server_name(a)))
    check("UAR after MAR, %d users: 2001 + the S-CSCF that sent the MAR" % n, not wrong, wrong[:3])
    a = ask(ic, uar(users[0], 2, hbh + 1))
    check("UAR REGISTRATION_AND_CAPABILITIES: no Server-Name (a new selection)",
          result(a)[:2] == (None, 2001) and server_name(a) is None, (result(a), server_name(a)))

    # The second REGISTER went to S-CSCF 1, which registers the user.
    a = ask(s1, sar(b"scscf1.ims.test", s1n, users[0], 1, hbh + 2))
    check("SAR REGISTRATION 2001", result(a)[0] == 2001, result(a))
    a = ask(ic, uar(users[0], 0, hbh + 3))
    check("UAR, registered: 2002 SUBSEQUENT + S-CSCF 1",
          result(a)[:2] == (None, 2002) and server_name(a) == s1n, (result(a), server_name(a)))
    a = ask(s1, sar(b"scscf1.ims.test", s1n, users[0], 5, hbh + 4))
    check("SAR USER_DEREGISTRATION 2001", result(a)[0] == 2001, result(a))
    a = ask(ic, uar(users[0], 0, hbh + 5))
    check("UAR after de-registration: no Server-Name (the SAR cleared the memo)",
          result(a)[:2] == (None, 2001) and server_name(a) is None, (result(a), server_name(a)))
    # A failed authentication settles it too.
    a = ask(s2, sar(b"scscf2.ims.test", s2n, users[1], 9, hbh + 6))
    check("SAR AUTHENTICATION_FAILURE 2001", result(a)[0] == 2001, result(a))
    a = ask(ic, uar(users[1], 0, hbh + 7))
    check("UAR after a failed authentication: no Server-Name",
          result(a)[:2] == (None, 2001) and server_name(a) is None, (result(a), server_name(a)))
    for s in (s1, s2, ic):
        s.close()
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()

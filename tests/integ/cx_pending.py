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
from cx_peer import APP_CX, ask, check, common, failures, sar, server_name  # noqa: E402
from dia_badinput import V3GPP, avp, msg, result, u32, vsai  # noqa: E402


def cer(peer):
    return msg(0x80, 257, 0, 1, [
        avp(264, peer), avp(296, b"ims.test"), avp(257, b"\x00\x01\x7f\x00\x00\x01"),
        u32(266, 0), avp(269, b"pending-test"), vsai()])


def mar(peer, scscf, impi, hbh):
    return msg(0xc0, 303, APP_CX, hbh, common(peer, hbh) + [
        avp(601, b"sip:" + impi, vendor=V3GPP), avp(1, impi), u32(607, 1, vendor=V3GPP),
        avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP), vendor=V3GPP),
        avp(602, scscf, vendor=V3GPP)])


def uar(impi, uat, hbh):
    return msg(0xc0, 300, APP_CX, hbh, common(b"icscf.ims.test", hbh) + [
        avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP), u32(623, uat, vendor=V3GPP)])


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
    def uar_is(what, impi, uat, exp, name, at):
        a = ask(ic, uar(impi, uat, at))
        check(what, result(a)[:2] == (None, exp) and server_name(a) == name,
              (result(a), server_name(a)))

    def sar_ok(what, s, peer, scscf, impi, sat, at):
        a = ask(s, sar(peer, scscf, impi, sat, at))
        check(what, result(a)[0] == 2001, result(a))

    uar_is("UAR REGISTRATION_AND_CAPABILITIES: no Server-Name (a new selection)",
           users[0], 2, 2001, None, hbh + 1)
    # The second REGISTER went to S-CSCF 1, which registers the user.
    sar_ok("SAR REGISTRATION 2001", s1, b"scscf1.ims.test", s1n, users[0], 1, hbh + 2)
    uar_is("UAR, registered: 2002 SUBSEQUENT + S-CSCF 1", users[0], 0, 2002, s1n, hbh + 3)
    sar_ok("SAR USER_DEREGISTRATION 2001", s1, b"scscf1.ims.test", s1n, users[0], 5, hbh + 4)
    uar_is("UAR after de-registration: no Server-Name (the SAR cleared the memo)",
           users[0], 0, 2001, None, hbh + 5)
    # S-CSCF 1 stops answering; the I-CSCF picks S-CSCF 2 for a registered
    # user, whose MAR moves the user there (TS 29.228 §8.1).
    u = users[2]
    sar_ok("SAR REGISTRATION 2001 (user 3, at S-CSCF 1)", s1, b"scscf1.ims.test", s1n, u, 1,
           hbh + 8)
    uar_is("UAR, user 3 registered at S-CSCF 1: 2002 + S-CSCF 1", u, 0, 2002, s1n, hbh + 9)
    rc = result(ask(s2, mar(b"scscf2.ims.test", s2n, u, hbh + 10)))[0]
    check("MAA 2001 from S-CSCF 2 for user 3", rc == 2001, rc)
    uar_is("UAR after S-CSCF 2's MAR: 2002 + S-CSCF 2 (re-assignment)", u, 0, 2002, s2n,
           hbh + 11)
    sar_ok("SAR REGISTRATION 2001 from S-CSCF 2", s2, b"scscf2.ims.test", s2n, u, 1, hbh + 12)
    uar_is("UAR after S-CSCF 2's SAR: 2002 + S-CSCF 2", u, 0, 2002, s2n, hbh + 13)
    # A failed authentication settles it too.
    sar_ok("SAR AUTHENTICATION_FAILURE 2001", s2, b"scscf2.ims.test", s2n, users[1], 9, hbh + 6)
    uar_is("UAR after a failed authentication: no Server-Name", users[1], 0, 2001, None, hbh + 7)
    for s in (s1, s2, ic):
        s.close()
    sys.exit(1 if failures() else 0)


if __name__ == "__main__":
    main()

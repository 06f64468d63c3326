#!/usr/bin/env python3
"""LIR answers with and without services for the unregistered state (TS 29.228
§6.1.4.1), over a real Diameter connection: the server under test runs with
`[diameter] unregistered-services = no`, so a provisioned public identity
with no S-CSCF gets Experimental-Result 5003 IDENTITY_NOT_REGISTERED (Kamailio's
I-CSCF then answers 480 itself) instead of 2003 UNREGISTERED_SERVICE. Used by
tests/integ/cx_lir.sh.

usage: cx_lir.py HOST DIA_PORT IMPI
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cx_peer import APP_CX, ask, check, common, failures, sar, server_name  # noqa: E402
from dia_badinput import V3GPP, avp, cer, msg, result  # noqa: E402

SCSCF = b"sip:scscf.ims.test:6060"
PEER = b"bad.peer.test"


def lir(impu, hbh):
    return msg(0xc0, 302, APP_CX, hbh, common(PEER, hbh) + [avp(601, impu, vendor=V3GPP)])


def main():
    host, port, impi = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    impu = b"sip:" + impi
    s = socket.create_connection((host, port), timeout=5)
    rc, _, _ = result(ask(s, cer()))
    check("CEA 2001", rc == 2001, rc)

    a = ask(s, lir(impu, 10))
    check("LIR, provisioned, no S-CSCF: Experimental 5003, no Server-Name",
          result(a)[:2] == (None, 5003) and server_name(a) is None, (result(a), server_name(a)))
    a = ask(s, sar(PEER, SCSCF, impi, 1, 11))
    check("SAR REGISTRATION 2001", result(a)[0] == 2001, result(a))
    a = ask(s, lir(impu, 12))
    check("LIR, registered: 2001 + the S-CSCF's name",
          result(a)[0] == 2001 and server_name(a) == SCSCF, (result(a), server_name(a)))
    a = ask(s, sar(PEER, SCSCF, impi, 5, 13))
    check("SAR USER_DEREGISTRATION 2001", result(a)[0] == 2001, result(a))
    a = ask(s, lir(impu, 14))
    check("LIR after de-registration: 5003 again (name cleared)",
          result(a)[:2] == (None, 5003) and server_name(a) is None, (result(a), server_name(a)))
    a = ask(s, lir(b"sip:nobody@ims.test", 15))
    check("LIR, unknown identity: Experimental 5001", result(a)[:2] == (None, 5001), result(a))
    s.close()
    sys.exit(1 if failures() else 0)


if __name__ == "__main__":
    main()

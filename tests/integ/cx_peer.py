"""What the Cx peer scripts (cx_lir.py, cx_pending.py) share: request
builders for SAR/UAR/LIR, reading answers, and counting checks. The message
and AVP codecs are dia_badinput.py's."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dia_badinput import V3GPP, avp, avps, msg, read_msg, u32, vsai  # noqa: E402

APP_CX = 16777216
_fails = [0]


def common(peer, hbh):
    """Session-Id, VSAI, Auth-Session-State, Origin-Host/Realm, Destination-Realm."""
    return [avp(263, b"%s;1;%d" % (peer, hbh)), vsai(), u32(277, 1),
            avp(264, peer), avp(296, b"ims.test"), avp(283, b"ims.test")]


def sar(peer, scscf, impi, sat, hbh):
    return msg(0xc0, 301, APP_CX, hbh, common(peer, hbh) + [
        avp(1, impi), avp(601, b"sip:" + impi, vendor=V3GPP), avp(602, scscf, vendor=V3GPP),
        u32(614, sat, vendor=V3GPP), u32(624, 0, vendor=V3GPP)])


def server_name(m):
    """The answer's Server-Name, or None."""
    names = [d for c, v, d in avps(m[20:]) if c == 602 and v == V3GPP]
    return names[0] if names else None


def check(what, cond, got):
    if cond:
        print("ok   %s" % what)
    else:
        _fails[0] += 1
        print("FAIL %s: got %s" % (what, got))


def failures():
    return _fails[0]


def ask(s, m):
    """Sends m, returns the answer; a closed connection ends the script."""
    s.sendall(m)
    a = read_msg(s)
    if a is None:
        raise SystemExit("FAIL no answer (connection closed)")
    return a

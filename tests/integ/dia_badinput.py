#!/usr/bin/env python3
"""Hostile Diameter peers against a running `akavs serve --diameter-listen`.

Each case opens its own TCP connection and checks the server's exact
reaction (RFC 6733 §3, §4, §5, §7): an answer with the right Result-Code
(and Failed-AVP), or a closed connection when framing is lost. At the end
a well-behaved peer must still get vectors, proving no case harmed the
server. Used by tests/integ/dia_badinput.sh; prints 'N passed, M failed'.

usage: dia_badinput.py HOST PORT IMPI IMPU
"""
import socket
import struct
import sys
import time

V3GPP = 10415
M, V = 0x40, 0x80


def avp(code, data, flags=M, vendor=0):
    if vendor:
        flags |= V
    hl = 12 if vendor else 8
    b = struct.pack(">I", code) + bytes([flags]) + struct.pack(">I", hl + len(data))[1:]
    if vendor:
        b += struct.pack(">I", vendor)
    b += data
    return b + b"\0" * (-len(b) % 4)


def u32(code, v, flags=M, vendor=0):
    return avp(code, struct.pack(">I", v), flags, vendor)


def msg(flags, cmd, app, hbh, avps, length=None, version=1):
    body = b"".join(avps)
    n = 20 + len(body) if length is None else length
    return bytes([version]) + struct.pack(">I", n)[1:] + bytes([flags]) + \
        struct.pack(">I", cmd)[1:] + struct.pack(">III", app, hbh, hbh ^ 0x5a5a) + body


def vsai():
    return avp(260, u32(266, V3GPP) + u32(258, 16777216))


def cer(hbh=1, host=b"bad.peer.test"):
    return msg(0x80, 257, 0, hbh, [avp(264, host), avp(296, b"ims.test"),
                                   avp(257, b"\x00\x01\x7f\x00\x00\x01"), u32(266, V3GPP),
                                   avp(269, b"badinput", flags=0), vsai(),
                                   u32(265, V3GPP)])


def mar(impi, impu, hbh=2, extra_item=b"", extra=()):
    return msg(0xc0, 303, 16777216, hbh, [
        avp(263, b"bad.peer.test;1;%d" % hbh), avp(264, b"bad.peer.test"), avp(296, b"ims.test"),
        avp(283, b"ims.test"), vsai(), u32(277, 1), avp(601, impu, vendor=V3GPP),
        avp(1, impi), u32(607, 1, vendor=V3GPP),
        avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP) + extra_item, vendor=V3GPP),
        avp(602, b"sip:scscf.ims.test", vendor=V3GPP)] + list(extra))


def read_msg(s, timeout=5.0):
    """One Diameter message, or None when the peer closed the connection."""
    s.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 4:
            d = s.recv(4 - len(buf))
            if not d:
                return None
            buf += d
        n = int.from_bytes(buf[1:4], "big")
        while len(buf) < n:
            d = s.recv(n - len(buf))
            if not d:
                return None
            buf += d
    except ConnectionResetError:
        return None
    return buf


def avps(body):
    out = []
    while len(body) >= 8:
        code, fl, ln = struct.unpack(">IB", body[:5]) + (int.from_bytes(body[5:8], "big"),)
        hl = 12 if fl & V else 8
        vendor = struct.unpack(">I", body[8:12])[0] if fl & V else 0
        out.append((code, vendor, body[hl:ln]))
        body = body[(ln + 3) & ~3:]
    return out


def result(m):
    """(Result-Code or None, Experimental-Result-Code or None, Failed-AVP inner code)."""
    rc = exp = failed = None
    for code, vendor, data in avps(m[20:]):
        if code == 268 and not vendor:
            rc = struct.unpack(">I", data)[0]
        elif code == 297:
            for c2, _, d2 in avps(data):
                if c2 == 298:
                    exp = struct.unpack(">I", d2)[0]
        elif code == 279:
            inner = avps(data)
            failed = inner[0][0] if inner else None
    return rc, exp, failed


def closed(s, timeout=5.0):
    return read_msg(s, timeout) is None


class Suite:
    def __init__(self, host, port, impi, impu):
        self.addr = (host, port)
        self.impi, self.impu = impi, impu
        self.ok = self.bad = 0

    def conn(self, open_peer=True):
        s = socket.create_connection(self.addr, timeout=5)
        if open_peer:
            s.sendall(cer())
            m = read_msg(s)
            assert m and result(m)[0] == 2001, "CEA not 2001"
        return s

    def case(self, name, fn):
        try:
            fn()
            self.ok += 1
            print("ok   %s" % name)
        except Exception as e:  # noqa: BLE001 - report every failure
            self.bad += 1
            print("FAIL %s: %r" % (name, e))

    def expect(self, req, rc=None, exp=None, failed=None, open_peer=True, then_closed=False):
        s = self.conn(open_peer)
        s.sendall(req)
        m = read_msg(s)
        assert m is not None, "connection closed, wanted an answer"
        got = result(m)
        assert got[0] == rc and got[1] == exp, "got %r want rc=%r exp=%r" % (got, rc, exp)
        if failed is not None:
            assert got[2] == failed, "Failed-AVP %r want %r" % (got[2], failed)
        if rc is not None and 3000 <= rc < 4000:
            assert m[4] & 0x20, "3xxx answer without E bit"
        if then_closed:
            assert closed(s), "connection left open"
        s.close()

    def expect_close(self, data, open_peer=True):
        s = self.conn(open_peer)
        s.sendall(data)
        assert closed(s), "connection not closed"
        s.close()

    def run(self):
        i, u = self.impi, self.impu
        self.case("bad version closes", lambda: self.expect_close(
            msg(0x80, 280, 0, 9, [avp(264, b"x")], version=2)))
        self.case("length < 20 closes", lambda: self.expect_close(
            msg(0x80, 280, 0, 9, [], length=12)))
        self.case("length not multiple of 4 closes", lambda: self.expect_close(
            msg(0x80, 280, 0, 9, [avp(264, b"x")], length=30)))
        self.case("16 MiB length closes without reading it", lambda: self.expect_close(
            msg(0x80, 280, 0, 9, [], length=0xfffffc)))
        self.case("MAR before CER: 3010 then close", lambda: self.expect(
            mar(i, u), rc=3010, open_peer=False, then_closed=True))
        self.case("garbage before CER closes", lambda: self.expect_close(
            b"GET / HTTP/1.1\r\n\r\n", open_peer=False))
        self.case("CER without Cx: 5010 then close", lambda: self.expect(
            msg(0x80, 257, 0, 3, [avp(264, b"p.test"), avp(296, b"ims.test"),
                                  avp(257, b"\x00\x01\x7f\x00\x00\x01"), u32(266, 0),
                                  avp(269, b"x", flags=0), u32(258, 4)]),
            rc=5010, open_peer=False, then_closed=True))
        self.case("reserved header bits: 3008", lambda: self.expect(
            msg(0x81, 280, 0, 9, [avp(264, b"p.test"), avp(296, b"ims.test")]), rc=3008))
        self.case("E bit in a request: 3008", lambda: self.expect(
            msg(0xa0, 280, 0, 9, [avp(264, b"p.test"), avp(296, b"ims.test")]), rc=3008))
        self.case("reserved AVP bits: 3009", lambda: self.expect(
            msg(0x80, 280, 0, 9, [avp(264, b"p.test", flags=0x41)]), rc=3009, failed=264))
        self.case("AVP length 0 (loop bait): 5014", lambda: self.expect(
            msg(0x80, 280, 0, 9, [avp(264, b"p.test"), b"\x00\x00\x01\x28\x40\x00\x00\x00"]),
            rc=5014, failed=296))
        self.case("AVP length past the end: 5014", lambda: self.expect(
            msg(0x80, 280, 0, 9, [avp(264, b"p.test"), b"\x00\x00\x01\x28\x40\x00\x10\x00"]),
            rc=5014, failed=296))
        self.case("grouped member loops past the group: 5014", lambda: self.expect(
            mar(i, u, extra=[b"\x00\x00\x01\x04\x40\x00\x00\x14\x00\x00\x01\x0a\x40\x00\x00\x40"
                             b"\x00\x00\x28\xaf"]), rc=5014, failed=266))
        self.case("trailing bytes: 5015", lambda: self.expect(
            msg(0x80, 280, 0, 9, [avp(264, b"p.test"), b"\x00\x00\x01\x28"]), rc=5015))
        self.case("Unsigned32 of 5 bytes: 5014", lambda: self.expect(
            mar(i, u, extra=[avp(278, b"\x01\x02\x03\x04\x05")]), rc=5014, failed=278))
        self.case("unknown AVP with M: 5001", lambda: self.expect(
            mar(i, u, extra=[avp(99999, b"zz")]), rc=5001, failed=99999))
        self.case("unknown AVP without M is ignored", lambda: self.expect(
            mar(i, u, extra=[avp(99999, b"zz", flags=0)]), rc=2001))
        self.case("bad UTF-8 User-Name: 5004", lambda: self.expect(
            mar(b"\xc0\xafx", u), rc=5004, failed=1))
        self.case("MAR missing Server-Name: 5005", lambda: self.expect(
            msg(0xc0, 303, 16777216, 5, [
                avp(263, b"b;1;1"), avp(264, b"bad.peer.test"), avp(296, b"ims.test"),
                avp(283, b"ims.test"), vsai(), u32(277, 1), avp(601, u, vendor=V3GPP),
                avp(1, i), u32(607, 1, vendor=V3GPP),
                avp(612, avp(608, b"Digest-AKAv1-MD5", vendor=V3GPP), vendor=V3GPP)]),
            rc=5005, failed=602))
        self.case("unknown user: Experimental 5001", lambda: self.expect(
            mar(b"nobody@ims.test", b"sip:nobody@ims.test"), exp=5001))
        self.case("wrong IMPU: Experimental 5002", lambda: self.expect(
            mar(i, b"sip:other@ims.test"), exp=5002))
        self.case("bad resync MAC-S: 5012", lambda: self.expect(
            mar(i, u, extra_item=avp(610, bytes(30), vendor=V3GPP)), rc=5012))
        self.case("slow peer: CER one byte at a time", self.slow_cer)
        self.case("pipelined MARs answered, ids echoed", self.pipelined)
        self.case("silent peer closed before CER", self.silent)
        self.case("server still serves a good peer", lambda: self.expect(mar(i, u), rc=2001))
        self.case("SAR, then UAR and LIR (IMPU only) find the S-CSCF", self.registration)
        print("%d passed, %d failed" % (self.ok, self.bad))
        return self.bad == 0

    def cx(self, cmd, hbh, avps):
        return msg(0xc0, cmd, 16777216, hbh, [
            avp(263, b"bad.peer.test;2;%d" % hbh), vsai(), u32(277, 1),
            avp(264, b"bad.peer.test"), avp(296, b"ims.test"), avp(283, b"ims.test")] + avps)

    def registration(self):
        i, u, name = self.impi, self.impu, b"sip:scscf.ims.test:6060"
        s = self.conn()
        s.sendall(self.cx(301, 50, [avp(1, i), avp(601, u, vendor=V3GPP),
                                    avp(602, name, vendor=V3GPP), u32(614, 1, vendor=V3GPP),
                                    u32(624, 0, vendor=V3GPP)]))
        m = read_msg(s)
        assert m and result(m)[0] == 2001, result(m)
        assert any(c == 606 for c, _, _ in avps(m[20:])), "SAA without User-Data"
        s.sendall(self.cx(300, 51, [avp(1, i), avp(601, u, vendor=V3GPP)]))
        m = read_msg(s)
        assert m and result(m)[1] == 2002, result(m)
        s.sendall(self.cx(302, 52, [avp(601, u, vendor=V3GPP)]))
        m = read_msg(s)
        assert m and result(m)[0] == 2001, result(m)
        assert (602, V3GPP, name) in avps(m[20:]), "LIA without the Server-Name"
        s.close()

    def slow_cer(self):
        s = socket.create_connection(self.addr, timeout=5)
        for b in cer(hbh=77):
            s.sendall(bytes([b]))
            time.sleep(0.01)
        m = read_msg(s)
        assert m and result(m)[0] == 2001 and m[12:16] == struct.pack(">I", 77)
        s.close()

    def pipelined(self):
        s = self.conn()
        s.sendall(b"".join(mar(self.impi, self.impu, hbh=1000 + k) for k in range(20)))
        seen = set()
        for _ in range(20):
            m = read_msg(s)
            assert m and result(m)[0] == 2001
            seen.add(struct.unpack(">I", m[12:16])[0])
        assert seen == set(range(1000, 1020)), seen
        s.close()

    def silent(self):
        # AKV_DIA_CER_TIMEOUT_S (10) on_idle ticks of about a second each.
        s = socket.create_connection(self.addr, timeout=5)
        t0 = time.monotonic()
        assert read_msg(s, timeout=25) is None, "unexpected message"
        took = time.monotonic() - t0
        assert took < 25, "not closed within 25 s"
        s.close()


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    ok = Suite(sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()).run()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

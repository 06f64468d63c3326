#!/usr/bin/env python3
"""TLS peers for tests/integ/tls.sh (docs/TLS.md), with Python's ssl module.

CERTS is the test's directory with ca.pem, client.pem/.key (signed by ca).

  tls_peer.py hostile PORT CERTS    a keeper TLS client stays connected; after
                                    each hostile peer it must still be served:
                                    a plain-text AVS/1 PING, garbage bytes, a
                                    truncated TLS record then EOF, a tampered
                                    record after a good handshake; each of
                                    those is closed by the server
  tls_peer.py stall PORT CERTS MS   a client sends half a ClientHello and
                                    stalls: closed after about MS, while a
                                    keeper is served the whole time
  tls_peer.py pipeline PORT CERTS N N PINGs of 1-4 KiB written at once over
                                    TLS while reading (MBs each way: many
                                    records, the server's read bound and
                                    backpressure): every answer, in order
                                    of ids, payload intact
  tls_peer.py dia PORT CERTS        Diameter over TLS from the start (RFC 6733
                                    §13): CER/CEA 2001, DWR/DWA 2001; then a
                                    plain-text CER to the same port is closed

Every socket has a timeout; exit status 0 = all checks passed, 1 = failure.
"""
import os
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import badinput  # noqa: E402
from badinput import HDR, OP_PING, check, connect as tcp, frame, read_answer  # noqa: E402
from dia_badinput import avp, cer, msg, read_msg, result  # noqa: E402


def ping_frame(rid, data=b""):
    return frame(OP_PING, rid, data)


def client_ctx(certs, with_cert=True):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=f"{certs}/ca.pem")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if with_cert:
        ctx.load_cert_chain(f"{certs}/client.pem", f"{certs}/client.key")
    return ctx


def closed(s, timeout=5.0):
    """True when the server closes s (EOF, reset or a TLS alert) in time."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionError, ssl.SSLError, OSError) as e:
        return not isinstance(e, socket.timeout)


class Keeper:
    """A good TLS client that must be served throughout."""

    def __init__(self, port, certs):
        self.s = client_ctx(certs).wrap_socket(tcp(port), server_hostname="localhost")
        self.rid = 0

    def ping(self):
        self.rid += 1
        data = b"keeper%d" % self.rid
        try:
            self.s.sendall(ping_frame(self.rid, data))
            a = read_answer(self.s)
            if a is None:
                raise ConnectionError("closed")
            op, _, rid, body = a
            return rid == self.rid and op & 0x7F == OP_PING and body.endswith(data)
        except (OSError, ssl.SSLError, ValueError) as e:
            print(f"keeper: {e!r}", flush=True)
            return False


def tampered(port, certs):
    """A good handshake over memory BIOs, then a record with a flipped tag byte."""
    s, inc, out, obj = handshake_bio(port, certs)
    obj.write(ping_frame(1))
    rec = bytearray(out.read())
    rec[-1] ^= 0x01  # the AEAD tag: the record no longer authenticates
    s.sendall(bytes(rec))
    return closed(s), "tampered record"


def handshake_bio(port, certs):
    """A raw socket and an SSLObject over memory BIOs, handshake done."""
    s = tcp(port)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx(certs).wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            s.sendall(out.read())
            d = s.recv(65536)
            if not d:
                raise ConnectionError("closed during the handshake")
            inc.write(d)
    s.sendall(out.read())  # the client's Finished
    return s, inc, out, obj


def pipeline(port, certs, n):
    s, inc, out, obj = handshake_bio(port, certs)
    payloads = [os.urandom(1024 + (i * 37) % 3072) for i in range(n)]
    for i, p in enumerate(payloads):
        obj.write(ping_frame(i + 1, p))
    wire = out.read()
    sent, plain, got, bad = 0, b"", 0, 0
    s.setblocking(False)
    deadline = time.monotonic() + 60
    while got < n and time.monotonic() < deadline:
        r, w, _ = select.select([s], [s] if sent < len(wire) else [], [], 1.0)
        if w:
            try:
                sent += s.send(wire[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            d = s.recv(262144)
            if not d:
                break
            inc.write(d)
            while True:
                try:
                    plain += obj.read(262144)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
            while len(plain) >= HDR.size:
                ln, _, op, _, _, rid = HDR.unpack(plain[:HDR.size])
                if len(plain) < ln:
                    break
                body, plain = plain[HDR.size:ln], plain[ln:]
                got += 1
                if rid != got or op & 0x7F != OP_PING or body != payloads[rid - 1]:
                    bad += 1
    check(got == n and bad == 0, f"pipeline over TLS: {got}/{n} answers, {bad} wrong, "
          f"{len(wire)} bytes of records sent")
    s.close()


def hostile(port, certs):
    k = Keeper(port, certs)
    check(k.ping(), "keeper served over TLS")

    s = tcp(port)
    s.sendall(ping_frame(7, b"plain"))
    check(closed(s), "plain-text AVS/1 PING to the TLS port: connection closed")
    check(k.ping(), "keeper served after the plain-text client")

    s = tcp(port)
    s.sendall(os.urandom(4096))
    check(closed(s), "4 KiB of garbage: connection closed")
    check(k.ping(), "keeper served after the garbage")

    # a handshake record header announcing 200 bytes, 10 sent, then EOF
    s = tcp(port)
    s.sendall(bytes([0x16, 0x03, 0x01, 0x00, 0xC8]) + os.urandom(10))
    s.shutdown(socket.SHUT_WR)
    check(closed(s), "truncated TLS record then EOF: connection closed")
    # an oversized record length (RFC 8446 §5.1: at most 2^14 + 256)
    s = tcp(port)
    s.sendall(bytes([0x16, 0x03, 0x01, 0xFF, 0xFF]) + os.urandom(64))
    check(closed(s), "record length 65535: connection closed")
    check(k.ping(), "keeper served after the truncated records")

    ok, what = tampered(port, certs)
    check(ok, f"{what}: connection closed")
    check(k.ping(), "keeper served after the tampered record")

    # a client that offers no certificate while the server requires one
    try:
        s = client_ctx(certs, with_cert=False).wrap_socket(tcp(port), server_hostname="localhost")
        s.sendall(ping_frame(9))
        refused = closed(s)
    except (ssl.SSLError, OSError):
        refused = True
    check(refused, "TLS client without a certificate: refused")
    check(k.ping(), "keeper served at the end")


def stall(port, certs, bound_ms):
    k = Keeper(port, certs)
    # the first bytes of a real ClientHello, then nothing
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx(certs).wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    s = tcp(port)
    s.sendall(hello[: len(hello) // 2])
    t0 = time.monotonic()
    s.settimeout(0.2)
    served, gone = 0, None
    while time.monotonic() - t0 < bound_ms / 1000 + 5:
        if k.ping():
            served += 1
        try:
            d = s.recv(4096)
            if not d:
                gone = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except OSError:
            gone = time.monotonic() - t0
            break
    check(gone is not None, f"stalled handshake closed (after {gone and round(gone, 2)} s, "
          f"bound {bound_ms} ms)")
    # the close comes from the handshake bound, not from something earlier
    check(gone is None or gone >= bound_ms / 1000 * 0.5, "not closed before the bound")
    check(served > 0 and k.ping(), f"keeper served while the other stalled ({served} pings)")


def dia(port, certs):
    s = client_ctx(certs).wrap_socket(tcp(port), server_hostname="localhost")
    s.sendall(cer(1, b"scscf.tls.test"))
    m = read_msg(s)
    check(m is not None and result(m)[0] == 2001, "Diameter/TLS: CER -> CEA 2001")
    s.sendall(msg(0x80, 280, 0, 2, [avp(264, b"scscf.tls.test"), avp(296, b"ims.test")]))
    m = read_msg(s)
    check(m is not None and result(m)[0] == 2001, "Diameter/TLS: DWR -> DWA 2001")
    p = tcp(port)
    p.sendall(cer(1, b"plain.peer.test"))
    check(read_msg(p) is None, "plain-text CER to the Diameter/TLS port: closed, no CEA")


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, port, certs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "hostile":
        hostile(port, certs)
    elif mode == "stall":
        stall(port, certs, int(sys.argv[4]))
    elif mode == "pipeline":
        pipeline(port, certs, int(sys.argv[4]))
    elif mode == "dia":
        dia(port, certs)
    else:
        print(__doc__)
        return 2
    return 1 if badinput.failures else 0


if __name__ == "__main__":
    sys.exit(main())

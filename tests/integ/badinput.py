#!/usr/bin/env python3
"""Raw-socket AVS/1 helper for tests/integ/server_*.sh (docs/PROTOCOL.md).

  badinput.py bad PORT IMPI          hostile input suite; a keeper connection
                                     must be served between and after phases
  badinput.py pipeline PORT IMPI N [--signal PID]
                                     N CHALLENGEs in one write; with --signal,
                                     SIGTERM PID after the first answer; checks
                                     all N answered, then EOF
  badinput.py load PORT IMPI OUT     VECTORS n=4 in a loop, one line
                                     'RAND AUTN' per vector appended to OUT,
                                     until the connection dies (kill -9 test)
  badinput.py flood PORT IMPI PID   a client that sends without reading its
                                     answers: the server stops reading it,
                                     its RSS stays bounded, a keeper is
                                     served, and every request is answered
                                     once the client reads
  badinput.py limit PORT MAX         MAX conns are served, one more is refused
                                     (closed), and after they go a new one works

Every socket has a timeout; exit status 0 = all checks passed, 1 = failure.
"""
import os
import signal
import socket
import struct
import sys
import time

HDR = struct.Struct(">IBBBBQ")
OP_CHALLENGE, OP_VECTORS, OP_PING = 1, 4, 5
TIMEOUT = 10.0
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def frame(op, rid, body=b"", flags=0, version=1, length=None):
    n = HDR.size + len(body) if length is None else length
    return HDR.pack(n, version, op, flags, 0, rid) + body


def ident(impi, n=1):
    b = impi.encode()
    return bytes([n, 0, 0xFF, len(b), 0, 0]) + b


def connect(port, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_answer(s):
    """One answer frame as (op, flags, id, body), or None at EOF."""
    h = recv_exact(s, HDR.size)
    if h is None:
        return None
    length, ver, op, flags, _, rid = HDR.unpack(h)
    if length < HDR.size or length > 65536 or ver != 1:
        raise ValueError("malformed answer header")
    body = recv_exact(s, length - HDR.size)
    if body is None:
        return None
    return op, flags, rid, body


def is_eof(s, wait=5.0):
    """True when the peer closed (EOF or reset) within `wait` seconds."""
    s.settimeout(wait)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Keeper:
    """A well-behaved client that must keep being served throughout."""

    def __init__(self, port, impi):
        self.s = connect(port)
        self.impi = impi
        self.rid = 1000

    def served(self):
        self.rid += 1
        try:
            self.s.sendall(frame(OP_PING, self.rid, b"keepalive") +
                           frame(OP_CHALLENGE, self.rid + 1, ident(self.impi)))
            got = {}
            for _ in range(2):
                a = read_answer(self.s)
                if a is None:
                    return False
                got[a[2]] = a
            self.rid += 1
            ping, chal = got.get(self.rid - 1), got.get(self.rid)
            return (ping is not None and ping[3] == b"keepalive" and chal is not None and
                    chal[0] == (OP_CHALLENGE | 0x80) and chal[1] == 0 and chal[3][0] == 1)
        except (OSError, ValueError):
            return False


def expect_error_answer(s, rid, code, what):
    try:
        a = read_answer(s)
    except (OSError, ValueError):
        a = None
    ok = (a is not None and a[2] == rid and a[1] & 0x80 and
          struct.unpack(">I", a[3][:4])[0] == code)
    check(ok, what)


def cmd_bad(port, impi):
    keeper = Keeper(port, impi)
    check(keeper.served(), "keeper served before the hostile input")

    # garbage: random bytes whose first word is a huge length -> closed
    s = connect(port)
    s.sendall(b"\xff\xfe" + os.urandom(4000))
    check(is_eof(s), "garbage (length 0xfffe....) -> connection closed")
    s.close()

    # length below the header and above the maximum -> closed, no answer
    for length, what in ((3, "length 3"), (15, "length 15"), (65537, "length 65537"),
                         (0x7FFFFFFF, "length 2^31-1"), (0xFFFFFFFF, "length 2^32-1")):
        s = connect(port)
        s.sendall(struct.pack(">I", length) + b"\x01\x05\x00\x00" + bytes(8))
        check(is_eof(s), f"{what} -> connection closed")
        s.close()

    # well framed but wrong inside: error answer, connection kept
    s = connect(port)
    s.sendall(frame(OP_PING, 1, version=2))
    expect_error_answer(s, 1, 10011, "version 2 -> error 10011, conn kept")
    s.sendall(frame(0x42, 2))
    expect_error_answer(s, 2, 10013, "unknown opcode -> error 10013, conn kept")
    s.sendall(frame(OP_CHALLENGE, 3, ident(impi)[:-3]))
    expect_error_answer(s, 3, 10011, "IMPI overrunning the frame -> error 10011")
    s.sendall(frame(OP_CHALLENGE, 4, ident(impi, n=0)))
    expect_error_answer(s, 4, 10027, "n = 0 -> error 10027")
    s.sendall(frame(OP_PING, 5, b"x" * 5000))
    expect_error_answer(s, 5, 10012, "PING of 5000 bytes -> error 10012")
    s.sendall(frame(OP_PING, 6, b"still here"))
    a = read_answer(s)
    check(a is not None and a[3] == b"still here", "same conn still answers PING")
    s.close()

    # truncated frames: header promises more, client hangs up -> no crash
    for cut in (1, 4, 10, 16, 30):
        s = connect(port)
        s.sendall(frame(OP_CHALLENGE, 7, ident(impi))[:cut])
        s.close()
    # a big frame that never completes, then EOF
    s = connect(port)
    s.sendall(struct.pack(">I", 60000) + b"\x01\x05\x00\x00" + bytes(8) + bytes(30000))
    s.close()
    check(keeper.served(), "keeper served after garbage/huge/truncated frames")

    # slow sender: a valid CHALLENGE one byte at a time, plus a frame split
    # across a PING pipelined behind it -> both answered
    s = connect(port)
    data = frame(OP_CHALLENGE, 8, ident(impi)) + frame(OP_PING, 9, b"after-slow")
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(0.01)
        if i == len(data) // 3:
            check(keeper.served(), "keeper served while a slow sender is mid-frame")
    got = {}
    for _ in range(2):
        a = read_answer(s)
        if a is None:
            break
        got[a[2]] = a
    check(8 in got and got[8][1] == 0 and 9 in got and got[9][3] == b"after-slow",
          "slow sender (1 byte / 10 ms): CHALLENGE and PING answered")
    s.close()

    # 1000 connections opened and dropped (half of them mid-frame, some with RST)
    t0 = time.time()
    opened = 0
    for batch in range(10):
        socks = []
        for i in range(100):
            try:
                c = connect(port, timeout=5)
            except OSError:
                continue
            opened += 1
            if i % 2:
                c.sendall(frame(OP_CHALLENGE, i, ident(impi))[:20])
            if i % 5 == 0:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socks.append(c)
        for c in socks:
            c.close()
        if batch == 4:
            check(keeper.served(), "keeper served in the middle of 1000 conns churn")
    check(opened == 1000, f"1000 connections opened and dropped ({opened} in {time.time() - t0:.1f} s)")

    # answers pending while their conn is reset: keepers pipelining in other
    # threads must keep getting every answer (regression: a conn released with
    # answers queued cut the send list, and conns listed after it never sent)
    import threading
    stop = threading.Event()
    kept = {"rounds": 0, "ok": True}

    def keep_pinging(base):
        k = connect(port)
        rid = base
        while not stop.is_set() and kept["ok"]:
            k.sendall(b"".join(frame(OP_PING, rid + i, b"k") for i in range(8)))
            for _ in range(8):
                try:
                    if read_answer(k) is None:
                        kept["ok"] = False
                        break
                except (OSError, ValueError):
                    kept["ok"] = False
                    break
            rid += 8
            kept["rounds"] += 1
        k.close()

    keepers = [threading.Thread(target=keep_pinging, args=(50000 + 100000 * t,))
               for t in range(4)]
    for th in keepers:
        th.start()
    for batch in range(20):
        socks = []
        for i in range(50):
            try:
                c = connect(port, timeout=5)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                socks.append(c)
            except OSError:
                pass
        # a PING is answered at once (no worker): answers are queued, then
        # the resets arrive, many in the same batch of completions
        for c in socks:
            try:
                c.sendall(frame(OP_PING, batch, b"bye"))
            except OSError:
                pass
        for c in socks:
            c.close()
    stop.set()
    for th in keepers:
        th.join(30)
    # a keeper whose answers were lost from the send list waits out its
    # 10 s socket timeout (ok = False); how many rounds they managed is speed
    check(not any(th.is_alive() for th in keepers) and kept["ok"],
          f"1000 conns reset with answers pending; 4 pipelining keepers served "
          f"({kept['rounds']} rounds of 8 PINGs)")

    # many pipelined requests on one conn: all answered (ids unique)
    s = connect(port)
    n = 2000
    s.sendall(b"".join(frame(OP_CHALLENGE if i % 2 else OP_PING, 10000 + i,
                             ident(impi) if i % 2 else b"p") for i in range(n)))
    ids = set()
    for _ in range(n):
        a = read_answer(s)
        if a is None:
            break
        ids.add(a[2])
    check(len(ids) == n, f"{n} pipelined requests on one conn all answered ({len(ids)})")
    s.close()

    check(keeper.served(), "keeper served after everything")
    return failures


def cmd_pipeline(port, impi, n, sig_pid):
    s = connect(port)
    s.sendall(b"".join(frame(OP_CHALLENGE, i + 1, ident(impi)) for i in range(n)))
    ids = set()
    first = True
    while len(ids) < n:
        try:
            a = read_answer(s)
        except (OSError, ValueError):
            break
        if a is None:
            break
        if a[1] == 0:
            ids.add(a[2])
        if first and sig_pid:
            os.kill(sig_pid, signal.SIGTERM)
            first = False
    check(len(ids) == n, f"{len(ids)}/{n} pipelined challenges answered across SIGTERM")
    check(is_eof(s), "connection closed by the server after the drain")
    return failures


def cmd_load(port, impi, out):
    s = connect(port)
    rid = 0
    with open(out, "a") as f:
        try:
            while True:
                batch = b"".join(frame(OP_VECTORS, rid + i, ident(impi, 4)) for i in range(8))
                rid += 8
                s.sendall(batch)
                for _ in range(8):
                    a = read_answer(s)
                    if a is None:
                        return 0
                    body = a[3]
                    if a[1] & 0x80:
                        continue
                    p = 2
                    for _ in range(body[0]):
                        rand, autn = body[p:p + 16], body[p + 16:p + 32]
                        xl = body[p + 64]
                        p += 65 + xl
                        f.write(f"{rand.hex()} {autn.hex()}\n")
                    f.flush()
        except (OSError, ValueError):
            return 0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cmd_flood(port, impi, pid):
    keeper = Keeper(port, impi)
    check(keeper.served(), "keeper served before the flood")
    rss0 = rss_kib(pid)
    s = connect(port)
    s.setblocking(False)
    sent, pending, rid = 0, b"", 0
    stalled_since = None
    t_end = time.time() + 60
    while time.time() < t_end:
        if not pending:
            rid += 1
            pending = (frame(OP_CHALLENGE, rid, ident(impi)) if rid % 10 == 0
                       else frame(OP_PING, rid, b"f" * 1000))
        try:
            n = s.send(pending)
            pending = pending[n:]
            if not pending:
                sent += 1
            stalled_since = None
        except BlockingIOError:
            if stalled_since is None:
                stalled_since = time.time()
            elif time.time() - stalled_since > 2.0:
                break  # the server stopped reading us: TCP flow control holds the rest
            time.sleep(0.01)
    check(stalled_since is not None, f"server stopped reading a client that does not read "
          f"({sent} requests, {sent * 1.03 / 1024:.1f} MiB sent before TCP stalled)")
    rss1 = rss_kib(pid)
    check(rss1 - rss0 < 64 * 1024, f"server RSS bounded: {rss0} KiB -> {rss1} KiB")
    check(keeper.served(), "keeper served while the flooder is stalled")
    # now read: every request gets exactly one answer (the partly sent one last)
    s.setblocking(True)
    s.settimeout(TIMEOUT)
    ids = set()
    try:
        while len(ids) < sent:
            a = read_answer(s)
            if a is None:
                break
            ids.add(a[2])
        if pending:
            s.sendall(pending)
            sent += 1
            a = read_answer(s)
            if a is not None:
                ids.add(a[2])
    except (OSError, ValueError):
        pass
    check(len(ids) == sent, f"all {sent} flooded requests answered once read ({len(ids)})")
    s.close()
    check(keeper.served(), "keeper served after the flood")
    return failures


def cmd_limit(port, maxc):
    conns = []
    for i in range(maxc):
        c = connect(port)
        c.sendall(frame(OP_PING, i, b"hi"))
        a = read_answer(c)
        conns.append(c)
        check(a is not None and a[3] == b"hi", f"conn {i + 1}/{maxc} served")
    extra = connect(port)
    try:
        extra.sendall(frame(OP_PING, 99, b"hi"))
    except OSError:
        pass
    check(is_eof(extra), f"conn {maxc + 1} over the limit is closed")
    extra.close()
    for c in conns:
        c.close()
    ok = False
    for _ in range(50):  # the server notices the closes asynchronously
        try:
            c = connect(port)
            c.sendall(frame(OP_PING, 100, b"again"))
            a = read_answer(c)
            c.close()
            if a is not None and a[3] == b"again":
                ok = True
                break
        except OSError:
            pass
        time.sleep(0.1)
    check(ok, "after the clients left, a new conn is served")
    return failures


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    cmd, port = argv[1], int(argv[2])
    if cmd == "bad":
        return 1 if cmd_bad(port, argv[3]) else 0
    if cmd == "pipeline":
        pid = int(argv[6]) if len(argv) > 6 and argv[5] == "--signal" else 0
        return 1 if cmd_pipeline(port, argv[3], int(argv[4]), pid) else 0
    if cmd == "load":
        return cmd_load(port, argv[3], argv[4])
    if cmd == "flood":
        return 1 if cmd_flood(port, argv[3], int(argv[4])) else 0
    if cmd == "limit":
        return 1 if cmd_limit(port, int(argv[3])) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

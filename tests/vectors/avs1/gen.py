#!/usr/bin/env python3
"""Writes the AVS/1 golden frames (*.hex) from docs/PROTOCOL.md's byte layouts.

Written independently of server/proto/avs1.c: the C codec must decode these
and re-encode them byte for byte (tests/unit/test_avs1.c). Vector contents
are TS 35.208 test set 1 (RAND, AUTN, RES, CK, IK), published test data.

Regenerate: python3 tests/vectors/avs1/gen.py   (from the repo root)
Format: hex byte pairs, whitespace free, '#' starts a comment to end of line.
"""
import base64
import os
import struct

OUT = os.path.dirname(os.path.abspath(__file__))

RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
# AUTN = SQN^AK || AMF || MAC-A, SQN ff9bb4d0b607, AK aa689c648370, AMF b9b9
AUTN = bytes.fromhex("55f328b43577b9b94a9ffac354dfafb3")
RES = bytes.fromhex("a54211d5e3ba50bf")
CK = bytes.fromhex("b40ba9a3c58b2a05bbf0d987b21bf8cb")
IK = bytes.fromhex("f769bcd751044604127672711c6d3441")
AUTS = bytes.fromhex("0123456789abcdef0123456789ab")
IMPI = b"alice@ims.example.org"
IMPU = b"sip:alice@ims.example.org"
REALM = b"ims.example.org"

OPS = {1: "CHALLENGE", 2: "VERIFY", 3: "RESYNC", 4: "VECTORS", 5: "PING", 6: "STATS"}


class Frame:
    def __init__(self, op, flags, rid):
        self.op, self.flags, self.rid = op, flags, rid
        self.parts = []  # (comment, bytes)

    def add(self, comment, data):
        self.parts.append((comment, bytes(data)))
        return self

    def write(self, name, title):
        body_len = sum(len(b) for _, b in self.parts)
        total = 16 + body_len
        base = self.op & 0x7F
        kind = "answer" if self.op & 0x80 else "request"
        lines = [f"# {title}", f"# AVS/1 {OPS.get(base, 'op %d' % base)} {kind}, {total} bytes"]
        hdr = [("length (u32, whole frame)", struct.pack(">I", total)),
               ("version 1", b"\x01"),
               ("opcode" + (" | 0x80 (answer)" if self.op & 0x80 else ""), bytes([self.op])),
               ("flags", bytes([self.flags])),
               ("reserved", b"\x00"),
               ("request id (u64)", struct.pack(">Q", self.rid))]
        for comment, data in hdr + self.parts:
            hx = data.hex()
            chunks = [hx[i:i + 64] for i in range(0, len(hx), 64)] or [""]
            for i, c in enumerate(chunks):
                pairs = " ".join(c[j:j + 2] for j in range(0, len(c), 2))
                note = f"  # {comment}" if i == 0 else ""
                if pairs or note:
                    lines.append((pairs + note).strip() if pairs else f"# (empty) {comment}")
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(lines) + "\n")


def u8(v):
    return bytes([v])


def u16(v):
    return struct.pack(">H", v)


def ident(n, scheme, ind, impi, impu, realm):
    return [("n", u8(n)), ("scheme (0 any, 1 AKAv1-MD5, 2 AKAv2-MD5)", u8(scheme)),
            ("IND hint (0xff none)", u8(ind)), ("IMPI length", u8(len(impi))),
            ("IMPU length", u8(len(impu))), ("realm length", u8(len(realm)))]


def www(realm, alg, with_keys=True):
    nonce = base64.b64encode(RAND + AUTN).decode()
    s = f'Digest realm="{realm}", nonce="{nonce}", algorithm={alg}, qop="auth"'
    if with_keys:
        s += f', ck="{CK.hex()}", ik="{IK.hex()}"'
    return s.encode()


def main():
    # ---- requests ----
    f = Frame(0x01, 0x00, 1)
    for c, b in ident(1, 0, 0xFF, IMPI, b"", b""):
        f.add(c, b)
    f.add("IMPI", IMPI).write("challenge.req.hex", "CHALLENGE, one vector, no IMPU, no WWW")

    f = Frame(0x01, 0x01, 2)
    for c, b in ident(1, 1, 3, IMPI, IMPU, REALM):
        f.add(c, b)
    f.add("IMPI", IMPI).add("IMPU", IMPU).add("realm", REALM)
    f.write("challenge_www.req.hex", "CHALLENGE with IMPU, AKAv1-MD5, IND 3, flag WWW and realm")

    f = Frame(0x02, 0x00, 3)
    f.add("kind 0: RES", u8(0)).add("IMPI length", u8(len(IMPI))).add("RES length", u8(len(RES)))
    f.add("reserved", u8(0)).add("RAND", RAND).add("RES", RES).add("IMPI", IMPI)
    f.write("verify_res.req.hex", "VERIFY by RAND + RES")

    fields = [b"alice@ims.example.org", REALM, base64.b64encode(RAND + AUTN), b"sip:ims.example.org",
              b"REGISTER", b"auth", b"00000001", b"0a4f113b", b"6629fae49393a05397450978507c4ef1"]
    names = ["username", "realm", "nonce", "uri", "method", "qop", "nc", "cnonce", "response"]
    f = Frame(0x02, 0x00, 4)
    f.add("kind 1: Digest", u8(1)).add("IMPI length", u8(len(IMPI)))
    f.add("algorithm 1: AKAv1-MD5", u8(1)).add("reserved", u8(0))
    for n, v in zip(names, fields):
        f.add(f"{n} length (u16)", u16(len(v)))
    f.add("IMPI", IMPI)
    for n, v in zip(names, fields):
        f.add(n, v)
    f.write("verify_digest.req.hex", "VERIFY by Digest Authorization fields")

    f = Frame(0x03, 0x00, 5)
    for c, b in ident(1, 0, 0xFF, IMPI, b"", b""):
        f.add(c, b)
    f.add("RAND", RAND).add("AUTS", AUTS).add("IMPI", IMPI)
    f.write("resync.req.hex", "RESYNC with RAND and AUTS")

    f = Frame(0x04, 0x00, 6)
    for c, b in ident(2, 0, 0xFF, IMPI, b"", b""):
        f.add(c, b)
    f.add("IMPI", IMPI).write("vectors.req.hex", "VECTORS, n = 2")

    Frame(0x05, 0x00, 7).add("payload (echoed)", b"hello").write("ping.req.hex", "PING with payload")
    Frame(0x06, 0x00, 8).write("stats.req.hex", "STATS (no body)")

    # ---- answers ----
    def vec(f, www_text=None, xres=None):
        f.add("RAND", RAND).add("AUTN", AUTN).add("CK", CK).add("IK", IK)
        if www_text is not None:
            f.add("WWW-Authenticate length (u16)", u16(len(www_text))).add("WWW-Authenticate", www_text)
        if xres is not None:
            f.add("XRES length", u8(len(xres))).add("XRES", xres)

    f = Frame(0x81, 0x00, 1)
    f.add("vector count", u8(1)).add("scheme used", u8(1))
    vec(f)
    f.write("challenge.ans.hex", "CHALLENGE answer, one vector, AKAv1-MD5")

    f = Frame(0x81, 0x01, 2)
    f.add("vector count", u8(1)).add("scheme used", u8(1))
    vec(f, www(REALM.decode(), "AKAv1-MD5"))
    f.write("challenge_www.ans.hex", "CHALLENGE answer with WWW-Authenticate (ck, ik included)")

    f = Frame(0x82, 0x00, 3)
    f.add("verdict 0: OK", u8(0)).add("attempts left", u8(3)).add("CK", CK).add("IK", IK)
    f.write("verify_ok.ans.hex", "VERIFY answer OK with CK, IK")

    f = Frame(0x82, 0x00, 3)
    f.add("verdict 1: FAIL", u8(1)).add("attempts left", u8(2))
    f.write("verify_fail.ans.hex", "VERIFY answer FAIL, two attempts left")

    f = Frame(0x82, 0x00, 4)
    f.add("verdict 2: DEREGISTER", u8(2)).add("attempts left", u8(0))
    f.write("verify_dereg.ans.hex", "VERIFY answer DEREGISTER")

    f = Frame(0x83, 0x00, 5)
    f.add("vector count", u8(1)).add("scheme used", u8(1))
    vec(f)
    f.write("resync.ans.hex", "RESYNC answer (a fresh challenge)")

    f = Frame(0x84, 0x00, 6)
    f.add("vector count", u8(2)).add("scheme used", u8(1))
    vec(f, xres=RES)
    vec(f, xres=RES)
    f.write("vectors.ans.hex", "VECTORS answer, two quintets")

    Frame(0x85, 0x00, 7).add("payload", b"hello").write("ping.ans.hex", "PING answer")

    f = Frame(0x86, 0x00, 8).add("counter count (u16)", u16(2))
    for k, v in [(b"requests", 1234), (b"avs1.malformed", 5)]:
        f.add("key length", u8(len(k))).add("key", k).add("value (u64)", struct.pack(">Q", v))
    f.write("stats.ans.hex", "STATS answer, two counters")

    text = b"unknown user"
    f = Frame(0x81, 0x80, 9)
    f.add("code (u32): 10020 = -AKV_EUNKNOWN_USER", struct.pack(">I", 10020))
    f.add("text length", u8(len(text))).add("text", text)
    f.write("error_unknown_user.ans.hex", "error answer to a CHALLENGE: unknown user")


if __name__ == "__main__":
    main()

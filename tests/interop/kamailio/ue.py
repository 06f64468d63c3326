#!/usr/bin/env python3
"""A small IMS-AKA UE over UDP for tests/interop/kamailio.sh, for the cases
SIPp cannot play (REFERENCE.md §7.2): a UE with the wrong K, a USIM whose
SQN is ahead (resynchronisation with an AUTS it computes), and the check of
SIPp's zero-byte-RES quirk. Milenage comes from `akavs milenage` (the
reference backend), the digest from hashlib (RFC 2617 / RFC 3310).

usage:
  ue.py good   AKAVS HOST PORT IMPI IMPU K OP        -> REGISTER, 401, 200
  ue.py wrongk AKAVS HOST PORT IMPI IMPU K OP        -> answers with a wrong K: 403
  ue.py resync AKAVS HOST PORT IMPI IMPU K OP SQNMS  -> 401, auts, 401, 200
  ue.py resnul AKAVS K OP NONCE                      -> exit 0 if RES has a 0x00 byte
Exit status 0 when the expected outcome happened; the reason otherwise.
"""
import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time

REALM = "ims.test"


def milenage(akavs, k, op, rand, sqn, amf):
    out = subprocess.run([akavs, "milenage", "--k", k, "--op", op, "--rand", rand.hex(),
                          "--sqn", sqn.hex(), "--amf", amf.hex(), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return {key: bytes.fromhex(v) for key, v in json.loads(out).items()}


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def md5hex(s):
    return hashlib.md5(s).hexdigest()


def digest(user, nonce, uri, password, nc, cnonce):
    ha1 = md5hex(user.encode() + b":" + REALM.encode() + b":" + password)
    ha2 = md5hex(b"REGISTER:" + uri.encode())
    return md5hex("{}:{}:{}:{}:auth:{}".format(ha1, nonce, nc, cnonce, ha2).encode())


class UE:
    def __init__(self, host, port, impi, impu):
        self.srv = (host, int(port))
        self.impi, self.impu = impi, impu
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.lport = self.sock.getsockname()[1]
        self.call_id = "%x@127.0.0.1" % random.getrandbits(64)
        self.tag = "%x" % random.getrandbits(32)
        self.cseq = 0
        self.uri = "sip:" + REALM

    def register(self, auth):
        self.cseq += 1
        branch = "z9hG4bK%x" % random.getrandbits(48)
        msg = ("REGISTER {uri} SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:{lp};branch={br};rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <{impu}>;tag={tag}\r\n"
               "To: <{impu}>\r\n"
               "Call-ID: {cid}\r\n"
               "CSeq: {cseq} REGISTER\r\n"
               "Contact: <sip:ue@127.0.0.1:{lp}>;expires=600\r\n"
               "Expires: 600\r\n"
               "Authorization: {auth}\r\n"
               "Content-Length: 0\r\n\r\n").format(
                   uri=self.uri, lp=self.lport, br=branch, impu=self.impu, tag=self.tag,
                   cid=self.call_id, cseq=self.cseq, auth=auth)
        self.sock.sendto(msg.encode(), self.srv)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data, _ = self.sock.recvfrom(65535)
            text = data.decode(errors="replace")
            status = int(text.split(" ", 2)[1])
            if status >= 200 and ("CSeq: %d " % self.cseq) in text:
                return status, text
        raise TimeoutError("no final answer")

    def empty_auth(self):
        return ('Digest username="{u}", realm="{r}", nonce="", uri="{uri}", response=""'
                .format(u=self.impi, r=REALM, uri=self.uri))

    def auth(self, nonce, password, auts=None):
        cnonce = "%08x" % random.getrandbits(32)
        nc = "00000001"
        h = ('Digest username="{u}", realm="{r}", nonce="{n}", uri="{uri}", '
             'response="{resp}", algorithm=AKAv1-MD5, qop=auth, nc={nc}, cnonce="{cn}"'
             .format(u=self.impi, r=REALM, n=nonce, uri=self.uri,
                     resp=digest(self.impi, nonce, self.uri, password, nc, cnonce),
                     nc=nc, cn=cnonce))
        if auts is not None:
            h += ', auts="%s"' % base64.b64encode(auts).decode()
        return h


def challenge(text):
    for line in text.split("\r\n"):
        if line.lower().startswith("www-authenticate:"):
            nonce = line.split('nonce="', 1)[1].split('"', 1)[0]
            raw = base64.b64decode(nonce)
            return nonce, raw[:16], raw[16:32], line
    raise ValueError("401 without WWW-Authenticate")


def ue_check(akavs, k, op, rand, autn):
    """USIM side of TS 33.102 §6.3.3: SQN from AUTN, MAC-A check, RES."""
    ak = milenage(akavs, k, op, rand, bytes(6), autn[6:8])["ak"]
    sqn = xor(autn[:6], ak)
    m = milenage(akavs, k, op, rand, sqn, autn[6:8])
    return int.from_bytes(sqn, "big"), m["mac_a"] == autn[8:16], m["res"]


def first_challenge(ue):
    status, text = ue.register(ue.empty_auth())
    if status != 401:
        raise SystemExit("expected 401, got %d" % status)
    if ' ck="' not in text and " ck=" not in text:
        # CK/IK reach the P-CSCF inside the 401 (REFERENCE §5.3)
        raise SystemExit("401 without ck=: " + challenge(text)[3])
    time.sleep(0.05)  # REFERENCE §7.1: ims_auth stores the vector after sending 401
    return challenge(text)


def cmd_good(akavs, host, port, impi, impu, k, op):
    ue = UE(host, port, impi, impu)
    nonce, rand, autn, _ = first_challenge(ue)
    _, mac_ok, res = ue_check(akavs, k, op, rand, autn)
    if not mac_ok:
        raise SystemExit("AUTN MAC-A does not verify with the subscriber's K")
    status, _ = ue.register(ue.auth(nonce, res))
    if status != 200:
        raise SystemExit("expected 200, got %d" % status)
    print("good: 401 then 200 OK for %s" % impi)


def cmd_wrongk(akavs, host, port, impi, impu, k, op):
    ue = UE(host, port, impi, impu)
    nonce, rand, autn, _ = first_challenge(ue)
    wrong = bytes(b ^ 0xff for b in bytes.fromhex(k)).hex()
    _, mac_ok, res = ue_check(akavs, wrong, op, rand, autn)
    if mac_ok:
        raise SystemExit("a wrong K verified the AUTN?")
    # A UE with the wrong K: its RES (f2 with that K) answers the challenge.
    status, _ = ue.register(ue.auth(nonce, res))
    if status != 403:
        raise SystemExit("expected 403, got %d" % status)
    print("wrongk: 401 then 403 for %s" % impi)


def cmd_resync(akavs, host, port, impi, impu, k, op, sqn_ms):
    sqn_ms = int(sqn_ms, 16)
    ue = UE(host, port, impi, impu)
    nonce, rand, autn, _ = first_challenge(ue)
    sqn, mac_ok, _ = ue_check(akavs, k, op, rand, autn)
    if not mac_ok or sqn > sqn_ms:
        raise SystemExit("test set-up: SQN %x not behind the USIM's %x" % (sqn, sqn_ms))
    # Sync failure: AUTS = (SQN_MS ^ f5*(RAND)) || f1*(SQN_MS, RAND, AMF=0000)
    ms = sqn_ms.to_bytes(6, "big")
    m = milenage(akavs, k, op, rand, ms, b"\0\0")
    auts = xor(ms, m["ak_s"]) + m["mac_s"]
    status, text = ue.register(ue.auth(nonce, b"", auts=auts))  # RFC 3310 §3.4: empty password
    if status != 401:
        raise SystemExit("expected a new 401 after auts, got %d" % status)
    time.sleep(0.05)
    nonce, rand, autn, _ = challenge(text)
    sqn, mac_ok, res = ue_check(akavs, k, op, rand, autn)
    if not mac_ok:
        raise SystemExit("new AUTN does not verify")
    if sqn <= sqn_ms:
        raise SystemExit("HSS did not resynchronise: SQN %x <= SQN_MS %x" % (sqn, sqn_ms))
    status, _ = ue.register(ue.auth(nonce, res))
    if status != 200:
        raise SystemExit("expected 200 after resync, got %d" % status)
    print("resync: 401, auts, 401 with SQN %x > %x, 200 OK" % (sqn, sqn_ms))


def cmd_resnul(akavs, k, op, nonce):
    raw = base64.b64decode(nonce)
    _, mac_ok, res = ue_check(akavs, k, op, raw[:16], raw[16:32])
    if mac_ok and 0 in res:
        print("RES %s has a 0x00 byte (SIPp strlen quirk)" % res.hex())
        return 0
    print("RES %s has no 0x00 byte (mac_ok=%s)" % (res.hex(), mac_ok))
    return 1


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmds = {"good": (cmd_good, 9), "wrongk": (cmd_wrongk, 9), "resync": (cmd_resync, 10),
            "resnul": (cmd_resnul, 6)}
    fn, n = cmds.get(argv[1], (None, 0))
    if not fn or len(argv) != n:
        print(__doc__)
        return 2
    return fn(*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/bin/bash
# `akavs client` against a real server: Digest VERIFY parsed from an
# Authorization-style string (RFC 3310 response computed here in Python from
# the reference RES), WWW-Authenticate (realm from the IMPI, --no-keys), text
# and JSON output of every command, and the exit statuses (0 ok, 1 error
# answer or non-OK verdict, 2 usage, 3 connection).
. "$(dirname "$0")/server_lib.bash"

provision 3 cli
start_server
IMPI=cli1@ims.test
C=("$AKAVS" client --connect "127.0.0.1:$PORT" --timeout 5000)

# digest_response USER REALM RES_HEX NONCE METHOD URI NC CNONCE QOP
# RFC 3310 §3.4 / RFC 2617 §3.2.2.1: AKAv1-MD5 password = RES octets
digest_response() {
	python3 - "$@" <<'PY'
import hashlib, sys
u, realm, res, nonce, method, uri, nc, cnonce, qop = sys.argv[1:]
md5 = lambda b: hashlib.md5(b).hexdigest()
ha1 = md5(u.encode() + b":" + realm.encode() + b":" + bytes.fromhex(res))
ha2 = md5(f"{method}:{uri}".encode())
print(md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode()))
PY
}

# ---- CHALLENGE with WWW-Authenticate, realm taken from the IMPI
out=$(cli challenge "$IMPI" --www '') || fail "challenge --www: $out"
www=$(jget "$out" 'j["vectors"][0]["www_authenticate"]')
RAND=$(jget "$out" 'j["vectors"][0]["rand"]')
CK=$(jget "$out" 'j["vectors"][0]["ck"]')
case "$www" in
Digest\ realm=\"ims.test\",\ nonce=\"*\",\ algorithm=AKAv1-MD5,\ qop=\"auth\",\ ck=\"$CK\",\ ik=\"*\")
	ok "WWW-Authenticate with realm from IMPI, ck/ik" ;;
*) fail "WWW-Authenticate: $www" ;;
esac
NONCE=$(python3 -c 'import re,sys; print(re.search(r"nonce=\"([^\"]+)\"", sys.argv[1]).group(1))' "$www")
exp=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1]+sys.argv[2])).decode())' \
	"$RAND" "$(jget "$out" 'j["vectors"][0]["autn"]')")
[ "$NONCE" = "$exp" ] && ok "nonce = base64(RAND||AUTN)" || fail "nonce $NONCE != $exp"

# ---- VERIFY by Digest: a wrong response first (FAIL, exit 1), then the right one
RES=$(res_of "$IMPI" "$RAND")
URI=sip:ims.test
good=$(digest_response "$IMPI" ims.test "$RES" "$NONCE" REGISTER "$URI" 00000001 0a4f113b auth)
bad=$(digest_response "$IMPI" ims.test "00$RES" "$NONCE" REGISTER "$URI" 00000001 0a4f113b auth)
auth() {
	echo "Digest username=\"$IMPI\", realm=\"ims.test\", nonce=\"$NONCE\", uri=\"$URI\", response=\"$1\", algorithm=AKAv1-MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\", opaque=\"x\""
}
out=$(cli verify "$IMPI" --method REGISTER --digest "$(auth "$bad")")
rc=$?
[ $rc = 1 ] && [ "$(jget "$out" 'j["verdict"]')" = FAIL ] && ok "digest wrong response -> FAIL, exit 1" ||
	fail "digest wrong: rc=$rc $out"
out=$(cli verify "$IMPI" --method REGISTER --digest "$(auth "$good")")
rc=$?
[ $rc = 0 ] && [ "$(jget "$out" 'j["verdict"]')" = OK ] && [ "$(jget "$out" 'j["ck"]')" = "$CK" ] &&
	ok "digest right response -> OK with the challenge's CK" || fail "digest right: rc=$rc $out"

# ---- --no-keys: the UE-facing form
out=$(cli challenge "$IMPI" --www ims.test --no-keys --scheme akav2) || fail "no-keys: $out"
www=$(jget "$out" 'j["vectors"][0]["www_authenticate"]')
case "$www" in
*algorithm=AKAv2-MD5*ck=*) fail "--no-keys still has ck: $www" ;;
*algorithm=AKAv2-MD5*) ok "--no-keys, AKAv2-MD5" ;;
*) fail "--no-keys: $www" ;;
esac

# ---- text output of every command
txt=$("${C[@]}" ping) && [[ $txt == PONG* ]] && ok "text ping" || fail "text ping: $txt"
txt=$("${C[@]}" stats) && grep -q '^avs1.malformed' <<<"$txt" && ok "text stats" ||
	fail "text stats: $txt"
txt=$("${C[@]}" challenge cli2@ims.test --n 2) && [ "$(grep -c '^  rand ' <<<"$txt")" = 2 ] &&
	! grep -q xres <<<"$txt" && ok "text challenge: 2 vectors, no XRES" || fail "text challenge: $txt"
txt=$("${C[@]}" vectors cli2@ims.test --n 3) && [ "$(grep -c '^  xres ' <<<"$txt")" = 3 ] &&
	ok "text vectors: 3 with XRES" || fail "text vectors: $txt"
out=$(cli vectors cli3@ims.test --n 4) &&
	[ "$(jget "$out" 'len(j["vectors"]) == 4 and all(len(v["xres"]) == 16 for v in j["vectors"])')" = True ] &&
	ok "json vectors: 4 with rand/autn/xres/ck/ik" || fail "json vectors: $out"

# ---- exit statuses
"${C[@]}" challenge nobody@ims.test >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q 'error 10020: unknown user' "$T/err" && ok "unknown user -> exit 1 + text" ||
	fail "unknown user: rc=$rc $(cat "$T/err")"
out=$(cli challenge nobody@ims.test)
[ "$(jget "$out" 'j["error"]["code"]')" = 10020 ] && ok "json error code" || fail "json error: $out"
for args in "frob" "challenge" "verify $IMPI --rand 00 --res 00" "vectors $IMPI --n 0" \
	"verify $IMPI --digest nonce=x" "challenge $IMPI --scheme md5" "ping extra"; do
	# shellcheck disable=SC2086
	"${C[@]}" $args >/dev/null 2>&1
	rc=$?
	[ $rc = 2 ] && ok "usage error -> 2: $args" || fail "usage '$args': rc=$rc"
done
"$AKAVS" client --connect 127.0.0.1:1 --timeout 2000 ping >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && ok "connection refused -> 3" || fail "refused: rc=$rc"
"$AKAVS" client --connect "::1:7430" ping >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok "malformed address -> 2" || fail "malformed address: rc=$rc"

stop_server TERM
finish

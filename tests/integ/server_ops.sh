#!/bin/bash
# Every AVS/1 operation against a real `akavs serve` on loopback: PING, STATS,
# CHALLENGE (vectors recomputed with `akavs milenage`), VERIFY with the right
# RES, three wrong answers -> DEREGISTER, RESYNC with a real AUTS computed
# from the subscriber's keys, VECTORS (checked, SQNs increasing), unknown
# user, and a subscriber provisioned while the server runs.
. "$(dirname "$0")/server_lib.bash"

provision 20
start_server
IMPI=user1@ims.test

# ---- PING / STATS
out=$(cli ping --data hello) || fail "ping"
[ "$(jget "$out" 'j["bytes"]')" = 5 ] && ok "ping echoes 5 bytes" || fail "ping: $out"
out=$(cli stats) || fail "stats"
[ "$(jget "$out" 'j["stats"]["workers"]')" = 2 ] && ok "stats reports 2 workers" ||
	fail "stats: $out"

# ---- CHALLENGE: vector matches the reference Milenage
out=$(cli challenge "$IMPI" --impu "sip:user1@ims.test") || fail "challenge"
chal=$out
RAND=$(jget "$out" 'j["vectors"][0]["rand"]')
AUTN=$(jget "$out" 'j["vectors"][0]["autn"]')
sqn1=$(check_vector "$IMPI" "$RAND" "$AUTN" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
	"$(jget "$out" 'j["vectors"][0]["ik"]')") && ok "challenge vector = akavs milenage" ||
	fail "challenge vector: $out"

# ---- VERIFY with the right RES -> OK with the same CK/IK
RES=$(res_of "$IMPI" "$RAND")
CK=$(jget "$chal" 'j["vectors"][0]["ck"]')
out=$(cli verify "$IMPI" --rand "$RAND" --res "$RES") || fail "verify right RES: $out"
[ "$(jget "$out" 'j["verdict"]')" = OK ] && [ "$(jget "$out" 'j["ck"]')" = "$CK" ] &&
	ok "verify right RES -> OK with the challenge's CK" || fail "verify: $out"
# a used challenge cannot be verified twice
out=$(cli verify "$IMPI" --rand "$RAND" --res "$RES")
[ "$(jget "$out" 'j["error"]["code"]')" = 10023 ] && ok "replayed verify -> 10023" ||
	fail "replayed verify: $out"

# ---- three wrong answers -> FAIL, FAIL, DEREGISTER
IMPI2=user2@ims.test
verdicts=
for i in 1 2 3; do
	out=$(cli challenge "$IMPI2") || fail "challenge $i"
	r=$(jget "$out" 'j["vectors"][0]["rand"]')
	good=$(res_of "$IMPI2" "$r")
	bad=$(python3 -c 'import sys; b=bytes.fromhex(sys.argv[1]); print((bytes([b[0]^1])+b[1:]).hex())' "$good")
	out=$(cli verify "$IMPI2" --rand "$r" --res "$bad")
	verdicts="$verdicts $(jget "$out" 'j["verdict"]')"
done
[ "$verdicts" = " FAIL FAIL DEREGISTER" ] && ok "3 wrong RES -> FAIL FAIL DEREGISTER" ||
	fail "wrong RES verdicts:$verdicts"

# ---- VERIFY by Digest-AKAv1-MD5 (RFC 3310: the password is RES, raw bytes;
# RFC 2617 qop=auth response) from the WWW-Authenticate the server built
IMPI4=user4@ims.test
out=$(cli challenge "$IMPI4" --www '') || fail "challenge --www"
www=$(jget "$out" 'j["vectors"][0]["www_authenticate"]')
r=$(jget "$out" 'j["vectors"][0]["rand"]')
dig() { # dig RESHEX: the Authorization fields for $www
	python3 - "$www" "$1" "$IMPI4" <<'PY'
import hashlib, re, sys
www, res, user = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3]
realm = re.search(r'realm="([^"]*)"', www).group(1)
nonce = re.search(r'nonce="([^"]*)"', www).group(1)
md5 = lambda b: hashlib.md5(b).hexdigest()
uri, nc, cnonce = "sip:" + realm, "00000001", "0a4f113b"
ha1 = md5(user.encode() + b":" + realm.encode() + b":" + res)
ha2 = md5(b"REGISTER:" + uri.encode())
resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode())
print(f'username="{user}",realm="{realm}",nonce="{nonce}",uri="{uri}",'
      f'response="{resp}",qop=auth,nc={nc},cnonce="{cnonce}"')
PY
}
good=$(res_of "$IMPI4" "$r")
bad=$(printf '%02x' $(((16#${good:0:2} ^ 1))))${good:2}
out=$(cli verify "$IMPI4" --digest "$(dig "$bad")" --method REGISTER)
[ "$(jget "$out" 'j["verdict"]')" = FAIL ] && ok "digest verify with a wrong RES -> FAIL" ||
	fail "digest wrong: $out"
out=$(cli challenge "$IMPI4" --www '') || fail "challenge --www"
www=$(jget "$out" 'j["vectors"][0]["www_authenticate"]')
r=$(jget "$out" 'j["vectors"][0]["rand"]')
out=$(cli verify "$IMPI4" --digest "$(dig "$(res_of "$IMPI4" "$r")")" --method REGISTER)
[ "$(jget "$out" 'j["verdict"]')" = OK ] && ok "digest verify (AKAv1-MD5) with the right RES -> OK" ||
	fail "digest right: $out"

# ---- RESYNC with a real AUTS: the UE is ahead by 2^20 SQN values
IMPI3=user3@ims.test
out=$(cli challenge "$IMPI3") || fail "challenge for resync"
r=$(jget "$out" 'j["vectors"][0]["rand"]')
sqn=$(check_vector "$IMPI3" "$r" "$(jget "$out" 'j["vectors"][0]["autn"]')" \
	"$(jget "$out" 'j["vectors"][0]["ck"]')" "$(jget "$out" 'j["vectors"][0]["ik"]')") ||
	fail "resync challenge vector"
sqn_ms=$(printf '%012x' $((sqn + 1048576)))
m=$(mil "$(key_of "$IMPI3" k)" "$(key_of "$IMPI3" opc)" "$r" "$sqn_ms" 0000)
# TS 33.102 6.3.3: AUTS = (SQN_MS ^ AK*) || MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF 0000)
auts=$(python3 -c 'import sys; print("%012x" % (int(sys.argv[1],16) ^ int(sys.argv[2],16)) + sys.argv[3])' \
	"$sqn_ms" "$(jget "$m" 'j["ak_s"]')" "$(jget "$m" 'j["mac_s"]')")
bad_auts=${auts:0:27}$(printf '%x' $(((16#${auts:27:1} ^ 1) & 15)))
out=$(cli resync "$IMPI3" --rand "$r" --auts "$bad_auts")
[ "$(jget "$out" 'j["error"]["code"]')" = 10024 ] && ok "resync with bad MAC-S -> 10024" ||
	fail "bad AUTS: $out"
out=$(cli resync "$IMPI3" --rand "$r" --auts "$auts") || fail "resync: $out"
r2=$(jget "$out" 'j["vectors"][0]["rand"]')
sqn2=$(check_vector "$IMPI3" "$r2" "$(jget "$out" 'j["vectors"][0]["autn"]')" \
	"$(jget "$out" 'j["vectors"][0]["ck"]')" "$(jget "$out" 'j["vectors"][0]["ik"]')") ||
	fail "resync vector check"
[ -n "${sqn2:-}" ] && [ "$sqn2" -gt $((16#$sqn_ms)) ] &&
	ok "resync: new SQN $sqn2 > SQN_MS $((16#$sqn_ms))" || fail "resync SQN ${sqn2:-?}"
out=$(cli verify "$IMPI3" --rand "$r2" --res "$(res_of "$IMPI3" "$r2")")
[ "$(jget "$out" 'j["verdict"]')" = OK ] && ok "verify after resync -> OK" || fail "$out"

# ---- VECTORS: 5 quintets, each checked incl. XRES, SQNs strictly increasing
out=$(cli vectors "$IMPI" --n 5) || fail "vectors"
prev=$sqn1
good=1
for i in 0 1 2 3 4; do
	v="j[\"vectors\"][$i]"
	s=$(check_vector "$IMPI" "$(jget "$out" "$v[\"rand\"]")" "$(jget "$out" "$v[\"autn\"]")" \
		"$(jget "$out" "$v[\"ck\"]")" "$(jget "$out" "$v[\"ik\"]")" \
		"$(jget "$out" "$v[\"xres\"]")") || good=0
	[ -n "$s" ] && [ "$s" -gt "$prev" ] || good=0
	prev=${s:-$prev}
done
[ $good = 1 ] && ok "vectors: 5 quintets = akavs milenage, SQN increasing" || fail "vectors: $out"
out=$(cli vectors "$IMPI" --n 9)
[ "$(jget "$out" 'j["error"]["code"]')" = 10027 ] && ok "vectors n=9 over the cap of 8 -> 10027" ||
	fail "n=9: $out"

# ---- unknown user
out=$(cli challenge nobody@ims.test)
[ "$(jget "$out" 'j["error"]["code"]')" = 10020 ] && ok "unknown user -> 10020" || fail "$out"

# ---- provisioning while running: served within a second (polled, 5 s bound)
k=$(hex16)
opc=$(hex16)
echo "late@ims.test,sip:late@ims.test,$k,,$opc,8000," >>"$T/subs.csv"
"$AKAVS" sub add --db "$DB" --impi late@ims.test --impu sip:late@ims.test --k "$k" --opc "$opc" \
	>/dev/null || fail "sub add while running"
t0=$(date +%s%N)
served=
for i in $(seq 50); do
	out=$(cli challenge late@ims.test) && { served=1; break; }
	sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
if [ -n "$served" ]; then
	check_vector late@ims.test "$(jget "$out" 'j["vectors"][0]["rand"]')" \
		"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
		"$(jget "$out" 'j["vectors"][0]["ik"]')" >/dev/null &&
		ok "subscriber added while running served after ${ms} ms" || fail "late vector"
else
	fail "subscriber added while running not served after ${ms} ms"
fi

# ---- counters moved
out=$(cli stats)
[ "$(jget "$out" 'j["stats"]["eng.challenges"] >= 5 and j["stats"]["eng.deregisters"] >= 1')" = True ] &&
	ok "stats count challenges and deregisters" || fail "stats: $out"

stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "SIGTERM -> exit 0" || fail "exit status $SERVER_RC"
finish

#!/usr/bin/env bash
# disk_errors: the store's disk fails (every fsync returns EIO, through the
# LD_PRELOAD shim tests/shim/fsync_gate.c) and recovers. Nothing that is not
# durable may leave: a subscriber's first CHALLENGE (it needs a new SQN
# reservation) gets an error answer, a first registration's SAR gets
# DIAMETER_UNABLE_TO_COMPLY (5012); what needs no write (a CHALLENGE within
# the reservation) is still served; the server logs the failures once
# (rate-limited) and counts them (STATS eng.store_errors), and once the
# disk is back everything works, with SQNs still increasing.
. "$(dirname "$0")/server_lib.bash"

need_shim

provision 4 dk
LD_PRELOAD=$SHIM AKV_FSYNC_FAIL=$T/fail start_server --workers 1 \
	--diameter-listen 127.0.0.1:0 --origin-host hss.ims.test --origin-realm ims.test
dia_port

# sar PORT IMPI HBH: one SAR REGISTRATION on a fresh peer connection; prints
# the SAA's Result-Code
sar() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
sys.path.insert(0, __import__("os").environ["SRC"] + "/tests/integ")
from cx_registrar import sar
from dia_badinput import cer, read_msg, result
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(cer())
if result(read_msg(s, 10))[0] != 2001:
    sys.exit("CER refused")
s.sendall(sar(sys.argv[2].encode(), int(sys.argv[3])))
m = read_msg(s, 10)
print(result(m)[0] if m else "none")
PY
}
export SRC

# chal_sqn IMPI: one CHALLENGE; prints its SQN (checked with check_vector)
chal_sqn() {
	local out
	out=$(cli challenge "$1") || return 1
	check_vector "$1" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
		"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
		"$(jget "$out" 'j["vectors"][0]["ik"]')"
}

sqn1=$(chal_sqn dk1@ims.test) || die "warm-up challenge"
touch "$T/fail"

out=$(cli challenge dk2@ims.test)
[ "$(jget "$out" 'j["error"]["code"]')" = 5 ] &&
	ok "first CHALLENGE of dk2 while the disk fails: error (no vector without a durable SQN)" ||
	fail "first CHALLENGE of dk2 while the disk fails: $out"
sqn1b=$(chal_sqn dk1@ims.test) && [ "$sqn1b" -gt "$sqn1" ] &&
	ok "CHALLENGE of dk1 within its reservation still served" ||
	fail "CHALLENGE of dk1 within its reservation (SQN '$sqn1b' after $sqn1)"
rc=$(sar "$DPORT" dk3@ims.test 7)
[ "$rc" = 5012 ] && ok "first registration's SAR while the disk fails: 5012" ||
	fail "SAR while the disk fails: Result-Code $rc"
grep -q "store error(s) so far" "$T/serve.err" && ok "the failure is logged" ||
	fail "no log line about failed store commits"
[ "$(grep -c "store error(s) so far" "$T/serve.err")" -le 2 ] &&
	ok "logged at most once per thread in 5 s" || fail "log not rate-limited"
st=$(cli stats); n=$(jget "$st" 'j["stats"]["eng.store_errors"]')
[ "$n" -ge 2 ] && ok "STATS eng.store_errors = $n" || fail "STATS eng.store_errors = $n"

rm -f "$T/fail"
out=$(cli challenge dk2@ims.test)
jget "$out" 'j["vectors"][0]["autn"]' >/dev/null && ok "dk2 served once the disk is back" ||
	fail "dk2 after recovery: $out"
sqn1c=$(chal_sqn dk1@ims.test)
[ "${sqn1c:-0}" -gt "$sqn1b" ] && ok "dk1's SQNs still increase" || fail "dk1 SQN $sqn1c after $sqn1b"
rc=$(sar "$DPORT" dk3@ims.test 8)
[ "$rc" = 2001 ] && ok "the SAR succeeds once the disk is back" || fail "SAR after recovery: $rc"
kill -0 "$SERVER_PID" 2>/dev/null || die "server died"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
grep -E '[0-9a-f]{32}' "$T/serve.err" && fail "a 32-hex value in the server log"
finish

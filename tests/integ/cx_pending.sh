#!/usr/bin/env bash
# cx_pending: "authentication pending" (TS 29.228 §6.3.1, §6.1.1.1) through
# a real server with two shard workers and the registrar: a MAR notes its
# S-CSCF on its shard, the I-CSCF's UAR on the registrar names it, a SAR
# clears it (tests/integ/cx_pending.py); the counters show in STATS. Then
# `[diameter] auth-pending-max = 0` turns it off.
. "$(dirname "$0")/server_lib.bash"

N=40
provision $N pend
ini() {
	printf '[diameter]\nlisten = 127.0.0.1:0\norigin-host = hss.ims.test\norigin-realm = ims.test\n%s\n' \
		"$1" >"$T/akavs.ini"
}

ini ""
start_server --config "$T/akavs.ini"
dia_port
timeout 60 python3 "$SRC/tests/integ/cx_pending.py" 127.0.0.1 "$DPORT" pend $N &&
	ok "UAR names the S-CSCF of the MAR until a SAR settles it" || fail "cx_pending.py"
st=$(cli stats) || fail "stats"
noted=$(jget "$st" "j['stats']['cx.auth_pending.noted']")
found=$(jget "$st" "j['stats']['cx.auth_pending.found']")
# noted: every user once, user 3 again by S-CSCF 2; found: each user's UAR
# after its MAR, user 1's once registered, user 3's three
[ "$noted" = "$((N + 1))" ] && ok "STATS cx.auth_pending.noted = $((N + 1))" ||
	fail "noted $noted, want $((N + 1))"
[ "$found" = "$((N + 4))" ] && ok "STATS cx.auth_pending.found = $((N + 4))" ||
	fail "found $found, want $((N + 4))"
jget "$st" "'stats.dropped' not in j['stats']" | grep -q True &&
	ok "STATS has room for every counter" || fail "STATS dropped counters: $st"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"

# off: the UAR after a MAR carries no name (the old answer)
ini "auth-pending-max = 0"
start_server --config "$T/akavs.ini"
dia_port
if timeout 60 python3 "$SRC/tests/integ/cx_pending.py" 127.0.0.1 "$DPORT" pend 2 >"$T/off.out"; then
	fail "auth-pending-max = 0 still names an S-CSCF"
else
	grep -q '^FAIL UAR after MAR, 2 users' "$T/off.out" && ok "auth-pending-max = 0: no name" ||
		{ cat "$T/off.out"; fail "unexpected failure with auth-pending-max = 0"; }
fi
st=$(cli stats) || fail "stats"
jget "$st" "'cx.auth_pending.noted' not in j['stats']" | grep -q True &&
	ok "no auth_pending counters when off" || fail "auth_pending counters shown when off"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
finish

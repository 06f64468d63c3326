#!/usr/bin/env bash
# cx_storm: a registration storm through the real server (one Cx peer, 256
# SARs in flight). First registrations change state: their writes are
# grouped per worker batch (server/aka/cx.c), so the store commits far fewer
# times than there are SARs. The re-registration storm that follows changes
# nothing and must commit nothing. Rates are printed, never asserted.
. "$(dirname "$0")/server_lib.bash"

N=2000
provision $N storm
start_server --workers 1 --diameter-listen 127.0.0.1:0 --origin-host hss.ims.test \
	--origin-realm ims.test
dia_port
commits() { cli stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["store.commits"])'; }

c0=$(commits)
out=$(timeout 120 python3 "$SRC/tests/integ/cx_storm.py" 127.0.0.1 "$DPORT" storm ims.test $N 256 1) ||
	fail "registration storm: $out"
c1=$(commits)
echo "registration storm: $out, $((c1 - c0)) store commits"
[ $((c1 - c0)) -ge 1 ] && [ $((c1 - c0)) -le $((N / 2)) ] &&
	ok "first registrations grouped: $((c1 - c0)) commits for $N SARs" ||
	fail "first registrations: $((c1 - c0)) commits for $N SARs"

out=$(timeout 120 python3 "$SRC/tests/integ/cx_storm.py" 127.0.0.1 "$DPORT" storm ims.test $N 256 2) ||
	fail "re-registration storm: $out"
c2=$(commits)
echo "re-registration storm: $out, $((c2 - c1)) store commits"
[ "$c2" = "$c1" ] && ok "re-registrations by the same S-CSCF: no commit" ||
	fail "re-registrations committed $((c2 - c1)) times"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
finish

#!/usr/bin/env bash
# cx_registrar: registration state has its own thread (the registrar,
# server/wrk/wrk.h), so a store commit that waits for the disk holds up no
# challenge. The fsync gate shim (tests/shim/fsync_gate.c, LD_PRELOAD) holds
# every fsync of the server while a file exists; with it closed, a first
# registration's SAR waits at the disk while a MAR and an AVS/1 CHALLENGE are
# answered (tests/integ/cx_registrar.py). Ordering, not timing, is checked.
. "$(dirname "$0")/server_lib.bash"

need_shim

provision 3 reg
LD_PRELOAD=$SHIM AKV_FSYNC_GATE=$T/gate start_server --workers 1 \
	--diameter-listen 127.0.0.1:0 --origin-host hss.ims.test --origin-realm ims.test
grep -q '^registrar: ' "$T/serve.out" && ok "startup names the registrar" ||
	fail "no registrar line in startup output"
dia_port
[ "$(jget "$(cli stats)" 'j["stats"]["registrar"]')" = 1 ] && ok "STATS registrar 1" ||
	fail "STATS registrar"

# SQN reservations of the MAR's and the CHALLENGE's subscribers are made
# (and synced) now, with the gate open
for u in reg2 reg3; do
	cli challenge "$u@ims.test" >/dev/null || die "warm-up challenge of $u"
done
touch "$T/gate"
timeout 60 python3 "$SRC/tests/integ/cx_registrar.py" 127.0.0.1 "$DPORT" "$T/gate" "$AKAVS" \
	"$PORT" reg1@ims.test reg2@ims.test reg3@ims.test || fail "cx_registrar.py"
rm -f "$T/gate"
st=$(cli stats)
[ "$(jget "$st" 'j["stats"]["registrar.requests"]')" = 1 ] &&
	[ "$(jget "$st" 'j["stats"]["registrar.cached_subs"]')" = 1 ] &&
	ok "the registrar ran the one SAR and caches its subscriber" ||
	fail "STATS registrar.requests / registrar.cached_subs: $st"

stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
finish

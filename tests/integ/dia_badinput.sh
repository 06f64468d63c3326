#!/usr/bin/env bash
# dia_badinput: hostile Diameter peers (tests/integ/dia_badinput.py) against a
# real `akavs serve` with a Diameter listener on 127.0.0.1 (kernel-chosen
# port): wrong version, bad lengths, 16 MiB length, flag bits, AVP length
# loops, messages before CER, slow and silent peers. Then SIGTERM must stop
# the server cleanly (exit 0). Everything started is stopped by PID.
. "$(dirname "$0")/server_lib.bash"

# Published test key only (TS 35.208 test set 1), never a real subscriber's.
"$AKAVS" sub add --db "$DB" --impi alice@ims.test --impu sip:alice@ims.test \
	--k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
	--amf 8000 >/dev/null || die "sub add"
start_server --workers 1 --diameter-listen 127.0.0.1:0 --origin-host hss.ims.test \
	--origin-realm ims.test
dia_port
echo "server pid $SERVER_PID, Diameter on port $DPORT"

timeout 120 python3 "$SRC/tests/integ/dia_badinput.py" 127.0.0.1 "$DPORT" \
	alice@ims.test sip:alice@ims.test || fail "hostile Diameter peers (dia_badinput.py)"

kill -0 "$SERVER_PID" 2>/dev/null || die "server died"
# the hostile peers show in STATS: malformed messages, peers refused (no CER
# first), error answers, and the good peer's Cx requests
"$AKAVS" client --connect "127.0.0.1:$PORT" stats >"$T/stats.out" || fail "STATS"
for key in dia.malformed dia.peers_refused dia.error_answers dia.cx_requests dia.rx; do
	v=$(awk -v k="$key" '$1 == k {print $2}' "$T/stats.out")
	[ -n "$v" ] && [ "$v" -gt 0 ] || fail "STATS $key = '${v}', expected > 0"
done
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
finish

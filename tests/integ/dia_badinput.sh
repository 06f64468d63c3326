#!/usr/bin/env bash
# dia_badinput: hostile Diameter peers (tests/integ/dia_badinput.py) against a
# real `akavs serve` with a Diameter listener on 127.0.0.1 (kernel-chosen
# port): wrong version, bad lengths, 16 MiB length, flag bits, AVP length
# loops, messages before CER, slow and silent peers. Then SIGTERM must stop
# the server cleanly (exit 0). Everything started is stopped by PID.
set -u -o pipefail
BUILD=${AKV_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
AKAVS=$BUILD/akavs
[ -x "$AKAVS" ] || { echo "SKIP: $AKAVS not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/akavs-diabad.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Published test key only (TS 35.208 test set 1), never a real subscriber's.
"$AKAVS" sub add --db "$T/db" --impi alice@ims.test --impu sip:alice@ims.test \
	--k 465b5ce8b199b49faa5f0a2ee238a6bc --op cdc202d5123e20f62b6d676ac72cb318 \
	--amf 8000 >/dev/null || { echo "FAIL: sub add"; exit 1; }
"$AKAVS" serve --db "$T/db" --workers 1 --listen 127.0.0.1:0 \
	--diameter-listen 127.0.0.1:0 --origin-host hss.ims.test --origin-realm ims.test \
	>"$T/out" 2>"$T/err" &
PID=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^listening: Diameter on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/out")
	[ -n "$port" ] && grep -q '^ready' "$T/out" && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: server did not start"; cat "$T/out" "$T/err"; exit 1; }
echo "server pid $PID, Diameter on port $port"

rc=0
timeout 120 python3 "$SRC/tests/integ/dia_badinput.py" 127.0.0.1 "$port" \
	alice@ims.test sip:alice@ims.test || rc=1

kill -0 "$PID" 2>/dev/null || { echo "FAIL: server died"; cat "$T/err"; exit 1; }
kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
	echo "FAIL: server ignored SIGTERM for 10 s"
	rc=1
else
	wait "$PID"
	st=$?
	PID=
	[ "$st" -eq 0 ] || { echo "FAIL: server exit status $st"; tail -20 "$T/err"; rc=1; }
fi
[ "$rc" -eq 0 ] && echo "dia_badinput: all checks passed"
exit "$rc"

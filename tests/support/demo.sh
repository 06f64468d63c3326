#!/bin/bash
# make demo: a fresh temporary store with demo subscribers (random keys made
# here), `akavs serve` on a free loopback port, one challenge -> verify shown
# step by step, a short load run that checks every vector it gets, the server
# counters, and a clean stop. Usage: tests/support/demo.sh BUILD_DIR
set -u -o pipefail

BUILD=$(cd "${1:-build}" && pwd) || { echo "demo: no build dir ${1:-build}"; exit 1; }
AKAVS=$BUILD/akavs
BENCH=$BUILD/akavs-bench
NSUBS=${AKV_DEMO_SUBS:-1000}
SECONDS_LOAD=${AKV_DEMO_SECONDS:-3}
[ -x "$AKAVS" ] || { echo "demo: $AKAVS not built"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/akavs-demo.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
die() {
	echo "demo: FAILED: $*"
	[ -f "$T/serve.err" ] && tail -n 20 "$T/serve.err"
	exit 1
}

say "provisioning $NSUBS demo subscribers (random K/OPc) into a fresh store"
python3 - "$NSUBS" >"$T/subs.csv" <<'EOF' || die "cannot generate subscribers"
import os, sys
print("impi,impus,k,op,opc,amf,sqn")
for i in range(1, int(sys.argv[1]) + 1):
    print(f"demo{i}@ims.demo,sip:demo{i}@ims.demo;tel:+1555{i:07d},"
          f"{os.urandom(16).hex()},,{os.urandom(16).hex()},8000,")
EOF
chmod 600 "$T/subs.csv"
"$AKAVS" sub import "$T/subs.csv" --db "$T/db" || die "sub import"

say "starting akavs serve"
"$AKAVS" serve --db "$T/db" --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
for _ in $(seq 100); do
	grep -q '^ready' "$T/serve.out" && break
	kill -0 "$PID" 2>/dev/null || die "server exited at startup"
	sleep 0.1
done
grep -q '^ready' "$T/serve.out" || die "server not ready in 10 s"
sed 's/^/  /' "$T/serve.out"
PORT=$(sed -n 's/^listening: AVS\/1 on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.out")
C=(client --connect "127.0.0.1:$PORT" --timeout 5000)

say "one registration: CHALLENGE, the UE computes RES (akavs milenage), VERIFY"
K=$(awk -F, '$1=="demo1@ims.demo" {print $3}' "$T/subs.csv")
OPC=$(awk -F, '$1=="demo1@ims.demo" {print $5}' "$T/subs.csv")
out=$("$AKAVS" "${C[@]}" --json challenge demo1@ims.demo --www '') || die "challenge: $out"
RAND=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["vectors"][0]["rand"])' "$out")
AUTN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["vectors"][0]["autn"])' "$out")
echo "  challenge demo1@ims.demo -> RAND $RAND AUTN $AUTN"
RES=$("$AKAVS" milenage --k "$K" --opc "$OPC" --rand "$RAND" --sqn 000000000000 --amf 0000 \
	--json | python3 -c 'import json,sys; print(json.load(sys.stdin)["res"])') || die "milenage"
echo "  UE: RES = f2(K, RAND) = $RES"
"$AKAVS" "${C[@]}" verify demo1@ims.demo --rand "$RAND" --res "$RES" | sed 's/^/  /' ||
	die "verify with the right RES"

if [ -x "$BENCH" ]; then
	say "load: akavs-bench load, 4 conns x 16 in flight, ${SECONDS_LOAD} s, mixed ops, every vector checked"
	"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$T/subs.csv" --conns 4 --depth 16 \
		--seconds "$SECONDS_LOAD" --op mix >"$T/load.txt" 2>&1
	rc=$?
	sed 's/^/  /' "$T/load.txt"
	[ $rc = 0 ] || die "load run exit status $rc"
else
	say "load: akavs-bench not built; 200 challenge/verify rounds with akavs client"
	ok=0
	for i in $(seq 200); do
		impi="demo$(((i % NSUBS) + 1))@ims.demo"
		line=$(awk -F, -v u="$impi" '$1==u {print $3, $5}' "$T/subs.csv")
		out=$("$AKAVS" "${C[@]}" --json challenge "$impi") || continue
		r=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["vectors"][0]["rand"])' "$out")
		res=$("$AKAVS" milenage --k "${line% *}" --opc "${line#* }" --rand "$r" --sqn 000000000000 \
			--amf 0000 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["res"])')
		"$AKAVS" "${C[@]}" verify "$impi" --rand "$r" --res "$res" >/dev/null && ok=$((ok + 1))
	done
	echo "  $ok/200 registrations verified"
	[ $ok = 200 ] || die "not every registration verified"
fi

say "server counters (STATS)"
"$AKAVS" "${C[@]}" stats | grep -E '^(requests\.|answers|errors|malformed|conns\.|eng\.(challenges|verifies|vectors|fsyncs)|worker\.)' |
	sed 's/^/  /'

say "stopping the server (SIGTERM: drain, flush SQN state, exit 0)"
kill -TERM "$PID"
for _ in $(seq 100); do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$PID" 2>/dev/null && die "server still running 10 s after SIGTERM"
wait "$PID"
rc=$?
PID=
tail -n 1 "$T/serve.out" | sed 's/^/  /'
[ $rc = 0 ] || die "server exit status $rc"
say "demo done"

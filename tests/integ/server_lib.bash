# server_lib.bash - sourced by tests/integ/server_*.sh (not a test itself: no
# .sh suffix). Starts a real `akavs serve` on 127.0.0.1 with a port the kernel
# picks (--listen 127.0.0.1:0, port read from the "listening:" line), over a
# temporary store provisioned with `akavs sub import`. Everything started is
# killed by PID on exit; every wait is bounded.

set -u -o pipefail

BUILD=${AKV_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
SRC=${AKV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AKAVS=$BUILD/akavs
[ -x "$AKAVS" ] || { echo "SKIP: $AKAVS not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

# the LD_PRELOAD shim that holds or fails fsync (tests/shim/fsync_gate.c)
SHIM=$BUILD/libakv_fsync_gate.so
need_shim() { [ -f "$SHIM" ] || { echo "SKIP: $SHIM not built"; exit 77; }; }

T=$(mktemp -d "${TMPDIR:-/tmp}/akavs-integ.XXXXXX")
DB=$T/db
SERVER_PID=
PORT=
PIDS=()
FAILS=0

cleanup() {
	local p
	for p in "${PIDS[@]}" $SERVER_PID; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}
ok() { echo "ok: $*"; }
die() {
	echo "FAIL: $*"
	[ -f "$T/serve.err" ] && { echo "--- server stderr:"; tail -n 30 "$T/serve.err"; }
	exit 1
}
finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		[ -f "$T/serve.err" ] && { echo "--- server stderr:"; tail -n 30 "$T/serve.err"; }
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

# hex16: 16 random bytes as hex (test keys generated per run, never real ones)
hex16() { python3 -c 'import os; print(os.urandom(16).hex())'; }

# provision N [PREFIX]: writes $T/subs.csv (impi,impus,k,op,opc,amf,sqn) with
# N subscribers PREFIX1@ims.test... (fresh random K/OPc) and imports it.
provision() {
	local n=$1 prefix=${2:-user}
	python3 - "$n" "$prefix" >"$T/subs.csv" <<'EOF'
import os, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
print("impi,impus,k,op,opc,amf,sqn")
for i in range(1, n + 1):
    impi = f"{prefix}{i}@ims.test"
    print(f"{impi},sip:{prefix}{i}@ims.test,{os.urandom(16).hex()},,{os.urandom(16).hex()},8000,")
EOF
	"$AKAVS" sub import "$T/subs.csv" --db "$DB" >/dev/null || die "sub import failed"
}

# key_of IMPI FIELD (k|opc): from $T/subs.csv and any later added lines
key_of() {
	awk -F, -v impi="$1" -v f="$2" 'NR>1 && $1==impi { print (f=="k" ? $3 : $5) }' \
		"$T/subs.csv" | tail -n 1
}

# start_server [extra serve flags...]: starts, waits for "ready" (10 s)
start_server() {
	: >"$T/serve.out"
	"$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 2 "$@" \
		>"$T/serve.out" 2>"$T/serve.err" &
	SERVER_PID=$!
	local i
	for i in $(seq 100); do
		grep -q '^ready' "$T/serve.out" && break
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			# io_uring disabled (seccomp, sysctl kernel.io_uring_disabled): not our bug
			grep -q "io_uring setup: \(Operation not permitted\|Function not implemented\)" \
				"$T/serve.err" && { echo "SKIP: io_uring unavailable here"; exit 77; }
			die "server exited at startup"
		fi
		sleep 0.1
	done
	grep -q '^ready' "$T/serve.out" || die "server not ready in 10 s"
	PORT=$(sed -n 's/^listening: AVS\/1 on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.out")
	[ -n "$PORT" ] || die "no AVS/1 port in startup output"
}

# dia_port: DPORT = the Diameter listener's port from the startup output of
# a server started with [diameter] listen = 127.0.0.1:0
dia_port() {
	DPORT=$(sed -n 's/^listening: Diameter on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.out")
	[ -n "$DPORT" ] || die "no Diameter port in startup output"
}

# stop_server SIGNAL: sends it, waits up to 10 s, sets SERVER_RC
stop_server() {
	local sig=${1:-TERM} i
	kill "-$sig" "$SERVER_PID"
	for i in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null
		SERVER_RC=timeout
	else
		wait "$SERVER_PID"
		SERVER_RC=$?
	fi
	SERVER_PID=
}

# cli ARGS...: akavs client --json against the server (5 s timeout)
cli() { "$AKAVS" client --connect "127.0.0.1:$PORT" --timeout 5000 --json "$@"; }

# jget JSON EXPR: python expression over j (the parsed JSON)
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# mil K OPC RAND SQN AMF: `akavs milenage --json`
mil() { "$AKAVS" milenage --k "$1" --opc "$2" --rand "$3" --sqn "$4" --amf "$5" --json; }

# milb K OPC RAND SQN AMF: one `akavs milenage --batch` line:
# MAC-A MAC-S RES CK IK AK AK* (tab-separated)
milb() { echo "$1 $2 $3 $4 $5" | "$AKAVS" milenage --batch; }

# check_vector IMPI RAND AUTN CK IK [XRES]: recomputes with `akavs milenage`
# (SQN recovered as AUTN[0:6] ^ AK), prints the SQN (decimal) when all match.
check_vector() {
	local impi=$1 rand=$2 autn=$3 ck=$4 ik=$5 xres=${6:-}
	local k opc mac_a mac_s res ck2 ik2 ak aks sqn
	k=$(key_of "$impi" k)
	opc=$(key_of "$impi" opc)
	read -r mac_a mac_s res ck2 ik2 ak aks < <(milb "$k" "$opc" "$rand" 000000000000 0000)
	[ -n "${ak:-}" ] || return 1
	sqn=$(printf '%012x' $((16#${autn:0:12} ^ 16#$ak)))
	read -r mac_a mac_s res ck2 ik2 ak aks < <(milb "$k" "$opc" "$rand" "$sqn" "${autn:12:4}")
	[ "${autn:16:16}" = "$mac_a" ] || { echo "MAC-A mismatch" >&2; return 1; }
	[ "$ck2" = "$ck" ] || { echo "ck mismatch" >&2; return 1; }
	[ "$ik2" = "$ik" ] || { echo "ik mismatch" >&2; return 1; }
	if [ -n "$xres" ] && [ "$res" != "$xres" ]; then
		echo "xres mismatch" >&2
		return 1
	fi
	echo $((16#$sqn))
}

# res_of IMPI RAND: the UE's RES (f2)
res_of() {
	local mac_a mac_s res rest
	read -r mac_a mac_s res rest < <(milb "$(key_of "$1" k)" "$(key_of "$1" opc)" "$2" \
		000000000000 0000)
	[ -n "${res:-}" ] && echo "$res"
}

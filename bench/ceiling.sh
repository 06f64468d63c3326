#!/usr/bin/env bash
# bench/ceiling.sh BUILD_DIR - what `make bench-ceiling` runs: the ratio to
# echo (16 conns x 32 in flight, AVS/1 CHALLENGE and Diameter MAR) that the
# server's architecture itself allows on this machine, whatever the engine.
#
# Three servers run side by side on their own stores: the real one
# (BUILD_DIR) and twice a pass-through build (BUILD_DIR/ceiling, the tree
# tests/integ/ceiling_build.sh checks, configured here with
# -DAKV_PASS_THROUGH_ENGINE=ON: server/aka/eng_pass.c), whose worker answers
# every CHALLENGE and MAR with zeroed vectors and no lookup, SQN, RAND or
# Milenage. The same front end, codecs, rings and worker wait carry them.
# Each round loads, in turn:
#   real  + check  (the default: the generator recomputes every vector)
#   real  + --no-check
#   pass  + --no-check (nothing to check)
#   passfe + --no-check: the same build answering in the front end
#          (AKAVS_PASS_THROUGH_FE=1), so without the hand-off to the worker
# each as a `load --vs-echo` run (echo, then the server, back to back), and
# prints every run's pct_of_echo and the medians. The pass-through row is an
# upper bound for any engine with this front end and worker hand-off; the
# difference to the passfe row is what the hand-off costs.
# Knobs: CEILING_ROUNDS (default 5), LOAD_SECONDS (default 3), BENCH_SUBS
# (default 10000).
set -u
. "$(dirname "$0")/lib.bash"
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
CEIL=$BUILD/ceiling
ROUNDS=${CEILING_ROUNDS:-5}
LSECS=${LOAD_SECONDS:-3}
NSUBS=${BENCH_SUBS:-10000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/akavs-ceiling.XXXXXX")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$BUILD/akavs-bench" ] && [ -x "$BUILD/akavs" ] ||
	{ echo "ceiling: $BUILD/akavs and akavs-bench not built (make build)"; exit 1; }
echo "== ceiling: building the pass-through server in $CEIL"
cmake -S "$SRC" -B "$CEIL" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAKV_PASS_THROUGH_ENGINE=ON \
	-DAKV_BENCH=OFF >/dev/null && cmake --build "$CEIL" -j "$(nproc)" --target akavs >/dev/null ||
	{ echo "ceiling: the pass-through build failed"; exit 1; }

gen_subs "$NSUBS" "$TMP/subs.csv"
chmod 600 "$TMP/subs.csv"

# start NAME AKAVS [ENV=VALUE]: a server on its own store; sets PORT_NAME,
# DPORT_NAME
start() {
	local name=$1 bin=$2 env=${3:-AKAVS_NONE=} p d
	"$BUILD/akavs" sub import "$TMP/subs.csv" --db "$TMP/db-$name" >/dev/null ||
		{ echo "ceiling: import for $name failed"; exit 1; }
	p=$(free_port)
	d=$(free_port)
	env AKAVS_PASS_THROUGH_OK=1 "$env" "$bin" serve --db "$TMP/db-$name" --listen "127.0.0.1:$p" \
		--workers 1 --diameter-listen "127.0.0.1:$d" --origin-host hss.bench.akavs \
		--origin-realm bench.akavs >"$TMP/serve-$name.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		grep -q '^ready' "$TMP/serve-$name.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q '^ready' "$TMP/serve-$name.log" ||
		{ echo "ceiling: $name server not ready:"; cat "$TMP/serve-$name.log"; exit 1; }
	printf -v "PORT_$name" %s "$p"
	printf -v "DPORT_$name" %s "$d"
}
start real "$BUILD/akavs"
start pass "$CEIL/akavs"
start passfe "$CEIL/akavs" AKAVS_PASS_THROUGH_FE=1
grep -q PASS-THROUGH "$TMP/serve-pass.log" || { echo "ceiling: not a pass-through build"; exit 1; }
grep -q 'in the front end' "$TMP/serve-passfe.log" || { echo "ceiling: passfe not in the front end"; exit 1; }
echo "== ceiling: warm-up of the real server, one challenge per subscriber (not reported)"
"$BUILD/akavs-bench" load --connect "127.0.0.1:$PORT_real" --subs "$TMP/subs.csv" --conns 16 \
	--depth 32 --touch-all --seconds 120 >/dev/null || { echo "ceiling: warm-up failed"; exit 1; }

# one `load --vs-echo --json` run: PROTO (avs1|diameter) NAME [--no-check]
run() {
	local proto=$1 name=$2 port x=
	shift 2
	port=PORT_$name
	[ "$proto" = diameter ] && port=DPORT_$name && x=--diameter
	"$BUILD/akavs-bench" load --connect "127.0.0.1:${!port}" $x --subs "$TMP/subs.csv" \
		--conns 16 --depth 32 --seconds "$LSECS" --vs-echo --json "$@"
}
for r in $(seq "$ROUNDS"); do
	echo "== ceiling: round $r of $ROUNDS"
	for proto in avs1 diameter; do
		run "$proto" real >"$TMP/$proto-real-check-$r.json" || echo "ceiling: $proto real run failed"
		run "$proto" real --no-check >"$TMP/$proto-real-nocheck-$r.json" ||
			echo "ceiling: $proto real --no-check run failed"
		run "$proto" pass --no-check >"$TMP/$proto-pass-nocheck-$r.json" ||
			echo "ceiling: $proto pass-through run failed"
		run "$proto" passfe --no-check >"$TMP/$proto-passfe-nocheck-$r.json" ||
			echo "ceiling: $proto pass-through in the front end run failed"
	done
done

python3 - "$TMP" "$ROUNDS" <<'PY'
import glob, json, os, sys
d, rounds = sys.argv[1], int(sys.argv[2])
rows = [("real", "check", "akavs as deployed, every vector checked"),
        ("real", "nocheck", "akavs, generator --no-check"),
        ("pass", "nocheck", "pass-through worker (no engine), --no-check"),
        ("passfe", "nocheck", "pass-through in the front end (no hand-off)")]
target = {"avs1": 70, "diameter": 60}
print("\n%-9s %-46s %-32s %7s %6s" % ("protocol", "server", "pct_of_echo per round", "median", "target"))
for proto in ("avs1", "diameter"):
    for name, chk, what in rows:
        v, bad = [], 0
        for r in range(1, rounds + 1):
            try:
                with open(os.path.join(d, "%s-%s-%s-%d.json" % (proto, name, chk, r))) as f:
                    j = json.load(f)
                if j.get("errors"):
                    bad += 1
                v.append(j["pct_of_echo"])
            except (OSError, ValueError, KeyError):
                bad += 1
        s = sorted(v)
        med = s[(len(s) - 1) // 2] if s else float("nan")
        print("%-9s %-46s %-32s %6.1f%% %5d%%%s" % (proto, what, " ".join("%.1f" % x for x in v), med,
              target[proto], "" if not bad else "  (%d run(s) failed or had errors)" % bad))
PY

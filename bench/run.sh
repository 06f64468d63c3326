#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - what `make bench` runs: every benchmark that is
# built, each measuring its own baseline in the same run, then one summary
# table of the ratios (the only figures that carry across machines).
# Pieces not built yet are skipped with a note. Knobs (environment):
#   BENCH_SECONDS (crypto per-measurement time, default 1)
#   LOAD_SECONDS (default 5), LOAD_RUNS (16x32 comparisons, median kept, default 3),
#   BENCH_SUBS (subscribers provisioned, default 10000)
#   ENGINE_SUBS (default 1M), IMPORT_SUBS (default 1000000)
set -u
. "$(dirname "$0")/lib.bash"
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
BENCH=$BUILD/akavs-bench
AKAVS=$BUILD/akavs
SECS=${BENCH_SECONDS:-1}
LSECS=${LOAD_SECONDS:-5}
NSUBS=${BENCH_SUBS:-10000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/akavs-bench.XXXXXX")
SERVER_PID=

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

note() { printf '== %s\n' "$*"; }
have_cmd() { "$1" "$2" --help >/dev/null 2>&1; }

[ -x "$BENCH" ] || { echo "bench: $BENCH not built (make build)"; exit 1; }
command -v python3 >/dev/null || { echo "bench: python3 is needed for the summary (make deps)"; exit 1; }

# ---- Milenage kernels vs libosmocore and the AES roofline ----
note "crypto: $BENCH crypto --seconds $SECS"
"$BENCH" crypto --seconds "$SECS" --json >"$TMP/crypto.json" || { echo "bench: crypto failed"; exit 1; }

# ---- Google Benchmark view of the same kernels, when built ----
if [ -x "$BUILD/akavs-microbench" ]; then
	note "microbench: $BUILD/akavs-microbench (vectors/s = items_per_second, CPU time)"
	"$BUILD/akavs-microbench" --benchmark_min_time=0.2 2>/dev/null ||
		echo "bench: akavs-microbench failed (continuing)"
else
	note "microbench: akavs-microbench not built (libbenchmark-dev missing?), skipped"
fi

# ---- AKA engine (store + SQN + Milenage), when built ----
ESUBS=${ENGINE_SUBS:-1M}
if have_cmd "$BENCH" engine; then
	note "engine: $BENCH engine --subs $ESUBS --json"
	"$BENCH" engine --subs "$ESUBS" --json >"$TMP/engine.json" 2>"$TMP/engine.log" ||
		{ echo "bench: engine failed (continuing)"; cat "$TMP/engine.log"; }
else
	note "engine: not built yet, skipped"
fi

# ---- CSV import into the store, when built ----
ISUBS=${IMPORT_SUBS:-1000000}
if have_cmd "$BENCH" import; then
	note "import: $BENCH import --n $ISUBS --json"
	"$BENCH" import --n "$ISUBS" --json >"$TMP/import.json" 2>"$TMP/import_bench.log" ||
		{ echo "bench: import failed (continuing)"; cat "$TMP/import_bench.log"; }
else
	note "import: not built yet, skipped"
fi

# ---- the server against the echo baseline ----
# median_of_runs NAME CMD...: runs CMD (a `load --vs-echo --json`) LOAD_RUNS
# times (default 3; each run measures echo then akavs back to back) and keeps
# the run with the median pct_of_echo as $TMP/NAME.json: on a shared 2-core
# box one run's ratio swings with what else is scheduled.
median_of_runs() {
	local name=$1 i
	shift
	for i in $(seq "${LOAD_RUNS:-3}"); do
		"$@" >"$TMP/$name.run$i.json" || { echo "bench: $name run $i failed"; rm -f "$TMP/$name.run$i.json"; }
	done
	python3 - "$TMP" "$name" <<'PY'
import glob, json, os, shutil, sys
d, name = sys.argv[1], sys.argv[2]
runs = []
for p in sorted(glob.glob(os.path.join(d, name + ".run*.json"))):
    try:
        with open(p) as f:
            runs.append((json.load(f)["pct_of_echo"], p))
    except (OSError, ValueError, KeyError):
        pass
if runs:
    runs.sort()
    shutil.copy(runs[(len(runs) - 1) // 2][1], os.path.join(d, name + ".json"))
    print("== %s: pct_of_echo per run %s, median kept" % (name, ", ".join("%s" % r[0] for r in runs)))
PY
}

if [ -x "$AKAVS" ] && have_cmd "$AKAVS" serve && "$AKAVS" sub --help >/dev/null 2>&1; then
	note "load: $NSUBS generated subscribers, akavs serve --workers 1, load --vs-echo"
	gen_subs "$NSUBS" "$TMP/subs.csv"
	chmod 600 "$TMP/subs.csv"
	if "$AKAVS" sub import "$TMP/subs.csv" --db "$TMP/db" >"$TMP/import.log" 2>&1; then
		cat "$TMP/import.log"
		PORT=$(free_port)
		DPORT=$(free_port)
		"$AKAVS" serve --db "$TMP/db" --listen "127.0.0.1:$PORT" --workers 1 \
			--diameter-listen "127.0.0.1:$DPORT" --origin-host hss.bench.akavs \
			--origin-realm bench.akavs >"$TMP/serve.log" 2>&1 &
		SERVER_PID=$!
		for _ in $(seq 100); do
			grep -q '^ready' "$TMP/serve.log" 2>/dev/null && break
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q '^ready' "$TMP/serve.log"; then
			# warm-up, not reported: the first request for a subscriber makes the
			# server load it and durably reserve its SEQ range; steady state is
			# what we measure, so every subscriber is touched once first
			note "load: warm-up, one challenge per subscriber (not reported)"
			"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 16 --depth 32 \
				--touch-all --seconds 120 | tail -1 || echo "bench: warm-up load failed"
			note "load: 16 conns x 32 in flight, $LSECS s"
			median_of_runs load16x32 "$BENCH" load --connect "127.0.0.1:$PORT" \
				--subs "$TMP/subs.csv" --conns 16 --depth 32 --seconds "$LSECS" --vs-echo --json
			# an S-CSCF on AVS/1 asks for the ready WWW-Authenticate value
			# (nonce, algorithm, qop, ck, ik); the generator renders and checks it
			note "load: 16 conns x 32 in flight, CHALLENGE with WWW-Authenticate, $LSECS s"
			"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 16 --depth 32 \
				--seconds "$LSECS" --www --vs-echo --json >"$TMP/loadwww.json" ||
				echo "bench: load --www failed"
			note "load: 1 conn x 1 in flight, $LSECS s"
			"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 1 --depth 1 \
				--seconds "$LSECS" --vs-echo --json >"$TMP/load1x1.json" ||
				echo "bench: load 1x1 failed"
			note "load: mix of operations, 16 conns x 32, $LSECS s"
			"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 16 --depth 32 \
				--seconds "$LSECS" --op mix --json >"$TMP/loadmix.json" ||
				echo "bench: load mix failed"
			note "load: sweep over depth 1,4,16,64 (16 conns, 1 s each) for the latency plot"
			"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 16 --seconds 1 \
				--sweep 1,4,16,64 --sweep-out "$TMP/sweep.txt" >/dev/null || echo "bench: sweep failed"
			if grep -q 'Diameter on' "$TMP/serve.log"; then
				note "load: Diameter Cx MAR/MAA, 16 peers x 32 in flight, $LSECS s"
				median_of_runs dia16x32 "$BENCH" load --connect "127.0.0.1:$DPORT" --diameter \
					--subs "$TMP/subs.csv" --conns 16 --depth 32 --seconds "$LSECS" --vs-echo --json
				# what an S-CSCF sends per (re-)registration: MAR, then SAR once the UE
				# answered; the first SAR per subscriber is a REGISTRATION (a store
				# commit), later ones RE_REGISTRATION (nothing to write)
				note "load: Diameter Cx registrations (MAR + SAR), 16 peers x 32 in flight, $LSECS s"
				"$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --op register \
					--subs "$TMP/subs.csv" --conns 16 --depth 32 --seconds "$LSECS" \
					--json >"$TMP/register.json" || echo "bench: load --op register failed"
				# a storm after a mass de-registration: every registration a first
				# one (a stored state change), each followed by the UE's
				# de-registration (another); bounded by the store's commits
				# and what a storm does to everyone else: an AVS/1 client with one
				# CHALLENGE in flight beside it (the storm's commits wait for the
				# disk on the registrar, not on the workers)
				note "load: Diameter Cx first registrations + de-registrations, 16 x 32, $LSECS s," \
					"with a 1 x 1 AVS/1 CHALLENGE client beside it"
				"$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --op register --deregister \
					--subs "$TMP/subs.csv" --conns 16 --depth 32 --seconds "$LSECS" \
					--json >"$TMP/deregister.json" &
				STORM_PID=$!
				sleep 0.5
				"$BENCH" load --connect "127.0.0.1:$PORT" --subs "$TMP/subs.csv" --conns 1 \
					--depth 1 --seconds "$((LSECS > 1 ? LSECS - 1 : 1))" \
					--json >"$TMP/stormside.json" || echo "bench: 1 x 1 beside the storm failed"
				wait "$STORM_PID" || echo "bench: load --deregister failed"
			else
				note "load: akavs serve has no Diameter listener, skipped"
			fi
		else
			echo "bench: akavs serve did not become ready; its log:"
			cat "$TMP/serve.log"
		fi
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	else
		echo "bench: sub import failed:"
		cat "$TMP/import.log"
	fi
else
	note "load: akavs serve / sub import not built yet, skipped"
fi

# ---- capacity plan from the measured rate ----
if [ -s "$TMP/load16x32.json" ]; then
	"$BENCH" plan --from "$TMP/load16x32.json" --subs 10M --interval 3600 --storm 100 \
		--json >"$TMP/plan.json" || echo "bench: plan failed"
fi

if [ -s "$TMP/register.json" ]; then
	"$BENCH" plan --from "$TMP/register.json" --subs 10M --interval 3600 --storm 100 \
		--json >"$TMP/plan_reg.json" || echo "bench: plan of registrations failed"
fi

if [ -s "$TMP/sweep.txt" ]; then
	cp "$TMP/sweep.txt" "$BUILD/bench-sweep.txt"
	"$BENCH" plan --rate 1 --subs 1 --interval 1 --storm 1 --sweep "$BUILD/bench-sweep.txt" \
		--plot "$BUILD/bench-latency.png" >/dev/null &&
		note "plot: $BUILD/bench-latency.png (requests/s vs p50/p99, from $BUILD/bench-sweep.txt)"
fi

# ---- summary ----
python3 - "$TMP" <<'PY'
import json, os, sys
d = sys.argv[1]
def load(name):
    p = os.path.join(d, name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def m(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return "%.2f M" % (v / 1e6)
    if v >= 1e4:
        return "%.1f k" % (v / 1e3)
    return "%.0f" % v
rows = []
c = load("crypto.json")
if c:
    print("\nCPU: %s (pinned core %s)" % (c.get("cpu"), c.get("pinned_cpu")))
    for i in c["impls"]:
        rows.append(("milenage %s, %s keys" % (i["name"], i["keys"]), m(i["vectors_per_s"]) + " vectors/s", ""))
    rows.append(("libosmocore osmo_auth_gen_vec", m(c.get("libosmocore_vectors_per_s")) + " vectors/s", "baseline"))
    rows.append(("AES roofline (%s, 16 keys) / 5" % c.get("roofline_isa"), m(c.get("roofline_vectors_per_s")) + " vectors/s", "ceiling"))
    b = c.get("best") or {}
    if b:
        rows.append(("best: %s, %s keys" % (b["name"], b["keys"]), m(b["vectors_per_s"]) + " vectors/s",
                     "%sx libosmocore (target 100x), %s%% of roofline (target 50%%)" % (b.get("x_libosmocore"), b.get("pct_roofline"))))
    r = c.get("rng") or {}
    rows.append(("RAND: bulk vs RAND_bytes(16) each", m(r.get("akv_bulk_rands_per_s")) + " RANDs/s",
                 "%sx one RAND_bytes(16) per vector" % r.get("x_bulk_vs_rand16")))
e = load("engine.json")
if e:
    subs = e.get("subs")
    rows.append(("engine challenges, 1 core, %s subs" % m(subs), m(e.get("challenges_per_s_cpu")) + "/s",
                 "target 2 M/s per core; wall %s/s; %sx of kernel rate" % (m(e.get("challenges_per_s_wall")), e.get("ratio_engine_to_kernel"))))
    rows.append(("engine verifies, 1 core", m(e.get("verifies_per_s_cpu")) + "/s", "wall %s/s" % m(e.get("verifies_per_s_wall"))))
    rows.append(("engine durable commits (fsyncs)", m(e.get("fsyncs_per_s")) + "/s",
                 "%s commits in the cold pass" % e.get("cold_commits")))
    rows.append(("engine memory / disk per subscriber", "%s / %s B" % (e.get("ram_bytes_per_sub_rss"), e.get("disk_bytes_per_sub")), ""))
i = load("import.json")
if i:
    rows.append(("sub import, %s subscribers" % m(i.get("subscribers")), m(i.get("import_subs_per_s")) + " subs/s",
                 "%sx of add_batch without CSV (%s subs/s)" % (i.get("ratio_import_vs_baseline"), m(i.get("baseline_subs_per_s")))))
for name, label in (("load16x32.json", "16 conns x 32"), ("load1x1.json", "1 conn x 1")):
    l = load(name)
    if not l:
        continue
    ec = l.get("echo") or {}
    rows.append(("echo baseline, %s (%s/%s B)" % (label, ec.get("request_bytes"), ec.get("reply_bytes")),
                 m(ec.get("requests_per_s")) + " req/s", "p50 %s us, p99 %s us" % (ec.get("latency_us", {}).get("p50"), ec.get("latency_us", {}).get("p99"))))
    tgt = "target 70%" if "32" in label else "target: p50 within 10 us of echo"
    rows.append(("akavs AVS/1 challenge, %s" % label, m(l.get("requests_per_s")) + " req/s",
                 "%s%% of echo (%s); p50 %s us (%+.1f vs echo), p99 %s us; errors %s" % (
                     l.get("pct_of_echo"), tgt, l["latency_us"]["p50"], l.get("p50_minus_echo_us", 0),
                     l["latency_us"]["p99"], l.get("errors"))))
l = load("loadwww.json")
if l:
    ec = l.get("echo") or {}
    rows.append(("echo baseline, AVS/1 WWW sizes (%s/%s B)" % (ec.get("request_bytes"), ec.get("reply_bytes")),
                 m(ec.get("requests_per_s")) + " req/s", "p50 %s us" % ec.get("latency_us", {}).get("p50")))
    rows.append(("akavs AVS/1 challenge + WWW-Authenticate, 16 x 32", m(l.get("requests_per_s")) + " req/s",
                 "%s%% of echo; p50 %s us, p99 %s us; errors %s" % (
                     l.get("pct_of_echo"), l["latency_us"]["p50"], l["latency_us"]["p99"], l.get("errors"))))
l = load("dia16x32.json")
if l:
    ec = l.get("echo") or {}
    rows.append(("echo baseline, Diameter sizes (%s/%s B)" % (ec.get("request_bytes"), ec.get("reply_bytes")),
                 m(ec.get("requests_per_s")) + " req/s", "p50 %s us" % ec.get("latency_us", {}).get("p50")))
    rows.append(("akavs Diameter MAR/MAA, 16 peers x 32", m(l.get("requests_per_s")) + " req/s",
                 "%s%% of echo (target 60%%); p50 %s us, p99 %s us; errors %s" % (
                     l.get("pct_of_echo"), l["latency_us"]["p50"], l["latency_us"]["p99"], l.get("errors"))))
l = load("register.json")
if l:
    rl = l.get("registration_latency_us") or {}
    rows.append(("akavs Diameter registrations (MAR+SAR), 16 x 32", m(l.get("registrations_per_s")) + " reg/s",
                 "%s MAR/s + %s SAR/s; %s first, %s re-registrations; p50 %s us, p99 %s us; errors %s" % (
                     m(l.get("mars_per_s")), m(l.get("sars_per_s")), l.get("first_registrations"),
                     l.get("re_registrations"), rl.get("p50"), rl.get("p99"), l.get("errors"))))
l = load("deregister.json")
if l:
    rl = l.get("registration_latency_us") or {}
    rows.append(("akavs Diameter first registrations + de-registrations, 16 x 32",
                 m(l.get("registrations_per_s")) + " reg/s",
                 "%s de-registrations/s; all first: %s; p50 %s us, p99 %s us per registration; errors %s" % (
                     m(l.get("deregistrations_per_s")),
                     l.get("first_registrations") == l.get("registrations"), rl.get("p50"), rl.get("p99"),
                     l.get("errors"))))
l = load("stormside.json")
if l:
    rows.append(("akavs AVS/1 CHALLENGE, 1 x 1, beside that storm", m(l.get("requests_per_s")) + " req/s",
                 "p50 %s us, p99 %s us, p99.9 %s us; errors %s" % (
                     l["latency_us"]["p50"], l["latency_us"]["p99"], l["latency_us"]["p999"],
                     l.get("errors"))))
l = load("loadmix.json")
if l:
    rows.append(("akavs AVS/1 mix, 16 conns x 32", m(l.get("requests_per_s")) + " req/s",
                 "%s vectors/s; errors %s" % (m(l.get("vectors_per_s")), l.get("errors"))))
p = load("plan.json")
if p:
    rows.append(("plan: 10 M subs, hourly, storm x100", "%d cores, %d box(es)" % (p["cores"], p["boxes"]),
                 "%.0f auths/s at storm, %.0f per core measured" % (p["auths_per_s_storm"], p["auths_per_s_per_core"])))
p = load("plan_reg.json")
if p:
    rows.append(("plan: 10 M subs, hourly re-registration, storm x100", "%d cores, %d box(es)" % (p["cores"], p["boxes"]),
                 "%.0f registrations/s at storm, %.0f per core measured" % (
                     p.get("registrations_per_s_storm", 0), p["auths_per_s_per_core"])))
if not rows:
    print("no results")
    sys.exit(1)
w0 = max(len(r[0]) for r in rows)
w1 = max(len(r[1]) for r in rows)
print("\n%-*s  %-*s  %s" % (w0, "benchmark", w1, "rate", "ratio / note"))
print("-" * (w0 + w1 + 40))
for r in rows:
    print("%-*s  %-*s  %s" % (w0, r[0], w1, r[1], r[2]))
PY

#!/usr/bin/env bash
# bench_smoke: very short runs of every akavs-bench subcommand and of
# akavs-microbench, checking that each exits 0 and that its --json output
# parses and carries the documented fields with sane types. Never asserts
# speed (the machine is shared): only shape and correctness (0 errors when
# the load generator checks the server's vectors).
set -u
BUILD=${AKV_BUILD_DIR:-build}
BENCH=$BUILD/akavs-bench
AKAVS=$BUILD/akavs
[ -x "$BENCH" ] || { echo "SKIP: $BENCH not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_smoke.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
fail=0
pass() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# check FILE PYTHON-EXPR...: each expression, with j = the parsed JSON, must be true
check() {
	local f=$1 name=$2
	shift 2
	if python3 - "$f" "$@" <<'PY'; then pass "$name"; else bad "$name"; echo "--- output:"; cat "$f"; fi
import json, sys
with open(sys.argv[1]) as fh:
    j = json.load(fh)
num = (int, float)
for expr in sys.argv[2:]:
    if not eval(expr, {"j": j, "num": num}):
        print("not true: " + expr)
        sys.exit(1)
PY
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- crypto ----
if "$BENCH" crypto --seconds 0.06 --subs 1024 --json >"$TMP/crypto.json"; then
	check "$TMP/crypto.json" "crypto --json fields" \
		'isinstance(j["impls"], list) and len(j["impls"]) >= 1' \
		'all(set(i) >= {"name","keys","vectors_per_s"} and i["keys"] in ("expanded","precomputed") and isinstance(i["vectors_per_s"], num) and i["vectors_per_s"] > 0 for i in j["impls"])' \
		'"ref" in [i["name"] for i in j["impls"]]' \
		'j["libosmocore_vectors_per_s"] is None or j["libosmocore_vectors_per_s"] > 0' \
		'j["roofline_vectors_per_s"] is None or j["roofline_vectors_per_s"] > 0' \
		'isinstance(j["rng"], dict) and j["rng"]["akv_bulk_rands_per_s"] > 0' \
		'set(j["best"]) >= {"name","vectors_per_s","x_libosmocore","pct_roofline"}' \
		'j["best"]["vectors_per_s"] == max(i["vectors_per_s"] for i in j["impls"])' \
		'isinstance(j["cpu"], str) and j["subscribers"] >= 1024'
else
	bad "crypto exited non-zero"
fi
"$BENCH" crypto --subs 10 >/dev/null 2>&1 && bad "crypto accepted --subs 10" || pass "crypto refuses < 1024 subscribers"

# ---- plan ----
if "$BENCH" plan --rate 100k --subs 10M --interval 3600 --storm 100 --headroom 30 --cores-per-box 8 \
	--json >"$TMP/plan.json"; then
	# 10M/3600*100 = 277778 auths/s; /(100k*0.7) = 3.97 -> 4 cores -> 1 box
	check "$TMP/plan.json" "plan arithmetic" \
		'abs(j["auths_per_s_avg"] - 10e6/3600) < 1' 'j["cores"] == 4' 'j["boxes"] == 1' \
		'j["boxes_n_plus_1"] == 2'
else
	bad "plan exited non-zero"
fi
"$BENCH" plan --subs 10 >/dev/null 2>&1 && bad "plan without a rate succeeded" || pass "plan needs a rate"
if "$BENCH" plan --rate 50k --unit registrations --subs 10M --interval 3600 --storm 100 --headroom 30 \
	--cores-per-box 8 --json >"$TMP/plan_regs.json"; then
	# 277778 registrations/s / (50k * 0.7) = 7.9 -> 8 cores -> 1 box; MAR + SAR each
	check "$TMP/plan_regs.json" "plan --unit registrations arithmetic" \
		'j["planned_in"] == "registrations" and j["cores"] == 8 and j["boxes"] == 1' \
		'abs(j["sars_per_s_storm"] - 10e6/36) < 1 and j["mars_per_s_storm"] == j["sars_per_s_storm"]'
else
	bad "plan --unit registrations exited non-zero"
fi
"$BENCH" plan --rate 50k --unit registrations --requests-per-auth 2 --subs 1M --interval 3600 \
	--storm 10 >/dev/null 2>&1 && bad "plan took --requests-per-auth with registrations" ||
	pass "plan refuses --requests-per-auth with a rate of registrations"

# ---- one-thread codec benchmarks (AVS/1 front end, Diameter) ----
if "$BENCH" avs1 --n 2000 --json >"$TMP/avs1.json"; then
	check "$TMP/avs1.json" "avs1 --json fields" \
		'j["n"] == 2000 and j["vectors"] == 1' \
		'j["req_bytes"] == 68 and j["ans_bytes"] == 82' \
		'all(isinstance(j[k], num) and j[k] > 0 for k in ("server_ns","client_ns","memcpy_ns","server_over_memcpy","client_over_memcpy","check"))'
else
	bad "avs1 exited non-zero"
fi
if "$BENCH" avs1 --n 500 --vectors 3 --json >"$TMP/avs1_3.json"; then
	# 3 vectors: 16 + 2 + 3 * 64 answer bytes
	check "$TMP/avs1_3.json" "avs1 --vectors 3 answer size" 'j["vectors"] == 3 and j["ans_bytes"] == 210'
else
	bad "avs1 --vectors 3 exited non-zero"
fi
"$BENCH" avs1 --vectors 33 >/dev/null 2>&1 && bad "avs1 accepted --vectors 33" || pass "avs1 refuses 33 vectors"
if "$BENCH" dia --n 500 --json >"$TMP/dia.json"; then
	check "$TMP/dia.json" "dia --json fields" \
		'j["n"] == 500 and j["vectors"] == 1 and j["mar_bytes"] > 0 and j["maa_bytes"] > 0' \
		'all(isinstance(j[k], num) and j[k] > 0 for k in ("server_ns","client_ns","memcpy_ns"))'
else
	bad "dia exited non-zero"
fi

# ---- engine: CHALLENGE then VERIFY of each (every one verifies), and
# --vectors, the Cx MAR's op (no verify phase) ----
if "$BENCH" engine --subs 1000 --requests 2000 --at-cap --impu --json >"$TMP/engine.json"; then
	check "$TMP/engine.json" "engine --json fields" \
		'j["requests"] == 2000 and j["vectors"] == 0 and j["at_cap"] == 1' \
		'j["verified_ok"] == 2000' \
		'j["challenges_per_s_cpu"] > 0 and j["verifies_per_s_cpu"] > 0'
else
	bad "engine exited non-zero"
fi
if "$BENCH" engine --subs 1000 --requests 2000 --vectors --json >"$TMP/engine_v.json"; then
	check "$TMP/engine_v.json" "engine --vectors" \
		'j["vectors"] == 1 and j["challenges_per_s_cpu"] > 0' \
		'j["verified_ok"] == 0 and j["verifies_per_s_cpu"] == 0'
else
	bad "engine --vectors exited non-zero"
fi

# ---- echo + load against it ----
EPORT=$(free_port)
"$BENCH" echo --listen "127.0.0.1:$EPORT" --seconds 30 >"$TMP/echo.log" 2>&1 &
EPID=$!
PIDS+=("$EPID")
for _ in $(seq 50); do grep -q listening "$TMP/echo.log" && break; sleep 0.1; done
if "$BENCH" load --connect "127.0.0.1:$EPORT" --echo --conns 4 --depth 4 --seconds 0.3 \
	--req-size 300 --reply-size 400 --json >"$TMP/load_echo.json"; then
	check "$TMP/load_echo.json" "load --echo fields, 0 errors" \
		'j["target"] == "echo" and j["requests_per_s"] > 0 and j["errors"] == 0' \
		'set(j["latency_us"]) >= {"p50","p99","p999"}' \
		'j["latency_us"]["p50"] <= j["latency_us"]["p99"] <= j["latency_us"]["p999"]'
else
	bad "load --echo exited non-zero"
fi
if "$BENCH" load --connect "127.0.0.1:$EPORT" --echo --conns 2 --seconds 0.2 --sweep 1,4 \
	--sweep-out "$TMP/sweep.txt" >/dev/null && [ "$(grep -vc '^#' "$TMP/sweep.txt")" = 2 ]; then
	pass "load --sweep writes one point per depth"
	if command -v gnuplot >/dev/null; then
		"$BENCH" plan --rate 1M --subs 1M --interval 3600 --storm 10 --sweep "$TMP/sweep.txt" \
			--plot "$TMP/p.png" >/dev/null && [ -s "$TMP/p.png" ] && pass "plan --plot PNG" ||
			bad "plan --plot"
	fi
else
	bad "load --sweep"
fi
kill -TERM "$EPID"
if wait "$EPID" && grep -q 'stopped after' "$TMP/echo.log"; then
	pass "echo stops cleanly on SIGTERM"
else
	bad "echo did not stop cleanly"; cat "$TMP/echo.log"
fi
"$BENCH" load --connect 127.0.0.1:1 --echo --seconds 0.1 >/dev/null 2>&1 &&
	bad "load to a closed port succeeded" || pass "load reports a refused connection"
printf 'impi,impus,k,op,opc,amf,sqn\nx@y,,00,,00,8000,\n' >"$TMP/bad.csv"
"$BENCH" load --connect "127.0.0.1:$EPORT" --subs "$TMP/bad.csv" --seconds 0.1 2>"$TMP/bad.err" &&
	bad "load accepted a bad CSV" ||
	{ grep -q 'bad.csv:2' "$TMP/bad.err" && pass "load names the bad CSV line" || bad "bad CSV message"; }

# ---- load against akavs (AVS/1), when the server exists ----
if [ -x "$AKAVS" ] && "$AKAVS" serve --help >/dev/null 2>&1; then
	python3 - "$TMP/subs.csv" <<'PY'
import os, sys
with open(sys.argv[1], "w") as f:
    f.write("impi,impus,k,op,opc,amf,sqn\n")
    for i in range(64):
        f.write("smoke%d@bench.akavs,sip:smoke%d@bench.akavs,%s,,%s,8000,\n"
                % (i, i, os.urandom(16).hex(), os.urandom(16).hex()))
PY
	if "$AKAVS" sub import "$TMP/subs.csv" --db "$TMP/db" >/dev/null; then
		APORT=$(free_port)
		DPORT=$(free_port)
		"$AKAVS" serve --db "$TMP/db" --listen "127.0.0.1:$APORT" --workers 1 \
			--diameter-listen "127.0.0.1:$DPORT" --origin-host hss.bench.akavs \
			--origin-realm bench.akavs >"$TMP/serve.log" 2>&1 &
		PIDS+=($!)
		for _ in $(seq 100); do grep -q '^ready' "$TMP/serve.log" && break; sleep 0.1; done
		if "$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/subs.csv" --touch-all \
			--conns 2 --depth 4 --seconds 30 --json >"$TMP/touch.json"; then
			check "$TMP/touch.json" "load --touch-all: one checked challenge per subscriber" \
				'j["requests"] == 64 and j["vectors_per_s"] > 0 and j["errors"] == 0'
		else
			bad "load --touch-all exited non-zero"
		fi
		for op in challenge verify wrong resync vectors mix; do
			if "$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/subs.csv" --op $op --n 3 \
				--conns 2 --depth 2 --seconds 1 --json >"$TMP/load_$op.json"; then
				check "$TMP/load_$op.json" "load --op $op against akavs: checked, 0 errors" \
					'j["target"] == "avs1" and j["requests"] > 0 and j["errors"] == 0' \
					'j["checked"] is True and isinstance(j["vectors_per_s"], num)' \
					'set(j["latency_us"]) >= {"p50","p99","p999"}'
			else
				bad "load --op $op exited non-zero"
			fi
		done
		if "$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/subs.csv" --op mix --www \
			--conns 2 --depth 2 --seconds 1 --json >"$TMP/load_www.json"; then
			check "$TMP/load_www.json" "load --www: WWW-Authenticate values checked, 0 errors" \
				'j["www"] is True and j["requests"] > 0 and j["errors"] == 0'
		else
			bad "load --www exited non-zero"
		fi
		if "$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/subs.csv" --conns 2 --depth 2 \
			--seconds 1 --vs-echo --json >"$TMP/load_vs.json"; then
			check "$TMP/load_vs.json" "load --vs-echo: pct_of_echo and the echo run" \
				'isinstance(j["pct_of_echo"], num) and j["pct_of_echo"] > 0' \
				'j["echo"]["requests_per_s"] > 0 and j["echo"]["errors"] == 0'
		else
			bad "load --vs-echo exited non-zero"
		fi
		for op in challenge vectors resync; do
			if "$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/subs.csv" \
				--op $op --n 3 --conns 2 --depth 2 --seconds 1 --json >"$TMP/dia_$op.json"; then
				check "$TMP/dia_$op.json" "load --diameter --op $op (CER, MARs): 0 errors" \
					'j["target"] == "diameter" and j["requests"] > 0 and j["errors"] == 0' \
					'j["vectors_per_s"] > 0'
			else
				bad "load --diameter --op $op exited non-zero"
			fi
		done
		# registrations as an S-CSCF runs them (MAR, then SAR): the server's
		# STATS must show the SARs and, for the first registrations, commits
		stat() { "$AKAVS" client --connect "127.0.0.1:$APORT" --timeout 5000 stats --json |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$1"; }
		sar0=$(stat requests.sar) com0=$(stat store.commits)
		if "$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/subs.csv" \
			--op register --touch-all --conns 2 --depth 4 --seconds 30 --json >"$TMP/reg_touch.json"; then
			check "$TMP/reg_touch.json" "load --op register --touch-all: one first registration per subscriber" \
				'j["registrations"] == 64 and j["first_registrations"] == 64 and j["sars"] == 64' \
				'j["mars"] == 64 and j["errors"] == 0 and j["registrations_per_s"] > 0'
		else
			bad "load --op register --touch-all exited non-zero"
		fi
		sar1=$(stat requests.sar) com1=$(stat store.commits)
		[ $((sar1 - sar0)) = 64 ] && [ $((com1 - com0)) -ge 1 ] &&
			pass "server: 64 SARs, $((com1 - com0)) store commits for the first registrations" ||
			bad "server STATS after 64 first registrations: $((sar1 - sar0)) SARs, $((com1 - com0)) commits"
		if "$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/subs.csv" \
			--op register --conns 2 --depth 4 --seconds 2 --json >"$TMP/reg.json"; then
			check "$TMP/reg.json" "load --diameter --op register: MAR+SAR registrations, 0 errors" \
				'j["op"] == "register" and j["registrations"] > 0 and j["errors"] == 0' \
				'j["sars"] == j["registrations"] and j["mars"] >= j["sars"]' \
				'j["mars"] - j["sars"] <= 2 * 4 and j["re_registrations"] > 0' \
				'0 < j["first_registrations"] <= 64' \
				'0 < j["registration_latency_us"]["p50"] <= j["registration_latency_us"]["p99"]' \
				'j["registration_latency_us"]["p50"] >= j["latency_us"]["p50"]'
			sar2=$(stat requests.sar)
			python3 -c 'import json,sys; sys.exit(not int(sys.argv[2]) >= json.load(open(sys.argv[1]))["sars"])' \
				"$TMP/reg.json" $((sar2 - sar1)) &&
				pass "server counted every SAR the generator did ($((sar2 - sar1)))" ||
				bad "server counted $((sar2 - sar1)) SARs, fewer than the generator's"
			if "$BENCH" plan --from "$TMP/reg.json" --subs 1M --interval 3600 --storm 10 \
				--json >"$TMP/plan_reg.json"; then
				check "$TMP/plan_reg.json" "plan --from a register run plans registrations" \
					'j["rate_unit"] == "registrations" and j["planned_in"] == "registrations"' \
					'j["registrations_per_s_storm"] == j["auths_per_s_storm"] and j["cores"] >= 1'
			else
				bad "plan --from a register run exited non-zero"
			fi
		else
			bad "load --diameter --op register exited non-zero"
		fi
		# --deregister: every registration a first one, each followed by the
		# UE's de-registration; both change the stored state (commits)
		com2=$(stat store.commits)
		if "$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/subs.csv" \
			--op register --deregister --conns 2 --depth 4 --seconds 1 --json >"$TMP/dereg.json"; then
			check "$TMP/dereg.json" "load --op register --deregister: first registrations, each de-registered" \
				'j["deregister"] and j["registrations"] > 0 and j["errors"] == 0' \
				'j["first_registrations"] == j["registrations"] and j["re_registrations"] == 0' \
				'0 <= j["registrations"] - j["deregistrations"] <= 2 * 4' \
				'j["sars"] == j["registrations"] + j["deregistrations"]'
			com3=$(stat store.commits)
			[ $((com3 - com2)) -ge 2 ] &&
				pass "server: $((com3 - com2)) store commits for registrations and de-registrations" ||
				bad "server: $((com3 - com2)) store commits during the --deregister run"
		else
			bad "load --op register --deregister exited non-zero"
		fi
		"$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/subs.csv" --deregister \
			--seconds 0.1 >/dev/null 2>&1 && bad "load --deregister without --op register ran" ||
			pass "load --deregister needs --op register"
		"$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/subs.csv" --op register \
			--seconds 0.1 >/dev/null 2>&1 && bad "load --op register without --diameter ran" ||
			pass "load --op register needs --diameter"
		# the generator must notice wrong vectors: same IMPIs, other keys
		python3 - "$TMP/subs.csv" "$TMP/wrong.csv" <<'PY'
import os, sys
rows = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2], "w") as f:
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        c = r.split(","); c[2] = os.urandom(16).hex(); f.write(",".join(c) + "\n")
PY
		"$BENCH" load --connect "127.0.0.1:$APORT" --subs "$TMP/wrong.csv" --conns 1 --depth 1 \
			--seconds 1 --json >"$TMP/load_wrong.json"
		check "$TMP/load_wrong.json" "load counts vectors that do not match the keys" \
			'j["requests"] > 0 and j["errors"] == j["requests"]' \
			'j["error_detail"]["bad_vectors"] == j["requests"]'
		"$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/wrong.csv" --conns 1 \
			--depth 1 --seconds 1 --json >"$TMP/dia_wrong.json"
		check "$TMP/dia_wrong.json" "load --diameter counts MAA items that do not match the keys" \
			'j["requests"] > 0 and j["error_detail"]["bad_vectors"] == j["requests"]'
		# a UE whose RES is not the XRES is not registered: no SAR follows
		"$BENCH" load --connect "127.0.0.1:$DPORT" --diameter --subs "$TMP/wrong.csv" --op register \
			--conns 1 --depth 1 --seconds 1 --json >"$TMP/reg_wrong.json"
		check "$TMP/reg_wrong.json" "load --op register sends no SAR after a wrong RES" \
			'j["mars"] > 0 and j["sars"] == 0 and j["registrations"] == 0' \
			'j["error_detail"]["bad_vectors"] == j["mars"]'
	else
		bad "akavs sub import failed"
	fi
else
	echo "note: akavs serve not built: AVS/1 load skipped"
fi

# ---- microbench ----
MB=$BUILD/akavs-microbench
if [ -x "$MB" ]; then
	if "$MB" --benchmark_filter='mil_vector/ref|rand_bulk' --benchmark_min_time=0.01 \
		--benchmark_format=json >"$TMP/micro.json" 2>/dev/null; then
		check "$TMP/micro.json" "akavs-microbench json: vectors/s with impl label" \
			'len(j["benchmarks"]) >= 2' \
			'all(b["items_per_second"] > 0 for b in j["benchmarks"])' \
			'any(b["name"].startswith("mil_vector/ref") and b["label"].startswith("ref") for b in j["benchmarks"])'
	else
		bad "akavs-microbench exited non-zero"
	fi
else
	echo "note: akavs-microbench not built (libbenchmark-dev missing?)"
fi
exit $fail

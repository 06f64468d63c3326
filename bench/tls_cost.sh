#!/usr/bin/env bash
# bench/tls_cost.sh BUILD_DIR - what TLS costs (docs/TLS.md "Cost"): the same
# 16 x 32 load against a plain and a TLS akavs in turn, AVS/1 CHALLENGE and
# Diameter MAR, every vector checked; a throw-away CA and server certificate
# (P-256) are made with the openssl CLI. Knobs: RUNS (rounds, default 3),
# LOAD_SECONDS (default 3), BENCH_SUBS (default 10000).
set -u
. "$(dirname "$0")/lib.bash"
BUILD=${1:-build}
B=$BUILD
T=$(mktemp -d "${TMPDIR:-/tmp}/akavs-tls-cost.XXXXXX")
S=
trap '[ -n "$S" ] && kill -TERM "$S" 2>/dev/null; rm -rf "$T"' EXIT
command -v openssl >/dev/null || { echo "tls_cost: the openssl CLI is needed"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=ca" \
	-keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=server" \
	-keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$T/server.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/server.ext" -out "$T/server.pem" 2>/dev/null || exit 1
gen_subs "${BENCH_SUBS:-10000}" "$T/subs.csv"
"$B/akavs" sub import "$T/subs.csv" --db "$T/db" >/dev/null || exit 1

# serve TLS(0|1): starts akavs; sets S, P (AVS/1) and D (Diameter, plain or TLS)
serve() {
	local x=(--diameter-listen 127.0.0.1:0)
	[ "$1" = 1 ] && x=(--tls-cert "$T/server.pem" --tls-key "$T/server.key"
		--diameter-tls-listen 127.0.0.1:0)
	"$B/akavs" serve --db "$T/db" --listen 127.0.0.1:0 --workers 1 "${x[@]}" \
		--origin-host hss.bench.akavs --origin-realm bench.akavs >"$T/s.out" 2>&1 &
	S=$!
	for _ in $(seq 100); do grep -q '^ready' "$T/s.out" && break; sleep 0.1; done
	P=$(sed -n 's/^listening: AVS\/1 on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/s.out")
	D=$(sed -n 's/^listening: Diameter\(\/TLS\)\{0,1\} on 127\.0\.0\.1:\([0-9]*\)$/\2/p' "$T/s.out")
	[ -n "$P" ] && [ -n "$D" ] || { echo "tls_cost: akavs did not start"; cat "$T/s.out"; exit 1; }
}
# run TLS(0|1) avs|dia: one measured load, one line
run() {
	local tl=() x=() port
	[ "$1" = 1 ] && tl=(--tls-ca "$T/ca.pem")
	serve "$1"
	"$B/akavs-bench" load --connect "127.0.0.1:$P" --subs "$T/subs.csv" --touch-all \
		--seconds 60 ${tl[@]+"${tl[@]}"} >/dev/null || exit 1
	port=$P
	[ "$2" = dia ] && x=(--diameter) && port=$D
	"$B/akavs-bench" load --connect "127.0.0.1:$port" --subs "$T/subs.csv" --conns 16 \
		--depth 32 --seconds "${LOAD_SECONDS:-3}" ${x[@]+"${x[@]}"} ${tl[@]+"${tl[@]}"} \
		--json >"$T/j.json" || exit 1
	kill -TERM "$S"
	wait "$S"
	S=
	python3 - "$T/j.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("%-4s %-5s %9.0f req/s  p50 %5.0f us  p99 %5.0f us  errors %d" % (
    sys.argv[2], "TLS" if j["tls"] else "plain", j["requests_per_s"],
    j["latency_us"]["p50"], j["latency_us"]["p99"], j["errors"]))
PY
}
for r in $(seq "${RUNS:-3}"); do
	for m in avs dia; do
		run 0 "$m"
		run 1 "$m"
	done
done

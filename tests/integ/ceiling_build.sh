#!/usr/bin/env bash
# ceiling_build: the pass-through build of `make bench-ceiling`
# (-DAKV_PASS_THROUGH_ENGINE=ON, server/aka/eng_pass.c) still builds, refuses
# to serve unless AKAVS_PASS_THROUGH_OK=1, says what it is when it does,
# answers CHALLENGE, VECTORS and Cx MARs with zeroed vectors (in the worker,
# or in the front end with AKAVS_PASS_THROUGH_FE=1) and leaves every other
# operation to the real engine; and the normal build has none of it.
#   AKV_CEILING_BUILD  build dir (default $AKV_BUILD_DIR/ceiling)
. "$(dirname "$0")/server_lib.bash"
CBUILD=${AKV_CEILING_BUILD:-$BUILD/ceiling}
ZERO32=00000000000000000000000000000000

# the normal build: real vectors, no pass-through line
provision 3
start_server
grep -q PASS-THROUGH "$T/serve.out" && fail "the normal build announces a pass-through engine"
out=$(cli challenge user1@ims.test) || die "challenge on the normal build failed"
[ "$(jget "$out" 'j["vectors"][0]["rand"]')" != "$ZERO32" ] || fail "normal build: zero RAND"
stop_server TERM

echo "building the pass-through server in $CBUILD"
cmake -S "$SRC" -B "$CBUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAKV_PASS_THROUGH_ENGINE=ON \
	-DAKV_BENCH=OFF >"$T/cmake.log" 2>&1 &&
	cmake --build "$CBUILD" -j "${AKV_CEILING_JOBS:-2}" --target akavs >>"$T/cmake.log" 2>&1 ||
	{ tail -n 30 "$T/cmake.log"; die "the pass-through build failed"; }
AKAVS=$CBUILD/akavs

# refused without the acknowledgement, before it opens anything
if "$AKAVS" serve --db "$T/never" --listen 127.0.0.1:0 >"$T/refused.out" 2>&1; then
	fail "the pass-through build served without AKAVS_PASS_THROUGH_OK"
else
	grep -q "AKAVS_PASS_THROUGH_OK=1" "$T/refused.out" && ok "refused without AKAVS_PASS_THROUGH_OK" ||
		fail "refusal does not say why: $(cat "$T/refused.out")"
fi
[ -e "$T/never" ] && fail "the refused server created its store"

# zero_vectors JSON N XRES: N vectors, every field zero, XRES of XRES hex digits
zero_vectors() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
j, n, xl = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
v = j["vectors"]
assert len(v) == n, v
for x in v:
    for f in ("rand", "autn", "ck", "ik"):
        assert x[f] == "0" * 32, (f, x[f])
    if xl:
        assert x["xres"] == "0" * xl, x["xres"]
PY
}

for where in worker frontend; do
	env=AKAVS_NONE=
	[ $where = frontend ] && env=AKAVS_PASS_THROUGH_FE=1
	export AKAVS_PASS_THROUGH_OK=1 "$env"
	start_server --workers 1 --diameter-listen 127.0.0.1:0 --origin-host hss.ceiling.test \
		--origin-realm ceiling.test
	unset AKAVS_PASS_THROUGH_OK AKAVS_PASS_THROUGH_FE
	grep -q "^engine: PASS-THROUGH" "$T/serve.out" || fail "$where: no PASS-THROUGH startup line"
	if [ $where = frontend ]; then
		grep -q "answered in the front end" "$T/serve.out" || fail "frontend: startup line"
	fi
	out=$(cli challenge user1@ims.test) || fail "$where: challenge failed"
	zero_vectors "$out" 1 0 && ok "$where: CHALLENGE gets a zeroed vector" ||
		fail "$where: CHALLENGE: $out"
	out=$(cli vectors user2@ims.test --n 3) || fail "$where: vectors failed"
	zero_vectors "$out" 3 16 && ok "$where: VECTORS n=3 gets zeroed quintets" ||
		fail "$where: VECTORS: $out"
	# VERIFY goes to the real engine: no challenge of that RAND is pending
	out=$(cli verify user1@ims.test --rand "$ZERO32" --res 0000000000000000)
	rc=$?
	[ $rc -eq 1 ] && ok "$where: VERIFY answered by the real engine (rc 1: $out)" ||
		fail "$where: VERIFY rc $rc: $out"
	stats=$(cli stats) || fail "$where: stats failed"
	# a Cx MAR over Diameter: the MAA carries the zeroed quintet (the
	# generator cannot check it: --no-check) and is well formed
	dia_port
	if "$BUILD/akavs-bench" load --connect "127.0.0.1:$DPORT" --diameter --realm ceiling.test \
		--subs "$T/subs.csv" --conns 1 --depth 1 --seconds 1 --no-check --json >"$T/dia.json"; then
		python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j["errors"] == 0 and j["requests"] > 0))' \
			"$T/dia.json" && ok "$where: Diameter MARs answered, 0 errors" ||
			fail "$where: Diameter load: $(cat "$T/dia.json")"
	else
		fail "$where: Diameter load failed: $(cat "$T/dia.json")"
	fi
	wreq=$(jget "$stats" 'j["stats"]["worker.requests"]')
	if [ $where = frontend ]; then
		[ "$wreq" = 1 ] && ok "frontend: only the VERIFY reached the worker" ||
			fail "frontend: worker.requests $wreq, expected 1"
	else
		[ "$wreq" = 3 ] && ok "worker: all three requests reached the worker" ||
			fail "worker: worker.requests $wreq, expected 3"
	fi
	stop_server TERM
	[ "$SERVER_RC" = 0 ] || fail "$where: exit status $SERVER_RC"
done
finish

#!/usr/bin/env bash
# `akavs milenage` end to end: TS 35.207/35.208 values (single shot, --op and
# --opc, human and JSON), every kind of bad argument, and --batch (order,
# malformed lines reported by number and skipped, equality with single shot
# and across every backend this CPU runs).
set -u
AKAVS=${AKV_BUILD_DIR:-build}/akavs
VECTORS=${AKV_VECTORS_DIR:-tests/vectors}
[ -x "$AKAVS" ] || { echo "FAIL: $AKAVS not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 missing (make deps)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/akv-milcli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

# TS 35.208 test set 1 and the AUTN/nonce worked values of REFERENCE.md §1.4
K=465b5ce8b199b49faa5f0a2ee238a6bc OP=cdc202d5123e20f62b6d676ac72cb318
OPC=cd63cb71954a9f4e48a5994e37a02baf RAND=23553cbe9637a89d218ae64dae47bf35
SQN=ff9bb4d0b607 AMF=b9b9
declare -A want=([OPc]=cd63cb71954a9f4e48a5994e37a02baf [MAC-A]=4a9ffac354dfafb3
	[MAC-S]=01cfaf9ec4e871e9 [RES]=a54211d5e3ba50bf [CK]=b40ba9a3c58b2a05bbf0d987b21bf8cb
	[IK]=f769bcd751044604127672711c6d3441 [AK]=aa689c648370 [AK*]=451e8beca43b
	[AUTN]=55f328b43577b9b94a9ffac354dfafb3)

# ---- single shot, human table, OP and OPc forms ----
for form in "--op $OP" "--opc $OPC"; do
	# shellcheck disable=SC2086
	if ! "$AKAVS" milenage --k $K $form --rand $RAND --sqn $SQN --amf $AMF >"$tmp/out" 2>"$tmp/err"; then
		fail "set 1 ($form) exited non-zero: $(cat "$tmp/err")"
		continue
	fi
	bad=0
	for f in "${!want[@]}"; do
		got=$(awk -v f="$f" '$1 == f { print $2 }' "$tmp/out")
		[ "$got" = "${want[$f]}" ] || { fail "set 1 ($form) $f: got '$got' want ${want[$f]}"; bad=1; }
	done
	[ $bad = 0 ] && pass "set 1 table (${form%% *})"
done

# ---- JSON: parses, has exactly the documented fields, same values ----
if "$AKAVS" milenage --json --k $K --op $OP --rand $RAND --sqn $SQN --amf $AMF >"$tmp/json" &&
	python3 -m json.tool "$tmp/json" >/dev/null; then
	python3 - "$tmp/json" "${want[OPc]}" "${want[MAC-A]}" "${want[MAC-S]}" "${want[RES]}" \
		"${want[CK]}" "${want[IK]}" "${want[AK]}" "${want[AK*]}" "${want[AUTN]}" <<'EOF' &&
import json, sys
o = json.load(open(sys.argv[1]))
keys = ["opc", "mac_a", "mac_s", "res", "ck", "ik", "ak", "ak_s", "autn"]
assert sorted(o) == sorted(keys), sorted(o)
for k, v in zip(keys, sys.argv[2:]):
    assert o[k] == v, (k, o[k], v)
EOF
		pass "JSON parses and matches set 1" || fail "JSON fields/values wrong: $(cat "$tmp/json")"
else
	fail "--json output does not parse: $(cat "$tmp/json")"
fi

# ---- every TS 35.207/35.208 row: --op (OPc derivation) single shot, and --batch ----
rows=0 rowfail=0
: >"$tmp/tsv_in"
: >"$tmp/tsv_want"
for tsv in "$VECTORS"/ts35207_sets.tsv "$VECTORS"/ts35208_sets.tsv; do
	while IFS=$'\t' read -r set k rand sqn amf op opc f1 f1s f2 f3 f4 f5 f5s; do
		[ "$set" = set ] && continue
		rows=$((rows + 1))
		"$AKAVS" milenage --json --k "$k" --op "$op" --rand "$rand" --sqn "$sqn" --amf "$amf" \
			>"$tmp/row" 2>&1 || { fail "$(basename "$tsv") set $set exited non-zero"; rowfail=1; continue; }
		python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
got = [o[k] for k in ("opc", "mac_a", "mac_s", "res", "ck", "ik", "ak", "ak_s")]
sys.exit(0 if got == sys.argv[2:] else 1)' "$tmp/row" "$opc" "$f1" "$f1s" "$f2" "$f3" "$f4" "$f5" "$f5s" ||
			{ fail "$(basename "$tsv") set $set differs: $(cat "$tmp/row")"; rowfail=1; }
		echo "$k $opc $rand $sqn $amf" >>"$tmp/tsv_in"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$f1" "$f1s" "$f2" "$f3" "$f4" "$f5" "$f5s" >>"$tmp/tsv_want"
	done <"$tsv"
done
[ $rows -ge 20 ] || fail "only $rows vector rows read from $VECTORS"
[ $rowfail = 0 ] && pass "$rows vector rows, single shot with --op"
if "$AKAVS" milenage --batch <"$tmp/tsv_in" >"$tmp/tsv_got" && cmp -s "$tmp/tsv_got" "$tmp/tsv_want"; then
	pass "$rows vector rows through --batch"
else
	fail "--batch on the vector rows differs"
fi

# ---- bad arguments: non-zero exit, a message naming the flag, never the key ----
GOOD=(--k $K --opc $OPC --rand $RAND --sqn $SQN --amf $AMF)
check_bad() { # expected-substring args...
	local expect=$1 rc
	shift
	"$AKAVS" milenage "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		fail "accepted: $*"
	elif ! grep -qF -- "$expect" "$tmp/err"; then
		fail "message for ($*) lacks '$expect': $(cat "$tmp/err")"
	elif grep -qiF -- "$K" "$tmp/err" || grep -qiF -- "$OPC" "$tmp/err" || grep -qiF -- "${K:0:30}" "$tmp/err"; then
		fail "message for ($*) echoes a key"
	elif [ -s "$tmp/out" ]; then
		fail "printed output despite the error: $*"
	else
		pass "rejected (rc $rc): $(head -1 "$tmp/err")"
	fi
}
check_bad "--k" --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
check_bad "--op or --opc" --k $K --rand $RAND --sqn $SQN --amf $AMF
check_bad "--rand" --k $K --opc $OPC --sqn $SQN --amf $AMF
check_bad "--sqn" --k $K --opc $OPC --rand $RAND --amf $AMF
check_bad "--amf" --k $K --opc $OPC --rand $RAND --sqn $SQN
check_bad "exclusive" "${GOOD[@]}" --op $OP
check_bad "--k given twice" "${GOOD[@]}" --k $K
check_bad "--json given twice" "${GOOD[@]}" --json --json
check_bad "--k: expected 32 hex digits" --k "${K:0:30}" --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
check_bad "--k: expected 32 hex digits" --k "${K}00" --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
check_bad "--opc: character 7 is not a hex digit" --k $K --opc "${OPC:0:6}g${OPC:7}" --rand $RAND --sqn $SQN --amf $AMF
check_bad "--op: expected 32" --k $K --op "" --rand $RAND --sqn $SQN --amf $AMF
check_bad "--rand: expected 32" --k $K --opc $OPC --rand "${RAND:0:31}" --sqn $SQN --amf $AMF
check_bad "--sqn: expected 12" --k $K --opc $OPC --rand $RAND --sqn ff9bb4d0b6 --amf $AMF
check_bad "--sqn: character 1" --k $K --opc $OPC --rand $RAND --sqn " f9bb4d0b607" --amf $AMF
check_bad "--amf: expected 4" --k $K --opc $OPC --rand $RAND --sqn $SQN --amf b9b9b9
check_bad "--amf: character 2" --k $K --opc $OPC --rand $RAND --sqn $SQN --amf "b-b9"
check_bad "--amf needs a value" --k $K --opc $OPC --rand $RAND --sqn $SQN --amf
check_bad "--k needs a value" --k --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
check_bad "unknown option '--kk'" --kk $K --opc $OPC --rand $RAND --sqn $SQN --amf $AMF
check_bad "unexpected argument #1" $K
check_bad "only --impl" --batch --k $K
check_bad "--impl nope" "${GOOD[@]}" --impl nope
check_bad "usage:"
"$AKAVS" milenage --help >"$tmp/out" 2>&1 && grep -q -- "--batch" "$tmp/out" && pass "--help" ||
	fail "--help"

# ---- --batch: seeded random lines, malformed ones in the middle ----
python3 - "$tmp" <<'EOF'
import random, sys
rnd = random.Random(2026)
d = sys.argv[1]
h = lambda n: rnd.getrandbits(8 * n).to_bytes(n, "big").hex()
lines, bad = [], {}
for i in range(1, 2601):          # crosses two 1024-line kernel batches
    if i == 700:
        lines.append("# a comment")
    elif i == 701:
        lines.append("")
    elif i == 1300:
        lines.append(" ".join([h(16), h(16), h(16), h(6)]))                # 4 fields
        bad[i] = "expected 5 fields"
    elif i == 1301:
        lines.append(" ".join([h(16), h(16)[:-1] + "x", h(16), h(6), h(2)]))
        bad[i] = "field 2 (OPc)"
    elif i == 2048:
        lines.append(" ".join([h(16), h(16), h(16), h(6), h(3)]))
        bad[i] = "field 5 (AMF)"
    else:
        f = [h(16), h(16), h(16), h(6), h(2)]
        if i % 7 == 0:
            f = [x.upper() for x in f]
        sep = "\t" if i % 5 == 0 else "  " if i % 3 == 0 else " "
        lines.append(sep.join(f))
open(d + "/batch_in", "w").write("\n".join(lines) + "\n")
open(d + "/batch_bad", "w").write("".join("%d %s\n" % kv for kv in bad.items()))
EOF
"$AKAVS" milenage --batch <"$tmp/batch_in" >"$tmp/batch_out" 2>"$tmp/batch_err"
rc=$?
[ $rc -eq 1 ] && pass "--batch with malformed lines exits 1" || fail "--batch exit status $rc, want 1"
nbad=$(wc -l <"$tmp/batch_bad")
[ "$(wc -l <"$tmp/batch_err")" -eq "$nbad" ] || fail "stderr has $(wc -l <"$tmp/batch_err") lines, want $nbad: $(cat "$tmp/batch_err")"
while read -r n what; do
	grep -q "^line $n: .*$what" "$tmp/batch_err" && pass "line $n reported ($what)" ||
		fail "line $n not reported as '$what': $(cat "$tmp/batch_err")"
done <"$tmp/batch_bad"
# expected outputs: answered lines only, in order (no output for comment, blank, bad)
grep -vnE '^\s*(#|$)' "$tmp/batch_in" | cut -d: -f1 >"$tmp/answerable"
grep -vxFf <(cut -d' ' -f1 "$tmp/batch_bad") "$tmp/answerable" >"$tmp/answered"
want_n=$(wc -l <"$tmp/answered")
[ "$(wc -l <"$tmp/batch_out")" -eq "$want_n" ] && pass "$want_n lines answered" ||
	fail "$(wc -l <"$tmp/batch_out") output lines, want $want_n"
awk -F'\t' 'NF != 7 || $0 ~ /[^0-9a-f\t]/ { bad = 1 } END { exit bad }' "$tmp/batch_out" &&
	pass "output is 7 lowercase hex fields per line" || fail "output format"
# compare a sample (around the bad lines, batch edges, every 97th) with single shot (ref)
paste -d' ' "$tmp/answered" "$tmp/batch_out" >"$tmp/joined"
sampled=0 samplefail=0
while read -r n out; do
	case $n in 1 | 2 | 1023 | 1024 | 1025 | 1026 | 1299 | 1302 | 2047 | 2049 | 2600) ;;
	*) [ $((n % 97)) -eq 0 ] || continue ;;
	esac
	read -r k opc rand sqn amf < <(sed -n "${n}p" "$tmp/batch_in")
	"$AKAVS" milenage --json --k "$k" --opc "$opc" --rand "$rand" --sqn "$sqn" --amf "$amf" >"$tmp/one" ||
		{ fail "single shot for line $n failed"; samplefail=1; continue; }
	single=$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))
print("\t".join(o[k] for k in ("mac_a","mac_s","res","ck","ik","ak","ak_s")))' "$tmp/one")
	[ "$single" = "$(printf '%s' "$out" | tr ' ' '\t')" ] || { fail "line $n: batch != single shot"; samplefail=1; }
	sampled=$((sampled + 1))
done <"$tmp/joined"
if [ $sampled -lt 30 ]; then
	fail "only $sampled lines sampled"
elif [ $samplefail = 0 ]; then
	pass "$sampled sampled lines equal the single-shot (ref) answer"
fi

# every backend this CPU runs gives the same batch output
for impl in ref aesni vaes; do
	if ! "$AKAVS" milenage --batch --impl $impl </dev/null 2>"$tmp/err"; then
		echo "SKIP impl $impl: $(cat "$tmp/err")"
		continue
	fi
	"$AKAVS" milenage --batch --impl $impl <"$tmp/batch_in" >"$tmp/impl_out" 2>/dev/null
	cmp -s "$tmp/impl_out" "$tmp/batch_out" && pass "--batch --impl $impl equals default" ||
		fail "--batch --impl $impl differs from the default backend"
done

# empty input, input without a final newline, a long line and a NUL byte
"$AKAVS" milenage --batch </dev/null >"$tmp/out" && [ ! -s "$tmp/out" ] && pass "empty stdin" || fail "empty stdin"
printf '%s %s %s %s %s' $K $OPC $RAND $SQN $AMF | "$AKAVS" milenage --batch >"$tmp/out" &&
	[ "$(cut -f3 "$tmp/out")" = "${want[RES]}" ] && pass "last line without newline" || fail "last line without newline"
{ echo "$K $OPC $RAND $SQN $AMF"; head -c 5000 /dev/zero | tr '\0' 'a'; echo; printf 'ab\0cd\n'; echo "$K $OPC $RAND $SQN $AMF"; } |
	"$AKAVS" milenage --batch >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q '^line 2: longer than' "$tmp/err" &&
	grep -q '^line 3: .*NUL' "$tmp/err"; then
	pass "overlong line and NUL byte reported, neighbours answered"
else
	fail "overlong/NUL lines: rc $rc, $(wc -l <"$tmp/out") outputs, $(cat "$tmp/err")"
fi

if [ $fails -ne 0 ]; then
	echo "milenage_cli: $fails failure(s)"
	exit 1
fi
echo "milenage_cli: all passed"

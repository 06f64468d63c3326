#!/usr/bin/env bash
# End-to-end test of the provisioning CLI (`akavs sub ...`, `akavs db ...`)
# in a temporary directory: add/show (keys hidden unless --reveal-keys),
# set, del, import/export round trip, bad CSV line numbers, exit codes.
set -u
B=${AKV_BUILD_DIR:-build}
A=$(cd "$B" 2>/dev/null && pwd)/akavs
[ -x "$A" ] || { echo "SKIP: $A not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/akv-prov-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# expect RC CMD...: runs CMD, output in $T/out, $T/err
expect() {
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "rc=$rc: $*"; else
		bad "rc=$rc (want $want): $*"; sed 's/^/    /' "$T/out" "$T/err"; fi
}
has() { grep -q -- "$2" "$T/$1" && ok "$1 has '$2'" || { bad "$1 lacks '$2'"; sed 's/^/    /' "$T/$1"; }; }
hasnt() { grep -q -- "$2" "$T/$1" && { bad "$1 has '$2'"; sed 's/^/    /' "$T/$1"; } || ok "$1 lacks '$2'"; }

# TS 35.208 test set 1.
K=465b5ce8b199b49faa5f0a2ee238a6bc
OP=cdc202d5123e20f62b6d676ac72cb318
OPC=cd63cb71954a9f4e48a5994e37a02baf

# ---- usage and exit codes ----
expect 0 "$A" sub --help
has out "sub import"
expect 0 "$A" db --help
expect 2 "$A" sub
expect 2 "$A" sub frobnicate
expect 2 "$A" sub add --impi x
expect 2 "$A" sub show --bogus
expect 1 "$A" sub show --impi nobody --db "$T/none"
has err "no store"
[ ! -e "$T/none" ] && ok "show did not create a store" || bad "show created a store"

# ---- add / show (default --db: ./akavs-db) ----
expect 0 "$A" sub add --impi alice@ims.test --impu sip:alice@ims.test,tel:+15550001 \
	--k $K --op $OP --amf b9b9 --sqn ff9bb4d0b607
[ -d akavs-db ] && ok "default store ./akavs-db created" || bad "no ./akavs-db"
[ "$(stat -c %a akavs-db)" = 700 ] && ok "store dir 0700" || bad "store dir mode $(stat -c %a akavs-db)"
expect 0 "$A" sub show --impi alice@ims.test
has out "sip:alice@ims.test"
has out "tel:+15550001"
has out "ff9bb4d0b607"
hasnt out $K
hasnt out $OPC
expect 0 "$A" sub show --impi alice@ims.test --reveal-keys
has out $K
has out $OPC			# OP converted to OPc on entry
expect 0 "$A" sub show --impi alice@ims.test --json
has out '"impi":"alice@ims.test"'
hasnt out '"k"'
expect 0 "$A" sub show --impu tel:+15550001
has out "impi:         alice@ims.test"
expect 1 "$A" sub show --impu sip:nobody
has err "no subscriber has IMPU sip:nobody"
expect 1 "$A" sub add --impi alice@ims.test --impu sip:other --k $K --opc $OPC
has err "already exists"
expect 1 "$A" sub add --impi bob@ims.test --impu sip:alice@ims.test --k $K --opc $OPC
has err "sip:alice@ims.test already belongs to IMPI alice@ims.test"
expect 2 "$A" sub add --impi bob@ims.test --impu sip:bob --k 1234 --opc $OPC
has err "32 hex digits"
hasnt err 1234
expect 2 "$A" sub add --impi bob@ims.test --impu sip:bob --k $K --op $OP --opc $OPC

# ---- set ----
expect 0 "$A" sub set --impi alice@ims.test --fail-limit 5 --schemes akav2 --impu sip:alice@ims.test
expect 0 "$A" sub show --impi alice@ims.test
has out "fail limit:   5"
has out "schemes:      akav2"
hasnt out "tel:+15550001"
expect 2 "$A" sub set --impi alice@ims.test --k $K
has err "needs --op or --opc"
expect 2 "$A" sub set --impi alice@ims.test
expect 1 "$A" sub set --impi nobody --amf 0000
has err "no subscriber nobody"
# The released IMPU can be taken by someone else now.
expect 0 "$A" sub add --impi bob@ims.test --impu tel:+15550001 --k $K --opc $OPC

# ---- list, del ----
expect 0 "$A" sub list
has out "alice@ims.test"
has out "bob@ims.test"
expect 0 "$A" sub del --impi bob@ims.test
expect 1 "$A" sub del --impi bob@ims.test
has err "no subscriber"
expect 0 "$A" sub list --json
has out '^\[{"impi":"alice@ims.test"'

# ---- import / export round trip ----
{
	echo "impi,impus,k,op,opc,amf,sqn"
	for i in $(seq 1 200); do
		printf 'u%04d@ims.test,sip:u%04d@ims.test;tel:+1%07d,%s,,%s,8000,%x\n' \
			"$i" "$i" "$i" $K $OPC "$i"
	done
	echo "v0001@ims.test,sip:v0001@ims.test,$K,$OP,,,"
} >good.csv
expect 0 "$A" --help >/dev/null
expect 0 "$A" sub import good.csv
has out "imported 201 subscribers"
expect 1 "$A" sub import good.csv	# every line now a duplicate of the store
has err "line 2: IMPI u0001@ims.test already in the store"
expect 0 "$A" sub export backup.csv
[ "$(stat -c %a backup.csv)" = 600 ] && ok "export file 0600" || bad "export file mode"
[ "$(wc -l <backup.csv)" = 203 ] && ok "export has 202 subscribers + header" \
	|| bad "export has $(wc -l <backup.csv) lines"
grep -q "^v0001@ims.test,sip:v0001@ims.test,$K,,$OPC,0000,000000000000$" backup.csv \
	&& ok "export: opc filled, op empty" || bad "export row for v0001"
expect 0 "$A" sub import --db "$T/copy" backup.csv
expect 0 "$A" sub export --db "$T/copy" copy.csv
cmp -s backup.csv copy.csv && ok "export -> import -> export is identical" \
	|| { bad "round trip differs"; diff backup.csv copy.csv | head; }
expect 0 "$A" db check --db "$T/copy"
has out "202 subscribers"

# ---- bad CSV: every bad line reported, nothing imported ----
cat >bad.csv <<EOF
impi,impus,k,op,opc,amf,sqn
n1,sip:n1,$K,,$OPC,,
n2,sip:n2,$K,,$OPC,
n3,sip:n3,$K,$OP,$OPC,,
n4,sip:n4,${K}00,,$OPC,,
n1,sip:n5,$K,,$OPC,,
n6,sip:alice@ims.test,$K,,$OPC,,
n7,sip:n7,$K,,$OPC,,1000000000000
n8,sip:n8,$K,,$OPC,,
EOF
expect 1 "$A" sub import bad.csv
has err "line 3: expected 7 columns, got 6"
has err "line 4: exactly one of op and opc"
has err "line 5: k: expected 32 hex digits"
has err "line 6: duplicate IMPI n1 (first on line 2)"
has err "line 7: IMPU sip:alice@ims.test already belongs to IMPI alice@ims.test"
has err "line 8: sqn"
has err "6 bad lines: nothing imported"
hasnt err $K
expect 1 "$A" sub show --impi n1
expect 3 "$A" sub import --skip-bad bad.csv
has out "imported 2 subscribers"
expect 0 "$A" sub show --impi n8
printf 'impi,impus\n' >hdr.csv
expect 1 "$A" sub import hdr.csv
has err "line 1: header must be"
: >empty.csv
expect 0 "$A" sub import empty.csv
has out "imported 0 subscribers"
expect 1 "$A" sub import "$T/no-such.csv"
has err "cannot read"

# ---- db ----
expect 0 "$A" db stats
has out "subscribers:      204"
expect 0 "$A" db stats --json
has out '"subscribers":204'
has out '"schema":1'
expect 0 "$A" db check
expect 0 "$A" db init --map-size 64M --db "$T/small"
has out "map 64 MiB"
expect 0 "$A" db init --map-size 128M --db "$T/small"	# grows an existing store
expect 0 "$A" db stats --db "$T/small"
has out "of 128.0 MiB"
expect 0 "$A" db init --map-size 1M --db "$T/small"	# never shrinks
has out "map 128 MiB"
expect 2 "$A" db init --map-size lots
expect 1 "$A" db stats --db "$T/none"

# A corrupted record is found by db check (needs lmdb-utils' mdb_load).
if command -v mdb_load >/dev/null; then
	printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n alice@ims.test\n xyz\nDATA=END\n' |
		mdb_load -s sub akavs-db 2>/dev/null
	expect 1 "$A" db check
	has err "alice@ims.test: record does not decode"
	expect 1 "$A" sub show --impi alice@ims.test
else
	echo "skip corruption check: mdb_load missing"
fi

echo "provisioning: $fails failure(s)"
[ "$fails" -eq 0 ]

#!/bin/bash
# K/OPc encrypted at rest, end to end: `akavs db keygen`, a plaintext store
# sealed with `akavs db seal`, `sub import` into the sealed store with the
# key, `akavs serve --master-key-file` answering CHALLENGE and VERIFY,
# refusals (no key, wrong key, key file readable by others, key on a
# plaintext store), kill -9 and restart (key from the config file): SQNs
# still increase; a record changed on disk fails alone; rekey, unseal. No
# output or log holds the master key or any K/OPc.
. "$(dirname "$0")/server_lib.bash"

command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null ||
	{ echo "SKIP: mdb_dump/mdb_load (lmdb-utils) missing"; exit 77; }
KEY=$T/master.key
KEY2=$T/other.key
LOGS=$T/admin.log
: >"$LOGS"

# run_ok WHAT CMD...: runs CMD (stdout+stderr appended to $LOGS), exit 0 expected
run_ok() {
	local what=$1; shift
	if "$@" >>"$LOGS" 2>&1; then ok "$what"; else fail "$what (rc $?): $(tail -n 3 "$LOGS")"; fi
}
# refused WHAT PATTERN CMD...: CMD must exit non-zero with PATTERN on stderr
refused() {
	local what=$1 pat=$2 rc; shift 2
	"$@" >"$T/ref.out" 2>"$T/ref.err"
	rc=$?
	cat "$T/ref.out" "$T/ref.err" >>"$LOGS"
	if [ $rc -ne 0 ] && grep -q -- "$pat" "$T/ref.err"; then
		ok "$what -> exit $rc, '$(head -n 1 "$T/ref.err")'"
	else
		fail "$what: rc $rc, stderr: $(cat "$T/ref.err")"
	fi
}

# ---- keygen: 64 hex digits + newline, mode 0600, never overwritten
run_ok "db keygen" "$AKAVS" db keygen --out "$KEY"
[ "$(stat -c %a "$KEY")" = 600 ] && ok "key file mode 0600" || fail "key mode $(stat -c %a "$KEY")"
grep -Eq '^[0-9a-f]{64}$' "$KEY" && [ "$(wc -c <"$KEY")" = 65 ] && ok "key file: 64 hex digits" ||
	fail "key file format"
cp -p "$KEY" "$T/key.copy"
refused "keygen over an existing key" "refusing to overwrite" "$AKAVS" db keygen --out "$KEY"
cmp -s "$KEY" "$T/key.copy" && ok "existing key untouched" || fail "keygen overwrote the key"
run_ok "second key" "$AKAVS" db keygen --out "$KEY2"
MK=$(tr -d '\n' <"$KEY")
MK2=$(tr -d '\n' <"$KEY2")

# ---- a plaintext store, sealed; then more subscribers imported with the key
provision 20
refused "plaintext store opened with a key" "akavs db seal" \
	"$AKAVS" sub list --db "$DB" --master-key-file "$KEY"
run_ok "db seal" "$AKAVS" db seal --db "$DB" --master-key-file "$KEY"
python3 - >"$T/more.csv" <<'EOF'
import os
print("impi,impus,k,op,opc,amf,sqn")
for i in range(21, 41):
    print(f"user{i}@ims.test,sip:user{i}@ims.test,{os.urandom(16).hex()},,{os.urandom(16).hex()},8000,")
EOF
run_ok "sub import into the sealed store with the key" \
	"$AKAVS" sub import "$T/more.csv" --db "$DB" --master-key-file "$KEY"
tail -n +2 "$T/more.csv" >>"$T/subs.csv"	# key_of reads both files' rows
refused "sub import without the key" "is sealed: --master-key-file required" \
	"$AKAVS" sub import "$T/more.csv" --db "$DB"
run_ok "db check with the key" "$AKAVS" db check --db "$DB" --master-key-file "$KEY"
n=$("$AKAVS" sub list --db "$DB" --master-key-file "$KEY" | grep -c '@ims.test')
[ "$n" = 40 ] && ok "40 subscribers listed" || fail "listed $n subscribers"
"$AKAVS" db stats --db "$DB" --master-key-file "$KEY" --json >"$T/stats.json" 2>>"$LOGS"
[ "$(jget "$(cat "$T/stats.json")" 'j["sealed"]')" = True ] && ok "db stats: sealed" ||
	fail "stats: $(cat "$T/stats.json")"

# the file holds none of the 40 subscribers' K or OPc, nor the master key
python3 - "$DB/data.mdb" "$T/subs.csv" "$MK" <<'EOF' && ok "data.mdb holds no K, OPc or master key" || fail "key bytes found in data.mdb"
import sys
data = open(sys.argv[1], "rb").read()
secrets = [bytes.fromhex(sys.argv[3])]
for line in open(sys.argv[2]).read().splitlines()[1:]:
    f = line.split(",")
    secrets += [bytes.fromhex(f[2]), bytes.fromhex(f[4])]
found = [s.hex()[:6] for s in secrets if s in data]
sys.exit(1 if found or len(secrets) != 81 else 0)
EOF

# ---- the server refuses to start without the key, with a wrong one, or a lax file
refused "serve without the key" "is sealed: --master-key-file required" \
	timeout 10 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 1
refused "serve with a wrong key" "master key does not match" \
	timeout 10 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 1 --master-key-file "$KEY2"
cp "$KEY" "$T/lax.key"
chmod 644 "$T/lax.key"
refused "serve with a group/world-readable key file" "lax.key: mode 0644" \
	timeout 10 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 1 --master-key-file "$T/lax.key"
printf '%s\n' "${MK:0:63}" >"$T/short.key"
chmod 600 "$T/short.key"
refused "serve with a 63-digit key file" "short.key: must hold exactly 64 hex digits" \
	timeout 10 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 1 --master-key-file "$T/short.key"

# ---- serving with the key: CHALLENGE, VERIFY
IMPI=user3@ims.test
start_server --master-key-file "$KEY"
grep -q "^store: .*(sealed" "$T/serve.out" && ok "startup says the store is sealed" ||
	fail "startup: $(cat "$T/serve.out")"
out=$(cli challenge "$IMPI") || fail "challenge: $out"
RAND=$(jget "$out" 'j["vectors"][0]["rand"]')
s1=$(check_vector "$IMPI" "$RAND" "$(jget "$out" 'j["vectors"][0]["autn"]')" \
	"$(jget "$out" 'j["vectors"][0]["ck"]')" "$(jget "$out" 'j["vectors"][0]["ik"]')") &&
	ok "challenge from the sealed store: vector matches the imported K/OPc (SQN $s1)" ||
	fail "challenge vector"
out=$(cli verify "$IMPI" --rand "$RAND" --res "$(res_of "$IMPI" "$RAND")")
[ "$(jget "$out" 'j["verdict"]')" = OK ] && ok "verify -> OK" || fail "verify: $out"
IMPI2=user33@ims.test	# imported with the key into the sealed store
out=$(cli challenge "$IMPI2") &&
	check_vector "$IMPI2" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
		"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
		"$(jget "$out" 'j["vectors"][0]["ik"]')" >/dev/null &&
	ok "challenge of a subscriber imported sealed" || fail "challenge $IMPI2: $out"
max_before=0
for i in 1 2 3 4 5; do
	out=$(cli challenge "$IMPI") || fail "challenge $i"
	s=$(check_vector "$IMPI" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
		"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
		"$(jget "$out" 'j["vectors"][0]["ik"]')") || fail "vector $i"
	[ "${s:-0}" -gt "$max_before" ] && max_before=$s
done
[ "$max_before" -gt "$s1" ] && ok "SQNs increase while serving ($s1 .. $max_before)" ||
	fail "SQN $max_before after $s1"

# ---- kill -9, restart with the key from the config file: SQNs go on upwards
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
cat "$T/serve.out" "$T/serve.err" >>"$LOGS"
printf '[server]\nmaster-key-file = %s\n' "$KEY" >"$T/akavs.ini"
start_server --config "$T/akavs.ini"
out=$(cli challenge "$IMPI") || fail "challenge after restart"
after=$(check_vector "$IMPI" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
	"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
	"$(jget "$out" 'j["vectors"][0]["ik"]')") || fail "vector after restart"
[ -n "${after:-}" ] && [ "$after" -gt "$max_before" ] &&
	ok "after kill -9 + restart ([server] master-key-file) SQN $after > $max_before" ||
	fail "SQN after restart ${after:-?} vs before $max_before"
refused "db rekey while the server runs" "stop \`akavs serve\`" \
	"$AKAVS" db rekey --db "$DB" --master-key-file "$KEY" --new-master-key-file "$KEY2"
stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "clean stop" || fail "stop: $SERVER_RC"
cat "$T/serve.out" "$T/serve.err" >>"$LOGS"

# ---- one record's ciphertext changed on disk (mdb_dump/mdb_load, lmdb-utils):
# that subscriber gets an error, the others are served, db check names it
VICTIM=user7@ims.test
mdb_dump -s sub "$DB" >"$T/sub.dump" || fail "mdb_dump"
python3 - "$T/sub.dump" "$VICTIM" "$T/orig.dump" "$T/bad.dump" <<'EOF' || fail "no record to tamper with"
import sys
lines = open(sys.argv[1]).read().splitlines()
head = [l for l in lines[:lines.index("HEADER=END") + 1] if not l.startswith("db_pagesize=")]
key = " " + sys.argv[2].encode().hex()
i = lines.index(key)
val = lines[i + 1]
pos = 1 + 2 * 20	# byte 20 of the record: inside the sealed K/OPc
bad = val[:pos] + format(int(val[pos:pos + 2], 16) ^ 1, "02x") + val[pos + 2:]
for path, v in ((sys.argv[3], val), (sys.argv[4], bad)):
    open(path, "w").write("\n".join(head + [key, v, "DATA=END"]) + "\n")
EOF
mdb_load -s sub -f "$T/bad.dump" "$DB" || fail "mdb_load tampered record"
refused "db check with a tampered record" "$VICTIM: sealed K/OPc do not open" \
	"$AKAVS" db check --db "$DB" --master-key-file "$KEY"
start_server --master-key-file "$KEY"
out=$(cli challenge "$VICTIM")
rc=$?
[ $rc = 1 ] && ok "challenge of the tampered subscriber -> error answer $(echo "$out" | tr -d '\n' | head -c 100)" ||
	fail "tampered challenge: rc $rc $out"
out=$(cli challenge user8@ims.test) && ok "its neighbour is still served" || fail "neighbour: $out"
kill -0 "$SERVER_PID" && ok "server still running" || fail "server died"
grep -q "store error(s) so far" "$T/serve.err" && ok "the record that does not open is logged" ||
	fail "no log line for the record that does not open"
[ "$(jget "$(cli stats)" 'j["stats"]["eng.store_errors"]')" -ge 1 ] &&
	ok "STATS eng.store_errors counts it" || fail "STATS eng.store_errors"
stop_server TERM
cat "$T/serve.out" "$T/serve.err" >>"$LOGS"
mdb_load -s sub -f "$T/orig.dump" "$DB" || fail "mdb_load original record"
run_ok "db check after restoring the record" "$AKAVS" db check --db "$DB" --master-key-file "$KEY"

# ---- rekey and unseal with the server stopped
run_ok "db rekey" "$AKAVS" db rekey --db "$DB" --master-key-file "$KEY" --new-master-key-file "$KEY2"
refused "old key after rekey" "master key does not match" \
	"$AKAVS" sub show --db "$DB" --impi "$IMPI" --master-key-file "$KEY"
run_ok "db unseal with the new key" "$AKAVS" db unseal --db "$DB" --master-key-file "$KEY2"
"$AKAVS" sub export --db "$DB" >"$T/export.csv" 2>>"$LOGS" || fail "export after unseal"
python3 - "$T/subs.csv" "$T/export.csv" <<'EOF' && ok "unsealed store: all 40 K/OPc as imported" || fail "K/OPc differ after seal/rekey/unseal"
import sys
def keys(p):
    return {l.split(",")[0]: (l.split(",")[2], l.split(",")[4]) for l in open(p).read().splitlines()[1:]}
a, b = keys(sys.argv[1]), keys(sys.argv[2])
sys.exit(0 if len(a) == 40 and a == b else 1)
EOF

# ---- nothing printed or logged holds the master keys or any K/OPc
cat "$T/serve.out" "$T/serve.err" >>"$LOGS"
python3 - "$LOGS" "$T/subs.csv" "$MK" "$MK2" <<'EOF' && ok "outputs and logs hold no key material ($(wc -l <"$LOGS") lines)" || fail "key material in outputs/logs"
import sys
text = open(sys.argv[1], errors="replace").read().lower()
secrets = [sys.argv[3], sys.argv[4]]
for line in open(sys.argv[2]).read().splitlines()[1:]:
    f = line.split(",")
    secrets += [f[2], f[4]]
sys.exit(1 if any(s.lower() in text for s in secrets) else 0)
EOF
finish

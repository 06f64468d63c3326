#!/bin/bash
# Server lifecycle: configuration errors (file:line, flag), the connection
# limit, SIGTERM draining pipelined requests (exit 0), and kill -9 under load
# followed by a restart: no subscriber lost and SQNs still increasing (every
# vector issued before the crash is recomputed with `akavs milenage --batch`).
. "$(dirname "$0")/server_lib.bash"

PY=$(dirname "$0")/badinput.py
provision 10

# ---- configuration errors name the file and line, or the flag
printf '[server]\nworkers = 2\n[engine]\nfail-limit = lots\n' >"$T/bad.ini"
"$AKAVS" serve --config "$T/bad.ini" --db "$DB" >/dev/null 2>"$T/cfg.err"
rc=$?
[ $rc = 2 ] && grep -q "bad.ini:4: .*fail-limit" "$T/cfg.err" &&
	ok "bad config -> exit 2, '$(cat "$T/cfg.err")'" || fail "bad config: rc $rc $(cat "$T/cfg.err")"
"$AKAVS" serve --workers 0 --db "$DB" >/dev/null 2>"$T/cfg.err"
rc=$?
[ $rc = 2 ] && grep -q -- "--workers: " "$T/cfg.err" && ok "bad flag -> exit 2, '$(cat "$T/cfg.err")'" ||
	fail "bad flag: rc $rc $(cat "$T/cfg.err")"
timeout 10 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --diameter-listen 127.0.0.1:0 \
	--user-data-template "$T/missing.xml" >/dev/null 2>"$T/cfg.err"
rc=$?
[ $rc = 2 ] && grep -q "user-data-template .*No such file" "$T/cfg.err" &&
	ok "unreadable User-Data template -> exit 2 at startup" ||
	fail "missing template: rc $rc $(cat "$T/cfg.err")"
printf '[server]\nworkers = 1\nmax-conns = 3\n' >"$T/good.ini"

# ---- connection limit: the 4th client is refused cleanly, others unaffected
start_server --config "$T/good.ini" --workers 2
grep -q "^worker 1:" "$T/serve.out" && ok "flag --workers 2 overrides the file's workers = 1" ||
	fail "workers override: $(cat "$T/serve.out")"
timeout 60 python3 "$PY" limit "$PORT" 3 || fail "connection limit"
out=$(cli stats)
[ "$(jget "$out" 'j["stats"]["conns.refused"] >= 1')" = True ] && ok "refusal counted" || fail "$out"

# ---- SIGTERM with 300 pipelined challenges in flight: all answered, exit 0
timeout 60 python3 "$PY" pipeline "$PORT" user1@ims.test 300 --signal "$SERVER_PID" ||
	fail "drain on SIGTERM"
stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "SIGTERM drain -> exit 0" || fail "exit status $SERVER_RC"
grep -q "^stopped cleanly" "$T/serve.out" && ok "server reports a clean stop" || fail "no clean stop"

# ---- kill -9 under load, restart: SQNs continue above everything issued
IMPI=user2@ims.test
start_server
: >"$T/issued.txt"
timeout 60 python3 "$PY" load "$PORT" "$IMPI" "$T/issued.txt" &
LOAD=$!
PIDS+=("$LOAD")
for i in $(seq 100); do
	[ "$(wc -l <"$T/issued.txt")" -ge 400 ] && break
	sleep 0.05
done
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
wait "$LOAD"
n=$(wc -l <"$T/issued.txt")
[ "$n" -ge 100 ] && ok "$n vectors issued before kill -9" || fail "only $n vectors before kill -9"

start_server
out=$(cli challenge "$IMPI") || fail "challenge after restart"
after=$(check_vector "$IMPI" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
	"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
	"$(jget "$out" 'j["vectors"][0]["ik"]')") || fail "vector after restart"
# SQN of every vector issued before the crash: AUTN[0:6] ^ AK, AK from --batch
k=$(key_of "$IMPI" k)
opc=$(key_of "$IMPI" opc)
awk -v k="$k" -v opc="$opc" '{ print k, opc, $1, "000000000000", "0000" }' "$T/issued.txt" |
	"$AKAVS" milenage --batch >"$T/mil.txt" || fail "milenage --batch"
max_before=$(paste -d' ' "$T/issued.txt" "$T/mil.txt" | python3 -c '
import sys
sqns = [int(l.split()[1][:12], 16) ^ int(l.split()[7], 16) for l in sys.stdin if l.strip()]
assert len(sqns) == len(set(sqns)), "an SQN was issued twice before the crash"
print(max(sqns))') || fail "SQN recovery"
[ -n "${after:-}" ] && [ -n "${max_before:-}" ] && [ "$after" -gt "$max_before" ] &&
	ok "after kill -9 + restart SQN $after > max issued before $max_before" ||
	fail "SQN after restart ${after:-?} vs before ${max_before:-?}"
# every subscriber is still there
for i in $(seq 10); do
	cli challenge "user$i@ims.test" >/dev/null || fail "user$i lost after kill -9"
done
ok "all 10 subscribers still served after kill -9"

stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "SIGTERM -> exit 0" || fail "exit status $SERVER_RC"
finish

#!/bin/bash
# Hostile input over real sockets (tests/integ/badinput.py): garbage, huge and
# tiny lengths, malformed frames, truncated frames, a slow sender, 1000
# connections opened and dropped, 2000 pipelined requests, a client that
# floods without reading (backpressure, bounded RSS); a keeper client
# must be served between every phase, and the server must stay up, count
# the malformed input and exit 0 on SIGTERM.
. "$(dirname "$0")/server_lib.bash"

provision 4
start_server --max-conns 1100
timeout 300 python3 "$(dirname "$0")/badinput.py" bad "$PORT" user1@ims.test || fail "badinput.py"
kill -0 "$SERVER_PID" 2>/dev/null && ok "server alive after the bad-input suite" || die "server died"
timeout 300 python3 "$(dirname "$0")/badinput.py" flood "$PORT" user1@ims.test "$SERVER_PID" ||
	fail "backpressure (flood)"
kill -0 "$SERVER_PID" 2>/dev/null && ok "server alive after the flood" || die "server died"

out=$(cli stats) || fail "stats after bad input"
# 6 framing errors (garbage + 5 bad lengths: conn closed), 5 malformed frames answered
[ "$(jget "$out" 'j["stats"]["avs1.framing_errors"] >= 6 and j["stats"]["malformed"] >= 6 and j["stats"]["avs1.bad_version"] + j["stats"]["avs1.unknown_op"] + j["stats"]["avs1.malformed"] >= 4')" = True ] &&
	ok "malformed input counted" || fail "stats: $out"
[ "$(jget "$out" 'j["stats"]["conns.open"] <= 2')" = True ] &&
	ok "dropped connections were released" || fail "conns still open: $out"
# the server still answers a fresh client correctly
out=$(cli challenge user2@ims.test) || fail "challenge after bad input"
check_vector user2@ims.test "$(jget "$out" 'j["vectors"][0]["rand"]')" \
	"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
	"$(jget "$out" 'j["vectors"][0]["ik"]')" >/dev/null && ok "fresh client served correctly" ||
	fail "vector after bad input"

stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "SIGTERM -> exit 0" || fail "exit status $SERVER_RC"
grep -q "assertion failed" "$T/serve.err" && fail "assertion in server log"
finish

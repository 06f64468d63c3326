#!/bin/bash
# The AVS/1 allow list ([server] allow / --allow): a client inside it is
# served; one outside it (a loopback source address not in the list) sees
# its connection closed without a byte, is counted in STATS
# (conns.not_allowed) and logged; the startup output says who may connect.
. "$(dirname "$0")/server_lib.bash"

provision 1 allow
start_server --allow 127.0.0.1 --allow 10.0.0.0/8,192.0.2.0/24
grep -q '^allowed: AVS/1 clients from 3 network(s) of \[server\] allow$' "$T/serve.out" &&
	ok "startup names the allow list" || fail "startup: $(cat "$T/serve.out")"

out=$(cli stats) || fail "stats from 127.0.0.1 (allowed): $out"
[ "$(jget "$out" 'j["stats"]["conns.not_allowed"]')" = 0 ] && ok "allowed client served" ||
	fail "stats: $out"

# from 127.0.0.2: connect, send a PING, expect EOF and no answer
if python3 - "$PORT" <<'PY'; then
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket()
s.settimeout(5)
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", port))
ping = struct.pack(">IBBBBQ", 16 + 4, 1, 5, 0, 0, 7) + b"ping"
try:
    s.sendall(ping)
    got = s.recv(100)
except (ConnectionResetError, BrokenPipeError):
    got = b""
if got:
    sys.exit("refused client got %d bytes" % len(got))
PY
	ok "client outside the list: closed, no answer"
else
	fail "client outside the list was answered"
fi
out=$(cli stats) || fail "stats: $out"
[ "$(jget "$out" 'j["stats"]["conns.not_allowed"]')" = 1 ] && ok "counted in conns.not_allowed" ||
	fail "stats: $out"
grep -q 'refusing 127.0.0.2:[0-9]*: not in the allow list' "$T/serve.err" &&
	ok "refusal logged with the address" || fail "log: $(cat "$T/serve.err")"
stop_server TERM

# no list: anyone, and the startup output says so (loopback: no warning)
start_server
grep -q '^allowed: AVS/1 clients from any address$' "$T/serve.out" && ok "no list: any address" ||
	fail "startup: $(cat "$T/serve.out")"
grep -q 'no allow list' "$T/serve.err" && fail "warned on a loopback listener" ||
	ok "no warning on loopback"
stop_server TERM
finish

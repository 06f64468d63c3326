#!/bin/bash
# TLS on both protocols (docs/TLS.md) against a real `akavs serve`: a
# throw-away CA, server and client certificates made here with the openssl
# CLI; CHALLENGE then VERIFY with the right RES and STATS over TLS with
# `akavs client`; clients without a certificate, with one from another CA,
# trusting another CA or asking for another name are refused; hostile peers
# (plain text, garbage, truncated and tampered records) are closed while a
# keeper connection is served (tls_peer.py); a stalled handshake is closed
# after --tls-handshake-timeout-ms; Diameter over TLS from the start (RFC 6733
# §13); keys that do not load are exit 2 naming the file; server-auth-only
# mode; SIGTERM drains and exits 0; no key material in any output.
. "$(dirname "$0")/server_lib.bash"
command -v openssl >/dev/null || { echo "SKIP: openssl CLI missing"; exit 77; }

C=$T/certs
mkdir -p "$C"
# mkca NAME: a self-signed P-256 CA; mkcert NAME CA SAN: a leaf signed by CA
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=akavs test $1" -keyout "$C/$1.key" -out "$C/$1.pem" 2>"$T/ossl.err" ||
		die "openssl: CA $1: $(cat "$T/ossl.err")"
}
mkcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$C/$1.key" -out "$C/$1.csr" 2>"$T/ossl.err" || die "openssl: csr $1"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$3" >"$C/$1.ext"
	openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" \
		-CAcreateserial -days 2 -extfile "$C/$1.ext" -out "$C/$1.pem" 2>"$T/ossl.err" ||
		die "openssl: cert $1: $(cat "$T/ossl.err")"
}
mkca ca
mkca other
mkcert server ca "IP:127.0.0.1,DNS:localhost"
mkcert client ca "DNS:scscf1.ims.test"
mkcert rogue other "DNS:rogue.ims.test"
chmod 600 "$C"/*.key

provision 5
IMPI=user1@ims.test
HS_MS=1500
start_server --tls-cert "$C/server.pem" --tls-key "$C/server.key" --tls-ca "$C/ca.pem" \
	--tls-handshake-timeout-ms "$HS_MS" --diameter-tls-listen 127.0.0.1:0 \
	--origin-host hss.ims.test --origin-realm ims.test
DPORT=$(sed -n 's/^listening: Diameter\/TLS on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/serve.out")
[ -n "$DPORT" ] || die "no Diameter/TLS port in startup output"
grep -q "^tls: on for AVS/1 127.0.0.1:$PORT (TLS 1.2+, client certificates required)" \
	"$T/serve.out" && ok "startup says TLS is on for AVS/1, client certs required" ||
	fail "no TLS line for AVS/1: $(cat "$T/serve.out")"
grep -q "^tls: on for Diameter/TLS 127.0.0.1:$DPORT" "$T/serve.out" &&
	ok "startup says TLS is on for Diameter/TLS" || fail "no TLS line for Diameter"

# tcli ARGS...: akavs client over TLS with the good client certificate
tcli() {
	cli --tls-ca "$C/ca.pem" --tls-cert "$C/client.pem" --tls-key "$C/client.key" "$@"
}

# ---- CHALLENGE, then VERIFY with the right RES, over TLS
out=$(tcli challenge "$IMPI") || fail "challenge over TLS: $out"
RAND=$(jget "$out" 'j["vectors"][0]["rand"]')
AUTN=$(jget "$out" 'j["vectors"][0]["autn"]')
CK=$(jget "$out" 'j["vectors"][0]["ck"]')
check_vector "$IMPI" "$RAND" "$AUTN" "$CK" "$(jget "$out" 'j["vectors"][0]["ik"]')" \
	>/dev/null && ok "challenge over TLS = akavs milenage" || fail "challenge vector: $out"
out=$(tcli verify "$IMPI" --rand "$RAND" --res "$(res_of "$IMPI" "$RAND")")
[ "$(jget "$out" 'j["verdict"]')" = OK ] && [ "$(jget "$out" 'j["ck"]')" = "$CK" ] &&
	ok "verify right RES over TLS -> OK with the challenge's CK" || fail "verify: $out"
# the name check: --tls-server-name localhost matches the certificate's DNS name
out=$(tcli --tls-server-name localhost ping --data x) && ok "server name localhost accepted" ||
	fail "ping with --tls-server-name localhost: $out"

# ---- refused clients (exit 3 = connection/transport failure)
# expect_exit RC WHAT PATTERN CMD...: CMD must exit RC (fail: any non-zero)
# with stderr matching PATTERN; what it printed joins the key-leak check
expect_exit() {
	local want=$1 what=$2 pat=$3 rc
	shift 3
	"$@" >"$T/exp.out" 2>"$T/exp.err"
	rc=$?
	cat "$T/exp.out" "$T/exp.err" >>"$T/all.out"
	if { [ "$rc" = "$want" ] || { [ "$want" = fail ] && [ "$rc" != 0 ]; }; } &&
		grep -q -- "$pat" "$T/exp.err"; then
		ok "$what ($(head -c 160 "$T/exp.err"))"
	else
		fail "$what: rc $rc, $(cat "$T/exp.err")"
	fi
}
expect_refused() { # WHAT PATTERN ARGS...: akavs client exits 3 (transport failure)
	local what=$1 pat=$2
	shift 2
	expect_exit 3 "$what: refused" "$pat" \
		"$AKAVS" client --connect "127.0.0.1:$PORT" --timeout 5000 "$@" ping
}
expect_refused "no client certificate" "certificate required" --tls-ca "$C/ca.pem"
expect_refused "client certificate from another CA" "alert unknown ca" \
	--tls-ca "$C/ca.pem" --tls-cert "$C/rogue.pem" --tls-key "$C/rogue.key"
expect_refused "client trusting another CA" "certificate verify failed" \
	--tls-ca "$C/other.pem" --tls-cert "$C/client.pem" --tls-key "$C/client.key"
expect_refused "server name not in the certificate" "hostname mismatch" \
	--tls-ca "$C/ca.pem" --tls-cert "$C/client.pem" --tls-key "$C/client.key" \
	--tls-server-name hss.example.net
expect_refused "plain-text client on the TLS port" "failed" --json
# a key that is not the certificate's is a usage error of the client (exit 2)
expect_exit 2 "client key not matching its certificate: exit 2 naming the key" \
	"key $C/rogue.key" "$AKAVS" client --connect "127.0.0.1:$PORT" --tls-ca "$C/ca.pem" \
	--tls-cert "$C/client.pem" --tls-key "$C/rogue.key" ping

# ---- hostile peers and a stalled handshake, each beside a served keeper
timeout 60 python3 "$SRC/tests/integ/tls_peer.py" hostile "$PORT" "$C" ||
	fail "hostile TLS peers (tls_peer.py hostile)"
timeout 90 python3 "$SRC/tests/integ/tls_peer.py" pipeline "$PORT" "$C" 3000 ||
	fail "pipelined PINGs over TLS (tls_peer.py pipeline)"
timeout 60 python3 "$SRC/tests/integ/tls_peer.py" stall "$PORT" "$C" "$HS_MS" ||
	fail "stalled handshake (tls_peer.py stall)"
timeout 60 python3 "$SRC/tests/integ/tls_peer.py" dia "$DPORT" "$C" ||
	fail "Diameter over TLS (tls_peer.py dia)"
kill -0 "$SERVER_PID" 2>/dev/null || die "server died"

# ---- STATS over TLS count what happened
out=$(tcli stats) || fail "stats over TLS: $out"
stat() { jget "$out" "j['stats'].get('$1', -1)"; }
[ "$(stat tls.handshakes)" -ge 8 ] && ok "STATS tls.handshakes = $(stat tls.handshakes)" ||
	fail "tls.handshakes = $(stat tls.handshakes)"
# no cert, rogue cert, untrusting client, wrong name, plain client, plain PING,
# garbage, truncated, oversized, no cert (python), plain CER to Diameter/TLS
[ "$(stat tls.handshake_failures)" -ge 9 ] &&
	ok "STATS tls.handshake_failures = $(stat tls.handshake_failures)" ||
	fail "tls.handshake_failures = $(stat tls.handshake_failures)"
[ "$(stat tls.handshake_timeouts)" -ge 1 ] &&
	ok "STATS tls.handshake_timeouts = $(stat tls.handshake_timeouts)" ||
	fail "tls.handshake_timeouts = $(stat tls.handshake_timeouts)"
[ "$(stat tls.record_errors)" -ge 1 ] &&
	ok "STATS tls.record_errors = $(stat tls.record_errors)" ||
	fail "tls.record_errors = $(stat tls.record_errors)"

# ---- the load generator over TLS (akavs-bench load --tls-ca): both protocols,
# every vector checked, no error; the wrong CA stops it at the handshake
BENCH=$(dirname "$AKAVS")/akavs-bench
[ -x "$BENCH" ] || echo "skip: load over TLS: $BENCH not built (the sanitizer build has no benchmarks)"
tload() { # PORT ARGS...
	local p=$1
	shift
	timeout 60 "$BENCH" load --connect "127.0.0.1:$p" --subs "$T/subs.csv" --conns 4 \
		--depth 8 --seconds 1 --json --tls-ca "$C/ca.pem" --tls-cert "$C/client.pem" \
		--tls-key "$C/client.key" "$@" 2>"$T/load.err"
}
for proto in avs1 diameter; do
	[ -x "$BENCH" ] || break
	if [ $proto = avs1 ]; then out=$(tload "$PORT"); else out=$(tload "$DPORT" --diameter); fi
	if [ "$(jget "$out" 'j["tls"] and j["errors"] == 0 and j["requests"] > 100 and j["vectors_per_s"] > 0')" = True ]; then
		ok "load over TLS, $proto: $(jget "$out" 'int(j["requests_per_s"])') req/s, every vector checked, 0 errors"
	else
		fail "load over TLS, $proto: $out $(cat "$T/load.err")"
	fi
done
[ -x "$BENCH" ] && expect_exit fail "load trusting another CA: stopped at the handshake" \
	"TLS: handshake: .*certificate verify failed" timeout 60 "$BENCH" load \
	--connect "127.0.0.1:$PORT" --subs "$T/subs.csv" --conns 1 --seconds 1 \
	--tls-ca "$C/other.pem" --tls-cert "$C/client.pem" --tls-key "$C/client.key"

# ---- SIGTERM drains and exits 0
stop_server TERM
[ "$SERVER_RC" = 0 ] && ok "SIGTERM: exit 0" || fail "server exit status $SERVER_RC after SIGTERM"
grep -q "TLS handshake failed" "$T/serve.err" && ok "handshake failures are logged" ||
	fail "no handshake failure in the log"
cat "$T/serve.out" "$T/serve.err" >>"$T/all.out"

# ---- keys that do not load: exit 2, the file named, nothing of the key shown
bad_start() { # WHAT PATTERN FLAGS...
	local what=$1 pat=$2
	shift 2
	expect_exit 2 "$what: exit 2" "$pat" \
		timeout 20 "$AKAVS" serve --db "$DB" --listen 127.0.0.1:0 --workers 1 "$@"
}
bad_start "missing key file" "tls key $C/none.key: .*No such file" \
	--tls-cert "$C/server.pem" --tls-key "$C/none.key"
bad_start "key of another certificate" "tls key $C/client.key: .*mismatch" \
	--tls-cert "$C/server.pem" --tls-key "$C/client.key"
bad_start "a key given as the certificate" "tls cert $C/server.key" \
	--tls-cert "$C/server.key" --tls-key "$C/server.key"
bad_start "CA file that is not PEM" "tls ca $C/server.ext" \
	--tls-cert "$C/server.pem" --tls-key "$C/server.key" --tls-ca "$C/server.ext"
bad_start "cert without key" "cert and key go together" --tls-cert "$C/server.pem"

# ---- server-auth only: no CA, clients without a certificate are served
start_server --tls-cert "$C/server.pem" --tls-key "$C/server.key"
grep -q "^tls: on for AVS/1 .*server certificate only" "$T/serve.out" &&
	ok "startup says server-auth only" || fail "no server-auth TLS line"
out=$(cli --tls-ca "$C/ca.pem" ping --data hi) && ok "client without certificate served" ||
	fail "server-auth ping: $out"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server-auth server exit status $SERVER_RC"

# ---- no key material anywhere in what the server and clients printed
cat "$T/serve.out" "$T/serve.err" >>"$T/all.out"
leaked=0
for k in "$C/server.key" "$C/client.key"; do
	while read -r line; do
		case $line in -----*) continue ;; esac
		grep -qF -- "$line" "$T/all.out" && leaked=1
	done <"$k"
done
[ "$leaked" = 0 ] && ok "no private key line in any output" || fail "key material printed"
finish

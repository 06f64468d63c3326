# interop_lib.bash - sourced by tests/interop/kamailio*.sh (not a test itself:
# no .sh suffix). Each script sets T (its temporary directory), AKAVS, FAILS
# and its own cleanup() and die() (die names the logs of its own peers), then
# uses these. Every wait is bounded; everything started is stopped by PID.

stop_pid() {	# stop_pid PID SIGNAL: signal, wait up to 10 s, then KILL
	local p=$1 sig=$2
	[ -n "$p" ] || return 0
	kill -"$sig" "$p" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
}
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# make_subs NAME...: $T/subs.csv with NAME@ims.test (IMPU sip:NAME@ims.test)
# and random test keys (never real ones) made of letters and digits only:
# SIPp takes aka_K/aka_OP as raw bytes and splits its keyword on spaces and
# brackets (REFERENCE.md §7.2); imported into $T/db. key NAME k|op prints one.
make_subs() {
	python3 - "$T/subs.csv" "$@" <<'PY' || die "key generation"
import random, sys
alnum = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
rnd = random.SystemRandom()
with open(sys.argv[1], "w") as f:
    f.write("impi,impus,k,op,opc,amf,sqn\n")
    for u in sys.argv[2:]:
        k = bytes(rnd.choice(alnum) for _ in range(16))
        op = bytes(rnd.choice(alnum) for _ in range(16))
        f.write("%s@ims.test,sip:%s@ims.test,%s,%s,,8000,\n" % (u, u, k.hex(), op.hex()))
PY
	"$AKAVS" sub import "$T/subs.csv" --db "$T/db" >/dev/null || die "sub import"
}
key() { awk -F, -v i="$1@ims.test" -v f="$2" '$1==i { print (f=="k" ? $3 : $4) }' "$T/subs.csv"; }

# start_hss: akavs as the HSS on kernel-chosen ports over $T/db; sets AKV_PID
# and DIA (its Diameter port); output in $T/akavs.out, $T/akavs.err
start_hss() {
	"$AKAVS" serve --db "$T/db" --workers 1 --listen 127.0.0.1:0 \
		--diameter-listen 127.0.0.1:0 --origin-host hss.ims.test --origin-realm ims.test \
		>"$T/akavs.out" 2>"$T/akavs.err" &
	AKV_PID=$!
	DIA=
	for _ in $(seq 100); do
		DIA=$(sed -n 's/^listening: Diameter on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/akavs.out")
		[ -n "$DIA" ] && grep -q '^ready' "$T/akavs.out" && break
		kill -0 "$AKV_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$DIA" ] || die "akavs did not start"
}

# start_capture: tshark on the Diameter port, the independent decoder
# (REFERENCE §7.3), into $T/dia.pcapng; sets TS_PID
start_capture() {
	tshark -i lo -f "tcp port $DIA" -w "$T/dia.pcapng" -q >"$T/tshark.log" 2>&1 &
	TS_PID=$!
	for _ in $(seq 100); do
		grep -q "Capturing on" "$T/tshark.log" && break
		kill -0 "$TS_PID" 2>/dev/null || die "tshark cannot capture: $(cat "$T/tshark.log")"
		sleep 0.1
	done
}

# stop_capture: after the last message had time to land, stops tshark; TSA
# then holds the arguments that read the capture as Diameter
stop_capture() {
	sleep 0.5
	stop_pid "$TS_PID" INT
	TS_PID=
	TSA=(-r "$T/dia.pcapng" -d "tcp.port==$DIA,diameter" -o tcp.desegment_tcp_streams:TRUE)
}

# stop_hss: SIGTERM must stop akavs within 10 s with exit status 0
stop_hss() {
	local st
	kill -TERM "$AKV_PID"
	for _ in $(seq 100); do kill -0 "$AKV_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$AKV_PID" 2>/dev/null; then
		fail "akavs ignored SIGTERM"
	else
		wait "$AKV_PID"
		st=$?
		AKV_PID=
		[ "$st" -eq 0 ] && ok "akavs exited 0 on SIGTERM" || fail "akavs exit status $st"
	fi
}

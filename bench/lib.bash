# bench/lib.bash - sourced by bench/run.sh, bench/ceiling.sh and
# bench/tls_cost.sh (not run by itself).

gen_subs() { # N FILE: random keys, never real ones
	python3 - "$1" "$2" <<'PY'
import os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("impi,impus,k,op,opc,amf,sqn\n")
    for i in range(n):
        f.write("bench%d@bench.akavs,sip:bench%d@bench.akavs,%s,,%s,8000,\n"
                % (i, i, os.urandom(16).hex(), os.urandom(16).hex()))
PY
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

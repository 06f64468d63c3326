#!/usr/bin/env bash
# cx_lir: `[diameter] unregistered-services = no` read from a config file
# reaches the registrar: an LIR for a provisioned public identity with no
# S-CSCF gets 5003 IDENTITY_NOT_REGISTERED, not 2003 (TS 29.228 §6.1.4.1);
# registered, it gets the S-CSCF's name (tests/integ/cx_lir.py).
. "$(dirname "$0")/server_lib.bash"

provision 1 lir
printf '[diameter]\nlisten = 127.0.0.1:0\norigin-host = hss.ims.test\norigin-realm = ims.test\nunregistered-services = no\n' \
	>"$T/akavs.ini"
start_server --config "$T/akavs.ini"
dia_port
timeout 60 python3 "$SRC/tests/integ/cx_lir.py" 127.0.0.1 "$DPORT" lir1@ims.test &&
	ok "LIR codes with unregistered-services = no" || fail "cx_lir.py"
stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
finish

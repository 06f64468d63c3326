#!/usr/bin/env bash
# kamailio_icscf: a real, unmodified I-CSCF routes with UAR/UAA and LIR/LIA
# answered by akavs.
#
# Two Kamailio 5.6.3 (Debian: kamailio, kamailio-ims-modules): an I-CSCF
# (ims_icscf, its S-CSCF table in db_text, icscf/) and behind it the S-CSCF of
# kamailio.sh (icscf/scscf.cfg: kamailio/kamailio.cfg plus terminating
# MESSAGEs). Both use akavs as HSS over Diameter Cx. SIPp plays the UEs:
#   1. alice registers through the I-CSCF: REGISTER -> UAR (2001, no S-CSCF
#      yet: the I-CSCF takes one from its table) -> S-CSCF -> MAR -> 401 ->
#      REGISTER -> UAR (2001 + the name of the S-CSCF that sent the MAR:
#      authentication pending) -> that S-CSCF -> SAR -> 200 OK
#   2. alice registers again: UAR -> 2002 SUBSEQUENT_REGISTRATION with the
#      S-CSCF name akavs stored at the SAR; the I-CSCF relays to that name
#   3. an unknown user's REGISTER: UAR -> 5001 -> 403 from the I-CSCF; a
#      REGISTER without P-Visited-Network-ID: 400 from the I-CSCF, no UAR
#   4. MESSAGE to sip:alice@ims.test -> LIR -> 2001 + Server-Name -> S-CSCF ->
#      alice's contact (a SIPp UAS) -> 200 OK back to the sender
#   5. MESSAGE to bob, provisioned but never registered -> LIR -> 2003
#      UNREGISTERED_SERVICE (no name) -> an S-CSCF of the I-CSCF's table ->
#      480 there (no contact)
#   6. MESSAGE to an unknown IMPU -> LIR -> 5001 -> 604 from the I-CSCF
#   7. alice deregisters (Expires 0): UAR type DE_REGISTRATION -> 2001 with
#      the name -> S-CSCF -> SAR USER_DEREGISTRATION; then MESSAGE to alice
#      -> LIR -> 2003 (name cleared) -> S-CSCF from the table, which still
#      has her old contact (Kamailio quirk, docs/CX.md) -> 408
#   8. tshark decodes every Diameter message of the run: no malformed frame,
#      no expert error; each UAA/LIA carries the codes and names above.
# SIPp hashes RES with strlen() (REFERENCE.md §7.2): a 403 at a registration
# is retried only when recomputing that challenge's RES proves a 0x00 byte.
# Everything started here is stopped by PID. Exit 77 when a tool is missing.
set -u -o pipefail
BUILD=${AKV_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
AKAVS=$BUILD/akavs
HERE=$SRC/tests/interop/icscf
KAMDIR=$SRC/tests/interop/kamailio
MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -x "$AKAVS" ] || { echo "SKIP: $AKAVS not built"; exit 77; }
for tool in kamailio sipp tshark python3 ss; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (make deps)"; exit 77; }
done
for m in ims_icscf ims_auth db_text; do
	[ -f "$MODS/$m.so" ] || { echo "SKIP: $MODS/$m.so missing (make deps)"; exit 77; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/akavs-icscf.XXXXXX")
AKV_PID= SCSCF_PID= ICSCF_PID= TS_PID= UAS_PID=
FAILS=0
. "$SRC/tests/interop/interop_lib.bash"
cleanup() {
	stop_pid "$UAS_PID" TERM
	stop_pid "$ICSCF_PID" TERM
	stop_pid "$SCSCF_PID" TERM
	stop_pid "$TS_PID" INT
	stop_pid "$AKV_PID" TERM
	wait 2>/dev/null
	[ -n "${AKV_KEEP_TMP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
logs() {
	local f
	for f in akavs.err icscf/kamailio.log scscf/kamailio.log; do
		[ -s "$T/$f" ] && { echo "--- $f"; tail -n 25 "$T/$f"; }
	done
}
die() { echo "FAIL $*"; logs; exit 1; }

# ---- subscribers (interop_lib.bash make_subs) ----
make_subs alice bob

# ---- akavs (HSS) ----
start_hss

start_capture

# ---- the two Kamailio: S-CSCF, then the I-CSCF in front of it ----
SCSCF=$(free_port)
ICSCF=$(free_port)
UAS=$(free_port)
SCSCF_NAME="sip:scscf.ims.test:$SCSCF"	# what the S-CSCF sends as Server-Name
# start_kamailio NAME CFG CDP_TEMPLATE SIP_PORT: prints the PID
start_kamailio() {
	local n=$1 d=$T/$1
	mkdir -p "$d"
	sed -e "s|@SIP_PORT@|$4|g; s|@SCSCF_PORT@|$SCSCF|g; s|@RUN_DIR@|$d|g" \
		-e "s|@DEBUG@|${AKV_KAMAILIO_DEBUG:-1}|g" "$2" >"$d/kamailio.cfg"
	sed -e "s|@DIA_PORT@|$DIA|g; s|@CDP_PORT@|$(free_port)|g" "$3" >"$d/$(basename "$3")"
	kamailio -f "$d/kamailio.cfg" -P "$d/kamailio.pid" -Y "$d" -w "$d" -E -m 64 -M 16 \
		>"$d/kamailio.log" 2>&1 || return 1
	cat "$d/kamailio.pid"
}
# cdp of each connects and sends a CER: wait for n established connections
wait_peers() {
	for _ in $(seq 100); do
		[ "$(ss -Htn state established "( dport = :$DIA )" | wc -l)" -ge "$1" ] && break
		sleep 0.1
	done
	sleep 1
	[ "$(ss -Htn state established "( dport = :$DIA )" | wc -l)" -ge "$1" ]
}
SCSCF_PID=$(start_kamailio scscf "$HERE/scscf.cfg" "$KAMDIR/cdp.xml" "$SCSCF") ||
	die "S-CSCF kamailio did not start"
wait_peers 1 || die "S-CSCF cdp is not connected to akavs"
mkdir -p "$T/icscf/icscf_db"
for t in s_cscf s_cscf_capabilities nds_trusted_domains; do
	sed -e "s|@SCSCF_PORT@|$SCSCF|g" "$HERE/db/$t" >"$T/icscf/icscf_db/$t"
done
ICSCF_PID=$(start_kamailio icscf "$HERE/icscf.cfg" "$HERE/icscf_cdp.xml" "$ICSCF") ||
	die "I-CSCF kamailio did not start"
wait_peers 2 || die "I-CSCF cdp is not connected to akavs"
echo "akavs pid $AKV_PID (Diameter $DIA), I-CSCF pid $ICSCF_PID (SIP $ICSCF)," \
	"S-CSCF pid $SCSCF_PID (SIP $SCSCF), tshark pid $TS_PID"

# ---- SIPp ----
esc() {	# hex -> \xNN escapes
	python3 -c 'import sys; print("".join("\\x%02x" % b for b in bytes.fromhex(sys.argv[1])))' "$1"
}
# register NAME USER EXPIRES: one AKA registration through the I-CSCF; prints
# "RESULT <impi> <status> <WWW-Authenticate>"
register() {
	local d=$T/sipp-$1 u=$2
	mkdir -p "$d"
	sed -e "s|@IMPI@|$u@ims.test|g; s|@CONTACT_PORT@|$UAS|g; s|@EXPIRES@|$3|g" \
		-e "s|@K@|$(esc "$(key "$u" k)")|; s|@OP@|$(esc "$(key "$u" op)")|" \
		"$HERE/register.xml" >"$d/s.xml"
	(cd "$d" && timeout 60 sipp -sf s.xml -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin \
		-timeout 30s -trace_logs -log_file log -trace_err -error_file err -trace_msg -message_file msg \
		"127.0.0.1:$ICSCF" >out 2>&1)
	grep -h "^RESULT $u@ims.test " "$d/log" 2>/dev/null | head -1 ||
		echo "RESULT $u@ims.test none"
}
# register_ok NAME USER EXPIRES: 200, or a 403 proven to be SIPp's zero-byte
# RES (ue.py resnul recomputes it) and then a 200 on retry (at most 4).
register_ok() {
	local r code nonce try=0
	r=$(register "$1" "$2" "$3")
	code=$(awk '{ print $3 }' <<<"$r")
	while [ "$code" = 403 ] && [ "$try" -lt 4 ]; do
		nonce=$(sed -n 's/.*nonce="\([^"]*\)".*/\1/p' <<<"$r")
		python3 "$KAMDIR/ue.py" resnul "$AKAVS" "$(key "$2" k)" "$(key "$2" op)" "$nonce" \
			>>"$T/resnul.out" 2>&1 || break
		try=$((try + 1))
		r=$(register "$1-retry$try" "$2" "$3")
		code=$(awk '{ print $3 }' <<<"$r")
	done
	echo $((try + 1)) >"$T/attempts-$1"	# each attempt: two UARs
	if [ "$code" = 200 ]; then
		[ "$try" -eq 0 ] && echo "200" || echo "200 after $try proven zero-byte-RES retries"
		return 0
	fi
	echo "$code"
	return 1
}
# request NAME METHOD RURI TO CODE EXTRA BODY: one request to the I-CSCF that
# must end with status CODE
request() {
	local d=$T/sipp-$1
	mkdir -p "$d"
	python3 - "$HERE/request.xml" "$2" "$3" "$4" "$5" "$6" "$7" >"$d/s.xml" <<'PY' || return 1
import sys
s = open(sys.argv[1]).read()
for k, v in zip(("METHOD", "RURI", "TO", "CODE", "EXTRA", "BODY"), sys.argv[2:]):
    s = s.replace("@%s@" % k, v)
print(s)
PY
	(cd "$d" && timeout 60 sipp -sf s.xml -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin \
		-timeout 20s -trace_err -error_file err "127.0.0.1:$ICSCF" >out 2>&1)
}
message() {	# message NAME IMPU CODE
	request "$1" MESSAGE "$2" "$2" "$3" "Content-Type: text/plain" "akavs I-CSCF interop"
}

# 1, 2: alice registers, then registers again
out=$(register_ok reg1 alice 600) && ok "alice REGISTER via I-CSCF: 401 -> REGISTER -> $out" ||
	fail "alice REGISTER via I-CSCF: $out"
out=$(register_ok reg2 alice 600) && ok "alice re-REGISTER via I-CSCF: $out" ||
	fail "alice re-REGISTER via I-CSCF: $out"
# 3: unknown user; empty_auth USER: the Authorization of a first REGISTER
empty_auth() {
	echo "Authorization: Digest username=\"$1@ims.test\", realm=\"ims.test\", nonce=\"\"," \
		'uri="sip:ims.test", response=""'
}
if request reg-unknown REGISTER sip:ims.test sip:nobody@ims.test 403 "$(printf '%s\n' \
	'Contact: <sip:ue@127.0.0.1:9>;expires=600' 'P-Visited-Network-ID: ims.test' \
	"$(empty_auth nobody)")" ""; then
	ok "unknown user REGISTER: UAR -> 403 from the I-CSCF"
else
	fail "unknown user REGISTER: $(cat "$T/sipp-reg-unknown/err" 2>/dev/null | tail -n 3)"
fi
# ims_icscf needs P-Visited-Network-ID (the UAR's Visited-Network-Identifier):
# without it the I-CSCF answers 400 and sends no UAR
if request reg-novisited REGISTER sip:ims.test sip:alice@ims.test 400 "$(printf '%s\n' \
	'Contact: <sip:ue@127.0.0.1:9>;expires=600' "$(empty_auth alice)")" ""; then
	ok "REGISTER without P-Visited-Network-ID: 400 from the I-CSCF, no UAR"
else
	fail "REGISTER without P-Visited-Network-ID: $(tail -n 3 "$T/sipp-reg-novisited/err" 2>/dev/null)"
fi

# 4: MESSAGE to alice reaches her contact (a SIPp UAS) through LIR + S-CSCF
(cd "$T" && mkdir -p uas && cd uas && timeout 60 sipp -sf "$HERE/uas.xml" -i 127.0.0.1 \
	-p "$UAS" -m 1 -nostdin -timeout 30s -trace_msg -message_file msg >out 2>&1) &
UAS_PID=$!
sleep 0.3
if message msg-alice sip:alice@ims.test 200; then
	wait "$UAS_PID"
	st=$?
	UAS_PID=
	[ "$st" -eq 0 ] && ok "MESSAGE to alice: LIR -> S-CSCF -> alice's contact -> 200 OK" ||
		fail "MESSAGE to alice: 200 but the UAS exited $st"
else
	fail "MESSAGE to alice: $(tail -n 3 "$T/sipp-msg-alice/err" 2>/dev/null)"
fi
# 5, 6: bob is known but not registered; nobody is unknown
message msg-bob sip:bob@ims.test 480 &&
	ok "MESSAGE to unregistered bob: LIR -> S-CSCF from the I-CSCF's table -> 480" ||
	fail "MESSAGE to bob: $(tail -n 3 "$T/sipp-msg-bob/err" 2>/dev/null)"
message msg-unknown sip:nobody@ims.test 604 &&
	ok "MESSAGE to an unknown IMPU: LIR -> 604 from the I-CSCF" ||
	fail "MESSAGE to nobody: $(tail -n 3 "$T/sipp-msg-unknown/err" 2>/dev/null)"
# 7: alice deregisters; a MESSAGE to her then finds no S-CSCF name
out=$(register_ok dereg alice 0) && ok "alice de-REGISTER (Expires 0) via I-CSCF: $out" ||
	fail "alice de-REGISTER via I-CSCF: $out"
# LIR -> 2003 without a name (the tshark check); the I-CSCF picks the S-CSCF
# from its table, which still holds alice's old contact (a Kamailio S-CSCF
# quirk, docs/CX.md): 408 from there, as no UE listens any more.
message msg-alice-gone sip:alice@ims.test 408 &&
	ok "MESSAGE to deregistered alice: LIR -> 2003 -> not delivered (408)" ||
	fail "MESSAGE to deregistered alice: $(tail -n 3 "$T/sipp-msg-alice-gone/err" 2>/dev/null)"

# ---- stop both Kamailio (cdp sends no DPR, REFERENCE §7.1), then tshark ----
stop_pid "$ICSCF_PID" TERM
ICSCF_PID=
stop_pid "$SCSCF_PID" TERM
SCSCF_PID=
stop_capture

# ---- tshark: every Diameter message decodes; the UAA/LIA codes in order ----
tshark "${TSA[@]}" -Y diameter -T fields -E separator='|' -e diameter.cmd.code \
	-e diameter.flags.request -e diameter.Public-Identity -e diameter.User-Authorization-Type \
	-e diameter.Result-Code -e diameter.Experimental-Result-Code -e diameter.Server-Name \
	-e diameter.Server-Capabilities >"$T/dia.fields" 2>"$T/tshark.err" ||
	fail "tshark read: $(cat "$T/tshark.err")"
bad=$(tshark "${TSA[@]}" -Y '_ws.malformed || _ws.expert.severity == "Error"' 2>/dev/null | wc -l)
# one line per Diameter message (a frame may carry several: split them)
python3 - "$T/dia.fields" >"$T/dia.msgs" <<'PY'
import sys
for line in open(sys.argv[1]):
    cols = line.rstrip("\n").split("|")
    cmds, reqs = cols[0].split(","), cols[1].split(",")
    if len(cmds) == 1:
        print("|".join(cols))
    else:	# several messages in a frame: per-message fields can't be split
        for c, r in zip(cmds, reqs):
            print("%s|%s|?|?|?|?|?|?" % (c, r))
PY
count() {
	awk -F'|' -v c="$1" -v r="$2" '$1 == c && $2 == r { k++ } END { print k + 0 }' "$T/dia.msgs"
}
uar=$(count 300 1) uaa=$(count 300 0) lir=$(count 302 1) lia=$(count 302 0)
mar=$(count 303 1) maa=$(count 303 0) sar=$(count 301 1) saa=$(count 301 0)
cer=$(count 257 1) cea=$(count 257 0)
counts="CER/CEA $cer/$cea UAR/UAA $uar/$uaa MAR/MAA $mar/$maa SAR/SAA $sar/$saa LIR/LIA $lir/$lia"
# answers in order: "cmd result exp name" (request columns are blank)
awk -F'|' '$2 == 0 && ($1 == 300 || $1 == 302) { print $1, ($5 == "" ? "-" : $5),
	($6 == "" ? "-" : $6), ($7 == "" ? "-" : $7), ($8 == "" ? "-" : "caps") }' \
	"$T/dia.msgs" >"$T/answers"
# expected, per registration attempt (a proven zero-byte-RES retry repeats
# its step's two UARs, with the same answers: nothing was registered or
# deregistered by the failed attempt)
times() {	# times STEP LINE: LINE twice per attempt of STEP
	local i
	for i in $(seq "$(cat "$T/attempts-$1" 2>/dev/null || echo 1)"); do echo "$2"; echo "$2"; done
}
want=$(
	# not registered: the first UAR has no name (S-CSCF from the table),
	# every later one the S-CSCF whose MAR is pending (TS 29.228 §6.3.1;
	# a failed attempt sends no SAR, so a retry's UARs keep it)
	echo "300 - 2001 - -"
	times reg1 "300 - 2001 $SCSCF_NAME -" | tail -n +2
	times reg2 "300 - 2002 $SCSCF_NAME -"	# registered: the name the SAR stored
	echo "300 - 5001 - -"	# unknown user
	echo "302 2001 - $SCSCF_NAME -"	# registered alice
	echo "302 - 2003 - -"	# bob: known, never registered
	echo "302 - 5001 - -"	# unknown IMPU
	times dereg "300 2001 - $SCSCF_NAME -"	# User-Authorization-Type DE_REGISTRATION
	echo "302 - 2003 - -"	# alice after USER_DEREGISTRATION: name cleared
)
# the de-REGISTER's UARs (and only they) say DE_REGISTRATION (1)
uat=$(awk -F'|' '$1 == 300 && $2 == 1 { printf "%s,", ($4 == "" ? "-" : $4) }' "$T/dia.msgs")
want_uat=$( (times reg1 -; times reg2 -; echo -; times dereg 1) | tr '\n' ',')
if [ "$bad" -eq 0 ] && [ "$cer" -eq 2 ] && [ "$cea" -eq 2 ] && [ "$uar" -eq "$uaa" ] &&
	[ "$lir" -eq "$lia" ] && [ "$mar" -eq "$maa" ] && [ "$sar" -eq "$saa" ] &&
	[ "$(cat "$T/answers")" = "$want" ] && [ "$uat" = "$want_uat" ]; then
	ok "tshark: $counts; every UAA/LIA code and Server-Name as expected; 0 malformed, 0 expert errors"
else
	fail "tshark: $counts, malformed/errors=$bad; UAR types $uat (want $want_uat);" \
		"UAA/LIA (cmd result exp server-name caps):"
	diff <(echo "$want") "$T/answers" | sed 's/^/    /'
	tshark "${TSA[@]}" -Y '_ws.malformed || _ws.expert.severity == "Error"' 2>/dev/null | head -5
fi

# ---- akavs stops cleanly on SIGTERM ----
stop_hss

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	logs
	exit 1
fi
echo "kamailio I-CSCF interop: all checks passed"

#!/usr/bin/env bash
# sqn_renewal: a subscriber's low-headroom SQN renewal is written by the
# shard's renewer thread (server/wrk/renew.h), so while its commit waits at
# the disk the worker goes on answering from the headroom left. The fsync
# gate shim (tests/shim/fsync_gate.c) holds every fsync of the server while
# a file exists; ordering and counts are checked, never timing. Then the
# gate opens and the renewal lands (eng.fsyncs), SIGTERM exits 0, and a
# restart serves the subscriber again with an SQN above every earlier one.
. "$(dirname "$0")/server_lib.bash"

need_shim

provision 1 ren
IMPI=ren1@ims.test
# seq-reserve 40: vectors renew below 20 SEQ steps of headroom
LD_PRELOAD=$SHIM AKV_FSYNC_GATE=$T/gate start_server --workers 1 --seq-reserve 40
challenge_sqn() { # one CHALLENGE, its vector checked; prints its SQN (decimal)
	local out
	out=$(cli challenge "$IMPI") || return 1
	check_vector "$IMPI" "$(jget "$out" 'j["vectors"][0]["rand"]')" \
		"$(jget "$out" 'j["vectors"][0]["autn"]')" "$(jget "$out" 'j["vectors"][0]["ck"]')" \
		"$(jget "$out" 'j["vectors"][0]["ik"]')"
}
fsyncs() { jget "$(cli stats)" 'j["stats"]["eng.fsyncs"]'; }

# 25 challenges with the gate open: the first reserves to SEQ 41, the 22nd
# leaves less than 20 steps of headroom and queues a renewal, whose commit
# the next tick (<= 100 ms) hands to the renewer: with the gate open it lands
last=
for i in $(seq 21); do last=$(challenge_sqn) || die "challenge $i"; done
sleep 0.5
before=$(fsyncs)
touch "$T/gate"
for i in $(seq 22 25); do last=$(challenge_sqn) || die "challenge $i"; done
sleep 0.5	# a tick: the queued renewal goes to the renewer and waits at the gate
# SEQ 26..35: inside the durable reservation (41) while its renewal is held
n=0
for i in $(seq 26 35); do
	s=$(challenge_sqn) || break
	[ "$s" -gt "$last" ] || fail "SQN $s after $last"
	last=$s
	n=$((n + 1))
done
held=$(fsyncs)
[ "$n" = 10 ] && [ "$held" = "$before" ] &&
	ok "10 challenges answered while the renewal's commit waited at the disk (eng.fsyncs $held)" ||
	fail "with the commit held: $n of 10 challenges answered, eng.fsyncs $before -> $held"
rm -f "$T/gate"
for _ in $(seq 50); do [ "$(fsyncs)" -gt "$held" ] && break; sleep 0.1; done
after=$(fsyncs)
[ "$after" -gt "$held" ] && ok "the gate opened: the renewal landed (eng.fsyncs $held -> $after)" ||
	fail "no renewal commit after the gate opened (eng.fsyncs $after)"
# past the old reservation now without a forced commit of its own: the
# renewal raised it (SEQ 36..45 <= 35 + 40)
for i in $(seq 36 45); do
	s=$(challenge_sqn) || die "challenge $i"
	[ "$s" -gt "$last" ] || fail "SQN $s after $last"
	last=$s
done
ok "SQN strictly increasing across the held renewal (last $last)"

stop_server TERM
[ "$SERVER_RC" = 0 ] || fail "server exit status $SERVER_RC after SIGTERM"
start_server --workers 1 --seq-reserve 40
s=$(challenge_sqn) || die "challenge after the restart"
[ "$s" -gt "$last" ] && ok "after a restart: SQN $s above $last" ||
	fail "after a restart: SQN $s not above $last"
stop_server TERM
finish

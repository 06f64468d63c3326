#!/usr/bin/env bash
# Every unit test again under AddressSanitizer + LeakSanitizer + UBSan (gcc):
# configures a separate build dir with -DAKV_SANITIZE=ON, builds only the
# unit test executables and akavs, then runs each test binary. Any ASan,
# LSan or UBSan report fails the test (the runtimes abort on the first one).
# Check keeps its default fork mode: each test case runs in its own child,
# whose exit() runs LeakSanitizer, so a leak fails the test case that made
# it (and test_mil_dispatch needs the fresh process per case).
# Then a few quick tests/integ scripts run against the sanitized akavs.
# Exit 0 pass, 1 fail, 77 skip (gcc cannot build or run an ASan+UBSan
# program, or Check is missing).
#   AKV_SANITIZE_BUILD  build dir (default $AKV_BUILD_DIR/asan)
#   AKV_SANITIZE_JOBS   build parallelism (default 2: ctest runs beside us)
#   AKV_SANITIZE_TESTS  space-separated subset of unit tests (default: all)
#   AKV_SANITIZE_INTEG  tests/integ scripts (names without .sh) to run against
#                       the sanitized akavs (default: the quick server, client,
#                       provisioning and tls ones; empty for none)
set -u
src=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AKV_BUILD_DIR:-$src/build}
abuild=${AKV_SANITIZE_BUILD:-$build/asan}
jobs=${AKV_SANITIZE_JOBS:-2}
t0=$SECONDS

command -v gcc >/dev/null || { echo "SKIP: gcc not installed"; exit 77; }
pkg-config --exists check || { echo "SKIP: Check not installed (unit tests not built)"; exit 77; }

probe=$(mktemp -d "${TMPDIR:-/tmp}/akv-sanitize-XXXXXX")
trap 'rm -rf "$probe"' EXIT
cat >"$probe/p.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
void *volatile akv_probe_sink;
int main(int argc, char **argv)
{
	char *p = malloc(64);

	(void)argv;
	memset(p, argc, 64);
	akv_probe_sink = p;
	if (argc > 1)
		akv_probe_sink = NULL;	/* deliberate leak: LSan must see it */
	else
		free(p);
	return 0;
}
EOF
# timeout: with some kernels' mmap randomisation older ASan runtimes spin on
# DEADLYSIGNAL instead of failing
if ! gcc -g -fsanitize=address,undefined "$probe/p.c" -o "$probe/p" >"$probe/err" 2>&1 ||
   ! timeout 20 "$probe/p" >>"$probe/err" 2>&1; then
	echo "SKIP: gcc cannot build or run an ASan+UBSan program (libasan/libubsan missing?):"
	cat "$probe/err"
	exit 77
fi
# LeakSanitizer stops the world with ptrace-like tricks some sandboxes forbid:
# then run without it rather than fail every test on an LSan fatal error.
leaks=1
if ASAN_OPTIONS=detect_leaks=1 timeout 20 "$probe/p" leak >"$probe/leak" 2>&1 ||
   ! grep -q "ERROR: LeakSanitizer: detected memory leaks" "$probe/leak"; then
	echo "NOTE: LeakSanitizer does not work here; running without leak detection:"
	head -5 "$probe/leak"
	leaks=0
fi

if [ -n "${AKV_SANITIZE_TESTS:-}" ]; then
	read -r -a tests <<<"$AKV_SANITIZE_TESTS"
else
	tests=()
	for f in "$src"/tests/unit/test_*.c; do
		[ -e "$f" ] && tests+=("$(basename "$f" .c)")
	done
fi
[ ${#tests[@]} -gt 0 ] || { echo "SKIP: no unit tests"; exit 77; }
read -r -a integ <<<"${AKV_SANITIZE_INTEG-server_ops server_lifecycle server_badinput dia_badinput cx_pending client_cli provisioning tls}"

mkdir -p "$abuild"
log=$abuild/sanitize-build.log
echo "sanitize: configuring $abuild"
cmake -S "$src" -B "$abuild" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
	-DAKV_SANITIZE=ON -DAKV_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1 ||
	{ tail -50 "$log"; echo "FAIL: cmake configure"; exit 1; }
# With AKV_BENCH=OFF the default target is just the libraries, akavs and the
# unit tests; building it (not a target list, which the Makefile generator
# builds one after the other) keeps both cores busy.
targets=()
[ -n "${AKV_SANITIZE_TESTS:-}" ] && targets=(--target akavs "${tests[@]}")
echo "sanitize: building akavs and ${#tests[@]} unit tests (-j$jobs)"
cmake --build "$abuild" -j "$jobs" "${targets[@]}" >>"$log" 2>&1 ||
	{ tail -50 "$log"; echo "FAIL: build"; exit 1; }
echo "sanitize: built in $((SECONDS - t0)) s"

export AKV_BUILD_DIR=$abuild AKV_SOURCE_DIR=$src AKV_VECTORS_DIR=$src/tests/vectors
export ASAN_OPTIONS=detect_leaks=$leaks:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=print_suppressions=0
# sanitized code runs a few times slower: stretch the Check timeouts to match
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
fail=0
for t in "${tests[@]}"; do
	out=$abuild/$t.sanitize.log
	s=$SECONDS
	# the per-binary bound is generous: the whole ctest itself times out at 900 s
	timeout 600 "$abuild/$t" >"$out" 2>&1
	rc=$?
	# also catch reports from children whose exit status nobody checks
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] ||
	   grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$out"; then
		echo "FAIL: $t (rc $rc, $((SECONDS - s)) s, log $out)"
		grep -nE -A40 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$out" | head -80
		grep -E "^[^ ]+:[0-9]+:[EF]:" "$out" | head -20
		tail -3 "$out"
		fail=1
	elif [ $rc -eq 77 ]; then
		echo "skip: $t ($(tail -1 "$out"))"
	else
		echo "ok: $t ($((SECONDS - s)) s, $(grep -oE '[0-9]+%: Checks: [0-9]+' "$out" | tail -1))"
	fi
done

# The cheap end-to-end scripts again, driving the sanitized akavs (server,
# provisioning and client commands). The servers they start get SIGKILLed on
# cleanup and their stderr is deleted with the temp dir, so every report is
# also written to a log file of its own (log_path) and any such file fails.
reports=$abuild/sanitize-reports
rm -rf "$reports"
mkdir -p "$reports"
for i in "${integ[@]}"; do
	sh=$src/tests/integ/$i.sh
	[ -f "$sh" ] || continue
	out=$abuild/$i.sanitize.log
	s=$SECONDS
	ASAN_OPTIONS=$ASAN_OPTIONS:log_path=$reports/$i.asan \
	UBSAN_OPTIONS=$UBSAN_OPTIONS:log_path=$reports/$i.ubsan \
		timeout 300 bash "$sh" >"$out" 2>&1
	rc=$?
	found=$(find "$reports" -name "$i.*" -type f | head -5)
	if [ -n "$found" ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ]; }; then
		echo "FAIL: integ/$i under ASan+UBSan (rc $rc, $((SECONDS - s)) s, log $out)"
		for f in $found; do
			echo "--- $f"
			head -60 "$f"
		done
		grep -E "^FAIL" "$out" | head -20
		fail=1
	elif [ $rc -eq 77 ]; then
		echo "skip: integ/$i ($(grep -m1 SKIP "$out"))"
	else
		echo "ok: integ/$i ($((SECONDS - s)) s)"
	fi
done
echo "sanitize: ${#tests[@]} unit test binaries, ${#integ[@]} scripts, $((SECONDS - t0)) s in all"
exit $fail

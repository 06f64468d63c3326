#!/usr/bin/env bash
# Constant-time check of the Milenage backends (STYLE 2.6, Monocypher's
# ctgrind method): tests/integ/ctgrind.c marks K, OPc and key schedules
# undefined for valgrind memcheck, which then flags any branch or memory
# address that depends on them. A deliberate leak (selftest) must be
# flagged first, or the check proves nothing. Backends this CPU (or
# valgrind's emulated CPU) cannot run print SKIP and are not claimed.
# Exit 0 pass, 1 fail, 77 skip (no valgrind, no memcheck.h, no build).
set -u
src=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AKV_BUILD_DIR:-$src/build}
lib=$build/libakv_crypto.a

command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
[ -f /usr/include/valgrind/memcheck.h ] || { echo "SKIP: valgrind/memcheck.h missing"; exit 77; }
[ -f "$lib" ] || { echo "SKIP: $lib not built"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/akv-ctgrind-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# -O2 as in the library; the program itself only marks and unmarks memory
if ! cc -std=gnu17 -O2 -g -I"$src/crypto" "$src/tests/integ/ctgrind.c" "$lib" \
	$(pkg-config --libs libcrypto) -lpthread -o "$tmp/ctgrind"; then
	echo "FAIL: cannot build ctgrind.c"
	exit 1
fi

vg() {
	timeout 300 valgrind -q --tool=memcheck --error-exitcode=3 --track-origins=yes \
		"$tmp/ctgrind" "$1" >"$tmp/$1.out" 2>&1
}

vg selftest
rc=$?
if [ $rc -ne 3 ] || ! grep -q "depends on uninitialised" "$tmp/selftest.out"; then
	cat "$tmp/selftest.out"
	echo "FAIL: memcheck did not flag the deliberate secret branch (rc $rc)"
	exit 1
fi
echo "ok: selftest leak flagged by memcheck"

fail=0
ran=0
for impl in ref aesni vaes; do
	vg "$impl"
	rc=$?
	case $rc in
	0) echo "ok: $impl: no secret-dependent branch or address"; ran=$((ran + 1)) ;;
	77) echo "$(grep SKIP "$tmp/$impl.out") (CPU as emulated by valgrind)" ;;
	*) cat "$tmp/$impl.out"; echo "FAIL: $impl (rc $rc)"; fail=1 ;;
	esac
done
echo "ctgrind: $ran backend(s) checked"
exit $fail

#!/usr/bin/env bash
# static_analysis: the clang static analyser (scan-build, Debian's
# clang-tools) over the product's code: the crypto and server libraries,
# akavs and akavs-bench (the load generator parses the server's answers),
# built from scratch in their own tree. Any report fails the test and is
# listed (checker, file:line, message). The unit tests are left out: the
# analyser does not know that a failed ck_assert ends the test.
# Exit 0 pass, 1 fail, 77 skip (scan-build or clang missing).
#   AKV_SCAN_BUILD  build dir (default $AKV_BUILD_DIR/scan)
set -u
src=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AKV_BUILD_DIR:-$src/build}
sbuild=${AKV_SCAN_BUILD:-$build/scan}
command -v scan-build >/dev/null || { echo "SKIP: scan-build not installed (clang-tools)"; exit 77; }
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }

out=$(mktemp -d "${TMPDIR:-/tmp}/akv-scan.XXXXXX")
trap 'rm -rf "$out"' EXIT
rm -rf "$sbuild"
CC=clang scan-build -o "$out/reports" cmake -S "$src" -B "$sbuild" -DCMAKE_BUILD_TYPE=Debug \
	-DAKV_WERROR=OFF >"$out/cmake.log" 2>&1 ||
	{ cat "$out/cmake.log"; echo "FAIL: configure under scan-build"; exit 1; }
scan-build -o "$out/reports" --status-bugs make -C "$sbuild" -j "${AKV_SCAN_JOBS:-2}" akv_crypto \
	akv_server akavs akavs-bench >"$out/build.log" 2>&1
rc=$?
grep -E "error:|scan-build:" "$out/build.log" | tail -n 5
if [ $rc -ne 0 ]; then
	found=0
	for f in "$out"/reports/*/report-*.html; do
		[ -e "$f" ] || continue
		found=1
		python3 - "$f" "$src/" <<'PY'
import html, re, sys
s = open(sys.argv[1], errors="replace").read()
def g(k):
    m = re.search(r"<!-- %s (.*?) -->" % k, s)
    return html.unescape(m.group(1)) if m else "?"
print("FAIL: %s | %s:%s | %s" % (g("BUGTYPE"), g("BUGFILE").replace(sys.argv[2], ""),
                                 g("BUGLINE"), g("BUGDESC")))
PY
	done
	[ $found -eq 0 ] && { tail -n 30 "$out/build.log"; echo "FAIL: the build under scan-build failed"; }
	exit 1
fi
echo "ok: scan-build found nothing in akv_crypto, akv_server, akavs and akavs-bench"

#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang in a separate
# build dir and runs each on its seed corpus (tests/fuzz/corpus/<name>/) for a
# bounded time. Fails on any crash, sanitizer report or leak; exit 77 (skip)
# when clang or its libFuzzer runtime is missing.
#   AKV_FUZZ_SECONDS  per-target run time (default 45)
#   AKV_FUZZ_BUILD    build dir (default $AKV_BUILD_DIR/fuzz)
set -u
src=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AKV_BUILD_DIR:-$src/build}
fbuild=${AKV_FUZZ_BUILD:-$build/fuzz}
secs=${AKV_FUZZ_SECONDS:-45}

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
	echo "SKIP: clang/clang++ not installed"
	exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	>"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	echo "SKIP: clang cannot link libFuzzer (libclang-rt-dev missing?):"
	cat "$probe/err"
	exit 77
fi

targets=()
for f in "$src"/tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] && targets+=("$(basename "$f" .c)")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "no fuzz targets"
	exit 77
fi

echo "fuzz: configuring $fbuild"
cmake -S "$src" -B "$fbuild" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	-DAKV_FUZZ=ON -DAKV_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$fbuild.log" 2>&1 ||
	{ cat "$fbuild.log"; echo "FAIL: cmake configure"; exit 1; }
echo "fuzz: building ${targets[*]}"
cmake --build "$fbuild" -j "$(nproc)" --target "${targets[@]}" >>"$fbuild.log" 2>&1 ||
	{ tail -50 "$fbuild.log"; echo "FAIL: build"; exit 1; }

fail=0
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	seeds="$src/tests/fuzz/corpus/$name"
	work="$fbuild/corpus-$name"	# new inputs go here, never into the source tree
	mkdir -p "$work" "$fbuild/artifacts-$name"
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$fbuild/artifacts-$name/")
	[ -f "$src/tests/fuzz/$name.dict" ] && args+=(-dict="$src/tests/fuzz/$name.dict")
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "fuzz: $t for ${secs}s (seeds: $seeds)"
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	   "$fbuild/$t" "${args[@]}" "${dirs[@]}" >"$fbuild/$t.log" 2>&1; then
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' \
			"$fbuild/$t.log" | sed "s/^/  $t: /"
	else
		echo "FAIL: $t (log: $fbuild/$t.log, artifacts: $fbuild/artifacts-$name/)"
		tail -40 "$fbuild/$t.log"
		fail=1
	fi
done
exit $fail

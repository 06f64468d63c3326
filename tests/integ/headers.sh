#!/usr/bin/env bash
# Every header compiles alone (STYLE 2.3: self-contained headers), and the
# public ones also as C++ (gbench_main.cc and C++ integrators include them).
set -u
src=${AKV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src" || exit 1
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
inc=(-Icrypto -Iserver -Iserver/core -Itests/support -Ibench/tool -Ibench/micro)
fail=0 n=0
for h in $(git ls-files 'crypto/*.h' 'server/*.h' 'tests/support/*.h' 'bench/*.h' 2>/dev/null \
		|| find crypto server tests/support bench -name '*.h'); do
	# mil_body.h is a template included by the backends after they define BLK_* primitives
	case "$h" in crypto/mil_body.h) continue ;; esac
	n=$((n + 1))
	printf '#include "%s"\n#include "%s"\n' "$PWD/$h" "$PWD/$h" >"$tmp/t.c"
	if ! gcc -std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only "${inc[@]}" \
		$(pkg-config --cflags liburing lmdb 2>/dev/null) "$tmp/t.c" 2>"$tmp/err"; then
		echo "FAIL (C): $h"; sed 's/^/  /' "$tmp/err" | head -10; fail=$((fail + 1))
	fi
done
for h in crypto/akv_crypto.h server/client/client.h server/proto/avs1.h server/aka/eng.h; do
	[ -f "$h" ] || continue
	n=$((n + 1))
	printf '#include "%s"\nint main() { return 0; }\n' "$PWD/$h" >"$tmp/t.cc"
	if ! g++ -std=c++17 -Wall -Werror -fsyntax-only "${inc[@]}" "$tmp/t.cc" 2>"$tmp/err"; then
		echo "FAIL (C++): $h"; sed 's/^/  /' "$tmp/err" | head -10; fail=$((fail + 1))
	fi
done
echo "headers: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]

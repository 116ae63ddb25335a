#!/usr/bin/env bash
# bench/fuzz.sh [FUZZTIME]: runs every fuzz target in the module (each
# `func FuzzX` in a _test.go file) for FUZZTIME (default 5s), one at a time.
# A crash is saved under the package's testdata/fuzz/FuzzX, as go test does,
# and fails the run. CI calls it with 5s; `make fuzz` with longer.
set -euo pipefail
fuzztime=${1:-${FUZZTIME:-5s}}
cd "$(dirname "$0")/.."

targets=()
while IFS= read -r file; do
	while IFS= read -r name; do
		targets+=("$(dirname "$file") $name")
	done < <(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file")
done < <(grep -rlE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*\(' . | sort)
[[ ${#targets[@]} -gt 0 ]] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }

passed=0 failed=0 failures=()
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	echo "== $name ($pkg, $fuzztime)"
	if go test -run "^${name}\$" -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name ($pkg)")
	fi
done
for f in "${failures[@]}"; do
	echo "FAIL: $f"
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

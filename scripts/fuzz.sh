#!/usr/bin/env bash
# make fuzz: runs every fuzz target in the module, one after another.
#   scripts/fuzz.sh [FUZZTIME] [DECODE_FUZZTIME]   (defaults 5m and 10m)
# A failure stops the run; the crasher is left in the package's testdata/fuzz
# directory, to be committed as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-5m}
TD=${2:-10m}
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    t=$T
    [ "$pkg" = "./sensor/decode" ] && t=$TD
    echo "== $pkg $fn ($t)"
    go test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -parallel "${FUZZ_PARALLEL:-2}"
  done
done

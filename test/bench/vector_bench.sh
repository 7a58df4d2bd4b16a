#!/usr/bin/env bash
# Build and run the vector kernel micro-benchmark and the data generator.
#
#   bash test/bench/vector_bench.sh [milliseconds-per-measurement]
#
# Compiles with the same flags as the extension (-O2 -ftree-vectorize, no
# -march: AVX2+FMA is chosen at run time).  Binaries go to test/bench/out/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
mkdir -p "$out"
CC=${CC:-cc}
CFLAGS="-O2 -ftree-vectorize -Wall -Wextra -Wno-unused-function"

$CC $CFLAGS -o "$out/vector_bench" "$here/vector_bench.c" -lm
$CC $CFLAGS -o "$out/genvec" "$here/genvec.c" -lm

# genvec sanity: right line count and dimension, unit length
n=$("$out/genvec" 5 8 2 1 | wc -l)
[ "$n" -eq 5 ] || { echo "genvec: expected 5 lines, got $n" >&2; exit 1; }

"$out/vector_bench" "${1:-150}"

#!/usr/bin/env bash
#===- scripts/test.sh - set up, build and run every nnc test -------------===#
#
# lit runs everything: the FileCheck tests, the end-to-end tests that run
# compiled code, the PyTorch oracle tests and (through test/Unit) every
# GoogleTest case, so one summary counts them all.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/build.sh
log="$(mktemp)"
set +e
python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv build/test "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
unsupported=$(sed -n 's/^ *Unsupported *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
rm -f "$log"
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${unsupported:-0} skipped"
exit "$rc"

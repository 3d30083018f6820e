#!/usr/bin/env bash
# tests/run.sh: run every test binary, then the smoke tests, then the leftovers check,
# and end with one line "N passed, N failed" (exit 1 if anything failed).
#
#   [ONLY=02-queue] [VIA=DIR SMOKE=PATH] tests/run.sh BUILD [SAN]
#
# BUILD is where the binaries are (the top directory, or build/<variant>, see
# mk/variant.mk). Each test binary's cmocka report is kept quiet unless something
# fails. ONLY (a chapter name or part of one) limits the run to that chapter's smoke
# runs and the tests whose test_*.mk names it, plus test_common. VIA and SMOKE are for
# binaries built for another CPU (make test-aarch64): each binary B runs as VIA/B B,
# through an emulator linked there under B's name, and the smoke runner is SMOKE, one
# built for this machine.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: run.sh BUILD [SAN]}
san=${2:-}
cd "$top" || exit 1

# Sanitizer reports fail the run: UBSan stops at the first error; ASan and LSan exit
# non-zero; TSan exits 66 when it reported anything. detect_stack_use_after_return
# moves address-taken locals to "fake stacks" on the heap (the default in recent
# clang): coroutines must hand theirs over at every switch (chapter 07's coro.c).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1}
# every process this run starts carries the mark, so leftovers can be found
export WB_MARK=${WB_MARK:-test-$$-$RANDOM}

passed=0 failed=0 skipped=0
snap="$build/tests/.leftovers-before-$$"
tests/leftovers.sh snap "$snap"

# add one cmocka binary's counts; print its failures
tally() { # name output exit-status
    local name=$1 out=$2 rc=$3 p f s
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' <<<"$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' <<<"$out" | tail -n 1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test.*/\1/p' <<<"$out" | tail -n 1)
    p=${p:-0} f=${f:-0} s=${s:-0}
    if [ -z "$(grep -m1 '^\[==========\] .* run\.' <<<"$out")" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
        f=$((f + 1)) # it crashed, timed out, or a sanitizer failed it at exit
        echo "$name: did not finish cleanly (exit $rc)"
        grep -v '^\[ *\(RUN\|OK\) *\]' <<<"$out" | tail -n 40
    elif [ "$f" -gt 0 ]; then
        grep -v '^\[ *\(RUN\|OK\) *\]' <<<"$out"
    fi
    printf '  %-22s %4d passed, %d failed%s\n' "$name" "$p" "$f" "$( [ "$s" -gt 0 ] && echo ", $s skipped")"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if [ -n "${ONLY:-}" ] && [ "$name" != test_common ] && ! grep -qs -- "$ONLY" "tests/$name.mk"; then
        continue
    fi
    out=$(timeout -k 5 300 ${VIA:+"$VIA/$name"} "$t" 2>&1); rc=$?
    tally "$(basename "$t")" "$out" $rc
done

progs=()
for mk in chapters/*${ONLY:-}*/Makefile; do
    [ -f "$mk" ] || continue
    d=$(dirname "$mk")
    for p in $(make -s --no-print-directory -C "$d" list-progs); do progs+=("$d/$p"); done
done
out=$(timeout -k 5 900 "${SMOKE:-$build/tests/smoke}" --top "$top" --build "$build" --san "$san" \
    ${VIA:+--via "$VIA"} "${progs[@]}" 2>&1); rc=$?
tally smoke "$out" $rc

# python/'s scripts (make compare's), run with the interpreter make compare uses; in the
# default build only: they run the C programs built there, and a sanitizer changes nothing
# in them
if [ -z "$san" ] && [ "$build" = "$top" ]; then
    py=${PYTHON:-/usr/bin/python3}
    if command -v "$py" >/dev/null 2>&1; then
        out=$(timeout -k 5 900 "$py" tests/test_scripts.py --build "$build" --only "${ONLY:-}" 2>&1); rc=$?
        tally scripts "$out" $rc
    else
        printf "  %-22s skipped: no %s (make deps, or make compare, installs python3)\n" scripts "$py"
        skipped=$((skipped + 1))
    fi
fi

# (the output is captured, not piped: a pipe's other end would count as a leftover)
if report=$(tests/leftovers.sh check "$snap"); then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
sed "s/^/  /" <<<"$report"
rm -f "$snap"

echo "$passed passed, $failed failed${san:+ (SAN=$san)}${ONLY:+ (ONLY=$ONLY)}"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# tests/valgrind.sh: every run listed in the chapters' smoke.txt files that uses
# --quick, under valgrind's memcheck: no errors, and no leaks (definite or indirect).
# Then the cmocka tests of chapter 07's coroutines, hub and tasks (those whose
# test_*.mk names chapters/07-coroutine): code that switches stacks by hand is where
# memcheck's picture of what is live on a stack goes wrong unless it is told
# (coro.c), and the tests reach what a quick run does not (deep frames of a copied
# coroutine put back over a shallow one's). A test binary must also pass its tests.
# Only the program's own process is checked (--child-silent-after-fork): a forked
# child that leaves with _exit still holds its copy of the parent's heap, which
# memcheck would call a leak. valgrind writes its findings to fd 9, and any finding
# fails the run; the program's own output is not looked at here (smoke.c does that).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
passed=0 failed=0 seen=""
vg=(valgrind -q --log-fd=9 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --child-silent-after-fork=yes)
# The same command for programs that start other programs through a launcher: 13-cluster's
# programs run their MPI ranks (started by mpiexec) under it, findings to the same fd 9.
export WB_VALGRIND="${vg[*]}"
for smoke in chapters/*${ONLY:-}*/smoke.txt; do
    [ -f "$smoke" ] || continue
    dir=$(dirname "$smoke")
    # a run line starts at column 0; only quick runs, and the first of each program
    while read -r prog args; do
        case " $args " in *" --quick "*) ;; *) continue ;; esac
        case " $seen " in *" $dir/$prog "*) continue ;; esac
        seen="$seen $dir/$prog"
        # shellcheck disable=SC2086
        out=$(timeout -k 5 300 "${vg[@]}" "$dir/$prog" $args 9>&1 >/dev/null 2>&1); rc=$?
        # findings are "==pid==" lines; "--pid--" lines are valgrind's own notes (such as
        # "unhandled syscall 434": it does not know pidfd_open, and common/ falls back)
        out=$(grep '^==' <<<"$out")
        if [ -z "$out" ] && [ $rc -ne 124 ] && [ $rc -ne 137 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "valgrind: $dir/$prog $args failed (exit $rc):"
            printf '%s\n' "$out" | tail -n 30
        fi
    done < <(grep -E '^[a-z_0-9]+' "$smoke")
done

for mk in tests/test_*.mk; do
    grep -qs -- chapters/07-coroutine "$mk" || continue
    [ -n "${ONLY:-}" ] && ! grep -qs -- "$ONLY" "$mk" && continue
    t=${mk%.mk}
    if [ ! -x "$t" ]; then
        failed=$((failed + 1))
        echo "valgrind: $t is not built"
        continue
    fi
    out=$(timeout -k 5 300 "${vg[@]}" "$t" 9>&1 2>&1); rc=$?
    if [ -z "$(grep '^==' <<<"$out")" ] && [ $rc -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "valgrind: $t failed (exit $rc):"
        grep -v -e '^\[ *\(RUN\|OK\) *\]' -e '^--' <<<"$out" | tail -n 30
    fi
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

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
# The runs go as many at a time as there are cores (WB_JOBS to change it): valgrind
# runs a program's threads one at a time, so one run uses one core; the reports come
# out in the runs' order.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
vg=(valgrind -q --log-fd=9 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --child-silent-after-fork=yes)
# The same command for programs that start other programs through a launcher: 13-cluster's
# programs run their MPI ranks (started by mpiexec) under it, findings to the same fd 9.
export WB_VALGRIND="${vg[*]}"
jobs=${WB_JOBS:-$(nproc)}
case $jobs in ''|*[!0-9]*|0) echo "valgrind.sh: WB_JOBS must be a whole number from 1 (got '$jobs')" >&2; exit 2 ;; esac
out_dir=$(mktemp -d -t wb-valgrind.XXXXXX) || exit 1
# on any exit the running checks are ended and their reports removed
stop() { local p; for p in $(jobs -p); do kill -TERM -- "$p" 2>/dev/null; done; wait; rm -rf "$out_dir"; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One check: a run of a program (kind "run") or a test binary (kind "test"), under
# memcheck, its verdict in $out_dir/N.ok or $out_dir/N.fail with what to show.
check() { # N kind path args...
    local n=$1 kind=$2 path=$3 out rc t0=$SECONDS
    shift 3
    if [ "$kind" = run ]; then # only the findings (fd 9)
        out=$(timeout -k 5 300 "${vg[@]}" "$path" "$@" 9>&1 >/dev/null 2>&1); rc=$?
    else                       # the findings and the test's own report
        out=$(timeout -k 5 300 "${vg[@]}" "$path" "$@" 9>&1 2>&1); rc=$?
    fi
    if [ "$kind" = run ]; then
        # findings are "==pid==" lines; "--pid--" lines are valgrind's own notes (such as
        # "unhandled syscall 434": it does not know pidfd_open, and common/ falls back)
        out=$(grep '^==' <<<"$out")
        if [ -z "$out" ] && [ $rc -ne 124 ] && [ $rc -ne 137 ]; then
            echo "$((SECONDS - t0)) $path $*" >"$out_dir/$n.ok"
        else
            { echo "valgrind: $path $* failed (exit $rc):"; printf '%s\n' "$out" | tail -n 30; } >"$out_dir/$n.fail"
        fi
    elif [ -z "$(grep '^==' <<<"$out")" ] && [ $rc -eq 0 ]; then
        echo "$((SECONDS - t0)) $path" >"$out_dir/$n.ok"
    else
        { echo "valgrind: $path failed (exit $rc):"
          grep -v -e '^\[ *\(RUN\|OK\) *\]' -e '^--' <<<"$out" | tail -n 30; } >"$out_dir/$n.fail"
    fi
}

n=0 seen=""
start() { # kind path args...: starts a check once fewer than $jobs run
    while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n; done
    n=$((n + 1))
    check "$n" "$@" &
}

for smoke in chapters/*${ONLY:-}*/smoke.txt; do
    [ -f "$smoke" ] || continue
    dir=$(dirname "$smoke")
    # a run line starts at column 0; only quick runs, and the first of each program
    while read -r prog args; do
        case " $args " in *" --quick "*) ;; *) continue ;; esac
        case " $seen " in *" $dir/$prog "*) continue ;; esac
        seen="$seen $dir/$prog"
        # shellcheck disable=SC2086
        start run "$dir/$prog" $args
    done < <(grep -E '^[a-z_0-9]+' "$smoke")
done

# chapter 07's coroutine tests (see the top); a test binary must also pass its tests
missing=0
for mk in tests/test_*.mk; do
    grep -qs -- chapters/07-coroutine "$mk" || continue
    [ -n "${ONLY:-}" ] && ! grep -qs -- "$ONLY" "$mk" && continue
    t=${mk%.mk}
    if [ ! -x "$t" ]; then
        missing=$((missing + 1))
        echo "valgrind: $t is not built"
        continue
    fi
    start test "$t"
done
wait

passed=$(find "$out_dir" -name '*.ok' | wc -l)
failed=$(( $(find "$out_dir" -name '*.fail' | wc -l) + missing ))
for i in $(seq 1 "$n"); do
    [ -e "$out_dir/$i.ok" ] || [ -e "$out_dir/$i.fail" ] || { echo "valgrind: check $i left no verdict"; failed=$((failed + 1)); }
    [ -e "$out_dir/$i.fail" ] && cat "$out_dir/$i.fail"
done
# the slowest, to see where the time goes
cat "$out_dir"/*.ok 2>/dev/null | sort -rn | head -n 5 | sed 's/^\([0-9]*\) /valgrind: slowest: \1 s  /'
echo "valgrind: $passed passed, $failed failed ($jobs at a time)"
[ "$failed" -eq 0 ]

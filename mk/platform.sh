#!/bin/sh
# mk/platform.sh: is this system new enough for the workbook? Run by the build once
# (mk/platform.mk: the first make after a clean, and again when this file changes).
#
#   sh mk/platform.sh CC [STAMP]
#
# It asks the compiler which C library it builds against (so a cross compiler is asked
# about its own), and uname which kernel runs the programs. Too old: one line per
# shortfall, naming what needs it, and exit 1; new enough: silent, exit 0, and STAMP is
# written. WB_FAKE_GLIBC=2.28 or WB_FAKE_LINUX=4.19 pretend to be such a system (for
# tests/test_platform.c only); then no STAMP is written.
#
# What needs what (the newest of each kind is the requirement; a chapter that needs a
# newer one adds its line here and to "Requirements" in README.md):
reqs='glibc 2.27 memfd_create: the tests keep the output of a child in a memory file
glibc 2.30 gettid: chapters 04 and 05 name threads by their kernel id
glibc 2.32 sigabbrev_np, strerrorname_np: signal and error names in chapters 03, 05, 06, 13
glibc 2.35 epoll_pwait2: the hub of chapter 07 sleeps to the nanosecond
linux 3.17 memfd_create: the tests
linux 5.3 pidfd_open: the test runner waits for its children through it'
set -u
cc=${1:?usage: platform.sh CC [STAMP]}
stamp=${2:-}

# a.b[.c...] as a number that compares: 2.35 -> 2035, 5.3 -> 5003
num() { echo "$1" | awk -F. '{ printf "%d\n", $1 * 1000 + $2 }'; }

# shellcheck disable=SC2086 # CC may be several words (ccache gcc)
glibc=$(printf '#include <features.h>\nglibc __GLIBC__ __GLIBC_MINOR__\n' |
        $cc -E -P -x c - 2>/dev/null | awk '$1 == "glibc" { print $2 "." $3 }')
[ -n "${WB_FAKE_GLIBC:-}" ] && glibc=$WB_FAKE_GLIBC
linux=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
[ -n "${WB_FAKE_LINUX:-}" ] && linux=$WB_FAKE_LINUX

bad=0
case $glibc in
'')
    echo "platform: cannot run the C compiler '$cc' (set CC, or install gcc)" >&2
    exit 1 ;;
__GLIBC__.*)
    echo "platform: '$cc' does not build against the GNU C library (glibc), which this" >&2
    echo "platform: workbook needs (glibc's extensions: sigabbrev_np, pthread_setname_np, ...)" >&2
    bad=1 ;;
esac
# the newest requirement of each kind, with what needs it
for kind in glibc linux; do
    have=$glibc; name=glibc
    [ $kind = linux ] && have=$linux && name=Linux
    [ $bad = 1 ] && [ $kind = glibc ] && continue
    need=$(echo "$reqs" | awk -v k=$kind '$1 == k { print $2 }' |
           while read -r v; do echo "$(num "$v") $v"; done | sort -n | tail -n 1 | cut -d' ' -f2)
    if [ "$(num "$have")" -lt "$(num "$need")" ]; then
        why=$(echo "$reqs" | awk -v k=$kind -v v="$need" '$1 == k && $2 == v { $1 = ""; $2 = ""; sub(/^  /, ""); print }')
        echo "platform: this workbook needs $name >= $need ($why); you have $have" >&2
        bad=1
    fi
done
if [ $bad = 1 ]; then
    echo "platform: see \"Requirements\" in README.md" >&2
    exit 1
fi
if [ -n "$stamp" ] && [ -z "${WB_FAKE_GLIBC:-}${WB_FAKE_LINUX:-}" ]; then
    mkdir -p "$(dirname "$stamp")" && echo "glibc $glibc, Linux $linux" > "$stamp"
fi
exit 0

#!/usr/bin/env bash
# tests/leftovers.sh: did a run leave anything behind?
#
#   tests/leftovers.sh snap FILE    record what is in /dev/shm, the mqueue filesystem
#                                   and /tmp/wb-* now
#   tests/leftovers.sh check FILE   compare with the record; also look for processes
#                                   that carry this run's WB_MARK in their environment
#                                   and are not our ancestors. Exit 1 if anything is new.
#
# The mqueue filesystem is where POSIX message queues show up; it is mounted on
# /dev/mqueue if it is not already and we are root (else queues are not checked).
# Written with bash builtins only, so the scan of /proc sees no helpers of its own.
set -u
what=${1:-}
file=${2:-}
[ -n "$what" ] && [ -n "$file" ] || { echo "usage: $0 snap|check FILE" >&2; exit 2; }

mq=/dev/mqueue
if ! [ -d $mq ] || ! grep -qs " $mq mqueue " /proc/mounts; then
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p $mq 2>/dev/null && mount -t mqueue none $mq 2>/dev/null
    fi
fi

listing() {
    local f
    for f in /dev/shm/* /tmp/wb-*; do
        if [ -e "$f" ]; then echo "$f"; fi
    done
    if grep -qs " $mq mqueue " /proc/mounts; then
        for f in $mq/*; do
            if [ -e "$f" ]; then echo "$f"; fi
        done
    fi
    return 0
}

case $what in
snap)
    listing > "$file" || { echo "leftovers: cannot write $file" >&2; exit 2; }
    exit 0
    ;;
check)
    status=0
    before=$(cat "$file")
    while IFS= read -r f; do
        [ -z "$f" ] && continue
        if ! grep -qxF -- "$f" <<<"$before"; then
            echo "leftovers: $f was not there before"
            status=1
        fi
    done <<<"$(listing)"
    if [ -n "${WB_MARK:-}" ]; then
        # our ancestors carry the mark too: walk up the PPid chain
        declare -A mine=()
        pid=$$
        while [ "$pid" -gt 1 ]; do
            mine[$pid]=1
            ppid=0
            while read -r k v; do [ "$k" = "PPid:" ] && ppid=$v; done < /proc/$pid/status
            pid=$ppid
        done
        for d in /proc/[0-9]*; do
            pid=${d#/proc/}
            [ -n "${mine[$pid]:-}" ] && continue
            while IFS= read -r -d '' kv; do
                if [ "$kv" = "WB_MARK=$WB_MARK" ]; then
                    comm=?; read -r comm 2>/dev/null < "$d/comm"
                    echo "leftovers: process $pid ($comm) is still running"
                    status=1
                    break
                fi
            done 2>/dev/null < "$d/environ"
        done
    fi
    [ $status -eq 0 ] && echo "leftovers: none (processes, /dev/shm, mqueue, /tmp/wb-*)"
    exit $status
    ;;
*)
    echo "usage: $0 snap|check FILE" >&2; exit 2 ;;
esac

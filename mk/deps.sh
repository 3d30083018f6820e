#!/bin/sh
# mk/deps.sh: check for the tools a make step needs and install what is missing.
#
#   sh mk/deps.sh [test|plots|all] [CC]
#
# test  needs pkg-config and cmocka;  plots needs gnuplot;  all needs both (+ valgrind).
# On Debian/Ubuntu the missing packages are installed with apt-get (through sudo when
# not root), and the command is printed before it runs. Elsewhere the script stops and
# prints what to install. It is quiet when nothing is missing.
set -u
want=${1:-all}
cc=${2:-cc}
pkgs=""
need() { pkgs="$pkgs $1"; }

case $want in test|plots|all|valgrind) ;; *) echo "deps.sh: unknown step '$want' (test|plots|valgrind|all)" >&2; exit 2 ;; esac

if [ "$want" = test ] || [ "$want" = all ]; then
    command -v pkg-config >/dev/null 2>&1 || need pkg-config
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists cmocka; then
        need libcmocka-dev
    fi
    # a clang build needs clang, and its sanitizer runtimes are a separate package
    case $cc in
    *clang*)
        if ! command -v "$cc" >/dev/null 2>&1; then
            need clang; need libclang-rt-dev
        elif ! printf 'int main(void){return 0;}' |
             "$cc" -fsanitize=address -x c - -o /dev/null >/dev/null 2>&1; then
            need libclang-rt-dev # the default clang's runtimes (Debian, Ubuntu)
        fi ;;
    esac
fi
if [ "$want" = plots ] || [ "$want" = all ]; then
    command -v gnuplot >/dev/null 2>&1 || need gnuplot-nox
    # the figures' text needs a font that cairo can find
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need fonts-dejavu-core
fi
if [ "$want" = valgrind ] || [ "$want" = all ]; then
    command -v valgrind >/dev/null 2>&1 || need valgrind
fi

[ -z "$pkgs" ] && exit 0

echo "deps: missing:$pkgs"
if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    sudo=""   # with a trailing space when used, so the printed command reads right
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo "
        else echo "deps: not root and no sudo; as root run: apt-get install -y$pkgs" >&2; exit 1
        fi
    fi
    echo "deps: running: ${sudo}apt-get update -q"
    ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || {
        echo "deps: apt-get update failed" >&2; exit 1; }
    echo "deps: running: ${sudo}apt-get install -y --no-install-recommends$pkgs"
    # shellcheck disable=SC2086
    ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs || {
        echo "deps: apt-get install failed" >&2; exit 1; }
    echo "deps: installed:$pkgs"
else
    echo "deps: this is not a Debian/Ubuntu system; install these (or your system's" >&2
    echo "      equivalents) and run make again: pkg-config, cmocka (headers + library), gnuplot" >&2
    exit 1
fi

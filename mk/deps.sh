#!/bin/sh
# mk/deps.sh: check for the tools a make step needs and install what is missing.
#
#   sh mk/deps.sh [test|plots|compare|all|valgrind|mpi|aarch64] [CC] [PYTHON]
#
# test  needs pkg-config and cmocka;  plots needs gnuplot;  all needs both (+ valgrind,
#       and what compare needs).
# compare needs gnuplot and Debian's python3 with python3-greenlet and python3-gevent
#       (when PYTHON is another interpreter, only that it runs: apt's modules are for
#       Debian's python3); and python3-mpi4py when chapter 13's script is in the run
#       (ONLY, as for mpi): Debian builds it on Open MPI, so it brings Open MPI (and its
#       mpiexec.openmpi) beside the chapter's MPICH; chapter 13's C side keeps MPICH's
#       own commands (mpicc.mpich, mpiexec.mpich) whatever the mpiexec alternative says.
# mpi   needs MPICH (mpicc, mpiexec) for chapter 13-cluster; test, plots and all include
#       it when that chapter is among those selected (ONLY, as in the Makefile). MPI is
#       optional: if it cannot be installed, only that chapter is skipped, so its
#       failure is reported and does not stop the step.
# aarch64 (only for `make test-aarch64`, never part of all): the cross compiler
#       gcc-aarch64-linux-gnu, qemu-user to run what it builds, and cmocka for arm64:
#       Debian's own libcmocka-dev for the arm64 architecture, which apt installs only
#       once dpkg knows that architecture, so the step adds it (dpkg --add-architecture
#       arm64, printed like the rest), as Debian's cross-building guide does. That also
#       brings libc6:arm64. Undo: apt-get purge --allow-remove-essential '.*:arm64';
#       dpkg --remove-architecture arm64.
# On Debian/Ubuntu the missing packages are installed with apt-get (through sudo when
# not root), and the command is printed before it runs. Elsewhere the script stops and
# prints what to install. It is quiet when nothing is missing.
set -u
want=${1:-all}
cc=${2:-cc}
python=${3:-/usr/bin/python3}
pkgs=""
need() { pkgs="$pkgs $1"; }

case $want in test|plots|compare|all|valgrind|mpi|aarch64) ;; *) echo "deps.sh: unknown step '$want' (test|plots|compare|valgrind|mpi|aarch64|all)" >&2; exit 2 ;; esac

# chapter 13 is in this run unless ONLY names another chapter (the Makefile's rule:
# ONLY is any part of a chapter directory's name)
top=$(cd "$(dirname "$0")/.." && pwd)
mpi=no
case $want in
mpi) mpi=yes ;;
test|plots|all)
    if [ -d "$top/chapters/13-cluster" ]; then
        case chapters/13-cluster in *"${ONLY:-}"*) mpi=yes ;; esac
    fi ;;
esac

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
if [ "$want" = plots ] || [ "$want" = compare ] || [ "$want" = all ]; then
    command -v gnuplot >/dev/null 2>&1 || need gnuplot-nox
    # the figures' text needs a font that cairo can find
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need fonts-dejavu-core
fi
if [ "$want" = compare ] || [ "$want" = all ]; then
    # python/'s scripts: Debian's interpreter and the two modules chapters 07 and 11 compare
    if [ "$python" = /usr/bin/python3 ]; then
        [ -x /usr/bin/python3 ] || need python3
        if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import greenlet' >/dev/null 2>&1; then
            need python3-greenlet
        fi
        if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import gevent' >/dev/null 2>&1; then
            need python3-gevent
        fi
        if [ -e "$top/python/13_cluster.py" ]; then
            case chapters/13-cluster in *"${ONLY:-}"*)
                if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import mpi4py' >/dev/null 2>&1; then
                    need python3-mpi4py
                fi ;;
            esac
        fi
    elif ! "$python" -c 'import sys' >/dev/null 2>&1; then
        echo "deps: PYTHON=$python does not run; give an interpreter (or leave PYTHON unset for /usr/bin/python3)" >&2
        exit 1
    fi
fi
if [ "$want" = valgrind ] || [ "$want" = all ]; then
    command -v valgrind >/dev/null 2>&1 || need valgrind
fi

add_arch=""
if [ "$want" = aarch64 ]; then
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need gcc-aarch64-linux-gnu
    # (its C library is only recommended, and recommends are not installed here)
    [ -e /usr/aarch64-linux-gnu/include/stdio.h ] || need libc6-dev-arm64-cross
    command -v qemu-aarch64 >/dev/null 2>&1 || need qemu-user
    if [ ! -e /usr/lib/aarch64-linux-gnu/libcmocka.so ]; then
        need libcmocka-dev:arm64
        if command -v dpkg >/dev/null 2>&1 && ! dpkg --print-foreign-architectures | grep -qx arm64; then
            add_arch=arm64
            # Ubuntu keeps arm64 packages in another archive (ports.ubuntu.com): with the
            # architecture added and the sources as they are, apt-get update fails
            if grep -qs '^ID=ubuntu' /etc/os-release; then
                echo "deps: make test-aarch64 needs libcmocka-dev:arm64; on Ubuntu, arm64 packages come" >&2
                echo "      from ports.ubuntu.com: restrict your apt sources to [arch=amd64], add" >&2
                echo "      ports.ubuntu.com for [arch=arm64], run dpkg --add-architecture arm64," >&2
                echo "      apt-get update, and make test-aarch64 again" >&2
                exit 1
            fi
        fi
    fi
fi

# MPICH's own commands: Debian names them mpicc.mpich and mpiexec.mpich (the plain names
# are alternatives that may point to Open MPI); chapters/13-cluster/Makefile looks for
# the same names.
mpi_pkgs=""
if [ $mpi = yes ]; then
    { command -v mpicc.mpich || command -v mpicc; } >/dev/null 2>&1 || mpi_pkgs="mpich libmpich-dev"
    { command -v mpiexec.mpich || command -v mpiexec; } >/dev/null 2>&1 || mpi_pkgs="mpich libmpich-dev"
fi

# install "$@" with apt-get; 0 if it worked, 1 (with a message) if it could not
install() {
    echo "deps: missing: $*"
    if ! [ -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "deps: this is not a Debian/Ubuntu system; install these (or your system's" >&2
        echo "      equivalents) and run make again: $*" >&2
        return 1
    fi
    sudo=""   # with a trailing space when used, so the printed command reads right
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo "
        else echo "deps: not root and no sudo; as root run: apt-get install -y $*" >&2; return 1
        fi
    fi
    if [ -n "$add_arch" ]; then
        echo "deps: running: ${sudo}dpkg --add-architecture $add_arch"
        ${sudo}dpkg --add-architecture "$add_arch" || {
            echo "deps: dpkg --add-architecture $add_arch failed" >&2; return 1; }
        add_arch="" updated=""
    fi
    if [ -z "${updated:-}" ]; then
        echo "deps: running: ${sudo}apt-get update -q"
        ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || {
            echo "deps: apt-get update failed" >&2; return 1; }
        updated=yes
    fi
    echo "deps: running: ${sudo}apt-get install -y --no-install-recommends $*"
    ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || {
        echo "deps: apt-get install failed" >&2; return 1; }
    echo "deps: installed: $*"
}

if [ -n "$pkgs" ]; then
    # shellcheck disable=SC2086
    install $pkgs || exit 1
fi
if [ -n "$mpi_pkgs" ]; then
    # shellcheck disable=SC2086
    install $mpi_pkgs ||
        echo "deps: chapter 13-cluster will be skipped: it needs MPICH (Debian: mpich libmpich-dev)" >&2
fi
exit 0

# The workbook's top Makefile.  `make help` lists what it does.
#
# Each directory has its own small Makefile built on mk/rules.mk; this one walks them,
# runs the tests (tests/run.sh) and draws the figures (mk/plots.mk).

CHAPTERS := $(patsubst %/Makefile,%,$(sort $(wildcard chapters/*/Makefile)))
TOP      := $(CURDIR)
include mk/variant.mk
# is the system new enough? (not for the targets that only clean, explain or install)
ifneq ($(filter-out clean help deps deps-test deps-plots,$(or $(MAKECMDGOALS),all)),)
  include mk/platform.mk
endif
SUBMAKE  := $(MAKE) --no-print-directory
# builds use every core (output kept whole per target); measurements never run in parallel
NPROC    := $(shell nproc 2>/dev/null || echo 2)
BUILDMAKE := $(SUBMAKE) -j$(NPROC) --output-sync=target
HAVE_CMOCKA := $(shell pkg-config --exists cmocka 2>/dev/null && echo yes)
# ONLY=02-queue (or any part of a chapter's name) limits test, plots and valgrind to it
SELECTED := $(if $(ONLY),$(foreach c,$(CHAPTERS),$(if $(findstring $(ONLY),$(c)),$(c))),$(CHAPTERS))

.PHONY: all common chapters $(CHAPTERS) tests test test-aarch64 plots compare deps deps-test \
        deps-plots deps-compare valgrind clean help FORCE
.DEFAULT_GOAL := all

all:
	+@$(BUILDMAKE) common chapters tests

common:
	+@$(SUBMAKE) -C common

chapters: $(CHAPTERS)
$(CHAPTERS): common
	+@$(SUBMAKE) -C $@

# The test programs need cmocka; without it the rest still builds.
tests: common
ifeq ($(HAVE_CMOCKA),yes)
	+@$(SUBMAKE) -C tests
else
	@echo "tests/ not built: cmocka is missing ('make deps' installs it, or 'make test' does)"
endif

# `make chapters/01-process/process_basics` from the top, and a solution:
# `make chapters/10-shared/solutions/batched_add` (made in its chapter's directory)
chapters/%: FORCE
	+@$(SUBMAKE) -C chapters/$(firstword $(subst /, ,$*)) $(patsubst $(firstword $(subst /, ,$*))/%,%,$*)

# the interpreter `make compare` measures: Debian's own, where apt puts python3-greenlet
# and python3-gevent (a python3 earlier on PATH, pyenv's say, would not see them)
PYTHON ?= /usr/bin/python3

deps:
	@sh mk/deps.sh all "$(CC)" "$(PYTHON)"
deps-test:
	@sh mk/deps.sh test "$(CC)"
deps-plots:
	@sh mk/deps.sh plots "$(CC)"
deps-compare:
	@sh mk/deps.sh compare "$(CC)" "$(PYTHON)"

# deps first, in its own make: it may install cmocka, which this make checked for
test: deps-test
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(BUILDMAKE) -C tests
	@ONLY="$(ONLY)" PYTHON="$(PYTHON)" tests/run.sh "$(BUILD)" "$(SAN)"

# Chapter 07's switch on 64-bit Arm, tested from here: its tests and smoke runs
# cross-built with Debian's gcc-aarch64-linux-gnu (mk/deps.sh aarch64 installs it, with
# qemu-user and cmocka for arm64) and run under qemu-aarch64, each binary through a link
# to qemu named after it (tests/run.sh, VIA). The loader and C library come from
# libc6:arm64, never with -L /usr/aarch64-linux-gnu: that would mix the cross
# package's loader with libc6:arm64's C library, and a forked child then spins forever
# in fork(). -mbranch-protection=standard: qemu's CPU has PAC, so return addresses are
# signed and checked across every switch; with qemu's own signing function
# (pauth-impdef), as checked as the architected one and 14 times faster to emulate here
# (a switch: 86 ns against 1.2 µs). The smoke runner is this machine's.
A64_CC    := aarch64-linux-gnu-gcc
A64_BUILD := $(TOP)/build/$(A64_CC)
A64_MAKE  := $(BUILDMAKE) CC=$(A64_CC) CFLAGS='-O2 -g -mbranch-protection=standard' SAN=
A64_TESTS := test_coro test_hub test_coro_uc test_hub_uc test_aio
test-aarch64: deps-test
ifneq ($(SAN),)
	$(error make test-aarch64 runs no sanitizer (they do not run under qemu-user))
endif
	@sh mk/deps.sh aarch64
	+@$(BUILDMAKE) -C tests smoke
	+@$(A64_MAKE) -C common
	+@$(A64_MAKE) -C chapters/07-coroutine
	+@$(A64_MAKE) -C tests $(A64_TESTS)
	@mkdir -p $(A64_BUILD)/via && \
	 for b in $(A64_TESTS) $$($(SUBMAKE) -s -C chapters/07-coroutine list-progs); do \
	     ln -sf "$$(command -v qemu-aarch64)" "$(A64_BUILD)/via/$$(basename $$b)"; done
	@aarch64-linux-gnu-readelf -n $(A64_BUILD)/tests/coro.o | grep -q 'AArch64 feature: BTI, PAC$$' || \
	 { echo "coro.o is not marked BTI and PAC without GCS (mk/rules.mk):"; \
	   aarch64-linux-gnu-readelf -n $(A64_BUILD)/tests/coro.o; exit 1; }
	@ONLY=07-coroutine VIA=$(A64_BUILD)/via SMOKE=$(BUILD)/tests/smoke QEMU_CPU=max,pauth-impdef=on \
	 tests/run.sh $(A64_BUILD)

plots: deps-plots
ifneq ($(VARIANT),)
	$(error plots measure the default build: run 'make plots' without CC or SAN)
endif
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(SUBMAKE) -j1 -f mk/plots.mk

# CPython beside C: the C data of make plots (measured again if missing or from another
# machine), python/'s scripts, the figures redrawn with both, plots/compare.md
compare: deps-compare
ifneq ($(VARIANT),)
	$(error compare measures the default build: run 'make compare' without CC or SAN)
endif
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(SUBMAKE) -j1 -f mk/compare.mk PYTHON="$(PYTHON)"

valgrind: deps-test
	@sh mk/deps.sh valgrind
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(BUILDMAKE) -C tests
	@ONLY="$(ONLY)" tests/valgrind.sh

clean:
	@for d in common $(CHAPTERS) tests; do $(SUBMAKE) -s -C $$d clean >/dev/null; done
	rm -rf build plots/quick plots/data/*.txt plots/data/*.part*

help:
	@echo "Targets:"
	@echo "  make                 build common/, every chapter and the tests"
	@echo "  make test            build and run every test (cmocka, smoke, leftovers)"
	@echo "  make test ONLY=02-queue   only that chapter's smoke runs and tests (+ test_common);"
	@echo "                       ONLY works for plots and valgrind too"
	@echo "  make plots           run the measuring programs, draw plots/*.png"
	@echo "  QUICK=1 make plots   a fast pass into plots/quick/ (the committed figures stay)"
	@echo "  make compare         run python/'s scripts on CPython beside the C programs: the"
	@echo "                       figures with both runtimes, plots/compare.md (QUICK=1, ONLY work too)"
	@echo "  make valgrind        each program's first quick run under valgrind (memcheck),"
	@echo "                       and chapter 07's coroutine tests"
	@echo "  make test-aarch64    chapter 07's tests and smoke runs built for 64-bit Arm, run"
	@echo "                       under qemu-user (installs the cross compiler and qemu)"
	@echo "  make deps            check for and install cmocka, gnuplot, pkg-config, python3 (+ greenlet, gevent)"
	@echo "  make clean           remove everything built or measured"
	@echo "  make -C chapters/01-process              one chapter"
	@echo "  make chapters/01-process/process_basics  one program"
	@echo "Variables:"
	@echo "  CC=clang             another compiler (gcc and clang are both tested)"
	@echo "  CFLAGS='-O0 -g'      optimisation and debug flags (default -O2 -g)"
	@echo "  SAN=address,undefined, SAN=thread"
	@echo "                       sanitizer builds; these and other compilers build under build/"
	@echo "  V=1                  show the full command lines"
	@echo "  PYTHON=python3.13    the interpreter make compare measures (default /usr/bin/python3)"

# The workbook's top Makefile.  `make help` lists what it does.
#
# Each directory has its own small Makefile built on mk/rules.mk; this one walks them,
# runs the tests (tests/run.sh) and draws the figures (mk/plots.mk).

CHAPTERS := $(patsubst %/Makefile,%,$(sort $(wildcard chapters/*/Makefile)))
TOP      := $(CURDIR)
include mk/variant.mk
SUBMAKE  := $(MAKE) --no-print-directory
# builds use every core (output kept whole per target); measurements never run in parallel
NPROC    := $(shell nproc 2>/dev/null || echo 2)
BUILDMAKE := $(SUBMAKE) -j$(NPROC) --output-sync=target
HAVE_CMOCKA := $(shell pkg-config --exists cmocka 2>/dev/null && echo yes)
# ONLY=02-queue (or any part of a chapter's name) limits test, plots and valgrind to it
SELECTED := $(if $(ONLY),$(foreach c,$(CHAPTERS),$(if $(findstring $(ONLY),$(c)),$(c))),$(CHAPTERS))

.PHONY: all common chapters $(CHAPTERS) tests test plots deps deps-test deps-plots \
        valgrind clean help FORCE
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

deps:
	@sh mk/deps.sh all "$(CC)"
deps-test:
	@sh mk/deps.sh test "$(CC)"
deps-plots:
	@sh mk/deps.sh plots "$(CC)"

# deps first, in its own make: it may install cmocka, which this make checked for
test: deps-test
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(BUILDMAKE) -C tests
	@ONLY="$(ONLY)" tests/run.sh "$(BUILD)" "$(SAN)"

plots: deps-plots
ifneq ($(VARIANT),)
	$(error plots measure the default build: run 'make plots' without CC or SAN)
endif
	+@$(BUILDMAKE) common $(SELECTED)
	+@$(SUBMAKE) -j1 -f mk/plots.mk

valgrind: deps-test
	@sh mk/deps.sh valgrind
	+@$(BUILDMAKE) common $(SELECTED)
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
	@echo "  make valgrind        each program's first quick run under valgrind (memcheck)"
	@echo "  make deps            check for and install cmocka, gnuplot, pkg-config"
	@echo "  make clean           remove everything built or measured"
	@echo "  make -C chapters/01-process              one chapter"
	@echo "  make chapters/01-process/process_basics  one program"
	@echo "Variables:"
	@echo "  CC=clang             another compiler (gcc and clang are both tested)"
	@echo "  CFLAGS='-O0 -g'      optimisation and debug flags (default -O2 -g)"
	@echo "  SAN=address,undefined, SAN=thread"
	@echo "                       sanitizer builds; these and other compilers build under build/"
	@echo "  V=1                  show the full command lines"

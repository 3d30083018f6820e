# mk/compare.mk: CPython beside C. `make compare` runs this after building the programs.
#
#   1. The C side: the experiments of the chapters that have a script (their data files,
#      as mk/plots.mk makes them), measured again when a data file is missing, older than
#      its program, or from another machine (its "# machine:" line names another CPU,
#      core count or kernel): C's and CPython's numbers must come from the same machine.
#   2. The CPython side: each python/NN_name.py, with $(PYTHON) (default Debian's
#      /usr/bin/python3; PYTHON=... picks another), writes DATA/<experiment>_py.dat and
#      DATA/compare_NN.json; it runs again when it, its parts (python/NN_name/),
#      python/wb/, the interpreter or the chapter's C data changed.
#   3. Every figure of an experiment that has a CPython file is drawn again with both
#      runtimes (the figure's script gets the _py.dat file as a third argument), and
#      DATA/../compare.md gets a table per chapter (python/compare.py).
#
# A new chapter's script joins by its name alone: python/NN_name.py for chapter NN (see
# python/README.md); a chapter without one gets a "no CPython script yet" line and is
# not measured. ONLY=04 (or any part of a chapter's name) limits it to that chapter.
# QUICK=1 runs everything with --quick into plots/quick/, as QUICK=1 make plots does.

ifeq ($(QUICK),1)
  OUTDIR := plots/quick
  PYARGS := --quick
else
  OUTDIR := plots
  PYARGS :=
endif
DATA   := $(OUTDIR)/data
PYTHON ?= /usr/bin/python3
STAMP  := build/compare-python

.DEFAULT_GOAL := all
.PHONY: all c-data scripts figures table FORCE

# which experiments and figures each chapter declares (the chapters' plots.mk, read with
# macros of our own): C_EXPS_01 = spawn_cost cpu_processes; FIGS_spawn_cost = spawn_cost
# fork_memory; PROG_spawn_cost = chapters/01-process/spawn_cost
CHAPTER_DIRS := $(sort $(wildcard chapters/*$(ONLY)*/plots.mk))
define experiment
C_EXPS_$(firstword $(subst -, ,$(1))) += $(2)
PROG_$(2) := chapters/$(1)/$(2)
endef
define figure
FIGS_$(2) += $(1)
endef
include $(CHAPTER_DIRS)
NUMBERS := $(sort $(foreach d,$(wildcard chapters/*$(ONLY)*),$(firstword $(subst -, ,$(notdir $(d))))))
SCRIPTS := $(sort $(foreach n,$(NUMBERS),$(wildcard python/$(n)_*.py)))
# the chapters with a script, and their experiments: the C data compare needs
SCRIPTED := $(foreach s,$(SCRIPTS),$(patsubst python/%,%,$(firstword $(subst _, ,$(s)))))
UNSCRIPTED := $(filter-out $(SCRIPTED),$(NUMBERS))
C_NEEDED := $(sort $(foreach n,$(SCRIPTED),$(C_EXPS_$(n))))

all: table
	@for d in $(foreach n,$(UNSCRIPTED),$(notdir $(wildcard chapters/$(n)-*))); do \
	  echo "compare: chapter $${d%%-*}: no CPython script yet (python/$$(echo $$d | tr - _).py; python/README.md says how to add one)"; \
	done
	@echo "compare: $(words $(SCRIPTS)) chapters beside CPython; their tables in $(OUTDIR)/compare.md"

# 1. the C side, as `make plots` measures it, for the chapters that have a script;
# programs whose data came from another machine are marked new (make -W) so that their
# experiments run again
# (not again in the second make, which draws the figures: FIGURES_ONLY=1)
C_MEASURE := $(if $(filter 1,$(FIGURES_ONLY)),,$(C_NEEDED))
c-data:
	@mkdir -p $(DATA) build
ifneq ($(C_MEASURE),)
	+@stale="$$($(PYTHON) python/compare.py stale $(DATA) $(C_MEASURE))"; \
	  if [ -n "$$stale" ]; then echo "compare: measured on another machine, measuring again:" $$stale; fi; \
	  $(MAKE) -s --no-print-directory -f mk/plots.mk $$(for p in $$stale; do printf -- '-W %s ' "$$p"; done) \
	    $(foreach e,$(C_MEASURE),$(DATA)/$(e).dat); \
	  rc=$$?; rm -f build/plots-plan-*; exit $$rc
endif

# the interpreter: a stamp that changes only when $(PYTHON) or its version does
$(STAMP): FORCE
	@mkdir -p build
	@v="$(PYTHON): $$($(PYTHON) -c 'import sys; print(sys.version)' 2>&1 | tr '\n' ' ')"; \
	  [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" > $@

# 2. the scripts, one after the other (measurements never run in parallel)
PYDONE :=
define pyscript
PYDONE += $(2)
$(2)_INDEX := $$(words $$(PYDONE))
$(DATA)/compare_$(1).json: $(2) $(wildcard python/wb/*.py $(basename $(2))/*.py) $(STAMP) $(foreach e,$(C_EXPS_$(1)),$(DATA)/$(e).dat) | c-data
	@echo "[$$($(2)_INDEX)/$(words $(SCRIPTS))] chapter $(1): CPython beside C ($(notdir $(2)), $(PYTHON))"
	@$(PYTHON) $(2) $(PYARGS) --data $(DATA) > $(DATA)/$(notdir $(basename $(2)))_py.txt 2>&1 || \
	  { sed 's/^/      /' $(DATA)/$(notdir $(basename $(2)))_py.txt; rm -f $$@; exit 1; }
	@sed 's/^/      /' $(DATA)/$(notdir $(basename $(2)))_py.txt
endef
$(foreach s,$(SCRIPTS),$(eval $(call pyscript,$(patsubst python/%,%,$(firstword $(subst _, ,$(s)))),$(s))))
JSONS := $(foreach s,$(SCRIPTS),$(DATA)/compare_$(patsubst python/%,%,$(firstword $(subst _, ,$(s)))).json)
# (made by c-data; order-only, so that only a data file c-data did change reruns a script)
$(foreach e,$(C_NEEDED),$(eval $(DATA)/$(e).dat: | c-data ;))

scripts: $(JSONS)

# 3. the figures and the tables, in a second make: which _py.dat files exist is known
# only once the scripts have run
table: scripts
	+@$(MAKE) --no-print-directory -f mk/compare.mk FIGURES_ONLY=1 figures
	@$(PYTHON) python/compare.py table $(DATA) $(OUTDIR)/compare.md
	@echo "      wrote $(OUTDIR)/compare.md"

PY_EXPS := $(foreach e,$(C_NEEDED),$(if $(wildcard $(DATA)/$(e)_py.dat),$(e)))
# a figure is drawn again when its script, the style or either data file changed, or when
# `make plots` has drawn it since (C alone): a stamp per figure, older than the figure then
STAMPS := build/compare-stamps/$(OUTDIR)
define pyfigure
FIGURES += $(STAMPS)/$(1)
$(STAMPS)/$(1): plots/$(1).gp plots/style.gp $(DATA)/$(2).dat $(DATA)/$(2)_py.dat $(wildcard $(OUTDIR)/$(1).png)
	@mkdir -p $(STAMPS)
	@gnuplot -c plots/$(1).gp $(DATA)/$(2).dat $(OUTDIR)/$(1).png.part.png $(DATA)/$(2)_py.dat && \
	  mv $(OUTDIR)/$(1).png.part.png $(OUTDIR)/$(1).png && touch $$@
	@echo "      drew $(OUTDIR)/$(1).png (C and CPython)"
endef
FIGURES :=
$(foreach e,$(PY_EXPS),$(foreach f,$(FIGS_$(e)),$(eval $(call pyfigure,$(f),$(e)))))
figures: $(FIGURES)
	@:

# mk/plots.mk: measurements -> data files -> figures. `make plots` runs this after
# building the programs; make's dependencies keep it incremental (a figure is redrawn
# when its script, the style or its data changed; data is remeasured when the
# program changed).
#
# A chapter declares its experiments in chapters/NN-name/plots.mk:
#   $(eval $(call experiment,01-process,spawn_cost,the cost of starting a process))
#   spawn_cost_TIME := flat:6
#   $(eval $(call figure,spawn_cost,spawn_cost))
#   $(eval $(call figure,fork_memory,spawn_cost))
# experiment: chapter directory, program, what it measures. The program runs with
#   --data plots/data/<program>.dat; its table goes to plots/data/<program>.txt.
# <program>_TIME: how long it takes, the seconds on 2 cores and how they grow with the
#   cores (flat, points, work, serial: see mk/plots-time.sh), GROWTH:SECONDS, or a list
#   when its parts grow differently ("serial:4 work:3").
# figure: the figure's name (plots/<name>.gp draws plots/<name>.png), the experiment
#   whose data it draws.
#
# The sweeps follow the machine (common.h, cpu_count), so a machine with more cores
# takes longer: before the first measurement this prints how long all of them should
# take here (the cores as nproc counts them, or WB_CORES), each experiment says how long
# it should take and how long it took.
#
# ONLY=02-queue limits it to one chapter.
# QUICK=1 runs every program with --quick and writes under plots/quick/ instead, so a
# fast check of the pipeline never overwrites the committed figures.

ifeq ($(QUICK),1)
  OUTDIR  := plots/quick
  RUNARGS := --quick
else
  OUTDIR  := plots
  RUNARGS :=
endif
DATA := $(OUTDIR)/data

.DEFAULT_GOAL := all
EXPERIMENTS :=
FIGURES :=

# the cores the sweeps will follow; how long a list of GROWTH:SECONDS parts takes on
# them (mk/plots-time.sh); "about 40 s", "about 3 min" (nothing under QUICK=1)
CORES := $(shell echo $${WB_CORES:-$$(nproc)})
seconds_on = $(shell sh mk/plots-time.sh $(1) $(2))
about = $(if $(QUICK),,$(shell s=$(1); if [ $$s -ge 120 ]; then echo "about $$((($$s + 30) / 60)) min"; \
  elif [ $$s -ge 1 ]; then echo "about $$s s"; else echo "under a second"; fi))
# PLAN (below) is printed once, before the first experiment that has to run: a mark per
# make run, which `all` removes
PLAN_MARK := build/plots-plan-$(shell echo $$PPID)

define experiment
EXPERIMENTS += $(2)
$(2)_INDEX := $$(words $$(EXPERIMENTS))
$(DATA)/$(2).dat: chapters/$(1)/$(2)
	@mkdir -p $(DATA) build
	@[ -e $(PLAN_MARK) ] || { echo "plots: $$(PLAN)"; touch $(PLAN_MARK); }
	@echo "[$$($(2)_INDEX)/$$(words $$(EXPERIMENTS))] chapter $(firstword $(subst -, ,$(1))): $(3) ($(2)$$(if $$(and $$($(2)_TIME),$$(if $$(QUICK),,1)),$$(comma) $$(call about,$$(call seconds_on,$$(CORES),$$($(2)_TIME)))))"
	@t=$$$$(date +%s%N); chapters/$(1)/$(2) $(RUNARGS) --data $$@.part > $(DATA)/$(2).txt || { cat $(DATA)/$(2).txt; rm -f $$@.part; exit 1; }; \
	  t=$$$$((($$$$(date +%s%N) - t) / 1000000)); sed 's/^/      /' $(DATA)/$(2).txt; \
	  if [ $$$$t -lt 1000 ]; then echo "      took $$$$t ms"; else echo "      took $$$$((t / 1000)).$$$$((t % 1000 / 100)) s"; fi
	@mv $$@.part $$@
endef

define figure
FIGURES += $(OUTDIR)/$(1).png
$(OUTDIR)/$(1).png: plots/$(1).gp plots/style.gp $(DATA)/$(2).dat
	@gnuplot -c plots/$(1).gp $(DATA)/$(2).dat $$@.part.png && mv $$@.part.png $$@
	@echo "      drew $$@"
endef

include $(sort $(wildcard chapters/*$(ONLY)*/plots.mk))
comma := ,
ALL_TIMES = $(foreach e,$(EXPERIMENTS),$($(e)_TIME))

UNTIMED = $(strip $(foreach e,$(EXPERIMENTS),$(if $($(e)_TIME),,$(e))))
PLAN = $(words $(EXPERIMENTS)) experiments$(if $(QUICK),,: $(call about,$(call seconds_on,$(CORES),$(ALL_TIMES))) on \
  the $(CORES) core$(if $(filter 1,$(CORES)),,s) here$(if $(filter 2,$(CORES)),, ($(call about,$(call seconds_on,2,$(ALL_TIMES))) on 2))$(if \
  $(UNTIMED), and $(words $(UNTIMED)) without an estimate)) if all of them run (only those whose program changed do)
.PHONY: all

all: $(FIGURES)
	@rm -f build/plots-plan-*
	@echo "plots: $(words $(FIGURES)) figures up to date in $(OUTDIR)/"

# mk/plots.mk: measurements -> data files -> figures. `make plots` runs this after
# building the programs; make's dependencies keep it incremental (a figure is redrawn
# when its script, the style or its data changed; data is remeasured when the
# program changed).
#
# A chapter declares its experiments in chapters/NN-name/plots.mk:
#   $(eval $(call experiment,01-process,spawn_cost,the cost of starting a process))
#   $(eval $(call figure,spawn_cost,spawn_cost))
#   $(eval $(call figure,fork_memory,spawn_cost))
# experiment: chapter directory, program, what it measures. The program runs with
#   --data plots/data/<program>.dat; its table goes to plots/data/<program>.txt.
# figure: the figure's name (plots/<name>.gp draws plots/<name>.png), the experiment
#   whose data it draws.
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

define experiment
EXPERIMENTS += $(2)
$(2)_INDEX := $$(words $$(EXPERIMENTS))
$(DATA)/$(2).dat: chapters/$(1)/$(2)
	@mkdir -p $(DATA)
	@echo "[$$($(2)_INDEX)/$$(words $$(EXPERIMENTS))] chapter $(firstword $(subst -, ,$(1))): $(3) ($(2))"
	@chapters/$(1)/$(2) $(RUNARGS) --data $$@.part > $(DATA)/$(2).txt || { cat $(DATA)/$(2).txt; rm -f $$@.part; exit 1; }
	@sed 's/^/      /' $(DATA)/$(2).txt
	@mv $$@.part $$@
endef

define figure
FIGURES += $(OUTDIR)/$(1).png
$(OUTDIR)/$(1).png: plots/$(1).gp plots/style.gp $(DATA)/$(2).dat
	@gnuplot -c plots/$(1).gp $(DATA)/$(2).dat $$@.part.png && mv $$@.part.png $$@
	@echo "      drew $$@"
endef

include $(sort $(wildcard chapters/*$(ONLY)*/plots.mk))

.PHONY: all
all: $(FIGURES)
	@echo "plots: $(words $(FIGURES)) figures up to date in $(OUTDIR)/"

# chapter 01's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,01-process,spawn_cost,the cost of starting a process or a thread))
spawn_cost_TIME := flat:2
$(eval $(call figure,spawn_cost,spawn_cost))
$(eval $(call figure,fork_memory,spawn_cost))
$(eval $(call experiment,01-process,cpu_processes,CPU-bound work split over processes))
cpu_processes_TIME := work:2
$(eval $(call figure,cpu_processes,cpu_processes))

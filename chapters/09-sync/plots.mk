# chapter 09's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,09-sync,mutex_cost,lock+unlock cost and futex calls of five locks))
mutex_cost_TIME := points:8
$(eval $(call figure,mutex_cost,mutex_cost))
$(eval $(call figure,mutex_futex,mutex_cost))
$(eval $(call experiment,09-sync,readers_writers,a writer against busier and busier readers))
readers_writers_TIME := flat:4
$(eval $(call figure,readers_writers,readers_writers))

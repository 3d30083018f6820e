# chapter 11's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,11-futures,choose,the lessons' rule as a matrix of workloads and runners))
choose_TIME := flat:14
$(eval $(call figure,choose,choose))
$(eval $(call figure,concurrency,choose))
$(eval $(call experiment,11-futures,hybrid,processes plus coroutines or threads against each alone))
hybrid_TIME := flat:7
$(eval $(call figure,hybrid,hybrid))

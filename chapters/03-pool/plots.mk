# chapter 03's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,03-pool,pool_bench,what a pool task costs and what a pool buys))
pool_bench_TIME := flat:0.5 work:1
$(eval $(call figure,pool_overhead,pool_bench))
$(eval $(call figure,pool_speedup,pool_bench))

# chapter 02's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,02-queue,queue_bench,messages per second between processes))
queue_bench_TIME := flat:4
$(eval $(call figure,queue_bench,queue_bench))

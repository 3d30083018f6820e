# chapter 10's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,10-shared,shared_value,processes adding to one shared counter four ways))
shared_value_TIME := points:3
$(eval $(call figure,shared_value,shared_value))
$(eval $(call experiment,10-shared,manager_bench,a put and a get through a manager against a shared queue and a pipe))
manager_bench_TIME := procs:3
$(eval $(call figure,manager_bench,manager_bench))
$(eval $(call experiment,10-shared,start_methods,the start cost of fork and spawn and forkserver))
start_methods_TIME := flat:1
$(eval $(call figure,start_methods,start_methods))

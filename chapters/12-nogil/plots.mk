# chapter 12's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,12-nogil,sharing_cost,plain and atomic increments on shared and private cache lines; the litmus test))
sharing_cost_TIME := points:1
$(eval $(call figure,sharing_cost,sharing_cost))
$(eval $(call experiment,12-nogil,refcount,one incref+decref four ways (plain atomic biased immortal)))
refcount_TIME := points:1.5
$(eval $(call figure,refcount,refcount))
$(eval $(call experiment,12-nogil,stop_the_world,the pause to stop every thread at a safe point))
stop_the_world_TIME := points:2
$(eval $(call figure,stop_the_world,stop_the_world))
$(eval $(call experiment,12-nogil,nogil_interp,chapter 08's workload with the GIL and free-threaded))
nogil_interp_TIME := serial:0.6 work:1.2
$(eval $(call figure,nogil_interp,nogil_interp))
$(eval $(call experiment,12-nogil,subinterpreters,one GIL per interpreter against threads and processes))
subinterpreters_TIME := serial:0.5 work:1.2
$(eval $(call figure,subinterpreters,subinterpreters))

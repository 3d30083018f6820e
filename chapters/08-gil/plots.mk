# chapter 08's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,08-gil,gil_cpu,a CPU-bound job on threads under the GIL, without it, on processes))
gil_cpu_TIME := serial:6 points:6
$(eval $(call figure,gil_cpu,gil_cpu))
$(eval $(call experiment,08-gil,gil_timeline,who holds the GIL over time, new GIL and old))
gil_timeline_TIME := flat:1
$(eval $(call figure,gil_timeline,gil_timeline))
$(eval $(call figure,gil_holds,gil_timeline))
$(eval $(call experiment,08-gil,gil_convoy,an I/O-bound thread beside CPU-bound threads))
gil_convoy_TIME := flat:3.5
$(eval $(call figure,gil_convoy,gil_convoy))
$(eval $(call experiment,08-gil,gil_fetch,fetching pages from a slow loopback server with N threads))
gil_fetch_TIME := flat:3
$(eval $(call figure,gil_fetch,gil_fetch))
$(eval $(call experiment,08-gil,gil_interval,CPU throughput and I/O latency vs the switch interval))
gil_interval_TIME := flat:2.5
$(eval $(call figure,gil_interval,gil_interval))

# chapter 06's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,06-rlock,lock_compare,the cost of a lock+unlock pair for four kinds of lock))
lock_compare_TIME := flat:3
$(eval $(call figure,lock_compare,lock_compare))

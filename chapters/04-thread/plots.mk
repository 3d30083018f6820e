# chapter 04's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,04-thread,race_rate,the share of updates an unlocked counter loses))
race_rate_TIME := flat:3.5
$(eval $(call figure,race_rate,race_rate))
$(eval $(call experiment,04-thread,lock_cost,time per addition to an exact counter four ways))
lock_cost_TIME := points:5
$(eval $(call figure,lock_cost,lock_cost))
$(eval $(call experiment,04-thread,wakeup,how long a woken thread takes to run and how late a short sleep ends))
wakeup_TIME := flat:5
$(eval $(call figure,wakeup,wakeup))

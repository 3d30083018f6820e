# chapter 07's experiments and figures (see mk/plots.mk)
$(eval $(call experiment,07-coroutine,switch_cost,the cost of one switch))
switch_cost_TIME := flat:2
$(eval $(call figure,switch_cost,switch_cost))
$(eval $(call experiment,07-coroutine,create_cost,the cost of making a task with and without the stack cache))
create_cost_TIME := flat:0.5
$(eval $(call figure,create_cost,create_cost))
$(eval $(call experiment,07-coroutine,copy_cost,copied stacks: switch cost and memory against the bytes copied))
copy_cost_TIME := flat:0.5
$(eval $(call figure,copy_cost,copy_cost))
$(eval $(call experiment,07-coroutine,many_sleepers,N sleeping tasks of six kinds))
many_sleepers_TIME := flat:12
$(eval $(call figure,many_sleepers,many_sleepers))

# concurrent.futures' Future, wait() and as_completed() of chapters/11-futures, on the
# Lock and Condition of chapters/09-sync
test_future_MODULES = ../chapters/11-futures/future.c ../chapters/11-futures/wait.c \
                      ../chapters/09-sync/futex_mutex.c ../chapters/09-sync/cond.c

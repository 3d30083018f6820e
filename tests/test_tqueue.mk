# queue.Queue (tqueue.c) of chapters/09-sync
test_tqueue_MODULES = ../chapters/09-sync/futex_mutex.c ../chapters/09-sync/cond.c \
                      ../chapters/09-sync/tqueue.c

# Condition, Semaphore, Event and Barrier of chapters/09-sync
test_sync_MODULES = ../chapters/09-sync/futex_mutex.c ../chapters/09-sync/cond.c \
                    ../chapters/09-sync/semaphore.c ../chapters/09-sync/event.c \
                    ../chapters/09-sync/barrier.c

# the executors of chapters/11-futures: ThreadPoolExecutor on the queue.Queue of
# chapters/09-sync, ProcessPoolExecutor on the pool of chapters/03-pool
test_executor_MODULES = ../chapters/11-futures/future.c ../chapters/11-futures/wait.c \
                        ../chapters/11-futures/executor.c ../chapters/11-futures/texec.c \
                        ../chapters/11-futures/pexec.c ../chapters/09-sync/futex_mutex.c \
                        ../chapters/09-sync/cond.c ../chapters/09-sync/semaphore.c \
                        ../chapters/09-sync/tqueue.c ../chapters/03-pool/pool.c ../chapters/02-queue/queue.c

# the process pool of chapters/03-pool, on the queue of chapters/02-queue
test_pool_MODULES = ../chapters/03-pool/pool.c ../chapters/02-queue/queue.c

# the queue of chapters/02-queue (make test ONLY=02-queue selects this test)
test_queue_MODULES = ../chapters/02-queue/queue.c

# the same tests as test_queue, those that apply, on the textbook queue of chapters/02-queue
test_queue_simple_MODULES = ../chapters/02-queue/queue_simple.c

/* test_queue_simple.c: tests/test_queue.c again, on the textbook queue.
 *
 * test_queue_simple.mk links chapters/02-queue/queue_simple.c instead of queue.c;
 * QUEUE_SIMPLE selects the cases that apply to it (test_queue.c says which).
 */
#define QUEUE_SIMPLE 1
#include "test_queue.c"

/* queue_killed_simple.c: queue_killed.c linked with queue_simple.c instead of queue.c.
 *
 * The same program (see queue_killed.c); the chapter's Makefile links this one with
 * the textbook queue, whose lock is not robust: it hangs, and says so.
 */
#define QUEUE_SIMPLE 1
#include "queue_killed.c"

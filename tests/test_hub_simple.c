/* test_hub_simple.c: tests/test_hub.c again, on the minimal hub and coroutines.
 *
 * test_hub_simple.mk links chapters/07-coroutine/hub_simple.c and coro_simple.c instead
 * of hub.c and coro.c; HUB_SIMPLE leaves out the cases of what they do not have
 * (descriptors, detached tasks, copied stacks, the stack cache). test_hub.c says which.
 */
#define HUB_SIMPLE 1
#include "test_hub.c"

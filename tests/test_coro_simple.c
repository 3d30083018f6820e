/* test_coro_simple.c: tests/test_coro.c again, on the minimal coroutines.
 *
 * test_coro_simple.mk links chapters/07-coroutine/coro_simple.c instead of coro.c;
 * CORO_SIMPLE leaves out the cases of what it does not have (the guard page, the stack
 * cache, flags: CORO_OWN_FPU, CORO_NO_GUARD, CORO_COPY_STACK). test_coro.c says which.
 */
#define CORO_SIMPLE 1
#include "test_coro.c"

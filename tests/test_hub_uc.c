/* test_hub_uc.c: tests/test_hub.c again, on the ucontext switch.
 *
 * Same tests; test_hub_uc.mk links coro_ucontext.c instead of coro.c under the hub.
 */
#define CORO_UCONTEXT 1
#include "test_hub.c"

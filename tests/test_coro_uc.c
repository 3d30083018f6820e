/* test_coro_uc.c: tests/test_coro.c again, on the ucontext switch.
 *
 * The tests are the same; only the module differs (test_coro_uc.mk links
 * coro_ucontext.c instead of coro.c). CORO_UCONTEXT tells the tests which switch to
 * expect from coro_backend(), so a build that linked the wrong one fails.
 */
#define CORO_UCONTEXT 1
#include "test_coro.c"

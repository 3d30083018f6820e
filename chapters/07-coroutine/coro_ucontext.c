/* coro_ucontext.c: coro.c built with its portable switch, swapcontext(3).
 *
 * The same source as coro.c with CORO_UCONTEXT defined, so a program or a test can
 * link this file instead of coro.c and run on the fallback: `make CORO=ucontext` for
 * the chapter, tests/test_coro_uc.c for the tests.
 */
#define CORO_UCONTEXT 1
#include "coro.c"

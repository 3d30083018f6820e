/* coro_overflow_simple.c: coro_overflow.c linked with coro_simple.c instead of coro.c.
 *
 * The same program (see coro_overflow.c); the chapter's Makefile links this one with
 * the minimal coroutines, whose stacks have no guard page between them: the overflow
 * goes unnoticed but for the canary, and the program says so and exits 1.
 */
#define CORO_SIMPLE 1
#include "coro_overflow.c"

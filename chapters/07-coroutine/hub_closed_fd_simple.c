/* hub_closed_fd_simple.c: hub_closed_fd.c linked with hub_simple.c and coro_simple.c.
 *
 * The same program (see hub_closed_fd.c); the chapter's Makefile links this one with
 * the minimal hub, whose waits remove their epoll registration by descriptor number:
 * a task sleeps through its data, and the program says so and exits 1.
 */
#define HUB_SIMPLE 1
#include "hub_closed_fd.c"

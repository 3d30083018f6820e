/* pool_killed_simple.c: pool_killed.c linked with pool_simple.c instead of pool.c.
 *
 * The same program (see pool_killed.c); the chapter's Makefile links this one with the
 * simple pool, which loses the task of a worker that dies, and the worker too.
 */
#define POOL_SIMPLE 1
#include "pool_killed.c"

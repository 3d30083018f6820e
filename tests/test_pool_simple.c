/* test_pool_simple.c: tests/test_pool.c again, on the simple pool.
 *
 * test_pool_simple.mk links chapters/03-pool/pool_simple.c instead of pool.c and the
 * queue; POOL_SIMPLE selects the cases that apply to it (test_pool.c says which).
 */
#define POOL_SIMPLE 1
#include "test_pool.c"

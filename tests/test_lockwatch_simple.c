/* test_lockwatch_simple.c: tests/test_lockwatch.c again, on the lock that knows only its
 * holder's name.
 *
 * test_lockwatch_simple.mk links chapters/05-deadlock/lockwatch_simple.c instead of
 * lockwatch.c; LOCKWATCH_SIMPLE selects the cases that apply (test_lockwatch.c says which).
 */
#define LOCKWATCH_SIMPLE 1
#include "test_lockwatch.c"

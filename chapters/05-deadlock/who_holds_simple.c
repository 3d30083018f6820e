/* who_holds_simple.c: who_holds.c linked with lockwatch_simple.c instead of lockwatch.c.
 *
 * The same program (see who_holds.c); the chapter's Makefile links this one with the
 * lock that knows only its holder's name, whose reports cannot tell a deadlock.
 */
#define LOCKWATCH_SIMPLE 1
#include "who_holds.c"

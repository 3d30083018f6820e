/* coro_overflow.c: a coroutine runs off the end of its stack.
 *
 * Mirrors: a greenlet or a gevent task that recurses too deep. Python stops that with
 * RecursionError (CPython counts frames, sys.getrecursionlimit()); a C coroutine has
 * a fixed stack of its own, a few KiB to spare, and nothing counts its frames.
 *
 * One source, built twice:
 *   coro_overflow_simple   linked with coro_simple.c: stacks with nothing between them
 *   coro_overflow          linked with coro.c: a guard page below every stack
 * In a child process (so that a crash is contained and reported), coroutines are made
 * with a --stack KiB stack each, and two whose stacks mmap put one right below the
 * other are picked. The lower one, B, starts,
 * fills a 1 KiB array on its stack with a pattern (the canary) and switches back, its
 * frames waiting at the top of its stack. Then A recurses, frame after frame filled
 * with a pattern of its own, until it has used --past KiB more than its stack holds.
 *   - With coro_simple.c the frames run on below A's stack, into B's: nothing stops
 *     them, A returns with the right answer, and only the canary shows that B's
 *     frames (its canary, its saved registers, its return addresses) are now A's
 *     bytes. Resuming B would jump into them. Exit 1.
 *   - With coro.c A's first frame past the end lands in the guard page: SIGSEGV. A
 *     handler on an alternate stack (the overflowed stack has no room for it) checks
 *     where the fault was and that B's canary is intact, and ends the child. Exit 0.
 * Every frame touches its pages in turn (mk/rules.mk builds everything with
 * -fstack-clash-protection), so no frame can step over the guard page.
 *
 * Run:  ./coro_overflow_simple      (exits 1: the overwrite, found by the canary)
 *       ./coro_overflow
 * Look for: the layout (B's stack right below A's, or a guard page between), then
 * "1024 of 1024 canary bytes overwritten", or "SIGSEGV in A's guard page".
 * See also: coro_simple.c, coro.c (what the guard page catches and what it does not).
 */
#include "common.h"
#include "coro.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#ifdef CORO_SIMPLE
#define WHICH "coro_simple.c: no guard page"
#else
#define WHICH "coro.c: a guard page below each stack"
#endif

enum { CANARY = 1024, FILL_A = 0xAA, FILL_B = 0xBB, TRIES = 8 };
enum { A_RETURNED = 10, B_OVERWRITTEN = 11, IN_GUARD = 20, FAULT_ELSEWHERE = 21, NOT_ADJACENT = 3 };

static volatile unsigned char *g_canary; /* B's array, on B's stack */
static char *g_guard_lo, *g_guard_hi;    /* A's guard page (coro.c) */

static size_t canary_damage(void)
{
    size_t bad = 0;
    for (size_t i = 0; i < CANARY; i++)
        bad += g_canary[i] != FILL_B;
    return bad;
}

/* B: its canary on its own stack, then wait (not instrumented by ASan, which would
 * move an array whose address escapes to a heap "fake stack") */
__attribute__((no_sanitize_address)) static void b_waits(void)
{
    volatile unsigned char canary[CANARY];
    for (size_t i = 0; i < CANARY; i++)
        canary[i] = FILL_B;
    coro_switch(coro_main(), (void *)canary); /* never resumed */
}

/* A: recursion, each frame filled, until `want` bytes below `top` are in use */
__attribute__((noinline, no_sanitize_address)) static long dig(const char *top, size_t want)
{
    volatile unsigned char pad[240];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = FILL_A;
    if ((size_t)(top - (const char *)pad) >= want)
        return 1;
    return dig(top, want) + pad[0] / FILL_A;
}

struct dig_args {
    const char *top;
    size_t want;
};

/* both coroutines run this; which one is A is known only once their stacks are made */
static void *body(void *arg)
{
    const struct dig_args *d = arg;
    if (!d)
        b_waits();
    return (void *)dig(d->top, d->want);
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    char *at = si->si_addr;
    bool guard = g_guard_lo && at >= g_guard_lo && at < g_guard_hi;
    _exit(!guard ? FAULT_ELSEWHERE : canary_damage() ? B_OVERWRITTEN : IN_GUARD);
}

static void run_child(size_t stack, size_t past)
{
    /* two stacks, one right below the other (guard page or not): usually the first two
     * made, but the allocator may map something of its own in between */
    struct coro *c[TRIES], *a = NULL, *b = NULL;
    void *lo[TRIES], *hi[TRIES], *guard[TRIES];
    for (int i = 0; i < TRIES; i++) {
        if (!(c[i] = coro_create(body, stack, 0)))
            die_child("coro_create");
        coro_stack_bounds(c[i], &lo[i], &hi[i], &guard[i]);
    }
    for (int i = 0; i < TRIES && !a; i++)
        for (int j = 0; j < TRIES && !a; j++)
            if (hi[j] == (guard[i] ? guard[i] : lo[i]))
                a = c[i], b = c[j];
    if (!a)
        _exit(NOT_ADJACENT); /* mmap chose other places: the demo would prove nothing */
    for (int i = 0; i < TRIES; i++)
        if (c[i] != a && c[i] != b)
            coro_free(c[i]);
    void *alo, *ahi, *aguard, *blo, *bhi, *bguard;
    coro_stack_bounds(a, &alo, &ahi, &aguard);
    coro_stack_bounds(b, &blo, &bhi, &bguard);
    trace("A's stack [%p, %p), %s", alo, ahi, aguard ? "a guard page below it" : "nothing below it");
    trace("B's stack [%p, %p), %s", blo, bhi, aguard ? "right below A's guard page" : "right below A's");
    g_guard_lo = aguard;
    g_guard_hi = alo;
    static char altstack[64 * 1024]; /* the handler cannot run on the overflowed stack */
    CHECK_SYS(sigaltstack(&(stack_t){ .ss_sp = altstack, .ss_size = sizeof altstack }, NULL));
    struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    CHECK_SYS(sigaction(SIGSEGV, &sa, NULL));

    g_canary = coro_switch(b, NULL);
    trace("B waits, its %d-byte canary at %p, %zu bytes below the top of its stack", CANARY,
          (void *)g_canary, (size_t)((char *)bhi - (char *)g_canary));
    struct dig_args d = { .top = ahi, .want = stack + past };
    trace("A recurses until it has used %zu KiB, %zu KiB more than its stack", d.want / 1024, past / 1024);
    long frames = (long)coro_switch(a, &d);
    size_t bad = canary_damage();
    trace("A returned after %ld frames, no fault; B's canary: %zu of %d bytes overwritten", frames, bad, CANARY);
    _exit(bad ? B_OVERWRITTEN : A_RETURNED);
}

int main(int argc, char **argv)
{
    long stack_kb = 16, past_kb = 4;
    const struct cli_opt opts[] = {
        { "stack", CLI_INT, &stack_kb, "each coroutine's stack, KiB", 8, 1024, NULL, NULL },
        { "past", CLI_INT, &past_kb, "how far A's recursion runs past the end of its stack, KiB", 2, 64, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A coroutine recurses past the end of its stack, next to another one's.", opts, &cli);
    if (past_kb > stack_kb)
        cli_error("--past %ld: at most --stack (%ld KiB), or A would run beyond B's stack too", past_kb, stack_kb);

    trace_start();
    trace("with %s (switch: %s)", WHICH, coro_backend());
    pid_t pid = fork_child();
    if (pid == 0)
        run_child((size_t)stack_kb * 1024, (size_t)past_kb * 1024);
    int status;
    if (child_wait(pid, 10 * NS_PER_S, &status) != 0)
        fatal("the child did not end");
    int code = exitcode_of(status);
    switch (code) {
    case B_OVERWRITTEN:
        trace("silent corruption: A ran over B's frames and nothing noticed but the canary");
        return 1;
    case IN_GUARD:
        trace("SIGSEGV in A's guard page, at A's first frame past its stack; B's canary intact");
        return 0;
    case A_RETURNED:
        fatal("A used %ld KiB more than its stack and nothing happened: B's stack is not where "
              "it should be", past_kb);
    case NOT_ADJACENT:
        fatal("mmap put no two of %d stacks next to each other: nothing to show here", TRIES);
    case FAULT_ELSEWHERE:
        fatal("a SIGSEGV, but not in A's guard page");
    default:
        fatal("the child ended with %d", code);
    }
}

/* greenlet_demo.c: A and B switch to each other by hand, the lesson's greenlet in C.
 *
 * Mirrors: the lesson's test1/test2, two greenlets that print ---A-- and ---B-- and
 * call gr2.switch() / gr1.switch() in turn, started by gr1.switch() from main:
 *
 *     gr1 = greenlet(test1)               gr1 = coro_create(test1, 0, 0);
 *     gr2 = greenlet(test2)               gr2 = coro_create(test2, 0, 0);
 *     gr1.switch()                        coro_switch(gr1, NULL);
 *     gr2.switch()  (inside test1)        coro_switch(gr2, &ball);
 *
 * What it shows: a stackful coroutine stops in the middle of a call and resumes
 * there, locals and all. Unlike the generators of yield_pingpong.c, test1 and test2
 * keep their loop counters in ordinary local variables: each has a stack of its own
 * (the addresses printed at the start lie far apart, each inside its own mmap'd
 * stack). A switch also carries a value, here a counter the two hand back and forth,
 * each adding one. The lesson's loops run forever; here test1 stops after --rounds
 * and returns, and like a finished greenlet its return value goes to its parent, the
 * main coroutine, whose gr1.switch() call returns it. test2 is left suspended in its
 * switch; it is freed without ever resuming (greenlet would throw GreenletExit into
 * it first, so its finally blocks could run).
 *
 * --copied runs both the way greenlet itself does (CORO_COPY_STACK, coro.c): no stack
 * each, one shared stack, and at every switch the leaving one's frames are copied to
 * the heap and the other's copied back. Then both print the same address for their
 * locals: the same place on the shared stack, holding one or the other's frames.
 *
 * Run:  ./greenlet_demo [--rounds 5] [--pause 500ms] [--copied]
 * Look for: strict A/B alternation on one pid, the counter growing by one per switch,
 * and "gr1 finished and returned" to main.
 * See also: yield_pingpong.c (stackless), gevent_demo.c (switching on I/O and timers).
 */
#include "common.h"
#include "coro.h"

static int64_t g_pause = 500 * NS_PER_MS;
static long g_rounds = 5;
static struct coro *gr1, *gr2;
static bool g_copied;

static void *test1(void *arg)
{
    (void)arg;
    int where; /* a local: it lives on gr1's own stack */
    trace("gr1: started; my locals are at %p, %s", (void *)&where,
          g_copied ? "on the shared stack" : "on my own stack");
    long ball = 0;
    for (long round = 1; round <= g_rounds; round++) {
        trace("---A--  round %ld, ball %ld -> gr2.switch(%ld)", round, ball, ball + 1);
        ball = (long)coro_switch(gr2, (void *)(ball + 1)); /* continues here later */
        sleep_ns(g_pause);
    }
    trace("gr1: done after %ld rounds, returning to my parent", g_rounds);
    return "test1's result";
}

static void *test2(void *arg)
{
    long ball = (long)arg; /* the first switch's value is our argument */
    int where;
    trace("                 gr2: started; my locals are at %p", (void *)&where);
    for (long round = 1;; round++) {
        trace("                 ---B--  round %ld, ball %ld -> gr1.switch(%ld)", round, ball, ball + 1);
        ball = (long)coro_switch(gr1, (void *)(ball + 1));
        sleep_ns(g_pause);
    }
    return NULL; /* never: test2 loops until it is dropped */
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "rounds", CLI_INT, &g_rounds, "rounds before test1 returns", 1, 1000, "3", NULL },
        { "pause", CLI_DURATION, &g_pause, "sleep after each switch, as the lesson's time.sleep(0.5)",
          0, 10 * NS_PER_S, "1ms", NULL },
        { "copied", CLI_FLAG, &g_copied, "copied stacks, as greenlet has them (one shared stack)", 0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Two stackful coroutines switch to each other: Python's greenlet in C.", opts, &cli);

    trace_start();
    unsigned flags = g_copied ? CORO_COPY_STACK : 0;
    gr1 = coro_create(test1, 0, flags);
    gr2 = coro_create(test2, 0, flags);
    if (!gr1 || !gr2)
        die("coro_create");
    int where;
    if (g_copied)
        trace("main: two coroutines on one shared stack, frames copied at each switch (switch: %s); "
              "main's locals are at %p", coro_backend(), (void *)&where);
    else
        trace("main: two coroutines with %d KiB stacks (switch: %s); main's locals are at %p",
              CORO_DEFAULT_STACK / 1024, coro_backend(), (void *)&where);
    const char *result = coro_switch(gr1, NULL); /* Python: gr1.switch() */
    trace("main: gr1 finished and returned \"%s\" to its parent (me); gr1.dead=%s, gr2.dead=%s",
          result, coro_done(gr1) ? "True" : "False", coro_done(gr2) ? "True" : "False");
    coro_free(gr1);
    coro_free(gr2); /* suspended in its switch: dropped where it stands */
    trace("main: freed both %s", g_copied ? "coroutines (gr2's saved frames too)" : "stacks");
    return 0;
}

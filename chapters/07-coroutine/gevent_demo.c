/* gevent_demo.c: two tasks that sleep at random and interleave, the lesson's gevent.
 *
 * Mirrors: the lesson's coroutine_work(name), which prints name and i for i in
 * range(10) and sleeps random.random() seconds after each, spawned twice and joined:
 *
 *     monkey.patch_all()                   (explicit here: co_sleep, not sleep)
 *     gevent.joinall([                     struct hub_task *t[2] = {
 *         gevent.spawn(work, "work1"),         hub_spawn(coroutine_work, &w[0]),
 *         gevent.spawn(work, "work2")])        hub_spawn(coroutine_work, &w[1]) };
 *                                          hub_joinall(t, 2, timeout);
 *
 * What it shows: nobody calls switch. Each task runs until it sleeps; co_sleep sets a
 * timer on the hub (hub.c) and switches to the hub, which runs the other task or
 * waits in epoll until the earliest timer is due. So the lines come out in the order
 * of the wake-up times, interleaved as in the lesson's transcript (work1 0, work2 0,
 * work1 1, work1 2, ...), and the whole run takes about as long as the longer of the
 * two workers' total sleep, not their sum, all on one thread.
 *
 * --unpatched sleeps with sleep_ns, the plain blocking sleep: gevent without
 * monkey.patch_all(). The hub never gets the thread while a task sleeps, so work1
 * does all its steps, then work2 does all of its, and the run takes the sum.
 *
 * The random sleeps come from a fixed seed (one stream per worker), so every run
 * draws the same ones; --scale shrinks them (the lesson's sleeps are 0 to 1 s). Where
 * two wake-ups fall within a fraction of a millisecond of each other, the order of
 * those two lines is left to the timers and may differ from run to run.
 *
 * Run:  ./gevent_demo [--count 10] [--scale 1] [--seed 1] [--unpatched]
 * Look for: the interleaving, and the total time against the sums printed at the end.
 * See also: greenlet_demo.c (switching by hand), hub.h (the API), many_sleepers.c.
 */
#include "common.h"
#include "hub.h"

#include <errno.h>
#include <string.h>

static long g_count = 10;
static double g_scale = 1.0;
static bool g_unpatched;

struct worker {
    const char *name, *indent;
    uint64_t rng;     /* this worker's random stream */
    int64_t slept;    /* the sum of its sleeps */
};

static void *coroutine_work(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < g_count; i++) {
        trace("%s%s %ld", w->indent, w->name, i);
        int64_t ns = (int64_t)(random_unit(&w->rng) * g_scale * 1e9);
        w->slept += ns;
        if (g_unpatched)
            sleep_ns(ns); /* blocks the thread: the hub cannot run anybody else */
        else
            co_sleep(ns); /* a timer on the hub, and a switch to it */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long seed = 1;
    const struct cli_opt opts[] = {
        { "count", CLI_INT, &g_count, "lines each worker prints (the lesson: 10)", 1, 1000, "10", NULL },
        { "scale", CLI_REAL, &g_scale, "longest sleep in seconds (the lesson: 1)", 0.001, 10, "0.02", NULL },
        { "seed", CLI_INT, &seed, "seed of the random sleeps", 0, 1000000000, NULL, NULL },
        { "unpatched", CLI_FLAG, &g_unpatched, "sleep with the blocking sleep_ns: no monkey patching",
          0, 0, NULL, NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv,
              "Two tasks on a gevent-style hub print and sleep at random; their lines\n"
              "interleave because every sleep switches to the hub.", opts, &cli);

    trace_start();
    struct worker w[2] = {
        { .name = "work1", .indent = "", .rng = (uint64_t)seed * 2 + 1 },
        { .name = "work2", .indent = "          ", .rng = (uint64_t)seed * 2 + 2 },
    };
    trace("main: spawning work1 and work2 on the hub (%s sleep)",
          g_unpatched ? "blocking, unpatched" : "co_sleep, \"patched\"");
    struct hub_task *t[2] = { hub_spawn(coroutine_work, &w[0]), hub_spawn(coroutine_work, &w[1]) };
    if (!t[0] || !t[1])
        die("hub_spawn");
    int64_t t0 = now_ns();
    /* bounded: far more than the two sums of sleeps can take */
    int64_t limit = (int64_t)(2.0 * (double)g_count * g_scale * 1e9) + 5 * NS_PER_S;
    int rc = hub_joinall(t, 2, limit);
    if (rc != 0)
        fatal("joinall: %s", strerror(rc));
    double wall = (double)(now_ns() - t0) / 1e9;
    double s1 = (double)w[0].slept / 1e9, s2 = (double)w[1].slept / 1e9;
    trace("main: joinall returned after %.3f s; work1 slept %.3f s in all, work2 %.3f s", wall, s1, s2);
    trace("main: the longer of the two is %.3f s, their sum %.3f s: %s", s1 > s2 ? s1 : s2, s1 + s2,
          wall < 0.75 * (s1 + s2) ? "the sleeps overlapped" : "one after the other");
    hub_close();
    return 0;
}

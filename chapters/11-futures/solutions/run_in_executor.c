/* solutions/run_in_executor.c: exercise 2 of chapter 11. asyncio's
 * loop.run_in_executor (and asyncio.to_thread): a coroutine hands CPU work to a
 * ThreadPoolExecutor and waits for the future without stopping its hub.
 *
 *     async def handler():
 *         y = await loop.run_in_executor(pool, crunch, x)   # the loop keeps running
 *
 * A hub task cannot call future_result: that blocks the thread, and every other task
 * of the hub with it. So the future tells the hub: a done-callback, which runs in the
 * worker thread that finishes the task, writes to an eventfd; the coroutine waits on
 * that eventfd with co_read, which is a wait on the hub like any other. (asyncio does
 * the same: the executor's future gets a callback that calls
 * loop.call_soon_threadsafe, which writes a byte to the loop's self-pipe.)
 *
 * A ticker task counts a tick every --tick while a cruncher task does
 * --work of CPU work three ways: inline on the hub, on the executor with a blocking
 * result(), and on the executor awaited through the eventfd.
 *
 * Run:  ./solutions/run_in_executor [--work 200ms] [--tick 10ms]
 * Look for: about work/tick ticks in the third way, almost none in the first two.
 */
#include "executor.h"
#include "../07-coroutine/hub.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static int64_t g_work = 200 * NS_PER_MS, g_tick = 10 * NS_PER_MS;
static long g_ticks;
static bool g_stop;

static int crunch(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)arg, (void)len, (void)cap;
    uint64_t x = 0;
    for (int64_t end = now_ns() + g_work; now_ns() < end;)
        for (int i = 0; i < 1000; i++)
            x = mix64(x + (uint64_t)i);
    memcpy(out, &x, sizeof x);
    *out_len = sizeof x;
    return 0;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!g_stop) {
        co_sleep(g_tick);
        g_ticks++;
    }
    return NULL;
}

static void wake(struct future *f, void *arg) /* in the worker thread */
{
    (void)f;
    uint64_t one = 1;
    if (write(*(int *)arg, &one, sizeof one) != (ssize_t)sizeof one)
        die("write(eventfd)");
}

struct way {
    int how; /* 0 inline, 1 result() on the hub, 2 awaited through an eventfd */
    struct executor *e;
};

static void *cruncher(void *arg)
{
    struct way *w = arg;
    uint64_t y = 0;
    size_t len;
    if (w->how == 0) {
        crunch(NULL, 0, &y, sizeof y, &len);
    } else {
        struct future *f;
        if (executor_submit(w->e, crunch, NULL, 0, &f) != FUTURE_OK)
            fatal("submit");
        if (w->how == 2) {
            int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (efd == -1)
                die("eventfd");
            future_add_done_callback(f, wake, &efd);
            uint64_t n;
            if (co_read(efd, &n, sizeof n) != (ssize_t)sizeof n) /* the hub runs meanwhile */
                die("co_read(eventfd)");
            CHECK_SYS(co_close(efd));
        }
        if (future_result(f, -1, &y, sizeof y, NULL) != FUTURE_OK) /* way 1: blocks the hub */
            fatal("result");
        future_release(f);
    }
    g_stop = true;
    return (void *)(uintptr_t)(y | 1);
}

int main(int argc, char **argv)
{
    const struct cli_opt opts[] = {
        { "work", CLI_DURATION, &g_work, "CPU work of the cruncher", 10 * NS_PER_MS, 10 * NS_PER_S, "50ms", NULL },
        { "tick", CLI_DURATION, &g_tick, "the ticker's period", NS_PER_MS, NS_PER_S, "5ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "loop.run_in_executor on the hub: await a future without blocking the other tasks.",
              opts, &cli);
    static const char *const names[] = { "CPU work inline, on the hub", "on the executor, result() on the hub",
                                         "on the executor, awaited (eventfd)" };
    struct executor *e = thread_executor_new(2, "tpe");
    for (int how = 0; how < 3; how++) {
        struct way w = { how, e };
        g_ticks = 0;
        g_stop = false;
        struct hub_task *t[2] = { hub_spawn(ticker, NULL), hub_spawn(cruncher, &w) };
        if (!t[0] || !t[1])
            die("hub_spawn");
        int64_t t0 = now_ns();
        if (hub_joinall(t, 2, 30 * NS_PER_S) != 0)
            fatal("joinall");
        printf("%-38s %3ld ticks in %.0f ms (%.0f expected if the hub kept running)\n", names[how], g_ticks,
               (double)(now_ns() - t0) / 1e6, (double)g_work / (double)g_tick);
    }
    hub_close();
    executor_free(e);
    return 0;
}

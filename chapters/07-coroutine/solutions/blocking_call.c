/* solutions/blocking_call.c: exercise 3 of chapter 07 (coroutines), "predict before you
 * run".
 *
 * The question: gevent asks you to monkey-patch the standard library. What happens to
 * every other task when one task calls a plain, blocking sleep (or read) instead of
 * the hub's? Three tasks tick every --tick with co_sleep; a fourth sleeps --block once,
 * first with co_sleep, then with the thread's own sleep. How late are the ticks?
 *
 * The answer: with co_sleep the ticks are on time: the sleeper waits on the hub's timer
 * heap and the hub runs the others. With the plain sleep the whole thread sleeps, hub
 * included: no tick happens until the call returns, and the ticks due meanwhile come
 * all at once, up to --block late. One task that does not yield is all tasks stopped;
 * that is what monkey.patch_all() prevents in gevent (it replaces time.sleep, socket
 * and the others by hub-aware versions), and what asyncio's debug mode warns about
 * ("Executing <Task ...> took 0.2 seconds"). A CPU-bound loop does the same: run it in
 * a thread or a process (Python: loop.run_in_executor) and wait for it on the hub.
 *
 * What it does: the two runs above, each for --ticks ticks; prints, for each ticker,
 * the latest tick (how long after its due time it came).
 *
 * Run:  solutions/blocking_call [--tick 20ms] [--block 200ms] [--ticks 15]
 * Look for: a few ms at most with co_sleep; about --block with the plain sleep.
 */
#include "../hub.h"
#include "../coro.h"

enum { TICKERS = 3 };

static int64_t g_tick, g_block;
static long g_ticks;
static bool g_plain;

static void *ticker(void *arg)
{
    int64_t *worst = arg, start = now_ns();
    for (long i = 1; i <= g_ticks; i++) {
        int64_t due = start + i * g_tick;
        co_sleep(ns_left(due));
        int64_t late = now_ns() - due;
        if (late > *worst)
            *worst = late;
    }
    return NULL;
}

static void *blocker(void *arg)
{
    (void)arg;
    co_sleep(g_tick / 2); /* let the tickers start */
    if (g_plain)
        sleep_ns(g_block); /* the thread sleeps: the hub with it */
    else
        co_sleep(g_block); /* this task sleeps: the hub runs the others */
    return NULL;
}

int main(int argc, char **argv)
{
    g_tick = 20 * NS_PER_MS;
    g_block = 200 * NS_PER_MS;
    g_ticks = 15;
    const struct cli_opt opts[] = {
        { "tick", CLI_DURATION, &g_tick, "the tickers' period", NS_PER_MS, NS_PER_S, "10ms", NULL },
        { "block", CLI_DURATION, &g_block, "the fourth task's one sleep", NS_PER_MS, 10 * NS_PER_S, "60ms", NULL },
        { "ticks", CLI_INT, &g_ticks, "ticks per ticker", 2, 10000, "10", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: a blocking call in one task stops every task on the hub.", opts, &cli);
    char b[16];
    format_duration(g_block, b, sizeof b);
    for (int plain = 0; plain < 2; plain++) {
        g_plain = plain;
        int64_t worst[TICKERS] = { 0 };
        struct hub_task *t[TICKERS + 1];
        for (int i = 0; i < TICKERS; i++)
            t[i] = hub_spawn(ticker, &worst[i]);
        t[TICKERS] = hub_spawn(blocker, NULL);
        for (int i = 0; i <= TICKERS; i++)
            if (!t[i])
                die("hub_spawn");
        if (hub_joinall(t, TICKERS + 1, 60 * NS_PER_S) != 0)
            fatal("hub_joinall");
        printf("a task sleeps %s with %-22s latest tick of each ticker:", b, plain ? "sleep_ns (blocking):" : "co_sleep (the hub's):");
        for (int i = 0; i < TICKERS; i++)
            printf(" %6.1f ms", (double)worst[i] / 1e6);
        printf("\n");
    }
    hub_close();
    coro_cache_flush();
    return 0;
}

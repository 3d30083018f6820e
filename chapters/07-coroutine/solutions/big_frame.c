/* solutions/big_frame.c: exercise 1 of chapter 07 (coroutines), "predict before you run".
 *
 * The question: many_sleepers' copied-stack tasks cost about half a KiB each, because
 * a sleeping task's frames are small. How do the memory and the time per task change
 * if each task sleeps inside a function with a 4 KiB local buffer? And for tasks with
 * a stack of their own (--kind warm)?
 *
 * The answer: the memory grows by the buffer for both kinds, for different reasons. A
 * copied-stack task is saved to the heap at every switch away, all of its used frames,
 * buffer included: about 4 KiB more each. A stackful task's stack is mapped anyway, but
 * a page costs memory only once touched, and the buffer touches one or two more. The
 * time differs: the copied task copies the 4 KiB out at every switch away and back at
 * every switch in (copy_cost measured what a copy costs by size), while the stackful
 * task switches with a few registers whatever its frames hold. greenlet pays the same: the
 * deeper and fatter the frames at a switch, the dearer the switch.
 *
 * What it does: --tasks hub tasks, stackful (on fresh stacks, so that a task's memory is
 * the pages it touches) and copied, each inside a function with no buffer and with a
 * 4 KiB one (written, so that it is really there), switching away and back --switches
 * times with hub_yield. The memory per task is the growth of the resident memory while
 * all of them are switched out; the time, ns per switch away and back.
 *
 * Run:  solutions/big_frame [--tasks 10000] [--switches 100]
 * Look for: both kinds about 4 KiB more per task with the buffer; a switch several
 * times dearer with it for the copied tasks, about the same for the stackful ones.
 */
#include "../coro.h"
#include "../hub.h"
#include "../sleepers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static long g_switches;

static void *plain(void *arg)
{
    (void)arg;
    for (long i = 0; i < g_switches; i++)
        hub_yield(); /* a switch away and back, with only this small frame */
    return NULL;
}

static void *with_buffer(void *arg)
{
    (void)arg;
    volatile char buf[4096];
    for (size_t i = 0; i < sizeof buf; i += 64)
        buf[i] = (char)i;
    for (long i = 0; i < g_switches; i++)
        hub_yield(); /* each switch happens with buf in the frame */
    return (void *)(intptr_t)buf[64]; /* keeps buf alive across the switches */
}

/* n tasks of one kind: KiB per task while they are all switched out, and ns per
 * switch away and back; false if this build cannot make them */
static bool round_of(long n, bool copied, bool buffer, double *kib, double *ns)
{
    struct hub_task **t = calloc((size_t)n, sizeof *t);
    if (!t)
        die("calloc");
    hub_set_stack(0, copied ? CORO_COPY_STACK : 0);
    coro_cache_flush(); /* fresh stacks: a stackful task's memory is the pages it touches */
    long rss0 = rss_kib();
    for (long i = 0; i < n; i++)
        if (!(t[i] = hub_spawn(buffer ? with_buffer : plain, NULL))) {
            if (errno == ENOTSUP && i == 0) { /* copied stacks on the ucontext switch */
                free(t);
                return false;
            }
            die("hub_spawn");
        }
    hub_yield(); /* every task runs to its first switch, and stays switched out */
    *kib = (double)(rss_kib() - rss0) / (double)n;
    int64_t t0 = now_ns();
    if (hub_joinall(t, (size_t)n, 60 * NS_PER_S) != 0)
        fatal("hub_joinall");
    *ns = (double)(now_ns() - t0) / ((double)n * (double)g_switches);
    free(t);
    return true;
}

int main(int argc, char **argv)
{
    long n = 10000;
    g_switches = 100;
    const struct cli_opt opts[] = {
        { "tasks", CLI_INT, &n, "tasks per round", 10, 1000000, "1000", NULL },
        { "switches", CLI_INT, &g_switches, "switches away and back per task", 2, 100000, "20", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 1: tasks with a 4 KiB local buffer in their frame, copied and stackful.", opts,
              &cli);
    coro_cache_limit((size_t)n + 2); /* finished tasks' stacks go there: no munmap timed */
    double kib, ns;
    bool has_copied = round_of(n / 10 + 1, true, true, &kib, &ns); /* warms the heap */
    printf("%ld tasks on the hub, each switching away and back %ld times (hub_yield); per task\n", n, g_switches);
    printf("  %-30s %12s %14s\n", "", "memory KiB", "ns per switch");
    static const char *const kind[2] = { "stackful", "copied stack" };
    double m[2][2], t[2][2];
    for (int copied = 0; copied < 1 + has_copied; copied++)
        for (int buffer = 0; buffer < 2; buffer++) {
            round_of(n, copied, buffer, &m[copied][buffer], &t[copied][buffer]);
            printf("  %-13s %-16s %12.2f %14.0f\n", kind[copied], buffer ? "4 KiB buffer" : "no buffer",
                   m[copied][buffer], t[copied][buffer]);
        }
    if (!has_copied) {
        printf("copied stacks: not on this build's switch (%s)\n", coro_backend());
        m[1][0] = m[1][1] = t[1][0] = t[1][1] = NAN;
    }
    printf("the buffer added %.1f KiB per stackful task and %.1f KiB per copied one; a switch cost\n"
           "%.1fx as much with it for the stackful tasks, %.1fx for the copied ones\n", m[0][1] - m[0][0],
           m[1][1] - m[1][0], t[0][1] / t[0][0], t[1][1] / t[1][0]);
    hub_close();
    coro_cache_flush();
    return 0;
}

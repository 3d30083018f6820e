/* many_sleepers.c: N tasks that each sleep, as stackful, copied-stack and stackless
 * coroutines, threads and processes.
 *
 * Mirrors: the lesson's asyncio example, 1000 tasks that each `await
 * asyncio.sleep(1)`, gathered, finishing in about one second; and the lessons' claim
 * that coroutines are far lighter than threads, and threads than processes.
 *
 *     async def io_bound_task():           static bool sleeper(struct aio_task *t)
 *         await asyncio.sleep(1)           {   GEN_BEGIN(&t->gen); AIO_SLEEP(t, s);
 *                                              GEN_END(&t->gen); }
 *     tasks = [create_task(io_bound_task())      aio_spawn(&s[i].task, sleeper);
 *              for _ in range(1000)]
 *     await asyncio.gather(*tasks)         AIO_GATHER(t, all, n);
 *
 * What it does: for each kind and each N of the sweep (100, 300, 1000, ... up to the
 * kind's cap), start N tasks that sleep --sleep each, wait for all, and measure:
 *   wall time     from the first start to the last join. Sleeping together, N tasks
 *                 take one sleep plus the cost of starting and ending them all;
 *   memory/task   how much the process's resident memory grew at its peak, per task.
 *                 For processes, the private memory (USS) of a few sleeping children.
 *                 None of this counts the kernel's side: each thread or process also
 *                 has a 16 KiB kernel stack and its task structures.
 * Each measurement runs in a fresh child process, so one run's leftovers (cached
 * thread stacks, a grown heap) don't weigh on the next and the peak is its own.
 *
 * The kinds (sleepers.c runs them):
 *   stackful   hub tasks (hub.c), each on a 64 KiB stack (--stack-kib) fresh from
 *              mmap: the stack cache is off, so every birth maps and every death
 *              unmaps. With a guard page while the guards fit: a guarded stack is two
 *              kernel memory areas, and vm.max_map_count (65530 by default) caps
 *              them, so beyond about 30,000 tasks the stacks go without guards;
 *   warm       the same on stacks from a warm cache (coro.c's stack cache): an
 *              untimed round first leaves N stacks in it, the timed round reuses
 *              them: no system call per birth, and their pages are in memory;
 *   copied     hub tasks on one shared stack, each one's used part copied to the
 *              heap when another needs the stack (greenlet's way, CORO_COPY_STACK);
 *   stackless  aio tasks (aio.c): a struct and a step function each, no stack
 *              (asyncio's way: a coroutine is a generator);
 *   thread     one pthread per task with the same stack size, each in nanosleep;
 *              capped by --max-threads (and by what the kernel allows);
 *   process    one fork per task, each in nanosleep; capped by --max-procs.
 *
 * The sweep's default sleep is short (200ms) to keep `make plots` quick; run
 * `./many_sleepers --tasks 1000 --sleep 1s` for the lesson's own numbers.
 *
 * Run:  ./many_sleepers [--tasks 0] [--kind all|stackful|...] [--sleep 200ms]
 *                       [--max-coros N] [--max-stackless N] [--data FILE]
 * Look for: every coroutine kind near one sleep far past the threads' limit; the
 * stackless and copied ones reaching a million tasks at a few hundred bytes each;
 * threads paying tens of microseconds and about ten KiB per task.
 * See also: hub.c, aio.c, coro.c (the stack cache, copied stacks), create_cost.c.
 */
#include "common.h"
#include "sleepers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const kind_name[NKINDS] = { "stackful", "warm", "copied", "stackless", "thread", "process" };
static int64_t g_sleep = 200 * NS_PER_MS;
static long g_stack_kib = 64;

/* One measurement, in a fresh child process. */
static void measure(enum sleeper_kind k, long n, bool guard, struct sleep_result *out)
{
    struct sleep_result *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        die("mmap");
    memset(r, 0, sizeof *r);
    pid_t pid = fork_child();
    if (pid == 0) {
        sleepers_run(k, n, g_sleep, g_stack_kib, guard, r);
        _exit(0);
    }
    int status;
    /* bounded: far more than any run should take */
    if (child_wait(pid, 2 * g_sleep + 300 * NS_PER_S, &status) != 0)
        fatal("the %s run with %ld tasks did not end", kind_name[k], n);
    if (exitcode_of(status) != 0)
        fatal("the %s run with %ld tasks failed (exit code %d)", kind_name[k], n, exitcode_of(status));
    *out = *r;
    CHECK_SYS(munmap(r, sizeof *r));
}

static long max_map_count(void)
{
    long v = 65530; /* the kernel's default, if /proc does not say */
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

int main(int argc, char **argv)
{
    long tasks = 0, max_coros = 100000, max_copied = 1000000, max_stackless = 1000000, max_threads = 10000,
         max_procs = 1000;
    int kind = NKINDS; /* all */
    const struct cli_opt opts[] = {
        { "tasks", CLI_INT, &tasks, "run this many tasks only (0: the sweep 100, 300, ...)", 0, 3000000, NULL, NULL },
        { "kind", CLI_CHOICE, &kind, "which kind of task", 0, 0, NULL,
          "stackful|warm|copied|stackless|thread|process|all" },
        { "sleep", CLI_DURATION, &g_sleep, "how long each task sleeps", 0, 60 * NS_PER_S, "20ms", NULL },
        { "max-coros", CLI_INT, &max_coros, "largest sweep point, stackful and warm", 1, 1000000, "1000", NULL },
        { "max-copied", CLI_INT, &max_copied, "largest sweep point, copied stacks", 1, 3000000, "1000", NULL },
        { "max-stackless", CLI_INT, &max_stackless, "largest sweep point, stackless", 1, 3000000, "1000", NULL },
        { "max-threads", CLI_INT, &max_threads, "largest sweep point for threads", 1, 30000, "100", NULL },
        { "max-procs", CLI_INT, &max_procs, "largest sweep point for processes", 1, 5000, "100", NULL },
        { "stack-kib", CLI_INT, &g_stack_kib, "stack per stackful task and per thread (KiB)", 16, 8192, NULL, NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv,
              "N tasks that each sleep, as stackful, copied-stack and stackless coroutines,\n"
              "threads and processes: wall time and memory per task.", opts, &cli);

    static const long sweep[] = { 100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000, 3000000 };
    const long cap[NKINDS] = { max_coros, max_coros, max_copied, max_stackless, max_threads, max_procs };
    long maps = max_map_count();
    FILE *data = data_open(cli.data, "many_sleepers: N tasks that each sleep, by kind");
    data_row(data, "# sleep_s: %.3f\n", (double)g_sleep / 1e9);
    char sl[32];
    printf("many_sleepers: N tasks each sleep %s; every run in a fresh child process\n",
           format_duration(g_sleep, sl, sizeof sl));
    printf("  %-10s %8s %10s %14s %14s %12s\n", "kind", "tasks", "wall (s)", "beyond the", "per task",
           "memory per");
    printf("  %-10s %8s %10s %14s %14s %12s\n", "", "", "", "sleep (ms)", "(µs)", "task (KiB)");
    static const char *const cols[] = {
        "tasks (count)", "wall (s): first start to last join", "extra (ms): wall time beyond one sleep",
        "per_task (us): extra / tasks", "mem (KiB): resident memory per task (processes: USS)",
        "guard (0/1): the stacks had guard pages (threads: glibc's; processes: the kernel's)", NULL,
    };
    for (int k = 0; k < NKINDS; k++) { /* every block is written, empty if not run */
        data_block(data, kind_name[k], cols);
        if (kind != NKINDS && kind != k)
            continue;
        long ns[ARRAY_LEN(sweep)];
        size_t count = 0;
        if (tasks)
            ns[count++] = tasks;
        for (size_t i = 0; !tasks && i < ARRAY_LEN(sweep) && sweep[i] <= cap[k]; i++)
            ns[count++] = sweep[i];
        for (size_t i = 0; i < count; i++) {
            long n = ns[i];
            /* a guarded stack is two memory areas; leave room for the rest */
            bool guard = 2 * n + 2000 < maps;
            struct sleep_result r;
            measure((enum sleeper_kind)k, n, guard, &r);
            if (r.created == 0) { /* (copied stacks on the ucontext switch: ENOTSUP) */
                printf("  %-10s %8s  none started: %s\n", kind_name[k], "-", strerror(r.err));
                break;
            }
            double wall = (double)r.wall_ns / 1e9, extra = (double)(r.wall_ns - g_sleep) / 1e6;
            char note[128] = "";
            if ((k == K_STACKFUL || k == K_WARM) && !r.guard)
                snprintf(note, sizeof note, "no guard pages (vm.max_map_count is %ld)", maps);
            if (r.err)
                snprintf(note, sizeof note, "only %ld started: %s", r.created, strerror(r.err));
            printf("  %-10s %8ld %10.3f %14.1f %14.3f %12.2f  %s\n", kind_name[k], r.created, wall, extra,
                   extra * 1e3 / (double)(r.created ? r.created : 1), r.mem_kib, note);
            fflush(stdout);
            data_row(data, "%ld %.4f %.3f %.4f %.3f %d\n", r.created, wall, extra,
                     extra * 1e3 / (double)(r.created ? r.created : 1), r.mem_kib, r.guard);
            if (r.err)
                break; /* as far as the machine allows */
        }
    }
    data_close(data);
    return 0;
}

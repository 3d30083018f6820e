/* hybrid.c: processes plus coroutines, processes plus threads, against each alone, on
 * a load that both waits and computes.
 *
 * Mirrors: lesson 001's "use processes plus coroutines", lesson 002's "for mixed work,
 * combine processes (for the computing) with threads or coroutines (for the I/O), for
 * example with concurrent.futures". Two ways to combine them:
 *   procs+coros    a process per core, each running a hub (chapter 07) with its share
 *                  of the tasks as coroutines: the waits overlap on each hub, the CPU
 *                  work runs on every core at once;
 *   procs+threads  a ProcessPoolExecutor with a worker per core, whose task fetches
 *                  its share of the pages on a ThreadPoolExecutor and parses each one
 *                  in the worker's own thread as it arrives (as_completed);
 * against each part alone: processes (chapter 03's pool, a worker per core, each task
 * fetched and parsed in turn), coroutines (one hub), threads (a thread per task, with
 * and without chapter 08's simulated GIL).
 *
 * The load: 12 tasks per core, each a request to the loopback server (load.c) answered
 * after --delay, then the CPU work of parsing the reply, swept over --cpu-max x 0,
 * 1/4, 1/2, 1 (so 0 to 4 ms by default). Without CPU work, anything that overlaps
 * the waits wins and the processes alone, a task at a time per core, lose; as the CPU
 * work grows, whatever runs it on one core (coroutines, threads under the GIL) falls
 * behind whatever runs it on all of them. Medians of --repeat runs, each in a fresh
 * process, the runners taking turns.
 *
 * Run:  ./hybrid [--delay 10ms] [--cpu-max 4ms] [--repeat 3] [--data FILE]
 * Look for: the two hybrids at or near the best at every point; "coroutines" and
 * "threads+GIL" climbing with the CPU work; "processes" far behind at 0.
 * See also: choose.c (the whole matrix), runners.c (every runner).
 */
#include "executor.h"
#include "load.h"

#include <stdlib.h>
#include <string.h>

static const enum runner runners[] = { R_PROCS, R_COROS, R_GIL, R_THREADS, R_HYBRID, R_POOL_THREADS };
enum { NR = ARRAY_LEN(runners), NPOINTS = 4, MAX_REPEAT = 15 };
static const double fraction[NPOINTS] = { 0, 0.25, 0.5, 1 };

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long per_core = 12, repeat = 3;
    int64_t delay = 10 * NS_PER_MS, cpu_max = 4 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "tasks", CLI_INT, &per_core, "tasks per core", 1, 1000, "4", NULL },
        { "delay", CLI_DURATION, &delay, "the server's delay for each request", 0, NS_PER_S, "2ms", NULL },
        { "cpu-max", CLI_DURATION, &cpu_max, "the largest CPU work per task", 0, NS_PER_S, "1ms", NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (median)", 1, MAX_REPEAT, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "Processes plus coroutines, processes plus threads, and each alone, on a load that "
                          "both waits and computes.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int cores = default_cores();
    raise_fd_limit(per_core * cores + 256);
    double tick = tick_ns(cli.quick ? 5 * NS_PER_MS : 30 * NS_PER_MS);
    struct server srv;
    on_termination(server_kill_now);
    server_start(&srv);
    printf("hybrid: %ld tasks on " CORES_FMT ", each a request answered after %.1f ms, then CPU work; median of "
           "%ld run(s)\n",
           per_core * cores, CORES_ARG(cores), (double)delay / 1e6, repeat);
    printf("  %-9s", "CPU/task");
    for (int k = 0; k < NR; k++)
        printf(" %13s", runner_name[runners[k]]);
    printf("  %s\n", "hybrids / best part");

    FILE *f = data_open(cli.data, "hybrid: processes plus coroutines or threads, against each alone");
    data_row(f, "# tasks: %ld\n# cores: %d\n# delay_ms: %.1f\n", per_core * cores, cores, (double)delay / 1e6);
    data_block(f, "points", (const char *const[]){
        "cpu (ms): CPU work per task", "processes (ms): median wall time", "coroutines (ms)", "threads_gil (ms)",
        "threads (ms)", "procs_coros (ms)", "procs_threads (ms)", NULL });
    double ms[NPOINTS][NR];
    for (int p = 0; p < NPOINTS; p++) {
        struct load l = { .tasks = per_core * cores, .io = true, .delay = delay, .cores = cores,
                          .deadline = NO_DEADLINE, .server = srv.addr,
                          .ticks = (uint64_t)(fraction[p] * (double)cpu_max / tick) };
        uint64_t expected = load_expected(&l);
        double wall[NR][MAX_REPEAT];
        for (long rep = 0; rep < repeat; rep++)
            for (int k = 0; k < NR; k++) {
                struct cell c;
                cell_run(runners[k], &l, false, &c);
                if (c.wrong || c.check != expected)
                    fatal("%s: wrong replies or checksum", runner_name[runners[k]]);
                wall[k][rep] = (double)c.wall / 1e6;
            }
        double cpu_ms = (double)l.ticks * tick / 1e6, best_part = 0;
        printf("  %6.2f ms", cpu_ms);
        for (int k = 0; k < NR; k++) {
            qsort(wall[k], (size_t)repeat, sizeof wall[k][0], by_value);
            ms[p][k] = wall[k][repeat / 2];
            printf(" %13.1f", ms[p][k]);
            if (k < 4 && (best_part == 0 || ms[p][k] < best_part))
                best_part = ms[p][k];
        }
        printf("  %.2f, %.2f\n", ms[p][4] / best_part, ms[p][5] / best_part);
        data_row(f, "%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", cpu_ms, ms[p][0], ms[p][1], ms[p][2], ms[p][3], ms[p][4],
                 ms[p][5]);
    }
    server_stop(&srv);
    data_close(f);
    int last = NPOINTS - 1;
    printf("at %.1f ms of CPU per task, procs+coros took %.2fx the time of coroutines alone and %.2fx that of "
           "processes alone; procs+threads %.2fx that of threads under the GIL\n",
           fraction[last] * (double)cpu_max / 1e6, ms[last][4] / ms[last][1], ms[last][4] / ms[last][0],
           ms[last][5] / ms[last][2]);
    printf("with no CPU work, processes alone took %.1fx the time of procs+coros\n", ms[0][0] / ms[0][4]);
    return 0;
}

/* choose.c: the lessons' rule for choosing, as a measured matrix.
 *
 * Mirrors: the advice the lessons end on: "CPU-bound: processes; I/O-bound: threads;
 * many connections: coroutines; a mix: combine them (processes plus coroutines)", and
 * lesson 002's table that calls coroutines concurrent and processes parallel.
 *
 * Four workloads (load.h), sized by the number of cores C:
 *   cpu    8C tasks of --cpu of CPU work each, no I/O
 *   io     32C tasks, each a request to the loopback server, answered after --delay
 *   mixed  32C tasks, each the same request and then --parse of CPU work
 *   idle   --conns x C connections at once, each answered after --idle: connections
 *          that mostly wait (a chat server, long polling)
 * on six runners (load.h): one thread; a thread per task; the same threads under the
 * simulated GIL of chapter 08 (Python's threads); a pool of C worker processes;
 * coroutines on one hub; a process per core with a hub each.
 *
 * Every run happens in a fresh process (cell_run) and is repeated --repeat times, the
 * runners taking turns; the tables give medians. A run starts no task after --cap: a
 * runner that would take longer is cut short, shown as "> cap" with the tasks it did.
 * A run cut short, or longer than 400 ms, is not repeated: the winners of every row
 * take tens of ms, and these runs are many times slower (this keeps choose near 15 s).
 * Beside the wall time: how many cores the run kept busy (its CPU time over its wall
 * time: above 1 is parallelism), how many tasks were in progress at once (above 1 is
 * concurrency), and for the idle workload the private memory of all its processes at
 * the peak, per connection held open at once. Every reply is checked, and every
 * complete run's checksum is compared with the one the tasks must add up to.
 *
 * Run:  ./choose [--workload all|cpu|io|mixed|idle] [--repeat 3] [--data FILE]
 * Look for: the winner of each row and the lessons' pick beside it (the last table,
 * printed as Markdown for the README); the "cores busy" and "in flight" tables.
 * See also: hybrid.c (the hybrids against each part alone), load.c, runners.c.
 */
#include "executor.h"
#include "load.h"

#include <stdlib.h>
#include <string.h>

enum { W_CPU, W_IO, W_MIXED, W_IDLE, NW };
static const char *const wname[NW] = { "cpu", "io", "mixed", "idle" };
static const enum runner runners[] = { R_ONE, R_THREADS, R_GIL, R_PROCS, R_COROS, R_HYBRID };
enum { NR = ARRAY_LEN(runners), MAX_REPEAT = 15 };
#define LONG_MS 400.0 /* a run this long is not repeated */
/* the lessons' pick for each workload: processes; threads (Python's, under the GIL);
 * a process per core with coroutines; coroutines */
static const enum runner pick[NW] = { R_PROCS, R_GIL, R_HYBRID, R_COROS };

struct result {
    double wall[MAX_REPEAT]; /* ms */
    struct cell cell[MAX_REPEAT];
    int runs;
    bool capped;
    struct cell last;        /* the median run */
    double ms, busy;         /* its wall time; its CPU time / wall time */
};

static struct result g_res[NW][NR];
static struct load g_load[NW];

static void describe(int w, char *buf, size_t len, double tick)
{
    const struct load *l = &g_load[w];
    double cpu_ms = (double)l->ticks * tick / 1e6;
    if (w == W_CPU)
        snprintf(buf, len, "%ld tasks x %.1f ms of CPU", l->tasks, cpu_ms);
    else if (w == W_MIXED)
        snprintf(buf, len, "%ld tasks x (a request answered after %.0f ms, then %.1f ms of CPU)", l->tasks,
                 (double)l->delay / 1e6, cpu_ms);
    else
        snprintf(buf, len, "%ld %s, answered after %.0f ms", l->tasks, w == W_IO ? "requests" : "connections",
                 (double)l->delay / 1e6);
}

static void measure(int w, long repeat, int64_t cap, uint64_t expected)
{
    for (long rep = 0; rep < repeat; rep++)
        for (int k = 0; k < NR; k++) {
            struct result *r = &g_res[w][k];
            if (r->capped || (r->runs > 0 && r->wall[0] > LONG_MS))
                continue; /* cut short once: it would be again; long: the noise is small beside it */
            struct load l = g_load[w];
            l.deadline = now_ns() + cap;
            cell_run(runners[k], &l, w == W_IDLE, &r->last);
            r->capped = r->last.done < l.tasks;
            r->wall[r->runs++] = (double)r->last.wall / 1e6;
            if (r->last.wrong)
                fatal("%s on %s: %ld wrong replies", runner_name[runners[k]], wname[w], r->last.wrong);
            if (!r->capped && r->last.check != expected)
                fatal("%s on %s: checksum %llx, expected %llx", runner_name[runners[k]], wname[w],
                      (unsigned long long)r->last.check, (unsigned long long)expected);
            r->cell[r->runs - 1] = r->last;
        }
    for (int k = 0; k < NR; k++) { /* the median run of each cell */
        struct result *r = &g_res[w][k];
        int order[MAX_REPEAT];
        for (int i = 0; i < r->runs; i++) {
            order[i] = i;
            for (int j = i; j > 0 && r->wall[order[j]] < r->wall[order[j - 1]]; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        }
        int m = r->capped ? r->runs - 1 : order[r->runs / 2]; /* cut short: that run */
        r->last = r->cell[m];
        r->ms = r->wall[m];
        r->busy = r->last.cpu * 1e3 / r->wall[m];
    }
}

static int winner(int w, int *second)
{
    int best = -1;
    *second = -1;
    for (int k = 0; k < NR; k++) {
        if (g_res[w][k].capped)
            continue;
        if (best < 0 || g_res[w][k].ms < g_res[w][best].ms) {
            *second = best;
            best = k;
        } else if (*second < 0 || g_res[w][k].ms < g_res[w][*second].ms)
            *second = k;
    }
    return best;
}

static int index_of(enum runner r)
{
    for (int k = 0; k < NR; k++)
        if (runners[k] == r)
            return k;
    return 0;
}

/* one table: a row per workload, a column per runner */
static void table(const char *title, const bool *on, int what)
{
    printf("\n%s\n  %-8s", title, "workload");
    for (int k = 0; k < NR; k++)
        printf(" %13s", runner_name[runners[k]]);
    printf("\n");
    for (int w = 0; w < NW; w++) {
        if (!on[w] || (what == 3 && w != W_IDLE))
            continue;
        printf("  %-8s", wname[w]);
        for (int k = 0; k < NR; k++) {
            const struct result *r = &g_res[w][k];
            char cell[32];
            if (what == 0)
                snprintf(cell, sizeof cell, r->capped ? "> %.0f (%ld)" : "%.1f", r->ms, r->last.done);
            else if (what == 1)
                snprintf(cell, sizeof cell, "%.2f", r->busy);
            else if (what == 2)
                snprintf(cell, sizeof cell, "%ld", r->last.peak);
            else
                snprintf(cell, sizeof cell, "%.1f", r->last.mem_kib / (double)(r->last.peak ? r->last.peak : 1));
            printf(" %13s", cell);
        }
        printf("\n");
    }
}

static void markdown(const bool *on, double tick)
{
    printf("\n| workload |");
    for (int k = 0; k < NR; k++)
        printf(" %s |", runner_name[runners[k]]);
    printf(" winner, ahead of the next by | the lessons' pick |\n|---|");
    for (int k = 0; k < NR + 2; k++)
        printf("---|");
    printf("\n");
    for (int w = 0; w < NW; w++) {
        if (!on[w])
            continue;
        char what[128];
        describe(w, what, sizeof what, tick);
        int second, best = winner(w, &second);
        printf("| %s: %s |", wname[w], what);
        for (int k = 0; k < NR; k++) {
            const struct result *r = &g_res[w][k];
            if (r->capped)
                printf(" > %.0f ms (%ld of %ld done) |", r->ms, r->last.done, g_load[w].tasks);
            else
                printf(k == best ? " **%.1f ms** |" : " %.1f ms |", r->ms);
        }
        const struct result *p = &g_res[w][index_of(pick[w])];
        printf(" %s, %.2fx | %s, ", best < 0 ? "none" : runner_name[runners[best]],
               best < 0 || second < 0 ? 0.0 : g_res[w][second].ms / g_res[w][best].ms, runner_name[pick[w]]);
        if (p->capped)
            printf("cut short |\n");
        else if (index_of(pick[w]) == best)
            printf("the winner |\n");
        else
            printf("%.2fx the winner's time |\n", p->ms / g_res[w][best].ms);
    }
}

int main(int argc, char **argv)
{
    int which = 0;
    long repeat = 3, conns = 500, per_core = 32, cpu_per_core = 8;
    int64_t cpu = 10 * NS_PER_MS, delay = 10 * NS_PER_MS, parse = 2 * NS_PER_MS, idle = 200 * NS_PER_MS,
            cap = 1500 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "workload", CLI_CHOICE, &which, "the workloads to run", 0, 0, NULL, "all|cpu|io|mixed|idle" },
        { "cpu", CLI_DURATION, &cpu, "CPU work of a cpu task", 100 * NS_PER_US, NS_PER_S, "2ms", NULL },
        { "cpu-tasks", CLI_INT, &cpu_per_core, "cpu tasks per core", 1, 1000, "2", NULL },
        { "tasks", CLI_INT, &per_core, "io and mixed tasks per core", 1, 1000, "4", NULL },
        { "delay", CLI_DURATION, &delay, "the server's delay for io and mixed", 0, NS_PER_S, "2ms", NULL },
        { "parse", CLI_DURATION, &parse, "CPU work of a mixed task", 0, NS_PER_S, "500µs", NULL },
        { "conns", CLI_INT, &conns, "idle connections per core", 1, 5000, "16", NULL },
        { "idle", CLI_DURATION, &idle, "the server's delay for an idle connection", 0, 10 * NS_PER_S, "20ms", NULL },
        { "cap", CLI_DURATION, &cap, "start no task after this long", 10 * NS_PER_MS, 60 * NS_PER_S, "100ms", NULL },
        { "repeat", CLI_INT, &repeat, "runs per cell (median)", 1, MAX_REPEAT, "1", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The lessons' rule (threads for I/O, processes for CPU, coroutines for many "
                          "connections) as a measured matrix of workloads and runners.",
              opts, &cli);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int cores = default_cores();
    bool on[NW];
    for (int w = 0; w < NW; w++)
        on[w] = which == 0 || which == w + 1;
    raise_fd_limit(conns * cores + 256);
    double tick = tick_ns(cli.quick ? 5 * NS_PER_MS : 30 * NS_PER_MS);
    struct server srv;
    on_termination(server_kill_now);
    server_start(&srv);

    uint64_t t_cpu = (uint64_t)((double)cpu / tick), t_parse = (uint64_t)((double)parse / tick);
    g_load[W_CPU] = (struct load){ .tasks = cpu_per_core * cores, .ticks = t_cpu };
    g_load[W_IO] = (struct load){ .tasks = per_core * cores, .io = true, .delay = delay };
    g_load[W_MIXED] = (struct load){ .tasks = per_core * cores, .io = true, .delay = delay, .ticks = t_parse };
    g_load[W_IDLE] = (struct load){ .tasks = conns * cores, .io = true, .delay = idle };
    printf("choose: " CORES_FMT "; a tick of CPU work is %.1f ns; median of %ld run(s) per cell (one if it takes over "
           "%.0f ms), each in a fresh process; no task starts after %.0f ms\n",
           CORES_ARG(cores), tick, repeat, LONG_MS, (double)cap / 1e6);
    for (int w = 0; w < NW; w++) {
        g_load[w].cores = cores;
        g_load[w].server = srv.addr;
        char what[128];
        describe(w, what, sizeof what, tick);
        if (on[w])
            printf("  %-6s %s\n", wname[w], what);
    }
    for (int w = 0; w < NW; w++)
        if (on[w])
            measure(w, repeat, cap, load_expected(&g_load[w]));
    server_stop(&srv);

    table("wall time, ms (> cap: cut short, with the tasks done)", on, 0);
    table("cores busy: CPU time / wall time (above 1: parallel)", on, 1);
    table("tasks in progress at once, at the peak (above 1: concurrent)", on, 2);
    table("idle: private memory at the peak per connection held at once, KiB", on, 3);
    printf("\nevery reply was right, and every complete run added up to the expected checksum\n");
    markdown(on, tick);

    FILE *f = data_open(cli.data, "choose: the lessons' rule as a matrix of workloads and runners");
    data_row(f, "# cores: %d\n# cap_ms: %.0f\n", cores, (double)cap / 1e6);
    for (int w = 0; w < NW; w++) {
        char what[128];
        describe(w, what, sizeof what, tick);
        data_row(f, "# workload%d: %s: %s\n", w, wname[w], what);
    }
    data_block(f, "cells", (const char *const[]){
        "workload: 0 cpu, 1 io, 2 mixed, 3 idle", "runner: 0 one thread .. 5 procs+coros (the table's order)",
        "wall (ms): median", "over_best: wall / the row's best complete wall", "capped: 1 if cut short",
        "done: tasks done (of tasks)", "tasks", "busy: CPU time / wall time", "peak: tasks in progress at once",
        "kib_per_conn (KiB): idle only, peak private memory / connections held at once (peak); -1 elsewhere",
        NULL });
    for (int w = 0; w < NW; w++) {
        int second, best = winner(w, &second);
        for (int k = 0; on[w] && k < NR; k++) {
            const struct result *r = &g_res[w][k];
            data_row(f, "%d %d %.3f %.3f %d %ld %ld %.3f %ld %.2f\n", w, k, r->ms,
                     best < 0 ? 0.0 : r->ms / g_res[w][best].ms, r->capped, r->last.done, g_load[w].tasks, r->busy,
                     r->last.peak, w == W_IDLE && r->last.peak ? r->last.mem_kib / (double)r->last.peak : -1.0);
        }
    }
    data_close(f);
    return 0;
}

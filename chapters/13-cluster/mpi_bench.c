/* mpi_bench.c: what MPI buys on one machine, and what it costs, against chapter 03's pool.
 *
 * Mirrors: moving a Pool.map job to mpi4py (or Dask, or Ray): is it faster, and what does
 * starting it and talking to it cost?
 *
 * The job is chapter 03's pool_bench part 2 (mix64 hashes of --work million numbers,
 * 60 per core, cut into --tasks tasks, 24 per core), run three ways for P = 1 to
 * --max-ranks processes (the number of cores, then past it to twice it; past 8,
 * common.h's sweep_next picks 12, 16, 24, 32 ...):
 *   static   an MPI job of P ranks, MPI_Scatter / MPI_Gather of P equal slices;
 *   dynamic  an MPI job of P ranks, rank 0 dealing the tasks to the P - 1 others;
 *   pool     chapter 03's fork pool of P workers, pool_map with one task per slice.
 * Speed-ups are time(1) / time(P) within each way, from the same run. Two costs beside:
 *   round trip  one 8-byte task out and its 8-byte result back: MPI_Send + MPI_Recv
 *               between two ranks, against pool_apply_async + pool_get; each with the
 *               two processes pinned to two cores, and to one core (MPI's ranks wait
 *               by polling: two pollers on one core hand it over only when the
 *               scheduler takes it from one of them);
 *   start       from starting mpiexec to every rank past MPI_Init (a barrier), against
 *               pool_new to the first result.
 * Each MPI point is its own job: run outside mpiexec, the program starts itself with
 * `mpiexec -n P` (launch.c) for every point, and reads back rank 0's one-line report.
 * Every total must equal every other. Medians of --repeat runs, made round robin (each
 * run goes through every P, MPI then pool), so a slow spell hits all points alike.
 *
 * Run:  ./mpi_bench [--max-ranks 2*cores] [--work 60*cores] [--repeat 5] [--data FILE]
 * Look for: static and the pool both near min(P, cores) times faster; dynamic behind
 * (rank 0 deals, and polls while it waits: whenever it shares a core with a worker, a
 * task waits for a time slice); past the cores, MPI's polling ranks taking turns with
 * the working ones; a round trip of about a microsecond on MPI across two cores (nobody
 * sleeps) against the pool's several, but milliseconds on MPI when the two ranks share a
 * core; a start of a tenth of a second against a millisecond.
 */
#include "launch.h"
#include "pool_job.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- one point, as a rank of an MPI job of P ranks ---- */

/* The launcher asks for a job that only measures the round trip, its two ranks on one
 * CPU, through the environment (mpiexec passes it on): a job is not told so by its
 * mask alone, which is one CPU too when the whole program runs under taskset -c 0. */
#define TRIPS_ONLY "MPI_BENCH_TRIPS_ONLY"
static bool on_one_cpu(void)
{
    return getenv(TRIPS_ONLY) != NULL;
}

/* round trips between ranks 0 and 1, one 8-byte message each way, in microseconds */
static struct summary mpi_trips(int rank, long trips)
{
    double *trip = malloc((size_t)trips * sizeof *trip);
    if (!trip)
        die("malloc");
    uint64_t x = 7;
    CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
    for (long i = 0; i < trips; i++) {
        int64_t t = now_ns();
        if (rank == 0) {
            CHECK_MPI(MPI_Send(&x, 1, MPI_UINT64_T, 1, 0, MPI_COMM_WORLD));
            CHECK_MPI(MPI_Recv(&x, 1, MPI_UINT64_T, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        } else {
            CHECK_MPI(MPI_Recv(&x, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            CHECK_MPI(MPI_Send(&x, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD));
        }
        trip[i] = (double)(now_ns() - t) / 1e3;
    }
    struct summary s = summarize(trip, (size_t)trips);
    free(trip);
    return s;
}

/* One point, as a rank of an MPI job of P ranks. A job confined to one CPU for the
 * round trip (the launcher pinned itself first, and said so: on_one_cpu) measures only
 * that. */
static void one_job(const struct job *job, long trips, long cores)
{
    int rank, size;
    mpi_start(NULL, NULL, &rank, &size);
    CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
    int64_t started = now_ns(); /* every rank is past MPI_Init */
    bool one_cpu = on_one_cpu();
    double t_static = 0, t_dynamic = 0;
    uint64_t ts = 0, td = 0;
    if (!one_cpu) {
        struct rank_work me;
        struct job warm = { 1000000, job->tasks };
        map_static(&warm, &me); /* page in the code and MPI's buffers */
        map_dynamic(&warm, &me, NULL);
        CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
        ts = map_static(job, &me);
        t_static = (double)me.wall_ns / 1e9;
        CHECK_MPI(MPI_Barrier(MPI_COMM_WORLD));
        td = map_dynamic(job, &me, NULL);
        t_dynamic = (double)me.wall_ns / 1e9;
    }
    struct summary rt = { 0 };
    if (size == 2 && (one_cpu || cores >= 2)) {
        if (!one_cpu)
            pin_to_cpu(cpu_nth(rank)); /* one rank per core */
        rt = mpi_trips(rank, one_cpu ? 20 : trips); /* on one core, each takes milliseconds */
    }
    if (rank == 0)
        printf("ranks %d: started at %lld ns, static %.6f s, dynamic %.6f s, totals %#llx %#llx, "
               "round trip %.3f %.3f %.3f µs%s\n",
               size, (long long)started, t_static, t_dynamic, (unsigned long long)ts, (unsigned long long)td,
               rt.median, rt.p10, rt.p90, one_cpu ? " (one cpu)" : "");
    fflush(stdout);
    CHECK_MPI(MPI_Finalize());
}

/* ---- the sweep, outside MPI ---- */

enum { STATIC, DYNAMIC, POOL, NWAYS };

static uint64_t g_expect;
static bool g_have_expect;

static void check_total(uint64_t got, const char *what, int p)
{
    if (!g_have_expect) {
        g_expect = got;
        g_have_expect = true;
    } else if (got != g_expect) {
        fatal("%s with %d: total %#llx, expected %#llx", what, p, (unsigned long long)got,
              (unsigned long long)g_expect);
    }
}

/* One MPI job of p ranks, from outside: rank 0's numbers. With one_cpu, the launcher
 * pins itself to CPU 0 first, and the job inherits it. */
struct point {
    double t_static, t_dynamic, start_ms;
    struct summary trip;
};

static struct point mpi_point(int p, bool one_cpu, char **argv, int64_t timeout)
{
    cpu_set_t all;
    CHECK_SYS(sched_getaffinity(0, sizeof all, &all));
    if (one_cpu) {
        pin_to_cpu(cpu_nth(0));
        CHECK_SYS(setenv(TRIPS_ONLY, "1", 1));
    }
    struct launch_end end;
    launch_self(p, NULL, argv, timeout, true, &end);
    CHECK_SYS(unsetenv(TRIPS_ONLY));
    CHECK_PT(pthread_setaffinity_np(pthread_self(), sizeof all, &all));
    struct point pt = { 0 };
    unsigned long long ts, td;
    long long started;
    int size;
    char how[160];
    if (end.timed_out || !WIFEXITED(end.status) || WEXITSTATUS(end.status) != 0 ||
        sscanf(end.out, "ranks %d: started at %lld ns, static %lf s, dynamic %lf s, totals %llx %llx, "
                        "round trip %lf %lf %lf µs", &size, &started, &pt.t_static, &pt.t_dynamic, &ts, &td,
               &pt.trip.median, &pt.trip.p10, &pt.trip.p90) != 9 || size != p)
        fatal("the job of %d ranks failed (mpiexec: %s); it printed:\n%s", p, launch_describe(&end, how, sizeof how),
              end.out);
    if (!one_cpu) {
        check_total(ts, "static", p);
        check_total(td, "dynamic", p);
    }
    pt.start_ms = (double)(started - end.start_ns) / 1e6;
    free(end.out);
    return pt;
}

enum { MPI2, MPI1, POOL2, POOL1, NTRIPS }; /* round trips: MPI or pool, on two cores or one */

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long max_ranks = cores < 32 ? 2 * cores : 64, work = 60 * cores, tasks = 24 * cores, trips = 2000, repeat = 5;
    int64_t timeout = 60 * NS_PER_S;
    const struct cli_opt opts[] = {
        { "max-ranks", CLI_INT, &max_ranks, "largest job (ranks, workers)", 2, 64, "2", NULL },
        { "work", CLI_INT, &work, "the job, in millions of hashes", 1, 100000, "4", NULL },
        { "tasks", CLI_INT, &tasks, "tasks the dynamic map and the pool deal out, 24 per core", 1, 100000, NULL,
          NULL },
        { "trips", CLI_INT, &trips, "round trips measured (MPI across cores, pool)", 10, 1000000, "20", NULL },
        { "repeat", CLI_INT, &repeat, "runs per point (the median is kept)", 1, 100, "1", NULL },
        { "timeout", CLI_DURATION, &timeout, "how long one MPI job may take", NS_PER_S, 3600 * NS_PER_S, NULL,
          NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    launch_parse(argc, argv, "Chapter 03's CPU-bound job on MPI (static, dynamic) and on the fork pool, 1 to\n"
                             "N processes; one task's round trip and the start of a job on each.", opts, &cli, NULL);
    struct job job = { (uint64_t)work * 1000000, tasks };
    long per_run = trips / repeat > 10 ? trips / repeat : 10;
    if (launch_in_job()) {
        one_job(&job, per_run, cores);
        return 0;
    }

    int np = (int)max_ranks;
    size_t per = (size_t)repeat;
    double *secs = calloc((size_t)NWAYS * (size_t)np * per, sizeof *secs);
    double *start = calloc(2 * (size_t)np * per, sizeof *start); /* MPI, then pool */
    double *trip = calloc((size_t)NTRIPS * 3 * per, sizeof *trip);  /* median, p10, p90 per run */
    double *samples = calloc((size_t)per_run, sizeof *samples);
    if (!secs || !start || !trip || !samples)
        die("calloc");
#define AT(way, p, r) secs[((size_t)(way) * (size_t)np + (size_t)(p) - 1) * per + (size_t)(r)]
#define START(which, p, r) start[((size_t)(which) * (size_t)np + (size_t)(p) - 1) * per + (size_t)(r)]
#define TRIP(way, k, r) trip[((size_t)(way) * 3 + (size_t)(k)) * per + (size_t)(r)]
    const struct summary none = { .median = NAN, .p10 = NAN, .p90 = NAN };
#define put_trip(way, r, s)                                                            \
    do {                                                                               \
        struct summary s_ = (s);                                                       \
        TRIP(way, 0, r) = s_.median;                                                   \
        TRIP(way, 1, r) = s_.p10;                                                      \
        TRIP(way, 2, r) = s_.p90;                                                      \
    } while (0)

    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len;
    CHECK_MPI(MPI_Get_library_version(lib, &len));
    lib[strcspn(lib, "\n")] = '\0';
    printf("%ld million hashes in %ld tasks; MPI jobs of 1..%d ranks and pools of 1..%d workers on " CORES_FMT "\n"
           "(%s; one machine: every rank on this host)\n",
           work, tasks, np, np, CORES_ARG(cores), lib);
    fflush(stdout);
    for (long r = 0; r < repeat; r++) {
        for (int p = 1; p <= np; p = sweep_next(p, (int)cores, np)) {
            struct point pt = mpi_point(p, false, argv, timeout);
            AT(STATIC, p, r) = pt.t_static;
            AT(DYNAMIC, p, r) = pt.t_dynamic;
            START(0, p, r) = pt.start_ms;
            if (p == 2)
                put_trip(MPI2, r, cores >= 2 ? pt.trip : none);
        }
        put_trip(MPI1, r, mpi_point(2, true, argv, timeout).trip);
        for (int p = 1; p <= np; p = sweep_next(p, (int)cores, np)) {
            uint64_t total;
            AT(POOL, p, r) = pool_job_time(p, &job, &total, &START(1, p, r));
            check_total(total, "the pool", p);
        }
        for (int w = POOL2; w <= POOL1; w++) {
            if (w == POOL2 && cores < 2) {
                put_trip(w, r, none);
                continue;
            }
            pool_job_trips(cpu_nth(w == POOL2 ? 1 : 0), per_run, samples);
            put_trip(w, r, summarize(samples, (size_t)per_run));
        }
    }

    FILE *data = data_open(cli.data, "mpi_bench: chapter 03's CPU-bound job on MPI and on the fork pool");
    data_row(data, "# %s; every rank on this one machine\n", lib);
    static const char *const cols1[] = {
        "P (count): ranks (static, dynamic) or workers (pool)",
        "static_s (s): median time, MPI_Scatter/MPI_Gather", "static_p10 (s)", "static_p90 (s)",
        "static_x (x): speed-up, time(1) / time(P)",
        "dynamic_s (s): median time, rank 0 dealing to P-1 ranks", "dynamic_p10 (s)", "dynamic_p90 (s)",
        "dynamic_x (x): speed-up over static with 1 rank",
        "pool_s (s): median time, chapter 03's pool_map", "pool_p10 (s)", "pool_p90 (s)",
        "pool_x (x): speed-up, time(1) / time(P)", "cores (count): the CPUs it may use (common.h, cpu_count)", NULL,
    };
    data_block(data, "the job against P", cols1);
    printf("\n%4s %9s %7s   %9s %7s   %9s %7s   (median of %ld; seconds)\n", "P", "static", "x", "dynamic", "x",
           "pool", "x", repeat);
    double one[NWAYS] = { 0 };
    for (int p = 1; p <= np; p = sweep_next(p, (int)cores, np)) {
        struct summary s[NWAYS];
        for (int w = 0; w < NWAYS; w++) {
            s[w] = summarize(&AT(w, p, 0), per);
            if (p == 1)
                one[w] = s[w].median;
        }
        /* dynamic with one rank is the serial job: its speed-ups are over static's one rank */
        printf("%4d %9.3f %6.2fx   %9.3f %6.2fx   %9.3f %6.2fx%s\n", p, s[STATIC].median,
               one[STATIC] / s[STATIC].median, s[DYNAMIC].median, one[STATIC] / s[DYNAMIC].median, s[POOL].median,
               one[POOL] / s[POOL].median, p == cores ? "   <- cores" : "");
        data_row(data, "%d %.5f %.5f %.5f %.3f %.5f %.5f %.5f %.3f %.5f %.5f %.5f %.3f %ld\n", p, s[STATIC].median,
                 s[STATIC].p10, s[STATIC].p90, one[STATIC] / s[STATIC].median, s[DYNAMIC].median, s[DYNAMIC].p10,
                 s[DYNAMIC].p90, one[STATIC] / s[DYNAMIC].median, s[POOL].median, s[POOL].p10, s[POOL].p90,
                 one[POOL] / s[POOL].median, cores);
    }

    static const char *const cols2[] = {
        "way (index): 0 MPI, ranks on two cores; 1 MPI, both ranks on one core; 2 pool, parent and worker on "
        "two cores; 3 pool, on one core",
        "us (us): median over the runs of each run's median", "p10 (us): likewise", "p90 (us): likewise", NULL,
    };
    static const char *const trip_name[NTRIPS] = { "MPI, two cores", "MPI, one core", "pool, two cores",
                                                   "pool, one core" };
    data_block(data, "round trip of one 8-byte task", cols2);
    printf("\nround trip of one 8-byte task, µs (median; p10 to p90):\n");
    struct summary t[NTRIPS];
    for (int w = 0; w < NTRIPS; w++) {
        t[w] = (struct summary){ .median = summarize(&TRIP(w, 0, 0), per).median,
                                 .p10 = summarize(&TRIP(w, 1, 0), per).median,
                                 .p90 = summarize(&TRIP(w, 2, 0), per).median };
        printf("  %-16s %10.2f  (%.2f to %.2f)\n", trip_name[w], t[w].median, t[w].p10, t[w].p90);
        data_row(data, "%d %.3f %.3f %.3f\n", w, t[w].median, t[w].p10, t[w].p90);
    }
    if (!isnan(t[MPI2].median) && !isnan(t[POOL2].median))
        printf("  MPI is %.1fx faster than the pool across cores, %.0fx slower on one core\n",
               t[POOL2].median / t[MPI2].median, t[MPI1].median / t[POOL1].median);
    else /* one core only */
        printf("  MPI is %.0fx slower than the pool on one core\n", t[MPI1].median / t[POOL1].median);

    static const char *const cols3[] = {
        "P (count): ranks or workers", "mpi_ms (ms): median, mpiexec started to every rank past MPI_Init",
        "mpi_p10 (ms)", "mpi_p90 (ms)", "pool_ms (ms): median, pool_new to the first result", "pool_p10 (ms)",
        "pool_p90 (ms)", NULL,
    };
    data_block(data, "starting a job", cols3);
    printf("\nstart of a job, ms (median):");
    for (int p = 1; p <= np; p = sweep_next(p, (int)cores, np)) {
        struct summary sm = summarize(&START(0, p, 0), per), sp = summarize(&START(1, p, 0), per);
        printf("  P=%d: MPI %.1f, pool %.2f;", p, sm.median, sp.median);
        data_row(data, "%d %.3f %.3f %.3f %.4f %.4f %.4f\n", p, sm.median, sm.p10, sm.p90, sp.median, sp.p10,
                 sp.p90);
    }
    printf("\nevery total matched (%#llx)\n", (unsigned long long)g_expect);
    data_close(data);
    free(secs);
    free(start);
    free(trip);
    free(samples);
    return 0;
}

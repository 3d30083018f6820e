/* pool_bench.c: what a pool task costs, and what a pool buys for CPU-bound work.
 *
 * Mirrors: the price of Pool.apply_async / Pool.map(f, xs, chunksize), and the
 * lessons' claim that processes (unlike threads under the GIL) run CPU-bound work on
 * all the cores.
 *
 * Part 1, dispatch overhead, on a pool of --workers processes with a task that does
 * nothing (it returns its 8-byte argument):
 *   - round trip: apply_async then get, one task at a time: the latency of waking an
 *     idle worker and being woken by its result (two cross-process wake-ups);
 *   - map over --items items with chunk sizes 1, 2, 4 ... 1024: the time per item.
 *     Chunk 1 is one task per item, sent back to back (unbatched: every item is a
 *     message each way, but nobody sleeps while work is queued); larger chunks
 *     spread one message's cost over many items.
 * Part 2, speed-up: a fixed CPU-bound job (hashing --work million numbers, cut into
 * --tasks tasks) on pools of 1 to --max-workers workers (twice the cores; past 8 workers
 * common.h's sweep_next picks 12, 16, 24, 32 ...); the time of the map and the speed-up
 * time(1) / time(W) from the same run. The totals are checked against the one-worker
 * total. The job grows with the cores (60 million hashes, about 60 ms of one core, and
 * 24 tasks per core), so that with one worker per core each still hashes for about
 * 60 ms in tasks of about 2.5 ms: far longer than a task's dispatch (microseconds) or a
 * worker's fork (~0.1 ms, before the clock starts). --quick's job is 40 million hashes,
 * three times: shorter, and its speed-ups are rougher. A speed-up well above what the
 * cores allow (min(W, cores)) is flagged: the one-worker runs were slowed, most likely by
 * another program on a shared machine.
 * Numbers are medians of --repeat runs, made round robin: each run goes through every
 * chunk size and part 1's share of the round trips, and part 2 through every pool size,
 * so that a slow spell of the shared machine falls on all the points alike.
 *
 * Run:  ./pool_bench [--items 50000] [--work 60*cores] [--repeat 3] [--data FILE]
 * Look for: about a microsecond per unbatched task in a stream (map, chunk 1) but ten
 * times that or more for one task's round trip (two sleeps and two wake-ups); hundredths
 * of a microsecond per item with large chunks; the speed-up stopping at the number of
 * cores.
 */
#include "pool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_CHUNK = 1024, NCHUNKS = 11 };

static int identity(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)cap;
    memcpy(out, arg, len);
    *out_len = len;
    return 0;
}

struct slice {
    uint64_t from, to;
};

static int hash_slice(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    struct slice s;
    (void)len;
    (void)cap;
    memcpy(&s, arg, sizeof s);
    uint64_t sum = 0;
    for (uint64_t i = s.from; i < s.to; i++)
        sum += mix64(i);
    memcpy(out, &sum, sizeof sum);
    *out_len = sizeof sum;
    return 0;
}

static double map_us_per_item(struct pool *p, const uint64_t *in, uint64_t *out, size_t n, size_t chunk)
{
    memset(out, 0, n * sizeof *out);
    int64_t t = now_ns();
    struct pool_result bad;
    if (pool_map(p, identity, in, sizeof *in, n, out, sizeof *out, chunk, &bad) != POOL_OK)
        fatal("map with chunk %zu: %s", chunk, pool_status_name(bad.status));
    double us = (double)(now_ns() - t) / 1e3 / (double)n;
    for (size_t i = 0; i < n; i++)
        if (out[i] != in[i])
            fatal("map with chunk %zu: item %zu came back as %llu", chunk, i, (unsigned long long)out[i]);
    return us;
}

static double round_trip_us(struct pool *p)
{
    uint64_t x = 7, y = 0;
    int64_t t = now_ns();
    pool_task h = pool_apply_async(p, identity, &x, sizeof x);
    if (pool_get(p, h, -1, &y, sizeof y, NULL) != POOL_OK || y != x)
        fatal("round trip: wrong result");
    return (double)(now_ns() - t) / 1e3;
}

/* the job on a pool of `workers`; returns seconds, the total in *sum */
static double run_job(int workers, uint64_t n, long tasks, uint64_t *sum)
{
    struct slice *s = malloc((size_t)tasks * sizeof *s);
    uint64_t *part = malloc((size_t)tasks * sizeof *part);
    if (!s || !part)
        die("malloc");
    for (long k = 0; k < tasks; k++)
        s[k] = (struct slice){ n * (uint64_t)k / (uint64_t)tasks, n * (uint64_t)(k + 1) / (uint64_t)tasks };
    struct pool *p = pool_new(workers, 256);
    struct slice tiny = { 0, 1000 };
    uint64_t warm;
    if (pool_map(p, hash_slice, &tiny, sizeof tiny, 1, &warm, sizeof warm, 1, NULL) != POOL_OK)
        fatal("warm-up failed");
    int64_t t = now_ns();
    if (pool_map(p, hash_slice, s, sizeof *s, (size_t)tasks, part, sizeof *part, 1, NULL) != POOL_OK)
        fatal("the CPU-bound map failed");
    double secs = (double)(now_ns() - t) / 1e9;
    pool_close(p);
    pool_join(p);
    pool_free(p);
    *sum = 0;
    for (long k = 0; k < tasks; k++)
        *sum += part[k];
    free(s);
    free(part);
    return secs;
}

int main(int argc, char **argv)
{
    long cores = cpu_count();
    long workers = 2, items = 50000, trips = 2000, work = 60 * cores, tasks = 24 * cores, repeat = 3;
    long max_workers = cores < 2 ? 4 : 2 * cores > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : 2 * cores;
    const struct cli_opt opts[] = {
        { "workers", CLI_INT, &workers, "workers for part 1", 1, POOL_MAX_WORKERS, NULL, NULL },
        { "items", CLI_INT, &items, "items per map in part 1", 1024, 10000000, "2048", NULL },
        { "trips", CLI_INT, &trips, "round trips in part 1", 10, 1000000, "50", NULL },
        { "work", CLI_INT, &work, "part 2's job, in millions of hashes, 60 per core", 1, 1000000, "40",
          NULL },
        { "tasks", CLI_INT, &tasks, "tasks the job is cut into, 24 per core", 1, 100000, NULL, NULL },
        { "max-workers", CLI_INT, &max_workers, "largest pool in part 2, twice the cores (at least 4)", 1,
          POOL_MAX_WORKERS, "4", NULL },
        { "repeat", CLI_INT, &repeat, "runs per configuration (the median is kept)", 1, 100, "3", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The cost of a pool task, unbatched and in chunks, and the speed-up of a\n"
                          "CPU-bound job over 1 to 2 x cores workers.", opts, &cli);

    /* ---- part 1 ---- */
    size_t n = (size_t)items;
    uint64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    double *per_item = malloc(NCHUNKS * (size_t)repeat * sizeof *per_item);
    double *trip = malloc((size_t)trips * sizeof *trip);
    if (!in || !out || !per_item || !trip)
        die("malloc");
    for (size_t i = 0; i < n; i++)
        in[i] = mix64(i);
    struct pool *p = pool_new((int)workers, 64 + MAX_CHUNK * sizeof(uint64_t));
    for (int i = 0; i < 100; i++) /* warm-up: page in the code, the queues and the table */
        round_trip_us(p);
    map_us_per_item(p, in, out, n < 4096 ? n : 4096, 1);
    /* round robin: each repeat maps with every chunk size, then does its share of the
     * round trips, so that a slow spell of the machine is spread over all of them */
    for (long r = 0, done = 0; r < repeat; r++) {
        for (int c = 0; c < NCHUNKS; c++)
            per_item[c * repeat + r] = map_us_per_item(p, in, out, n, (size_t)1 << c);
        for (; done < trips * (r + 1) / repeat; done++)
            trip[done] = round_trip_us(p);
    }
    pool_close(p);
    pool_join(p);
    pool_free(p);
    struct summary rt = summarize(trip, (size_t)trips);

    FILE *data = data_open(cli.data, "pool_bench: the cost of a pool task, and CPU-bound speed-up");
    static const char *const cols1[] = {
        "chunk (items): items per task", "us (us): median time per item", "p10 (us)", "p90 (us)", NULL,
    };
    data_block(data, "map: time per item vs chunk size", cols1);
    printf("Part 1: a pool of %ld workers, a task that returns its 8-byte argument (median of %ld)\n", workers,
           repeat);
    printf("  round trip, apply_async + get of one task: %.1f µs (p10 %.1f, p90 %.1f, %ld trips)\n", rt.median,
           rt.p10, rt.p90, trips);
    printf("  map over %ld items:\n  %8s %13s %12s %12s\n", items, "chunk", "µs/item", "p10", "p90");
    struct summary s1[NCHUNKS];
    for (int c = 0; c < NCHUNKS; c++) {
        s1[c] = summarize(&per_item[c * repeat], (size_t)repeat);
        printf("  %8d %12.3f %12.3f %12.3f\n", 1 << c, s1[c].median, s1[c].p10, s1[c].p90);
        data_row(data, "%d %.4f %.4f %.4f\n", 1 << c, s1[c].median, s1[c].p10, s1[c].p90);
    }
    static const char *const cols2[] = {
        "us (us): median round trip of one apply_async + get", "p10 (us)", "p90 (us)", NULL,
    };
    data_block(data, "round trip", cols2);
    data_row(data, "%.3f %.3f %.3f\n", rt.median, rt.p10, rt.p90);

    /* ---- part 2 ---- */
    uint64_t hashes = (uint64_t)work * 1000000;
    double *secs = malloc((size_t)(max_workers * repeat) * sizeof *secs);
    if (!secs)
        die("malloc");
    uint64_t expect = 0;
    for (long r = 0; r < repeat; r++)
        for (int w = 1; w <= max_workers; w = sweep_next(w, (int)cores, (int)max_workers)) {
            uint64_t sum;
            secs[(w - 1) * repeat + r] = run_job(w, hashes, tasks, &sum);
            if (r == 0 && w == 1)
                expect = sum;
            else if (sum != expect)
                fatal("%d workers computed %#llx, one worker %#llx", w, (unsigned long long)sum,
                      (unsigned long long)expect);
        }
    static const char *const cols3[] = {
        "workers (count): processes in the pool", "median_s (s): median time of the map", "p10_s (s)",
        "p90_s (s)", "speedup (x): median time with 1 worker / median time with W",
        "cores (count): the CPUs it may use (common.h, cpu_count)",
        NULL,
    };
    data_block(data, "CPU-bound job vs workers", cols3);
    printf("\nPart 2: %ld million hashes in %ld tasks, pools of 1..%ld workers, " CORES_FMT " (median of %ld)\n", work,
           tasks, max_workers, CORES_ARG(cores), repeat);
    printf("  %8s %10s %10s %10s %9s\n", "workers", "median s", "p10 s", "p90 s", "speed-up");
    double one = 0;
    for (int w = 1; w <= max_workers; w = sweep_next(w, (int)cores, (int)max_workers)) {
        struct summary s = summarize(&secs[(w - 1) * repeat], (size_t)repeat);
        if (w == 1)
            one = s.median;
        /* W workers on at most min(W, cores) cores cannot be more than that many times
         * faster than one: a ratio well above it says the one-worker runs were slowed,
         * by another program on this machine most likely */
        int most = w < cores ? w : (int)cores;
        printf("  %8d %10.3f %10.3f %10.3f %8.2fx%s\n", w, s.median, s.p10, s.p90, one / s.median,
               one / s.median > 1.25 * most ? "  (above what the cores allow: the one-worker runs were slowed)" : "");
        data_row(data, "%d %.4f %.4f %.4f %.3f %ld\n", w, s.median, s.p10, s.p90, one / s.median, cores);
    }
    printf("every total matched the one-worker total (%#llx)\n", (unsigned long long)expect);
    printf("\nunbatched: %.2f µs per task (map, chunk 1); batched: %.3f µs per item (chunk %d); round trip %.1f µs\n",
           s1[0].median, s1[NCHUNKS - 1].median, 1 << (NCHUNKS - 1), rt.median);
    data_close(data);
    free(in);
    free(out);
    free(per_item);
    free(trip);
    free(secs);
    return 0;
}

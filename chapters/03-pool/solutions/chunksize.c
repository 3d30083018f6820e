/* solutions/chunksize.c: exercise 3 of chapter 03 (pools), "predict before you run".
 *
 * The question: when Pool.map is given no chunksize, CPython picks one
 * (Lib/multiprocessing/pool.py, Pool._map_async: chunksize, extra = divmod(len(iterable),
 * len(self._pool) * 4), plus one if extra), so every worker gets about four chunks.
 * Why four, and not one big chunk per worker, nor one item per task?
 *
 * The answer: one item per task pays a message each way per item, which matters when
 * items are cheap. One chunk per worker pays almost nothing in messages, but the map
 * ends when the slowest chunk ends: if the expensive items sit together, one worker
 * gets them all and the others wait. Four chunks per worker is a compromise: few
 * messages, and when one chunk is slow, the others' workers take the remaining chunks.
 *
 * What it does: maps two jobs over a pool of P = cores workers (2 at least), with chunk
 * 1, CPython's default and n / P: a cheap even job (each item a few hundred hashes), and
 * an uneven one whose items cost more the further along they are (from nothing to twice
 * the average): with n / P the last worker gets the dearest slice. Round robin,
 * --repeat rounds, medians; every result is checked.
 *
 * Run:  solutions/chunksize [--items 4000] [--cost 20000] [--repeat 3]
 * Look for: chunk 1 slowest on the cheap job; n / P slowest on the uneven one; the
 * default close to the best on both.
 */
#include "../pool.h"

#include <stdlib.h>
#include <unistd.h>

enum { NCHUNKS = 3, NJOBS = 2 };

static long g_cost; /* hashes in a cheap item */

/* the even job: a hundredth of --cost per item; the uneven one: growing with the index
 * from 0 to twice --cost, --cost on average (as a prime test costs more for larger
 * numbers) */
static uint64_t item_cost(uint64_t i, uint64_t n, int uneven)
{
    return uneven ? 2 * (uint64_t)g_cost * i / n : (uint64_t)g_cost / 100;
}

struct item {
    uint64_t i, n;
    int uneven;
};

static uint64_t work(const struct item *it)
{
    uint64_t s = 0, c = item_cost(it->i, it->n, it->uneven);
    for (uint64_t k = 0; k < c; k++)
        s += mix64(it->i * 1000003 + k);
    return s;
}

static int run_item(const void *arg, size_t len, void *out, size_t cap, size_t *out_len)
{
    (void)len;
    (void)cap;
    uint64_t s = work(arg);
    *(uint64_t *)out = s;
    *out_len = sizeof s;
    return 0;
}

int main(int argc, char **argv)
{
    long items = 4000, cost = 20000, repeat = 3;
    const struct cli_opt opts[] = {
        { "items", CLI_INT, &items, "items per map", 64, 1000000, "800", NULL },
        { "cost", CLI_INT, &cost, "hashes per item of the uneven job, on average (the even one: a hundredth)", 100,
          10000000, "2000", NULL },
        { "repeat", CLI_INT, &repeat, "runs of each (the median is kept)", 1, 100, "1", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 3: Pool.map's default chunk size against one item per task and one chunk\n"
                          "per worker, on an even job and an uneven one.", opts, &cli);
    g_cost = cost;
    long cores = cpu_count();
    int workers = cores < 2 ? 2 : (int)cores;
    size_t n = (size_t)items;
    size_t def = n / (size_t)(workers * 4) + (n % (size_t)(workers * 4) != 0); /* CPython's */
    size_t chunk[NCHUNKS] = { 1, def, (n + (size_t)workers - 1) / (size_t)workers };
    static const char *const chunk_name[NCHUNKS] = { "1 item per task", "CPython's default", "n / workers" };
    static const char *const job_name[NJOBS] = { "even, cheap items", "uneven, dearer further on" };

    struct item *in = malloc(n * sizeof *in);
    uint64_t *out = malloc(n * sizeof *out), *want = malloc(NJOBS * n * sizeof *want);
    double *secs = malloc((size_t)(NJOBS * NCHUNKS * repeat) * sizeof *secs);
    if (!in || !out || !want || !secs)
        die("malloc");
    for (int j = 0; j < NJOBS; j++)
        for (size_t i = 0; i < n; i++)
            want[(size_t)j * n + i] = work(&(struct item){ i, n, j });
    struct pool *p = pool_new(workers, chunk[2] * sizeof *in + 256); /* room for the largest chunk */
    for (long r = 0; r < repeat; r++)
        for (int j = 0; j < NJOBS; j++)
            for (int c = 0; c < NCHUNKS; c++) {
                for (size_t i = 0; i < n; i++)
                    in[i] = (struct item){ i, n, j };
                int64_t t0 = now_ns();
                if (pool_map(p, run_item, in, sizeof *in, n, out, sizeof *out, chunk[c], NULL) != POOL_OK)
                    fatal("map failed");
                secs[(j * NCHUNKS + c) * repeat + r] = (double)(now_ns() - t0) / 1e6;
                for (size_t i = 0; i < n; i++)
                    if (out[i] != want[(size_t)j * n + i])
                        fatal("%s, chunk %zu: item %zu is wrong", job_name[j], chunk[c], i);
            }
    pool_close(p);
    pool_join(p);
    pool_free(p);
    printf("Pool.map over %zu items on %d workers; ms, median of %ld\n", n, workers, repeat);
    printf("  %-20s %8s %20s %27s\n", "chunk size", "items", job_name[0], job_name[1]);
    for (int c = 0; c < NCHUNKS; c++) {
        printf("  %-20s %8zu", chunk_name[c], chunk[c]);
        for (int j = 0; j < NJOBS; j++)
            printf(" %*.1f", j == 0 ? 20 : 27, summarize(&secs[(j * NCHUNKS + c) * repeat], (size_t)repeat).median);
        printf("\n");
    }
    printf("every result matched the one computed here\n");
    free(in);
    free(out);
    free(want);
    free(secs);
    return 0;
}

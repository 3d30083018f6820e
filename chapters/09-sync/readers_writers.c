/* readers_writers.c: a readers-preferring read-write lock starves its writer as the
 * readers get busier; a writer-preferring one does not.
 *
 * Mirrors: the lessons' "keep lock scopes small" taken one step further: if most
 * threads only read, let them in together. Python's threading has no read-write lock;
 * this one is built from sync.h's Lock and two Conditions, the way one would build it
 * in Python from threading.Lock and threading.Condition.
 *
 *   read_lock:   wait while a writer holds it (writer-preferring: or while one waits)
 *   write_lock:  wait while anybody holds it
 *   the last reader out wakes a writer; a writer leaving wakes a waiting writer first
 *   (writer-preferring) or every reader and a writer (readers-preferring)
 *
 * With readers-preferring, a reader may come in whenever no writer *holds* the lock,
 * even while a writer waits. Once several readers overlap, the count of readers may
 * never drop to 0 again, and the writer waits until the readers happen to leave a gap
 * (OSTEP, chapter 31, calls it starvation). Writer-preferring closes the door to new
 * readers as soon as a writer waits: it waits only for the readers already in.
 *
 * The measurement: R readers (1 to --max-readers) each loop on: hold a read lock for
 * --hold, then pause a seeded random time from 0 to 2 x --hold (so each reader holds
 * it about half the time, and R readers overlap more and more). One writer, every
 * 2 ms, asks for the write lock and records how long it waited, until the run of
 * --duration is over. A wait that the end of the run cuts short counts only in the
 * longest wait (it lasted at least that long); a writer that never got in waited the
 * whole run. The threads sleep while they hold the lock: this measures who gets in, not
 * the CPU, so the reader count need not follow the cores.
 *
 * Run:  ./readers_writers [--max-readers 8] [--hold 1ms] [--duration 250ms] [--data FILE]
 * Look for: the readers-preferring writer's wait growing with R, by orders of
 * magnitude, until it gets in only a few times in a whole run (or never); the
 * writer-preferring one waiting about one --hold whatever R, for a price in reads.
 * See also: cond.c, semaphore_demo.c.
 */
#include "sync.h"

#include <pthread.h>
#include <stdlib.h>

enum pref { READERS, WRITERS, NPREFS };
static const char *const pref_name[NPREFS] = { "readers-preferring", "writer-preferring" };

struct rwlock {
    struct fmutex m;
    struct cond ok_read, ok_write;
    int readers, writers_waiting; /* guarded by m */
    bool writer, prefer_writers;
};

static void rw_init(struct rwlock *l, bool prefer_writers)
{
    fmutex_init(&l->m, 0);
    cond_init(&l->ok_read, &l->m);
    cond_init(&l->ok_write, &l->m);
    l->readers = l->writers_waiting = 0;
    l->writer = false;
    l->prefer_writers = prefer_writers;
}

static void read_lock(struct rwlock *l)
{
    fmutex_lock(&l->m);
    while (l->writer || (l->prefer_writers && l->writers_waiting > 0))
        cond_wait(&l->ok_read, -1);
    l->readers++;
    fmutex_unlock(&l->m);
}

static void read_unlock(struct rwlock *l)
{
    fmutex_lock(&l->m);
    if (--l->readers == 0)
        cond_notify(&l->ok_write, 1);
    fmutex_unlock(&l->m);
}

static int write_lock_until(struct rwlock *l, int64_t deadline)
{
    int rc = SYNC_OK;
    fmutex_lock(&l->m);
    l->writers_waiting++;
    while ((l->writer || l->readers > 0) && rc == SYNC_OK)
        if (cond_wait_until(&l->ok_write, deadline) == SYNC_TIMEOUT && (l->writer || l->readers > 0))
            rc = SYNC_TIMEOUT;
    l->writers_waiting--;
    if (rc == SYNC_OK)
        l->writer = true;
    else if (l->prefer_writers && l->writers_waiting == 0)
        cond_notify_all(&l->ok_read); /* the door we kept shut for readers opens again */
    fmutex_unlock(&l->m);
    return rc;
}

static void write_unlock(struct rwlock *l)
{
    fmutex_lock(&l->m);
    l->writer = false;
    if (l->prefer_writers && l->writers_waiting > 0) {
        cond_notify(&l->ok_write, 1);
    } else {
        cond_notify_all(&l->ok_read);
        cond_notify(&l->ok_write, 1);
    }
    fmutex_unlock(&l->m);
}

static struct {
    struct rwlock l;
    int64_t hold, end;
    atomic_bool stop;
    _Atomic long reads;
} g;

static void *reader(void *arg)
{
    uint64_t seed = (uint64_t)(intptr_t)arg;
    while (!atomic_load(&g.stop)) {
        read_lock(&g.l);
        sleep_ns(g.hold);
        read_unlock(&g.l);
        atomic_fetch_add(&g.reads, 1);
        sleep_ns((int64_t)(random_unit(&seed) * 2.0 * (double)g.hold));
    }
    return NULL;
}

struct point {
    struct summary wait; /* the writer's waits that ended with the lock, ms */
    double longest;      /* ms: also counting a wait the end of the run cut short */
    long writes;
    double reads_per_s;
};

static struct point run(enum pref p, int readers, int64_t duration)
{
    rw_init(&g.l, p == WRITERS);
    atomic_store(&g.stop, false);
    atomic_store(&g.reads, 0);
    int64_t t0 = now_ns();
    g.end = t0 + duration;
    pthread_t t[64];
    for (int i = 0; i < readers; i++)
        CHECK_PT(pthread_create(&t[i], NULL, reader, (void *)(intptr_t)(i + 1)));
    double waits[4096], cut_short = 0;
    size_t n = 0;
    struct point pt = { .writes = 0 };
    while (now_ns() < g.end && n < ARRAY_LEN(waits)) {
        sleep_ns(2 * NS_PER_MS);
        int64_t asked = now_ns();
        int rc = write_lock_until(&g.l, g.end);
        double waited = (double)(now_ns() - asked) / 1e6;
        if (rc != SYNC_OK) { /* the run ended first: the wait was at least this long */
            cut_short = waited;
            break;
        }
        waits[n++] = waited;
        pt.writes++;
        write_unlock(&g.l);
    }
    atomic_store(&g.stop, true);
    for (int i = 0; i < readers; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    if (n > 0)
        pt.wait = summarize(waits, n);
    else /* never got in: all we know is that it waited the whole run */
        pt.wait = (struct summary){ .n = 0, .median = cut_short, .p90 = cut_short, .max = cut_short };
    pt.longest = pt.wait.max > cut_short ? pt.wait.max : cut_short;
    pt.reads_per_s = (double)atomic_load(&g.reads) / ((double)(now_ns() - t0) / 1e9);
    return pt;
}

int main(int argc, char **argv)
{
    long max_readers = 8;
    int64_t hold = NS_PER_MS, duration = 250 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "max-readers", CLI_INT, &max_readers, "readers: 1 up to this", 1, 64, "4", NULL },
        { "hold", CLI_DURATION, &hold, "how long a reader holds the lock", 10 * NS_PER_US, NS_PER_S, "500µs", NULL },
        { "duration", CLI_DURATION, &duration, "length of one run", 10 * NS_PER_MS, 60 * NS_PER_S, "25ms", NULL },
        { 0 },
    };
    struct cli cli = { .measures = true };
    cli_parse(argc, argv, "The writer's wait on a readers-preferring and a writer-preferring\n"
                          "read-write lock, against the number of busy readers.", opts, &cli);
    tight_timer_slack();
    g.hold = hold;
    char title[128];
    snprintf(title, sizeof title, "readers_writers: the writer's wait against the readers' load (reads of %.1f ms, "
             "runs of %.0f ms)", (double)hold / 1e6, (double)duration / 1e6);
    FILE *data = data_open(cli.data, title);
    static const char *const cols[] = {
        "readers (count): reader threads, each holding the read lock about half the time",
        "wait (ms): the writer's wait for the write lock, median (the whole run if it never got in)",
        "wait_p90 (ms)", "wait_max (ms): the longest, counting a wait the end of the run cut short",
        "writes (count): write locks the writer got in the run",
        "reads (1/s): read locks per second, all readers", NULL,
    };
    printf("the writer's wait for the write lock (ms), while R readers each hold the read lock\n"
           "%.1f ms at a time, about half the time; runs of %.0f ms\n", (double)hold / 1e6,
           (double)duration / 1e6);
    printf("  %-19s %3s %10s %10s %10s %7s %10s\n", "lock", "R", "median", "p90", "max", "writes", "reads/s");
    for (int p = 0; p < NPREFS; p++) {
        data_block(data, pref_name[p], cols);
        for (int r = 1; r <= max_readers; r++) {
            struct point pt = run((enum pref)p, r, duration);
            printf("  %-19s %3d %10.2f %10.2f %10.2f %7ld %10.0f%s\n", pref_name[p], r, pt.wait.median,
                   pt.wait.p90, pt.longest, pt.writes, pt.reads_per_s,
                   pt.writes == 0 ? "  (never got in: waited the whole run)" : "");
            data_row(data, "%d %.3f %.3f %.3f %ld %.0f\n", r, pt.wait.median, pt.wait.p90, pt.longest,
                     pt.writes, pt.reads_per_s);
        }
    }
    data_close(data);
    return 0;
}

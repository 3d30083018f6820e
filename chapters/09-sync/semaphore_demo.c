/* semaphore_demo.c: a Semaphore(3) guarding a resource that 10 threads want, drawn
 * as a timeline; then what a release too many does to a Semaphore and to a
 * BoundedSemaphore.
 *
 * Mirrors: the lesson's advice to reach for a Semaphore to limit how many threads use
 * something at once (a pool of connections, a rate limit):
 *     sem = threading.Semaphore(3)
 *     def worker():
 *         with sem:
 *             use_the_resource()
 * with semaphore.c's semaphore_acquire / semaphore_release around the use.
 *
 * Part 1: --threads threads (10) each take the semaphore, hold it for a seeded random
 * time between --hold and twice --hold, and let go. The timeline has a row per thread
 * and a column per slice of time: '#' holding, '.' waiting for it, ' ' not yet
 * started or done. A counter of the threads inside (an atomic, bumped inside the
 * semaphore) records the most seen at once. The order in which waiters get in is left
 * to the scheduler (and to cond.c, which wakes the longest waiter first).
 *
 * Part 2: one release too many. A Semaphore(3) takes it silently and from then on
 * lets 4 threads in; a BoundedSemaphore(3) refuses it (Python: ValueError).
 *
 * Run:  ./semaphore_demo [--threads 10] [--value 3] [--hold 60ms]
 * Look for: never more than 3 '#' in a column, and "at most 3 at once"; the waiters
 * ('.') getting in as others leave; the plain semaphore letting a fourth thread in
 * after the extra release.
 * See also: semaphore.c, condition_buffer.c (semaphores counting slots and items).
 */
#include "sync.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { COLUMNS = 60 };

static struct {
    struct semaphore sem;
    int64_t hold;
    _Atomic int inside, most;
} g;

struct user {
    pthread_t id;
    int n;
    uint64_t seed;
    int64_t start, in, out; /* when it asked, got in, left */
};

static void *user(void *arg)
{
    struct user *u = arg;
    char name[16];
    snprintf(name, sizeof name, "user-%d", u->n);
    trace_name(name);
    u->start = now_ns();
    if (semaphore_acquire(&g.sem, 30 * NS_PER_S) != SYNC_OK)
        fatal("%s: no way in after 30 s", name);
    u->in = now_ns();
    int inside = atomic_fetch_add(&g.inside, 1) + 1;
    int most = atomic_load(&g.most);
    while (inside > most && !atomic_compare_exchange_weak(&g.most, &most, inside))
        ;
    trace("in  (%d inside)", inside);
    sleep_ns(g.hold + (int64_t)(random_unit(&u->seed) * (double)g.hold));
    atomic_fetch_sub(&g.inside, 1);
    u->out = now_ns();
    trace("out");
    if (semaphore_release(&g.sem, 1) != SYNC_OK)
        fatal("%s: release refused", name);
    return NULL;
}

static void timeline(struct user *u, int n, int64_t t0, int64_t t1)
{
    double slice = (double)(t1 - t0) / COLUMNS;
    printf("\ntimeline, one column per %.1f ms ('#' holding the semaphore, '.' waiting for it):\n",
           slice / 1e6);
    for (int i = 0; i < n; i++) {
        char row[COLUMNS + 1];
        for (int c = 0; c < COLUMNS; c++) {
            int64_t mid = t0 + (int64_t)((c + 0.5) * slice);
            row[c] = mid >= u[i].in && mid < u[i].out ? '#' : mid >= u[i].start && mid < u[i].in ? '.' : ' ';
        }
        row[COLUMNS] = '\0';
        printf("  user-%-2d |%s|\n", u[i].n, row);
    }
    printf("  inside  |");
    for (int c = 0; c < COLUMNS; c++) { /* how many held it in the middle of each column */
        int64_t mid = t0 + (int64_t)((c + 0.5) * slice);
        int k = 0;
        for (int i = 0; i < n; i++)
            k += mid >= u[i].in && mid < u[i].out;
        putchar('0' + k);
    }
    printf("|\n");
}

/* how many of `tries` non-blocking acquires get in; then gives them all back */
static int how_many_get_in(struct semaphore *s, int tries)
{
    int in = 0;
    while (in < tries && semaphore_acquire(s, 0) == SYNC_OK)
        in++;
    if (in > 0 && semaphore_release(s, in) != SYNC_OK)
        fatal("release refused");
    return in;
}

static void one_release_too_many(const char *what, struct semaphore *s, long value)
{
    trace("%s(%ld): %d of %ld+1 non-blocking acquires get in", what, value,
          how_many_get_in(s, (int)value + 1), value);
    int rc = semaphore_release(s, 1);
    trace("%s(%ld): one release more than acquired: %s (Python: %s)", what, value, sync_status_name(rc),
          rc == SYNC_OK ? "accepted silently" : "ValueError: Semaphore released too many times");
    trace("%s(%ld): now %d of %ld+1 non-blocking acquires get in", what, value,
          how_many_get_in(s, (int)value + 1), value);
}

int main(int argc, char **argv)
{
    long threads = 10, value = 3;
    int64_t hold = 60 * NS_PER_MS;
    const struct cli_opt opts[] = {
        { "threads", CLI_INT, &threads, "threads that want the resource", 1, 64, NULL, NULL },
        { "value", CLI_INT, &value, "the semaphore's value: how many at once", 1, 9, NULL, NULL },
        { "hold", CLI_DURATION, &hold, "shortest hold (each holds hold..2*hold)", NS_PER_MS, 10 * NS_PER_S, "4ms", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "A Semaphore(3) shared by 10 threads, as a timeline; then one release too\n"
                          "many on a Semaphore and on a BoundedSemaphore.", opts, &cli);
    trace_name("main");
    g.hold = hold;
    if (semaphore_init(&g.sem, value) != SYNC_OK)
        fatal("semaphore_init");
    trace("part 1: Semaphore(%ld), %ld threads, each holding it %.0f to %.0f ms", value, threads,
          (double)hold / 1e6, 2.0 * (double)hold / 1e6);
    struct user *u = calloc((size_t)threads, sizeof *u);
    if (!u)
        die("calloc");
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        u[i] = (struct user){ .n = i, .seed = (uint64_t)i + 1 };
        CHECK_PT(pthread_create(&u[i].id, NULL, user, &u[i]));
    }
    for (int i = 0; i < threads; i++)
        CHECK_PT(pthread_join(u[i].id, NULL));
    timeline(u, (int)threads, t0, now_ns());
    printf("\n");
    trace("at most %d at once (the semaphore's value is %ld); its value is back to %ld", atomic_load(&g.most),
          value, semaphore_value(&g.sem));
    free(u);

    trace("part 2: one release too many");
    struct semaphore plain, bounded;
    if (semaphore_init(&plain, value) != SYNC_OK || bounded_semaphore_init(&bounded, value) != SYNC_OK)
        fatal("semaphore_init");
    one_release_too_many("Semaphore", &plain, value);
    one_release_too_many("BoundedSemaphore", &bounded, value);
    return 0;
}

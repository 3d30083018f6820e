/* queue_join.c: a producer and worker threads on queue.Queue, with task_done() and
 * join(): join waits until every job has been *done*, not merely taken.
 *
 * Mirrors: lesson 001's Queue.task_done() and Queue.join(), in the pattern of the
 * queue module's documentation:
 *     def worker():
 *         while (item := q.get()) is not None:
 *             do_work(item)
 *             q.task_done()
 *         q.task_done()                # for the None that stopped it
 *     for job in jobs: q.put(job)
 *     q.join()                         # every job done
 *     for _ in workers: q.put(None)    # stop them (or, from Python 3.13, q.shutdown())
 * with tqueue.c underneath: one lock, and Conditions not_empty, not_full and
 * all_tasks_done on it.
 *
 * Main puts --jobs jobs, each a seeded random pause of --work to 2 x --work, for
 * --workers workers. It notes when the last job was taken off the queue and when the
 * last task_done came, and join() returns only after the second. A join with a
 * timeout (ours has one; Python's has not) gives up while jobs are still running.
 * Then the workers are stopped: with one None per worker (--stop sentinel), or with
 * shutdown() (--stop shutdown), which makes every get fail with SHUT_DOWN once the
 * queue is empty. Last, one task_done too many is refused.
 *
 * Run:  ./queue_join [--jobs 10] [--workers 3] [--work 40ms] [--stop sentinel|shutdown]
 * Look for: the queue empty (qsize 0) while jobs are still being worked on; join()
 * returning right after the last "done", not after the last "took"; SYNC_TOO_MANY.
 * See also: tqueue.c, ../02-queue (the same queue between processes, without join).
 */
#include "tqueue.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    int id;
    int64_t pause;
};

static struct {
    struct tqueue q;
    _Atomic int64_t last_get, last_done; /* now_ns() of the last get of a job, task_done */
} g;

static void *worker(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
    trace_name(name);
    for (;;) {
        void *item;
        int rc = tqueue_get(&g.q, &item, -1);
        if (rc == SYNC_SHUT_DOWN) {
            trace("get(): SYNC_SHUT_DOWN (Python: queue.ShutDown): stopping");
            return NULL;
        }
        if (rc != SYNC_OK)
            fatal("get: %s", sync_status_name(rc));
        if (item == NULL) { /* the sentinel: a task too, so join counts it */
            trace("got None: stopping");
            tqueue_task_done(&g.q);
            return NULL;
        }
        struct job *j = item;
        atomic_store(&g.last_get, now_ns());
        trace("took job %d (%ld left in the queue)", j->id, tqueue_qsize(&g.q));
        sleep_ns(j->pause);
        trace("done job %d", j->id);
        atomic_store(&g.last_done, now_ns());
        if (tqueue_task_done(&g.q) != SYNC_OK)
            fatal("task_done refused");
    }
}

int main(int argc, char **argv)
{
    long jobs = 10, workers = 3;
    int64_t work = 40 * NS_PER_MS;
    int stop = 0;
    const struct cli_opt opts[] = {
        { "jobs", CLI_INT, &jobs, "jobs to put", 1, 10000, "6", NULL },
        { "workers", CLI_INT, &workers, "worker threads", 1, 64, NULL, NULL },
        { "work", CLI_DURATION, &work, "shortest job (each takes work..2*work)", 0, 10 * NS_PER_S, "4ms", NULL },
        { "stop", CLI_CHOICE, &stop, "how the workers are stopped", 0, 0, NULL, "sentinel|shutdown" },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Worker threads on a queue.Queue with task_done() and join(); stopped by\n"
                          "sentinels or by shutdown().", opts, &cli);
    trace_name("main");
    tqueue_init(&g.q, 0);
    struct job *j = calloc((size_t)jobs, sizeof *j);
    pthread_t *t = calloc((size_t)workers, sizeof *t);
    if (!j || !t)
        die("calloc");
    trace_start(); /* the trace's clock and t0 start together */
    int64_t t0 = now_ns();
    for (long i = 0; i < workers; i++)
        CHECK_PT(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i));
    uint64_t seed = 1;
    for (int i = 0; i < jobs; i++) {
        j[i] = (struct job){ i, work + (int64_t)(random_unit(&seed) * (double)work) };
        if (tqueue_put(&g.q, &j[i], -1) != SYNC_OK)
            fatal("put");
    }
    trace("put %ld jobs; unfinished tasks: %ld", jobs, tqueue_unfinished(&g.q));
    int rc = tqueue_join(&g.q, work / 2);
    trace("join(timeout=%.3f s): %s, unfinished %ld", (double)(work / 2) / 1e9, sync_status_name(rc),
          tqueue_unfinished(&g.q));
    rc = tqueue_join(&g.q, -1);
    int64_t joined = now_ns();
    trace("join(): %s; the last job was taken at %.3f s, the last was done at %.3f s", sync_status_name(rc),
          (double)(atomic_load(&g.last_get) - t0) / 1e9, (double)(atomic_load(&g.last_done) - t0) / 1e9);
    trace("join() returned %.3f s after the queue ran empty, %.3f ms after the last task_done",
          (double)(joined - atomic_load(&g.last_get)) / 1e9, (double)(joined - atomic_load(&g.last_done)) / 1e6);

    if (stop == 0) {
        trace("put None x %ld", workers);
        for (long i = 0; i < workers; i++)
            if (tqueue_put(&g.q, NULL, -1) != SYNC_OK)
                fatal("put");
        rc = tqueue_join(&g.q, 10 * NS_PER_S);
        trace("join(): %s (the Nones were tasks too)", sync_status_name(rc));
    } else {
        trace("shutdown()");
        tqueue_shutdown(&g.q, false);
        trace("put() after shutdown: %s", sync_status_name(tqueue_put(&g.q, &j[0], 0)));
    }
    for (long i = 0; i < workers; i++)
        CHECK_PT(pthread_join(t[i], NULL));
    rc = tqueue_task_done(&g.q);
    trace("one task_done() too many: %s (Python: %s)", sync_status_name(rc),
          rc == SYNC_TOO_MANY ? "ValueError: task_done() called too many times" : "?");
    tqueue_destroy(&g.q);
    free(t);
    free(j);
    return 0;
}

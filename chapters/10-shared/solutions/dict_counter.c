/* solutions/dict_counter.c: exercise 2 of chapter 10 (manager), "predict before you run".
 *
 * The question: two processes each run d["n"] = d["n"] + 1 five hundred times on a
 * Manager().dict(). The manager serves each request under its one lock. What
 * total do you expect: 1000, or less?
 *
 * The answer: less, often much less. Each call is atomic in the server, but the
 * statement is two calls, a get and a set, two round trips: between them the other
 * process can do its own get and set, and one of the two additions is lost. The
 * manager made each method safe, not the sequence (CPython's DictProxy is the same:
 * d[k] += 1 is a __getitem__ then a __setitem__, Lib/multiprocessing/managers.py).
 * The fix is a lock around the pair. Python would use m.Lock(); this manager has no
 * lock, so one is made from its queue: a queue holding one token is a lock (get the
 * token to acquire, put it back to release), and a process that waits for the token
 * sleeps in the server.
 *
 * Run:  solutions/dict_counter [--increments 500]
 * Look for: the total without the lock below 1000 (unless the two processes happened
 * not to overlap: run it again), and exactly 1000 with it.
 */
#include "manager.h"

#include <string.h>
#include <unistd.h>

static int increment(const struct mgr_proxy *d, const struct mgr_proxy *lock, long n)
{
    for (long i = 0; i < n; i++) {
        char token;
        size_t len;
        long v;
        if (lock && mgr_get(lock, &token, 1, &len, 10 * NS_PER_S) != MGR_OK) /* acquire */
            return 1;
        if (mgr_dict_get(d, "n", &v, sizeof v, &len) != MGR_OK)
            return 2;
        v = v + 1;
        if (mgr_dict_set(d, "n", &v, sizeof v) != MGR_OK)
            return 3;
        if (lock && mgr_put(lock, "t", 1, 10 * NS_PER_S) != MGR_OK) /* release */
            return 4;
    }
    return 0;
}

static long run(struct manager *m, bool locked, long n)
{
    struct mgr_proxy d = manager_proxy(m, MGR_DICT), q = manager_proxy(m, MGR_QUEUE);
    long zero = 0;
    if (mgr_dict_set(&d, "n", &zero, sizeof zero) != MGR_OK || (locked && mgr_put(&q, "t", 1, NS_PER_S) != MGR_OK))
        fatal("%s", mgr_last_error());
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork_child();
        if (pids[p] == 0)
            _exit(increment(&d, locked ? &q : NULL, n));
    }
    for (int p = 0; p < 2; p++) {
        int status;
        child_wait(pids[p], -1, &status);
        if (exitcode_of(status) != 0)
            fatal("an incrementing process failed (exit code %d)", exitcode_of(status));
    }
    long v;
    size_t len;
    char token;
    if (mgr_dict_get(&d, "n", &v, sizeof v, &len) != MGR_OK || (locked && mgr_get(&q, &token, 1, &len, 0) != MGR_OK))
        fatal("%s", mgr_last_error());
    return v;
}

int main(int argc, char **argv)
{
    long n = 500;
    const struct cli_opt opts[] = {
        { "increments", CLI_INT, &n, "increments per process", 1, 1000000, "200", NULL },
        { 0 },
    };
    struct cli cli = { 0 };
    cli_parse(argc, argv, "Exercise 2: d[\"n\"] += 1 from two processes through a manager, without and with a lock.",
              opts, &cli);
    struct manager *m = manager_start(0);
    long plain = run(m, false, n), locked = run(m, true, n);
    printf("two processes, %ld increments each, expected %ld\n", n, 2 * n);
    printf("%-40s %ld (%ld lost)\n", "d[\"n\"] = d[\"n\"] + 1:", plain, 2 * n - plain);
    printf("%-40s %ld\n", "the same inside a lock (a queue token):", locked);
    manager_shutdown(m);
    return locked == 2 * n ? 0 : 1;
}

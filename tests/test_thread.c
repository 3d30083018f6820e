/* test_thread.c: the tests of chapters/04-thread: the thread module (registry,
 * enumerate, current thread, names, join at shutdown, the start line), and the race
 * programs' totals (race at most the expected total, race_fixed exact). */
#include "../chapters/04-thread/thread.h"
#include "testutil.h"

#include <errno.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

/* ---- the registry ---- */

static void test_main_thread_only(void **state)
{
    (void)state;
    struct thread_info list[4];
    assert_int_equal(thread_enumerate(list, 4), 1);
    assert_string_equal(list[0].name, "MainThread");
    assert_int_equal(list[0].tid, getpid());
    assert_string_equal(thread_current()->name, "MainThread");
    assert_int_equal(thread_active_count(), 1);
}

/* a target that records who it thinks it is, then waits for the test to let it go */
struct held {
    sem_t go;
    struct thread *current;
    char comm[32];
};

static void wait_for_go(void *arg)
{
    struct held *h = arg;
    h->current = thread_current();
    FILE *f = fopen("/proc/thread-self/comm", "r");
    if (f) {
        if (!fgets(h->comm, sizeof h->comm, f))
            h->comm[0] = '\0';
        h->comm[strcspn(h->comm, "\n")] = '\0';
        fclose(f);
    }
    while (sem_wait(&h->go) == -1 && errno == EINTR)
        ;
}

/* the kernel's name for thread tid of this process */
static void comm_of(pid_t tid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, (int)len, f));
    buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static void test_enumerate_live_threads(void **state)
{
    (void)state;
    static const char *const names[3] = { "alpha", "beta", "a_much_longer_thread_name" };
    struct held h[3];
    struct thread t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sem_init(&h[i].go, 0, 0), 0);
        t[i] = (struct thread){ .name = names[i], .target = wait_for_go, .arg = &h[i] };
        thread_start(&t[i]);
        assert_true(t[i].tid > 0);
        assert_true(thread_is_alive(&t[i]));
    }
    struct thread_info list[8];
    assert_int_equal(thread_enumerate(list, 8), 4);
    assert_string_equal(list[0].name, "MainThread");
    for (int i = 0; i < 3; i++) {
        char comm[32];
        assert_int_equal(list[i + 1].tid, t[i].tid); /* in the order started */
        comm_of(t[i].tid, comm, sizeof comm);
        assert_int_equal(strncmp(comm, names[i], 15), 0); /* the kernel keeps 15 */
        assert_int_equal(strlen(comm), strlen(names[i]) < 15 ? strlen(names[i]) : 15);
    }
    assert_int_equal(thread_enumerate(list, 2), 4); /* the count, even when cut short */

    assert_int_equal(sem_post(&h[1].go), 0); /* beta ends first */
    thread_join(&t[1]);
    assert_false(thread_is_alive(&t[1]));
    assert_int_equal(thread_enumerate(list, 8), 3);
    assert_int_equal(list[1].tid, t[0].tid);
    assert_int_equal(list[2].tid, t[2].tid);
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(sem_post(&h[i].go), 0);
        thread_join(&t[i]);
    }
    assert_int_equal(thread_active_count(), 1);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(h[i].current, &t[i]); /* current_thread() inside the target */
        assert_string_equal(h[i].current->name, names[i]);
        assert_int_equal(strncmp(h[i].comm, names[i], 15), 0);
        sem_destroy(&h[i].go);
    }
}

/* a finished target leaves enumerate() before anyone joins it */
static void quick(void *arg)
{
    atomic_store((atomic_int *)arg, 1);
}

static void test_finished_leaves_enumerate(void **state)
{
    (void)state;
    atomic_int done = 0;
    struct thread t = { .name = "quick", .target = quick, .arg = &done };
    thread_start(&t);
    int64_t deadline = now_ns() + SECONDS(5);
    while (thread_is_alive(&t) && now_ns() < deadline)
        sleep_ns(NS_PER_MS);
    assert_false(thread_is_alive(&t));
    assert_int_equal(atomic_load(&done), 1);
    assert_int_equal(thread_active_count(), 1);
    thread_join(&t);
}

/* ---- thread_shutdown: Python's join of the non-daemon threads ---- */

struct slow {
    int64_t pause;
    atomic_int done;
};

static void slow_target(void *arg)
{
    struct slow *s = arg;
    sleep_ns(s->pause);
    atomic_store(&s->done, 1);
}

static void test_shutdown_joins_non_daemons(void **state)
{
    (void)state;
    struct slow worker = { .pause = 50 * NS_PER_MS };
    struct held daemon_state;
    assert_int_equal(sem_init(&daemon_state.go, 0, 0), 0);
    struct thread w = { .name = "worker", .target = slow_target, .arg = &worker };
    struct thread d = { .name = "daemon", .target = wait_for_go, .arg = &daemon_state, .daemon = true };
    thread_start(&w);
    thread_start(&d);
    thread_shutdown();
    assert_int_equal(atomic_load(&worker.done), 1); /* waited for the worker */
    assert_true(w.joined);
    assert_true(thread_is_alive(&d)); /* and not for the daemon */
    assert_false(d.joined);
    assert_int_equal(thread_active_count(), 2);

    assert_int_equal(sem_post(&daemon_state.go), 0);
    int64_t deadline = now_ns() + SECONDS(5);
    while (thread_is_alive(&d) && now_ns() < deadline)
        sleep_ns(NS_PER_MS);
    thread_shutdown(); /* a finished daemon is joined too */
    assert_true(d.joined);
    assert_int_equal(thread_active_count(), 1);
    sem_destroy(&daemon_state.go);
}

/* ---- the start line ---- */

enum { RUNNERS = 4 };
static struct start_line g_line;
static atomic_int g_arrived;

static void runner(void *arg)
{
    atomic_fetch_add(&g_arrived, 1);
    start_line_wait(&g_line);
    /* nobody leaves before everybody has arrived */
    atomic_store((atomic_int *)arg, atomic_load(&g_arrived));
}

static void test_start_line(void **state)
{
    (void)state;
    struct thread t[RUNNERS];
    atomic_int seen[RUNNERS];
    atomic_store(&g_arrived, 0);
    start_line_init(&g_line, RUNNERS);
    for (int i = 0; i < RUNNERS; i++) {
        atomic_init(&seen[i], 0);
        t[i] = (struct thread){ .name = "runner", .target = runner, .arg = &seen[i] };
        thread_start(&t[i]);
    }
    for (int i = 0; i < RUNNERS; i++)
        thread_join(&t[i]);
    for (int i = 0; i < RUNNERS; i++)
        assert_int_equal(atomic_load(&seen[i]), RUNNERS);
}

/* ---- the race programs ---- */

/* build/.../tests/test_thread -> build/.../chapters/04-thread/<prog> */
static void program_path(const char *prog, char *buf, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* .../tests */
    *strrchr(exe, '/') = '\0'; /* the build's top */
    snprintf(buf, len, "%s/chapters/04-thread/%s", exe, prog);
    if (access(buf, X_OK) != 0)
        fail_msg("%s is not built (make -C chapters/04-thread)", buf);
}

static void test_race_at_most_expected(void **state)
{
    (void)state;
    char path[4200];
    program_path("race", path, sizeof path);
    char *argv[] = { path, "--quick", "--rounds", "4", NULL };
    struct captured c;
    capture_exec(argv, SECONDS(60), &c);
    /* 66: a ThreadSanitizer build reporting the race, as it should */
    int code = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
    if (code != 0 && code != 66)
        fail_msg("race exited %d:\n%s\n%s", code, c.out, c.err);
    int rounds = 0;
    for (char *line = strtok(c.out, "\n"); line; line = strtok(NULL, "\n")) {
        long r, expected, got, lost;
        double pct;
        if (sscanf(line, " %ld %ld %ld %ld %lf%%", &r, &expected, &got, &lost, &pct) != 5)
            continue;
        rounds++;
        assert_int_equal(expected, 200000);
        assert_true(got <= expected); /* a lost update can only lose */
        assert_true(got >= 2);
        assert_int_equal(lost, expected - got);
    }
    assert_int_equal(rounds, 4);
}

static void test_race_fixed_exact(void **state)
{
    (void)state;
    char path[4200];
    program_path("race_fixed", path, sizeof path);
    char *argv[] = { path, "--threads", "3", "--iterations", "50000", NULL };
    struct captured c;
    capture_exec(argv, SECONDS(60), &c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
        fail_msg("race_fixed failed:\n%s\n%s", c.out, c.err);
    int methods = 0;
    for (char *p = strstr(c.out, "expected "); p; p = strstr(p + 1, "expected ")) {
        long expected, got;
        assert_int_equal(sscanf(p, "expected %ld, got %ld", &expected, &got), 2);
        assert_int_equal(expected, 150000);
        assert_int_equal(got, expected);
        methods++;
    }
    assert_int_equal(methods, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_thread_only),
        cmocka_unit_test(test_enumerate_live_threads),
        cmocka_unit_test(test_finished_leaves_enumerate),
        cmocka_unit_test(test_shutdown_joins_non_daemons),
        cmocka_unit_test(test_start_line),
        cmocka_unit_test(test_race_at_most_expected),
        cmocka_unit_test(test_race_fixed_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

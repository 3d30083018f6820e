/* test_launch.c: the tests of chapters/13-cluster/launch.c, and of the chapter's MPI
 * programs where the smoke runs cannot reach.
 *
 * launch_run on plain shell commands (no MPI needed): a command that ends by itself; a
 * tree of processes past its deadline, all killed and reaped, in the time given; an
 * orphan left behind by a command that ended, killed; SIGTERM to the launcher, which
 * dies of it and takes the tree along; a launcher started with SIGCHLD ignored; MPICH's
 * shared memory file left by a killed job removed, one still held kept. Then, when MPICH and the chapter's programs are
 * there (else skipped), programs started by mpiexec itself, as on a cluster: a bad
 * option rejected by rank 0 alone, exit 2, no rank left waiting; --help printed once;
 * mpi_map's totals under `mpiexec -n 3`, and with a hostfile naming localhost (the
 * README's cluster command on one machine); mpi_fault's hung job ended by its deadline,
 * within its bound. After every test no process carrying the test's mark is left.
 */
#include "../chapters/13-cluster/launch.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x) * NS_PER_MS)

static char g_mark[64];

/* a mark in the environment, inherited by every process a test starts */
static int set_mark(void **state)
{
    (void)state;
    static int n;
    snprintf(g_mark, sizeof g_mark, "%d-%d", (int)getpid(), ++n);
    CHECK_SYS(setenv("WB_TEST_LAUNCH", g_mark, 1));
    return 0;
}

/* processes that carry this test's mark, other than us */
static int marked(void)
{
    char want[96];
    snprintf(want, sizeof want, "WB_TEST_LAUNCH=%s", g_mark);
    DIR *d = opendir("/proc");
    if (!d)
        die("opendir /proc");
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
            continue;
        char path[300], env[1 << 15];
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(env + i) + 1)
            n += strcmp(env + i, want) == 0;
    }
    closedir(d);
    return n;
}

static int none_left(void **state)
{
    (void)state;
    int n = 0;
    for (int i = 0; i < 100 && (n = marked()) > 0; i++) /* zombies take a moment to go */
        sleep_ns(MS(10));
    if (n > 0)
        fail_msg("%d process(es) with this test's mark are still running", n);
    return 0;
}

/* ---- launch_run, on shell commands ---- */

static void test_ends_by_itself(void **state)
{
    (void)state;
    char *argv[] = { "sh", "-c", "echo one; sleep 0.05 & wait; echo two; exit 3", NULL };
    struct launch_end end;
    launch_run(argv, 5 * NS_PER_S, true, &end);
    assert_false(end.timed_out);
    assert_true(WIFEXITED(end.status));
    assert_int_equal(WEXITSTATUS(end.status), 3);
    assert_int_equal(end.killed, 0);
    assert_string_equal(end.out, "one\ntwo\n");
    free(end.out);
}

static void test_deadline_kills_the_tree(void **state)
{
    (void)state;
    char *argv[] = { "sh", "-c", "sleep 30 & sleep 30 & wait", NULL };
    struct launch_end end;
    int64_t t = now_ns();
    launch_run(argv, MS(300), false, &end);
    int64_t took = now_ns() - t;
    assert_true(end.timed_out);
    assert_true(end.wall_ns >= MS(300));
    assert_true(took < MS(300) + 3 * NS_PER_S); /* killed and reaped promptly */
    assert_int_equal(end.killed, 3);             /* sh and its two sleeps */
    assert_int_equal(marked(), 0);
}

static void test_orphan_is_killed(void **state)
{
    (void)state;
    /* sh leaves at once; the sleep it started is orphaned, and comes to us */
    char *argv[] = { "sh", "-c", "(sleep 30 &); exit 0", NULL };
    struct launch_end end;
    launch_run(argv, 10 * NS_PER_S, false, &end);
    assert_false(end.timed_out);
    assert_true(WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0);
    assert_int_equal(end.killed, 1);
    assert_int_equal(marked(), 0);
}

static void launch_long(void *arg)
{
    (void)arg;
    char *argv[] = { "sh", "-c", "sleep 30 & sleep 30 & wait", NULL };
    struct launch_end end;
    launch_run(argv, 60 * NS_PER_S, false, &end);
    printf("launch_run returned\n"); /* it must not: the signal ends us */
}

static void test_signal_stops_the_job(void **state)
{
    (void)state;
    pid_t pid = fork_child();
    if (pid == 0) {
        launch_long(NULL);
        _exit(0);
    }
    sleep_ns(MS(300));
    CHECK_SYS(kill(pid, SIGTERM));
    int status;
    assert_int_equal(child_wait(pid, 5 * NS_PER_S, &status), 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_equal(marked(), 0);
}

/* a parent may start us with SIGCHLD ignored (it is inherited across exec): then the
 * kernel reaps children by itself, unless launch_run sets SIGCHLD back to default */
static void run_with_sigchld_ignored(void *arg)
{
    (void)arg;
    signal(SIGCHLD, SIG_IGN);
    char *argv[] = { "sh", "-c", "exit 7", NULL };
    struct launch_end end;
    launch_run(argv, 20 * NS_PER_S, false, &end);
    printf("timed out %d, exit %d\n", end.timed_out, WIFEXITED(end.status) ? WEXITSTATUS(end.status) : -1);
}

static void test_sigchld_ignored(void **state)
{
    (void)state;
    static struct captured c;
    int64_t t = now_ns();
    capture(run_with_sigchld_ignored, NULL, 30 * NS_PER_S, &c);
    assert_true(now_ns() - t < 10 * NS_PER_S);
    assert_string_equal(c.out, "timed out 0, exit 7\n");
}

/* MPICH's shared memory file, left by a job killed inside MPI_Init, is removed; one that
 * a live process still holds is not */
static void test_mpich_leftover_removed(void **state)
{
    (void)state;
    char *argv[] = { "sh", "-c", "mktemp /dev/shm/mpich_shar_tmpXXXXXX && sleep 30", NULL };
    struct launch_end end;
    launch_run(argv, MS(300), true, &end);
    assert_true(end.timed_out);
    end.out[strcspn(end.out, "\n")] = '\0';
    assert_non_null(strstr(end.out, "/dev/shm/mpich_shar_tmp"));
    assert_int_equal(access(end.out, F_OK), -1);
    free(end.out);
}

static void test_held_shm_file_kept(void **state)
{
    (void)state;
    char path[] = "/dev/shm/mpich_shar_tmpXXXXXX";
    int fd = mkstemp(path);
    if (fd == -1)
        die("mkstemp %s", path);
    char *argv[] = { "sh", "-c", "exit 1", NULL };
    struct launch_end end;
    launch_run(argv, 5 * NS_PER_S, false, &end);
    int there = access(path, F_OK);
    CHECK_SYS(close(fd));
    CHECK_SYS(unlink(path));
    assert_int_equal(WEXITSTATUS(end.status), 1);
    assert_int_equal(there, 0);
}

static void test_no_deadline_means_wait(void **state)
{
    (void)state;
    char *argv[] = { "sh", "-c", "sleep 0.2", NULL };
    struct launch_end end;
    launch_run(argv, -1, false, &end);
    assert_false(end.timed_out);
    assert_true(end.wall_ns >= MS(200));
}

/* ---- the chapter's programs, started by mpiexec ---- */

static char g_mpiexec[PATH_MAX + 32], g_bin[PATH_MAX + 64];

/* mpiexec on PATH, and the chapter's programs beside this build's tests */
static bool have_mpi(void)
{
    const char *names[] = { "mpiexec.mpich", "mpiexec" };
    char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    if (!path)
        die("strdup");
    g_mpiexec[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(names) && !g_mpiexec[0]; i++) {
        char *copy = strdup(path);
        for (char *save, *d = strtok_r(copy, ":", &save); d && !g_mpiexec[0]; d = strtok_r(NULL, ":", &save)) {
            snprintf(g_mpiexec, sizeof g_mpiexec, "%s/%s", d, names[i]);
            if (access(g_mpiexec, X_OK) != 0)
                g_mpiexec[0] = '\0';
        }
        free(copy);
    }
    free(path);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n == -1)
        die("readlink");
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* .../tests */
    *strrchr(self, '/') = '\0';
    snprintf(g_bin, sizeof g_bin, "%s/chapters/13-cluster/mpi_map", self);
    bool ok = g_mpiexec[0] && access(g_bin, X_OK) == 0;
    *strrchr(g_bin, '/') = '\0';
#ifdef WB_TSAN
    CHECK_SYS(setenv("UCX_MEM_EVENTS", "no", 1)); /* as launch.c does for its ranks */
#endif
    CHECK_SYS(setenv("HWLOC_PLUGINS_BLACKLIST", "hwloc_pci", 0)); /* as launch.c does for its ranks */
    return ok;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void mpiexec(const char *prog, char **args, int64_t timeout, struct captured *c)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", g_bin, prog);
    char *argv[16] = { g_mpiexec, "-n", "3", path };
    int n = 4;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    capture_exec(argv, timeout, c);
}

static void test_bad_option_under_mpiexec(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    int64_t t = now_ns();
    mpiexec("mpi_map", (char *[]){ "--tasks", "0", NULL }, 30 * NS_PER_S, &c);
    assert_true(now_ns() - t < 20 * NS_PER_S);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 2);
    assert_int_equal(count(c.err, "--tasks: 0 is out of range (accepted: 1..10000)"), 1); /* rank 0 only */
    assert_int_equal(count(c.err, "\nusage: mpi_map"), 1);
    assert_string_equal(c.out, "");
    assert_int_equal(marked(), 0);
}

static void test_cross_check_under_mpiexec(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    mpiexec("mpi_fault", (char *[]){ "--victim", "5", NULL }, 30 * NS_PER_S, &c);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 2);
    assert_int_equal(count(c.err, "--victim: 5 is not a rank"), 1);
    assert_int_equal(marked(), 0);
}

static void test_help_once(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    mpiexec("mpi_bench", (char *[]){ "--help", NULL }, 30 * NS_PER_S, &c);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 0);
    assert_int_equal(count(c.out, "usage: mpi_bench"), 1);
}

/* mpi_bench limited to one CPU, as under taskset -c 0: every job it starts has a mask
 * of one CPU, and must still do the work (it once took that for the launcher's own
 * one-CPU round-trip job, skipped the work and died on a total of 0) */
static void bench_on_one_cpu(void *arg)
{
    (void)arg;
    cpu_set_t set, one;
    CHECK_SYS(sched_getaffinity(0, sizeof set, &set));
    CPU_ZERO(&one);
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
        }
    CHECK_SYS(sched_setaffinity(0, sizeof one, &one));
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/mpi_bench", g_bin);
    execl(path, path, "--quick", (char *)NULL);
    die("execl %s", path);
}

static void test_bench_on_one_cpu(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    capture(bench_on_one_cpu, NULL, 120 * NS_PER_S, &c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0)
        fail_msg("mpi_bench on one CPU: %s\n%s", c.out, c.err);
    assert_int_equal(count(c.out, "on 1 core\n"), 1);
    assert_int_equal(count(c.out, "every total matched"), 1);
    assert_int_equal(marked(), 0);
}

static void test_map_under_mpiexec(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    mpiexec("mpi_map", (char *[]){ "--quick", NULL }, 60 * NS_PER_S, &c);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 0);
    assert_int_equal(count(c.out, "3 ranks: 4 million hashes"), 1);
    assert_int_equal(count(c.out, "static total 0x3c4e89fdc8a861ef"), 1);
    assert_int_equal(count(c.out, "dynamic total 0x3c4e89fdc8a861ef"), 1);
    assert_int_equal(count(c.out, "both maps' totals equal the one-process total"), 1);
    assert_int_equal(count(c.out, "not started by mpiexec"), 0); /* a rank, not a launcher */
    assert_int_equal(marked(), 0);
}

/* the README's cluster command, on this one machine: a hostfile naming localhost */
static void test_hostfile_localhost(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    char hosts[64], path[PATH_MAX + 128];
    snprintf(hosts, sizeof hosts, "/tmp/wb-test-launch-hosts-%d", (int)getpid());
    FILE *f = fopen(hosts, "w");
    if (!f)
        die("fopen %s", hosts);
    fprintf(f, "# one machine\nlocalhost:4\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/mpi_map", g_bin);
    char *argv[] = { g_mpiexec, "-f", hosts, "-n", "4", path, "--quick", NULL };
    static struct captured c;
    capture_exec(argv, 60 * NS_PER_S, &c);
    CHECK_SYS(unlink(hosts));
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 0);
    assert_int_equal(count(c.out, "4 ranks: 4 million hashes"), 1);
    assert_int_equal(count(c.out, "both maps' totals equal the one-process total"), 1);
}

static void test_hung_job_ends_at_deadline(void **state)
{
    (void)state;
    if (!have_mpi())
        skip();
    static struct captured c;
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/mpi_fault", g_bin);
    char *argv[] = { path, "--quick", "--part", "stop", "--timeout", "1s", NULL };
    int64_t t = now_ns();
    capture_exec(argv, 60 * NS_PER_S, &c);
    int64_t took = now_ns() - t;
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 0);
    assert_true(strstr(c.out, "mpiexec: still running at the deadline, after 1.0"));
    assert_true(took >= NS_PER_S);
    assert_true(took < 15 * NS_PER_S); /* the deadline, start-up and clean-up: bounded */
    assert_int_equal(marked(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ends_by_itself, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_deadline_kills_the_tree, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_orphan_is_killed, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_signal_stops_the_job, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_sigchld_ignored, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_mpich_leftover_removed, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_held_shm_file_kept, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_no_deadline_means_wait, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_bad_option_under_mpiexec, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_cross_check_under_mpiexec, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_help_once, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_bench_on_one_cpu, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_map_under_mpiexec, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_hostfile_localhost, set_mark, none_left),
        cmocka_unit_test_setup_teardown(test_hung_job_ends_at_deadline, set_mark, none_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

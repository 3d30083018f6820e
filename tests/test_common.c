/* test_common.c: the tests of common/ (errors, time, stats, options, data files,
 * trace lines, child processes). Code that exits runs in a child (testutil.h). */
#include "common.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECONDS(x) ((int64_t)((x) * 1e9))

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("text does not match /%s/:\n%s", pattern, text);
}

/* ---- parsers ---- */

static void test_parse_long(void **state)
{
    (void)state;
    long v = 0;
    assert_int_equal(parse_long("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(parse_long("-7", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(parse_long("", &v), -1);
    assert_int_equal(parse_long("12a", &v), -1);
    assert_int_equal(parse_long("abc", &v), -1);
    assert_int_equal(parse_long("1.5", &v), -1);
    assert_int_equal(parse_long("99999999999999999999999", &v), -2);
}

static void test_parse_duration(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_int_equal(parse_duration("2s", &ns), 0);
    assert_int_equal(ns, 2 * NS_PER_S);
    assert_int_equal(parse_duration("1.5s", &ns), 0);
    assert_int_equal(ns, 1500 * NS_PER_MS);
    assert_int_equal(parse_duration("500ms", &ns), 0);
    assert_int_equal(ns, 500 * NS_PER_MS);
    assert_int_equal(parse_duration("50us", &ns), 0);
    assert_int_equal(ns, 50 * NS_PER_US);
    assert_int_equal(parse_duration("50µs", &ns), 0);     /* what format_duration writes */
    assert_int_equal(ns, 50 * NS_PER_US);
    assert_int_equal(parse_duration("100ns", &ns), 0);
    assert_int_equal(ns, 100);
    assert_int_equal(parse_duration("0", &ns), 0);        /* zero needs no unit */
    assert_int_equal(ns, 0);
    assert_int_equal(parse_duration("5", &ns), -1);       /* any other number needs one */
    assert_int_equal(parse_duration("5xs", &ns), -1);
    assert_int_equal(parse_duration("ms", &ns), -1);
    assert_int_equal(parse_duration("", &ns), -1);
    assert_int_equal(parse_duration("1e12s", &ns), -2);   /* beyond int64_t ns */
}

static void test_parse_real_and_format(void **state)
{
    (void)state;
    double x = 0;
    assert_int_equal(parse_real("0.25", &x), 0);
    assert_true(x == 0.25);
    assert_int_equal(parse_real("abc", &x), -1);
    assert_int_equal(parse_real("inf", &x), -1);
    assert_int_equal(parse_real("nan", &x), -1);
    char buf[32];
    assert_string_equal(format_duration(2 * NS_PER_S, buf, sizeof buf), "2s");
    assert_string_equal(format_duration(1500 * NS_PER_US, buf, sizeof buf), "1.5ms");
    assert_string_equal(format_duration(50 * NS_PER_US, buf, sizeof buf), "50µs");
    assert_string_equal(format_duration(100, buf, sizeof buf), "100ns");
}

/* ---- stats ---- */

static void test_summarize(void **state)
{
    (void)state;
    double v[] = { 4, 1, 3, 2 };
    struct summary s = summarize(v, ARRAY_LEN(v));
    assert_int_equal(s.n, 4);
    assert_true(s.min == 1 && s.max == 4);
    assert_true(s.median == 2.5); /* between the two middle values */
    assert_true(v[0] == 1 && v[3] == 4); /* sorted in place */
    assert_true(percentile(v, 4, 0) == 1 && percentile(v, 4, 100) == 4);
    assert_true(percentile(v, 4, 10) > 1.29 && percentile(v, 4, 10) < 1.31); /* 1 + 0.3 */

    double one[] = { 7 };
    s = summarize(one, 1);
    assert_true(s.min == 7 && s.median == 7 && s.p90 == 7 && s.max == 7);

    double odd[] = { 9, 1, 5 };
    assert_true(summarize(odd, 3).median == 5);
}

/* ---- time ---- */

static void test_clock_and_sleep(void **state)
{
    (void)state;
    int64_t a = now_ns();
    sleep_ns(20 * NS_PER_MS);
    int64_t slept = now_ns() - a;
    assert_true(slept >= 20 * NS_PER_MS);
    assert_true(slept < 500 * NS_PER_MS); /* generous: a loaded machine */
    sleep_ns(0);
    sleep_ns(-5); /* no sleep, no error */

    struct timespec ts = ns_to_ts(-1);
    assert_int_equal(ts.tv_sec, -1);
    assert_int_equal(ts.tv_nsec, NS_PER_S - 1);
    assert_int_equal(ts_to_ns(ns_to_ts(123456789012)), 123456789012);

    int64_t before = now_ns();
    int64_t d = ts_to_ns(deadline_after(CLOCK_MONOTONIC, 300 * NS_PER_MS));
    assert_true(d >= before + 300 * NS_PER_MS);
    assert_true(d < now_ns() + 300 * NS_PER_MS + 1);
}

/* A huge timeout saturates instead of wrapping into the past: INT64_MAX and
 * INT64_MAX - 1 are both "no limit", a negative timeout too. */
static void test_deadlines_saturate(void **state)
{
    (void)state;
    int64_t before = now_ns();
    assert_true(deadline_in(INT64_MAX) == NO_DEADLINE);
    assert_true(deadline_in(INT64_MAX - 1) == NO_DEADLINE);
    assert_true(deadline_in(-1) == NO_DEADLINE);
    int64_t d = deadline_in(50 * NS_PER_MS);
    assert_true(d >= before + 50 * NS_PER_MS && d <= now_ns() + 50 * NS_PER_MS);
    assert_true(deadline_in(0) >= before);

    assert_true(ns_left(NO_DEADLINE) == NO_DEADLINE);
    assert_true(ns_left(before - NS_PER_S) == 0);
    int64_t left = ns_left(now_ns() + NS_PER_S);
    assert_true(left > 0 && left <= NS_PER_S);

    struct timespec far = deadline_after(CLOCK_MONOTONIC, INT64_MAX);
    assert_true(ts_to_ns(far) == INT64_MAX);
    far = deadline_after(CLOCK_REALTIME, INT64_MAX - 1);
    assert_true(ts_to_ns(far) == INT64_MAX);
}

/* ---- errors: each dies in a child; check the status and the one-line message ---- */

static void die_enoent(void *arg) { (void)arg; errno = ENOENT; die("open %s", "x.txt"); }
static void die_en_busy(void *arg) { (void)arg; die_en(EBUSY, "pthread_mutex_destroy"); }
static void child_die(void *arg) { (void)arg; errno = EPIPE; die_child("write"); }
static void fatal_plain(void *arg) { (void)arg; fatal("queue corrupted: %d", 3); }
static void check_sys_close(void *arg) { (void)arg; CHECK_SYS(close(-1)); }
static void check_pt_einval(void *arg) { (void)arg; CHECK_PT(EINVAL); }

static void expect_death(void (*fn)(void *), const char *message)
{
    struct captured c;
    capture(fn, NULL, SECONDS(5), &c);
    assert_true(WIFEXITED(c.status));
    assert_int_equal(WEXITSTATUS(c.status), 1);
    assert_string_equal(c.err, message);
}

static void test_errors(void **state)
{
    (void)state;
    expect_death(die_enoent, "test_common: open x.txt: No such file or directory\n");
    expect_death(die_en_busy, "test_common: pthread_mutex_destroy: Device or resource busy\n");
    expect_death(child_die, "test_common: write: Broken pipe\n");
    expect_death(fatal_plain, "test_common: queue corrupted: 3\n");
    expect_death(check_sys_close, "test_common: close(-1): Bad file descriptor\n");
    expect_death(check_pt_einval, "test_common: EINVAL: Invalid argument\n");
}

/* die_child must not flush what the parent had buffered before the fork */
static void buffered_then_child_dies(void *arg)
{
    (void)arg;
    printf("parent line, still in the buffer");
    pid_t pid = fork(); /* a raw fork: the buffer is copied into the child */
    if (pid == -1)
        die("fork");
    if (pid == 0)
        die_child("child failed");
    int st;
    child_wait(pid, -1, &st);
    printf(" / child exit %d\n", exitcode_of(st));
}

static void test_die_child_skips_stdio(void **state)
{
    (void)state;
#ifdef WB_TSAN
    skip(); /* ThreadSanitizer's _exit interceptor flushes stdio itself */
#endif
    struct captured c;
    capture(buffered_then_child_dies, NULL, SECONDS(5), &c);
    assert_string_equal(c.out, "parent line, still in the buffer / child exit 1\n");
}

/* ---- options ---- */

static long o_repeat = 10;
static int64_t o_pause = 500 * NS_PER_MS;
static double o_scale = 1.0;
static int o_mode = 0;
static bool o_fixed = false;
static const struct cli_opt opts[] = {
    { "repeat", CLI_INT, &o_repeat, "runs per measurement", 1, 1000, "2", NULL },
    { "pause", CLI_DURATION, &o_pause, "pause between steps", 0, 10 * NS_PER_S, "20ms", NULL },
    { "scale", CLI_REAL, &o_scale, "sleep scale", 0.01, 1, NULL, NULL },
    { "mode", CLI_CHOICE, &o_mode, "which GIL", 0, 0, NULL, "new|old" },
    { "fixed", CLI_FLAG, &o_fixed, "run the fixed version", 0, 0, NULL, NULL },
    { 0 },
};

/* argv (NULL-terminated) goes through cli_parse in a child, which prints the result */
static void parse_and_print(void *arg)
{
    char **argv = arg;
    int argc = 0;
    while (argv[argc])
        argc++;
    struct cli cli = { .measures = true };
    optind = 1;
    cli_parse(argc, argv, "Tests the option parser.", opts, &cli);
    char p[32];
    printf("repeat=%ld pause=%s scale=%g mode=%d fixed=%d quick=%d data=%s\n", o_repeat,
           format_duration(o_pause, p, sizeof p), o_scale, o_mode, o_fixed, cli.quick,
           cli.data ? cli.data : "-");
}

static void parse(struct captured *c, ...)
{
    char *argv[16] = { "test_common" };
    va_list ap;
    va_start(ap, c);
    for (int i = 1; i < 15 && (argv[i] = va_arg(ap, char *)); i++)
        ;
    va_end(ap);
    capture(parse_and_print, argv, SECONDS(5), c);
}

static void expect_usage_error(struct captured *c, const char *first_line)
{
    assert_true(WIFEXITED(c->status));
    assert_int_equal(WEXITSTATUS(c->status), 2);
    assert_string_equal(c->out, "");
    size_t n = strlen(first_line);
    if (strncmp(c->err, first_line, n) != 0 || c->err[n] != '\n')
        fail_msg("expected first line\n  %s\ngot\n%s", first_line, c->err);
    assert_non_null(strstr(c->err, "\nusage: test_common [options]\n"));
}

static void test_cli_good(void **state)
{
    (void)state;
    struct captured c;
    parse(&c, NULL);
    assert_string_equal(c.out, "repeat=10 pause=500ms scale=1 mode=0 fixed=0 quick=0 data=-\n");
    parse(&c, "--repeat", "7", "--pause=1.5s", "--scale", "0.5", "--mode", "old", "--fixed",
          "--data", "x.dat", NULL);
    assert_string_equal(c.out, "repeat=7 pause=1.5s scale=0.5 mode=1 fixed=1 quick=0 data=x.dat\n");
    /* --quick sets the quick values of the options not given */
    parse(&c, "--quick", NULL);
    assert_string_equal(c.out, "repeat=2 pause=20ms scale=1 mode=0 fixed=0 quick=1 data=-\n");
    parse(&c, "--repeat", "5", "--quick", NULL);
    assert_string_equal(c.out, "repeat=5 pause=20ms scale=1 mode=0 fixed=0 quick=1 data=-\n");
    /* the range ends are accepted */
    parse(&c, "--repeat", "1000", "--pause", "0ns", "--scale", "0.01", NULL);
    assert_string_equal(c.out, "repeat=1000 pause=0ns scale=0.01 mode=0 fixed=0 quick=0 data=-\n");
}

static void test_cli_help(void **state)
{
    (void)state;
    struct captured c;
    parse(&c, "--help", NULL);
    assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
    assert_matches(c.out, "^usage: test_common \\[options\\]$");
    assert_matches(c.out, "^Tests the option parser\\.$");
    /* the shape tests/smoke.c reads back */
    assert_matches(c.out, "^  --repeat N +runs per measurement; 1\\.\\.1000 \\(default 10, --quick 2\\)$");
    assert_matches(c.out, "^  --pause TIME +pause between steps; 0ns\\.\\.10s \\(default 500ms, --quick 20ms\\)$");
    assert_matches(c.out, "^  --scale X +sleep scale; 0\\.01\\.\\.1 \\(default 1\\)$");
    assert_matches(c.out, "^  --mode new\\|old +which GIL \\(default new\\)$");
    assert_matches(c.out, "^  --fixed +run the fixed version$");
    assert_matches(c.out, "^  --data FILE ");
    assert_string_equal(c.err, "");
}

static void test_cli_errors(void **state)
{
    (void)state;
    struct captured c;
    parse(&c, "--repeat", "abc", NULL);
    expect_usage_error(&c, "test_common: --repeat: 'abc' is not a whole number (accepted: 1..1000)");
    parse(&c, "--repeat", "0", NULL);
    expect_usage_error(&c, "test_common: --repeat: 0 is out of range (accepted: 1..1000)");
    parse(&c, "--repeat", "-3", NULL);
    expect_usage_error(&c, "test_common: --repeat: -3 is out of range (accepted: 1..1000)");
    parse(&c, "--repeat", "99999999999999999999999", NULL);
    expect_usage_error(&c, "test_common: --repeat: 99999999999999999999999 is out of range (accepted: 1..1000)");
    parse(&c, "--repeat=", NULL);
    expect_usage_error(&c, "test_common: --repeat: '' is not a whole number (accepted: 1..1000)");
    parse(&c, "--repeat", NULL);
    expect_usage_error(&c, "test_common: --repeat needs a value (N: 1..1000)");
    parse(&c, "--pause", "5", NULL);
    expect_usage_error(&c, "test_common: --pause: '5' is not a duration such as 20ms or 1.5s (accepted: 0ns..10s)");
    parse(&c, "--pause", "11s", NULL);
    expect_usage_error(&c, "test_common: --pause: 11s is out of range (accepted: 0ns..10s)");
    /* the usage after an error shows the defaults, not the values parsed before it */
    parse(&c, "--repeat", "7", "--pause", "x", NULL);
    expect_usage_error(&c, "test_common: --pause: 'x' is not a duration such as 20ms or 1.5s (accepted: 0ns..10s)");
    assert_matches(c.err, "^  --repeat N +runs per measurement; 1\\.\\.1000 \\(default 10, --quick 2\\)$");
    parse(&c, "--scale", "2", NULL);
    expect_usage_error(&c, "test_common: --scale: 2 is out of range (accepted: 0.01..1)");
    parse(&c, "--mode", "fast", NULL);
    expect_usage_error(&c, "test_common: --mode: 'fast' is not one of new|old");
    parse(&c, "--bogus", NULL);
    expect_usage_error(&c, "test_common: unknown option '--bogus'");
    parse(&c, "--fixed=yes", NULL);
    expect_usage_error(&c, "test_common: --fixed=yes takes no value");
    parse(&c, "extra", NULL);
    expect_usage_error(&c, "test_common: unexpected argument 'extra' (this program takes options only)");
}

/* Short options: the programs have none, so each is unknown, and the message names it,
 * not the word before it (it used to say "-x takes no value", and blame --quick for
 * the -a of "--quick -ab"). */
static void test_cli_unknown_short(void **state)
{
    (void)state;
    struct captured c;
    parse(&c, "-x", NULL);
    expect_usage_error(&c, "test_common: unknown option '-x'");
    parse(&c, "--quick", "-ab", NULL);
    expect_usage_error(&c, "test_common: unknown option '-a' (in '-ab')");
    parse(&c, "--repeat", "5", "-q", NULL);
    expect_usage_error(&c, "test_common: unknown option '-q'");
    parse(&c, "--fixed", "-xyz", "--quick", NULL);
    expect_usage_error(&c, "test_common: unknown option '-x' (in '-xyz')");
    parse(&c, "--quick=1", NULL);
    expect_usage_error(&c, "test_common: --quick=1 takes no value");
}

/* a program that does not measure has no --data */
static void parse_no_data(void *arg)
{
    (void)arg;
    char *argv[] = { "test_common", "--data", "x.dat", NULL };
    struct cli cli = { .measures = false };
    optind = 1;
    cli_parse(3, argv, "No data.", NULL, &cli);
}

static void test_cli_no_data(void **state)
{
    (void)state;
    struct captured c;
    capture(parse_no_data, NULL, SECONDS(5), &c);
    expect_usage_error(&c, "test_common: unknown option '--data'");
}

/* ---- data files: written through /proc/self/fd of a memory file, no temp files ---- */

static void test_datafile(void **state)
{
    (void)state;
    int fd = memfd_create("data", 0);
    assert_true(fd >= 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    FILE *f = data_open(path, "demo: two blocks");
    assert_non_null(f);
    static const char *const cols1[] = { "n (count): threads", "t (us): median time", NULL };
    data_block(f, "first", cols1);
    data_row(f, "%d %.1f\n", 1, 2.5);
    data_block(f, "second", cols1);
    data_row(f, "%d %.1f\n", 2, 3.5);
    data_close(f);

    char text[2048];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    assert_true(n > 0);
    text[n] = '\0';
    close(fd);
    assert_matches(text, "^# demo: two blocks$");
    assert_matches(text, "^# machine: [^,]+, [0-9]+ cores?( \\([^,)]+\\))?, Linux [0-9.]+, (gcc|clang) [0-9.]+");
    assert_matches(text, "^# date: 20[0-9-]+ [0-9:]+ UTC$");
    assert_matches(text, "^# block 0: first\n# columns:\n#   1  n \\(count\\): threads\n#   2  t \\(us\\): median time\n1 2.5\n\n\n# block 1: second");
    assert_matches(text, "\n2 3.5\n$");

    /* NULL means no --data: every call is a no-op */
    assert_null(data_open(NULL, "nothing"));
    data_block(NULL, "x", cols1);
    data_row(NULL, "%d\n", 1);
    data_close(NULL);
}

static void open_bad_path(void *arg)
{
    (void)arg;
    data_open("/nonexistent-dir/x.dat", "x");
}

static void test_datafile_error(void **state)
{
    (void)state;
    expect_death(open_bad_path, "test_common: --data: cannot write /nonexistent-dir/x.dat: No such file or directory\n");
}

/* ---- trace ---- */

static void trace_two_processes(void *arg)
{
    (void)arg;
    trace_start();
    trace_name("parent");
    trace("hello %d", 1);
    pid_t pid = fork_child();
    if (pid == 0) {
        trace_name("kid");
        trace("from the child");
        _exit(0);
    }
    child_wait(pid, -1, NULL);
    trace("bye");
}

static void test_trace(void **state)
{
    (void)state;
    struct captured c;
    capture(trace_two_processes, NULL, SECONDS(5), &c);
    assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
    /* three lines, in order, each whole: time, pid, name, message */
    assert_matches(c.out, "^  0\\.0[0-9]{2}s +[0-9]+ parent +hello 1\n"
                          "  0\\.[0-9]{3}s +[0-9]+ kid +from the child\n"
                          "  0\\.[0-9]{3}s +[0-9]+ parent +bye\n$");
}

/* ---- child processes ---- */

static void test_child_wait_and_exitcode(void **state)
{
    (void)state;
    pid_t pid = fork_child();
    if (pid == 0) {
        sleep_ns(5 * NS_PER_S);
        _exit(0);
    }
    int st;
    int64_t t = now_ns();
    assert_int_equal(child_wait(pid, 100 * NS_PER_MS, &st), ETIMEDOUT);
    t = now_ns() - t;
    assert_true(t >= 100 * NS_PER_MS && t < 2 * NS_PER_S);
    assert_int_equal(kill(pid, 0), 0); /* still there */
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(child_wait(pid, 2 * NS_PER_S, &st), 0);
    assert_int_equal(exitcode_of(st), -SIGTERM);

    pid = fork_child();
    if (pid == 0)
        _exit(3);
    assert_int_equal(child_wait(pid, -1, &st), 0);
    assert_int_equal(exitcode_of(st), 3);

    /* timeouts too long to add to the clock wait for the end, like -1 (child_wait
     * used to compute now_ns() + timeout_ns: a signed overflow, caught by UBSan) */
    const int64_t huge[] = { INT64_MAX, INT64_MAX - 1 };
    for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
        pid = fork_child();
        if (pid == 0) {
            sleep_ns(100 * NS_PER_MS);
            _exit(4);
        }
        t = now_ns();
        assert_int_equal(child_wait(pid, huge[i], &st), 0);
        assert_true(now_ns() - t >= 90 * NS_PER_MS);
        assert_int_equal(exitcode_of(st), 4);
    }
}

/* A grandchild started with fork_child dies with its parent (PR_SET_PDEATHSIG). We
 * become a subreaper so the orphan is re-parented to us and we can see how it ended. */
static void test_fork_child_dies_with_parent(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t middle = fork_child();
    if (middle == 0) {
        int ready[2];
        if (pipe(ready) == -1)
            die_child("pipe");
        pid_t grandchild = fork_child();
        if (grandchild == 0) { /* fork_child has returned: the death signal is armed */
            if (write(ready[1], "r", 1) != 1)
                die_child("write");
            sleep_ns(10 * NS_PER_S);
            _exit(0);
        }
        char r;
        if (read(ready[0], &r, 1) != 1)
            die_child("read");
        if (write(fds[1], &grandchild, sizeof grandchild) != sizeof grandchild)
            die_child("write");
        _exit(0); /* without waiting: the grandchild should be killed now */
    }
    close(fds[1]);
    pid_t grandchild;
    assert_int_equal(read(fds[0], &grandchild, sizeof grandchild), sizeof grandchild);
    close(fds[0]);
    int st;
    assert_int_equal(child_wait(middle, 2 * NS_PER_S, &st), 0);
    assert_int_equal(child_wait(grandchild, 2 * NS_PER_S, &st), 0);
    assert_int_equal(exitcode_of(st), -SIGKILL);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL), 0);
}

static int g_note_fd = -1;
static void note_cleanup(void)
{
    if (write(g_note_fd, "c", 1) != 1)
        _exit(99);
}

static void terminate_with_cleanup(void *arg)
{
    int *fds = arg;
    g_note_fd = fds[1];
    on_termination(note_cleanup);
    pid_t kid = fork_child(); /* inherits the handler, but must not run the cleanup */
    if (kid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    int st;
    child_wait(kid, -1, &st);
    if (exitcode_of(st) != -SIGTERM)
        _exit(98);
    raise(SIGTERM);
    _exit(0); /* not reached: the handler ends us by SIGTERM */
}

static void test_on_termination(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct captured c;
    capture(terminate_with_cleanup, fds, SECONDS(5), &c);
    close(fds[1]);
    assert_true(WIFSIGNALED(c.status));
    assert_int_equal(WTERMSIG(c.status), SIGTERM);
    char buf[8];
    ssize_t n = read(fds[0], buf, sizeof buf);
    close(fds[0]);
    assert_int_equal(n, 1); /* exactly one cleanup: the owner's, not the child's */
}

/* ---- whole reads and writes: 200 KB through a 64 KB pipe, then end of file ---- */

static void test_write_all_read_all(void **state)
{
    (void)state;
    enum { N = 200 * 1024 };
    static char out[N], in[N + 10];
    for (size_t i = 0; i < N; i++)
        out[i] = (char)mix64(i);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork_child();
    if (pid == 0) { /* the writer: the pipe holds 64 KB, so write() must come back short or block */
        close(fds[0]);
        _exit(write_all(fds[1], out, N) == 0 ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read_all(fds[0], in, N), N); /* all of it, however it arrived */
    assert_memory_equal(in, out, N);
    assert_int_equal(read_all(fds[0], in, 10), 0); /* end of file: fewer than asked */
    close(fds[0]);
    int st;
    assert_int_equal(child_wait(pid, 5 * NS_PER_S, &st), 0);
    assert_int_equal(exitcode_of(st), 0);
    errno = 0;
    assert_int_equal(write_all(-1, out, 1), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(read_all(-1, in, 1), -1);
}

/* ---- numbers and CPUs ---- */

static void test_numbers(void **state)
{
    (void)state;
    assert_true(mix64(1) != mix64(2) && mix64(0) == 0); /* the finalizer keeps 0 at 0 */
    uint64_t a = 1, b = 1;
    for (int i = 0; i < 1000; i++) {
        double u = random_unit(&a);
        assert_true(u >= 0 && u < 1);
        assert_true(u == random_unit(&b)); /* the same seed, the same sequence */
    }
    uint64_t c = 2;
    assert_true(random_next(&c) != random_next(&a));
}

static int first_cpu(void)
{
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    fail_msg("an empty affinity mask");
    return -1;
}

static void *where_am_i(void *arg)
{
    int *cpu = arg;
    pin_to_cpu(cpu_nth(0));
    cpu[0] = sched_getcpu();
    pin_to_cpu(cpu_nth(cpus_usable())); /* wraps round to the first again */
    cpu[1] = sched_getcpu();
    return NULL;
}

static void test_pin_to_cpu(void **state)
{
    (void)state;
    int cpu[2] = { -2, -2 };
    pthread_t t; /* in a thread of its own, so the test process stays unpinned */
    assert_int_equal(pthread_create(&t, NULL, where_am_i, cpu), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(cpu[0], first_cpu());
    assert_int_equal(cpu[1], first_cpu());
}

/* first_cpus follows the affinity mask: narrowed to one CPU, it finds that one only */
static void *narrowed(void *arg)
{
    int *got = arg;
    pin_to_cpu(got[1]); /* sched_getaffinity(0) is this thread's mask */
    got[0] = first_cpus(&got[1], 2);
    return NULL;
}

static void test_first_cpus(void **state)
{
    (void)state;
    cpu_set_t mask;
    assert_int_equal(sched_getaffinity(0, sizeof mask, &mask), 0);
    int allowed = CPU_COUNT(&mask), cpu[2];
    assert_int_equal(first_cpus(cpu, 2), allowed >= 2 ? 2 : 1);
    assert_true(CPU_ISSET(cpu[0], &mask));
    if (allowed >= 2)
        assert_true(CPU_ISSET(cpu[1], &mask) && cpu[0] < cpu[1]);
    else
        assert_int_equal(cpu[1], -1);
    int got[3] = { 0, cpu[allowed >= 2], -2 }; /* narrowed to the last CPU found */
    int want = got[1];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, narrowed, got), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], want);
    assert_int_equal(got[2], -1);
}

static void test_sweep_next(void **state)
{
    (void)state;
    static const struct {
        int cores, max;
        const char *points;
    } cases[] = {
        { 2, 4, "1 2 3 4" },
        { 1, 4, "1 2 3 4" },
        { 2, 8, "1 2 3 4 5 6 7 8" },
        { 16, 32, "1 2 3 4 5 6 7 8 12 16 24 32" },
        { 10, 20, "1 2 3 4 5 6 7 8 10 12 16 20" },
        { 64, 128, "1 2 3 4 5 6 7 8 12 16 24 32 48 64 96 128" },
        { 100, 100, "1 2 3 4 5 6 7 8 12 16 24 32 48 64 96 100" },
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char got[256] = "";
        size_t len = 0;
        for (int n = 1; n <= cases[i].max; n = sweep_next(n, cases[i].cores, cases[i].max))
            len += (size_t)snprintf(got + len, sizeof got - len, "%s%d", len ? " " : "", n);
        assert_string_equal(got, cases[i].points);
    }
}

/* The count comes from the mask the program started with, so each case runs this test
 * binary again (main's --cpus) in a child that set the mask or WB_CORES first. */
static char *g_self;
struct cpus_case {
    const char *fake; /* WB_CORES, or NULL */
    bool last_cpu;    /* the child may run on the last CPU of our mask only */
};

static void run_cpus(void *arg)
{
    const struct cpus_case *c = arg;
    if (c->fake)
        CHECK_SYS(setenv("WB_CORES", c->fake, 1));
    else
        CHECK_SYS(unsetenv("WB_CORES"));
    if (c->last_cpu) {
        cpu_set_t set, one;
        CHECK_SYS(sched_getaffinity(0, sizeof set, &set));
        CPU_ZERO(&one);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &set)) {
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
            }
        CHECK_SYS(sched_setaffinity(0, sizeof one, &one)); /* taskset -c <last> */
    }
    execl(g_self, g_self, "--cpus", (char *)NULL);
    die("execl %s", g_self);
}

static int print_cpus(void)
{
    pin_to_cpu(cpu_nth(0));
    printf("count %d usable %d on %d\nmachine %s\n", cpu_count(), cpus_usable(), sched_getcpu(), machine_string());
    return 0;
}

static void test_cpu_count(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    int mine = CPU_COUNT(&set), last = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            last = cpu;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    char want[256];
    struct captured c;

    capture(run_cpus, &(struct cpus_case){ NULL, false }, SECONDS(10), &c);
    assert_int_equal(exitcode_of(c.status), 0);
    snprintf(want, sizeof want, "^count %d usable %d on %d$", mine, mine, first_cpu());
    assert_matches(c.out, want);
    snprintf(want, sizeof want, "^machine [^,]+, %d cores?%s, Linux", mine, online > mine ? " \\(of [0-9]+ online\\)" : "");
    assert_matches(c.out, want);

    /* as under taskset -c <last>: one CPU, and cpu_nth(0) is that one */
    capture(run_cpus, &(struct cpus_case){ NULL, true }, SECONDS(10), &c);
    assert_int_equal(exitcode_of(c.status), 0);
    snprintf(want, sizeof want, "^count 1 usable 1 on %d$", last);
    assert_matches(c.out, want);
    snprintf(want, sizeof want, "^machine [^,]+, 1 core%s, Linux", online > 1 ? " \\(of [0-9]+ online\\)" : "");
    assert_matches(c.out, want);

    /* faked: the count says 16, the machine line says so, the pins stay real */
    capture(run_cpus, &(struct cpus_case){ "16", false }, SECONDS(10), &c);
    assert_int_equal(exitcode_of(c.status), 0);
    snprintf(want, sizeof want, "^count 16 usable %d on %d$", mine, first_cpu());
    assert_matches(c.out, want);
    snprintf(want, sizeof want, "^machine [^,]+, 16 cores \\(WB_CORES; %d usable\\), Linux", mine);
    assert_matches(c.out, want);

    static const char *const bad[] = { "0", "many", "4096", "-2", "1.5" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        capture(run_cpus, &(struct cpus_case){ bad[i], false }, SECONDS(10), &c);
        assert_int_equal(exitcode_of(c.status), 1);
        assert_matches(c.err, "WB_CORES=[^:]+: must be a whole number from 1 to 1024");
    }
}

int main(int argc, char **argv)
{
    g_self = argv[0];
    if (argc == 2 && strcmp(argv[1], "--cpus") == 0)
        return print_cpus();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_real_and_format),
        cmocka_unit_test(test_summarize),
        cmocka_unit_test(test_clock_and_sleep),
        cmocka_unit_test(test_deadlines_saturate),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_die_child_skips_stdio),
        cmocka_unit_test(test_cli_good),
        cmocka_unit_test(test_cli_help),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_cli_unknown_short),
        cmocka_unit_test(test_cli_no_data),
        cmocka_unit_test(test_datafile),
        cmocka_unit_test(test_datafile_error),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_child_wait_and_exitcode),
        cmocka_unit_test(test_fork_child_dies_with_parent),
        cmocka_unit_test(test_on_termination),
        cmocka_unit_test(test_write_all_read_all),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_pin_to_cpu),
        cmocka_unit_test(test_first_cpus),
        cmocka_unit_test(test_sweep_next),
        cmocka_unit_test(test_cpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

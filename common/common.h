/* common.h: the workbook's small shared library.
 *
 * Every program in chapters/ includes this one header. It gives:
 *   errors   die(), die_en(), die_child(), fatal(), and the CHECK_SYS / CHECK_PT macros
 *   time     now_ns(), sleep_ns(), deadline_in(), ns_left(), deadline_after()
 *   stats    summarize() over a sample array: min, p10, median, p90, max
 *   options  cli_parse(): range-checked options on getopt_long, with the shared
 *            --help, --quick and --data FILE
 *   data     data_open() & co.: gnuplot data files whose header names the columns and
 *            records the machine
 *   trace    trace(): lines stamped with the time since start, the pid and a name
 *   children fork_child(), child_wait(), exitcode_of(), on_termination()
 *   I/O      write_all(), read_all()
 *   cpus     cpu_count(), sweep_next(), cpu_nth(), pin_to_cpu(), first_cpus()
 *   numbers  mix64(), random_next(), random_unit()
 *   builds   WB_ASAN, WB_TSAN: defined in sanitizer builds
 *
 * Link with common/libcommon.a (the shared rules in mk/rules.mk do it).
 */
#ifndef WORKBOOK_COMMON_H
#define WORKBOOK_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <sys/types.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* WB_ASAN / WB_TSAN are defined in AddressSanitizer / ThreadSanitizer builds (make
 * SAN=address,... / SAN=thread): gcc says so with __SANITIZE_ADDRESS__ and
 * __SANITIZE_THREAD__, clang through __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define WB_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WB_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(WB_ASAN)
#define WB_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(WB_TSAN)
#define WB_TSAN 1
#endif
#endif

/* ---- errors (err.c) --------------------------------------------------------------
 * Report "program: what: strerror" on stderr and exit(1). System calls set errno
 * (die); pthread functions return their error number (die_en). A forked child that
 * must not flush the parent's stdio buffers or run its atexit handlers uses die_child,
 * which ends with _exit. fatal() is for errors that have no errno. */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_en(int en, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
noreturn void die_child(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CHECK_SYS(close(fd)) dies with "close(fd): <strerror>" when the call returns -1.
 * CHECK_PT(pthread_mutex_lock(&m)) dies when the call returns non-zero.
 * The call is always evaluated, unlike work put inside assert(). */
#define CHECK_SYS(call)                                                                \
    do {                                                                               \
        if ((call) == -1)                                                              \
            die("%s", #call);                                                          \
    } while (0)
#define CHECK_PT(call)                                                                 \
    do {                                                                               \
        int check_rc_ = (call);                                                        \
        if (check_rc_ != 0)                                                            \
            die_en(check_rc_, "%s", #call);                                            \
    } while (0)

/* ---- time (clock.c) -------------------------------------------------------------- */
#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

int64_t now_ns(void);                      /* CLOCK_MONOTONIC, in ns */
void sleep_ns(int64_t ns);                 /* sleeps the whole time, even across signals */
void sleep_until_ns(int64_t t);            /* until now_ns() >= t */
int64_t ts_to_ns(struct timespec ts);
struct timespec ns_to_ts(int64_t ns);
/* The absolute time `ns` from now on clock `clk`, for the timed waits that take a
 * deadline: pthread_cond_timedwait (on a condvar set to CLOCK_MONOTONIC),
 * pthread_mutex_clocklock, sem_clockwait, mq_timedsend (CLOCK_REALTIME). */
struct timespec deadline_after(clockid_t clk, int64_t ns);
/* Deadlines that never wrap. A timed call takes a relative timeout in ns, where < 0
 * means "no limit"; deadline_in turns it into a now_ns() time, saturating at
 * NO_DEADLINE (INT64_MAX, which no clock reaches) instead of overflowing: a timeout of
 * INT64_MAX is "forever", never a time in the past. ns_left() is the time from now to
 * a deadline, never negative (0 once it has passed). deadline_after saturates too. */
#define NO_DEADLINE INT64_MAX
int64_t deadline_in(int64_t timeout_ns);
int64_t ns_left(int64_t deadline);
/* Tighten the timer slack to 1 ns, so short sleeps overshoot less: a sleep may
 * otherwise end up to the thread's slack late (50 µs by default, prctl(2);
 * chapters/04-thread/wakeup measures what it does to a short sleep). */
void tight_timer_slack(void);

/* ---- statistics (stats.c) -------------------------------------------------------- */
struct summary {
    size_t n;
    double min, p10, median, p90, max;
};
/* Sorts v[0..n) in place and summarizes it. n must be > 0. */
struct summary summarize(double *v, size_t n);
/* The p-th percentile (0..100) of sorted[0..n), interpolating between neighbours. */
double percentile(const double *sorted, size_t n, double p);

/* ---- command-line options (cli.c) ------------------------------------------------
 * A program lists its own options in a table; cli_parse adds --help, --quick and (for
 * measuring programs) --data FILE, prints the usage built from the table, and rejects
 * every bad value with one line that names the option and the accepted range, then
 * the usage, exit status 2.  Example:
 *
 *     long repeat = 201;
 *     int64_t pause = 500 * NS_PER_MS;
 *     const struct cli_opt opts[] = {
 *         { "repeat", CLI_INT, &repeat, "runs per measurement", 1, 100000, "5" },
 *         { "pause", CLI_DURATION, &pause, "pause between steps", 0, 10 * NS_PER_S, "20ms" },
 *         { 0 }
 *     };
 *     struct cli cli = { .measures = true };
 *     cli_parse(argc, argv, "Measures this and that.", opts, &cli);
 *
 * The last field is the value --quick uses when the option is not given explicitly.
 * Durations are written with a unit: 2s, 1.5s, 500ms, 50µs (or 50us, easier to type),
 * 100ns; they are stored in ns (int64_t) and their range is in ns. */
enum cli_kind {
    CLI_FLAG,     /* bool *, no value */
    CLI_INT,      /* long * */
    CLI_DURATION, /* int64_t * (ns) */
    CLI_REAL,     /* double * */
    CLI_CHOICE,   /* int * index into the '|'-separated list in `choices` */
    CLI_STRING,   /* const char ** */
};
struct cli_opt {
    const char *name;    /* long name without the dashes */
    enum cli_kind kind;
    void *var;           /* where the value goes; its initial value is the default */
    const char *help;
    double min, max;     /* accepted range, both ends included (CLI_INT/DURATION/REAL) */
    const char *quick;   /* value under --quick, or NULL */
    const char *choices; /* CLI_CHOICE: "new|old" */
};
struct cli {
    bool measures;       /* in: accept --data FILE */
    bool quick;          /* out: --quick was given */
    const char *data;    /* out: --data FILE, or NULL */
};
void cli_parse(int argc, char **argv, const char *about, const struct cli_opt *opts,
               struct cli *cli);
/* For checks that span options (say, --min above --max): same message form, exit 2. */
noreturn void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parsers behind cli_parse, exposed for the tests: 0 on success, -1 if malformed. */
int parse_long(const char *s, long *out);
int parse_duration(const char *s, int64_t *out_ns);
int parse_real(const char *s, double *out);
/* Formats a duration in ns with a unit ("2s", "500ms", "1.5µs") into buf. */
const char *format_duration(int64_t ns, char *buf, size_t len);

/* ---- gnuplot data files (datafile.c) ---------------------------------------------
 * data_open(path, title) writes a header:
 *     # <title>
 *     # machine: AMD EPYC, 2 cores, Linux 6.18, gcc 12.2.0 -O2
 *     # date: 2026-11-22 01:30 UTC
 * data_block() starts a data set (gnuplot: index 0, 1, ...) and names its columns, each
 * "name (unit): meaning". All functions accept a NULL FILE * and do nothing, so a
 * program can call them unconditionally when --data was not given. */
FILE *data_open(const char *path, const char *title);
void data_block(FILE *f, const char *name, const char *const *columns);
void data_row(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void data_close(FILE *f);
/* "AMD EPYC, 2 cores, Linux 6.18.44, gcc 12.2.0 -O2" (built once, static storage). The
 * cores are cpu_count(), the count the sweeps followed; "1 core (of 2 online)" under
 * taskset or a cpuset, "16 cores (WB_CORES; 2 usable)" when faked (see cpus.c). */
const char *machine_string(void);

/* ---- trace lines (trace.c) -------------------------------------------------------
 *     0.512s   4242 aaa_process  count 3
 * Each line is written to stdout with one write, so lines from several processes or
 * threads don't mix. The clock starts at the first trace (or trace_start) and a forked
 * child keeps its parent's start, so their offsets compare. */
void trace_start(void);
void trace_name(const char *name);          /* name for the calling thread's lines */
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- child processes (proc.c) ---------------------------------------------------- */
/* fork() after flushing stdout and stderr (else the child would print the parent's
 * buffered lines again). In the child, PR_SET_PDEATHSIG makes the kernel SIGKILL it
 * if the parent dies, so an interrupted program leaves no orphans. Dies on failure. */
pid_t fork_child(void);
/* Waits up to timeout_ns (< 0: forever) for child `pid` to end, through a pidfd and
 * poll(2). Returns 0 and the wait status, or ETIMEDOUT with the child still running. */
int child_wait(pid_t pid, int64_t timeout_ns, int *status);
/* Python's Process.exitcode: the exit code, or minus the signal that ended it. */
int exitcode_of(int status);
/* Runs cleanup() (async-signal-safe work only: unlink, kill, _exit) when SIGINT,
 * SIGTERM or SIGHUP arrives, then ends the process by that same signal. Up to 8
 * functions; only the process that registered them runs them (not its children). */
void on_termination(void (*cleanup)(void));

/* ---- numbers (inline) ------------------------------------------------------------
 * mix64: splitmix64's finalizer, a cheap, good hash of a 64-bit number. The CPU-bound
 * loops of the workbook add up mix64(i): no compiler can reduce that sum to a formula.
 * random_next / random_unit: splitmix64 as a tiny seeded generator, for the demos'
 * random pauses: the same numbers on every run, like random.seed(1); random.random(). */
static inline uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}
static inline uint64_t random_next(uint64_t *state)
{
    return mix64(*state += UINT64_C(0x9e3779b97f4a7c15));
}
static inline double random_unit(uint64_t *state) /* uniform in [0, 1) */
{
    return (double)(random_next(state) >> 11) * 0x1.0p-53;
}

/* ---- whole reads and writes (proc.c) ---------------------------------------------
 * read(2) and write(2) on a pipe or a socket may move fewer bytes than asked, and a
 * signal may interrupt them: these loop until all len bytes have moved (TLPI's readn
 * and writen). write_all returns 0, or -1 with errno set. read_all returns the bytes
 * read, which is fewer than len only at end of file, or -1 with errno set. */
int write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);

/* ---- CPUs and the sweeps that follow them (cpus.c) ---------------------------------
 * cpu_count(): the CPUs this process may run on, the count every sweep follows. It is
 * the size of the affinity mask (sched_getaffinity), read when the program starts, not
 * sysconf(_SC_NPROCESSORS_ONLN): the online count ignores `taskset -c 0 prog` and a
 * container's cpuset, and a program limited to one core would sweep as if it had them
 * all. (A CPU quota such as docker --cpus=2 is not a mask and is not seen.)
 *
 * WB_CORES=N in the environment (1..MAX_CORES) makes cpu_count() return N: a 2-core
 * machine can show the points and the work sizes a 16-core one would run
 * (WB_CORES=16 prog --help shows the defaults). The threads still run on the real
 * CPUs, so the numbers such a run measures mean nothing; the data file's machine line
 * says the count was faked. Nothing else reads WB_CORES.
 *
 * A sweep over workers goes from 1 to the cores (to twice them, or further, where
 * oversubscription is the lesson) with
 *     for (int n = 1; n <= max; n = sweep_next(n, cores, max))
 * every count up to 8, then 12, 16, 24, 32, 48, 64, ... (each a power of two or 1.5
 * times one), and always the core count and max themselves: 1..4 to twice 2 cores;
 * 1..8, 12, 16, 24, 32 to twice 16.
 *
 * cpu_nth(i): the i-th CPU of that mask (i mod their number), for "thread t on the
 * t-th core": pin_to_cpu(cpu_nth(t)) stays inside the CPUs the program was given,
 * under taskset -c 2,3 too. */
#define MAX_CORES 1024
/* "%ld core%s" with CORES_ARG(n): "1 core", "2 cores" (a 1-CPU run says it right) */
#define CORES_FMT "%ld core%s"
#define CORES_ARG(n) (long)(n), (n) == 1 ? "" : "s"
int cpu_count(void);
int cpus_usable(void);  /* the real count, whatever WB_CORES says */
bool cpus_faked(void);  /* WB_CORES is set */
int sweep_next(int n, int cores, int max);
int cpu_nth(int i);

/* (proc.c) Pins the calling thread to one CPU, by its number (cpu_nth(i) or
 * first_cpus give one the program may use), for the runs that compare a hand-off on one
 * core with a hand-off between cores. Dies on failure. */
void pin_to_cpu(int cpu);
/* The first n CPUs the calling thread may run on (taskset or a cgroup may have narrowed
 * them) into cpu[0..n), -1 where there are fewer; returns how many there are, at most n. */
int first_cpus(int *cpu, int n);

#endif

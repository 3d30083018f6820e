/* smoke.c: run every program of every chapter, and feed each one bad options.
 *
 *   smoke --top DIR --build DIR [--san LIST] [--via DIR] chapters/01-process/process_basics ...
 *
 * The arguments are every program the chapter Makefiles build (tests/run.sh lists them
 * with `make list-progs`). Each chapter's smoke.txt says how to run its programs:
 *
 *   # comment
 *   process_basics --quick          a run: the program and its arguments
 *       exit 0                      expected exit status (default 0)
 *       out is_alive: (yes|no)      a POSIX extended regex its stdout must match
 *       !out Traceback              ... must not match
 *       err some warning            a regex its stderr must match
 *       exit@thread 66              a directive that applies only when SAN contains
 *                                   "thread" (any directive can take @<sanitizer>)
 *       interrupt 300ms             send SIGINT after 300ms; it must end within 5 s
 *
 * Every run must end within its time bound (10 s; 120 s in sanitizer builds) and leave
 * no process behind: each run's environment carries a unique WB_SMOKE_MARK, and
 * afterwards no process may still carry it.
 *
 * For every program the runner also checks, without being told: --help exits 0 with a
 * usage; an unknown option (long, short, or a cluster of short ones after --quick) and
 * a stray argument exit 2 naming them; and for each option the --help text lists with
 * a range ("--repeat N ...; 1..1000 (default ...)"), a word, a number below and above
 * the range, an overflow and a missing unit each exit 2 with a first line naming the
 * option and the range. A program that has no run in
 * any smoke.txt fails.
 *
 * --via DIR runs each program P as DIR/P with P's path put before its arguments:
 * `make test-aarch64` fills DIR with links to qemu-aarch64, one named after each
 * program, so that the kernel names each emulated process after its program (the
 * trace lines print that name), as it does for a program run natively.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { MAX_ARGS = 32, MAX_CHECKS = 16 };

struct check {
    enum { OUT, NOT_OUT, ERR } where;
    char *regex;
};

struct test {
    char *name;
    char *path;           /* the program's binary */
    char *argv[MAX_ARGS + 1];
    int exit_code;        /* expected: >= 0 an exit status, < 0 minus a signal */
    int64_t interrupt_ns; /* > 0: send SIGINT after this long */
    struct check checks[MAX_CHECKS];
    int nchecks;
    /* a bad-option test: the first stderr line must contain these two strings */
    const char *must1, *must2;
};

static const char *g_san = "";
static const char *g_via; /* --via DIR, or NULL */
static int64_t g_timeout;
static struct test *g_tests;
static size_t g_ntests, g_cap;
static char g_help_buf[1 << 16];

/* a formatted string in new memory (the runner frees nothing: it ends after the tests) */
static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vasprintf");
    return s;
}

static struct test *new_test(void)
{
    if (g_ntests == g_cap) {
        g_cap = g_cap ? 2 * g_cap : 256;
        g_tests = realloc(g_tests, g_cap * sizeof *g_tests);
        if (!g_tests)
            die("realloc");
    }
    struct test *t = &g_tests[g_ntests++];
    memset(t, 0, sizeof *t);
    return t;
}

/* ---- running one program ---- */

struct run {
    int status;
    bool timed_out;
    char *out, *err;
    size_t nout, nerr;
};

static void append(char **buf, size_t *n, const char *data, size_t len)
{
    char *p = realloc(*buf, *n + len + 1);
    if (!p)
        die("realloc");
    memcpy(p + *n, data, len);
    *n += len;
    p[*n] = '\0';
    *buf = p;
}

/* pids of processes whose environment holds `mark` */
static int marked_processes(const char *mark, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        die("opendir /proc");
    int n = 0;
    size_t mlen = strlen(mark);
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], env[1 << 15];
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* gone already, or not ours */
        size_t len = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        for (size_t i = 0; i + mlen <= len; i += strlen(env + i) + 1) {
            env[len] = '\0';
            if (strcmp(env + i, mark) == 0) {
                pids[n++] = (pid_t)atoi(e->d_name);
                break;
            }
        }
    }
    closedir(d);
    return n;
}

static void run_program(const struct test *t, const char *mark, struct run *r)
{
    memset(r, 0, sizeof *r);
    append(&r->out, &r->nout, "", 0);
    append(&r->err, &r->nerr, "", 0);

    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = calloc(nenv + 2, sizeof *envp);
    if (!envp)
        die("calloc");
    memcpy(envp, environ, nenv * sizeof *envp);
    envp[nenv] = (char *)mark;

    int po[2], pe[2];
    CHECK_SYS(pipe2(po, O_CLOEXEC));
    CHECK_SYS(pipe2(pe, O_CLOEXEC));
    pid_t pid = fork_child();
    if (pid == 0) {
        if (setpgid(0, 0) == -1)
            die_child("setpgid");
        if (dup2(po[1], 1) == -1 || dup2(pe[1], 2) == -1)
            die_child("dup2");
        if (g_via) { /* DIR/<name> <path> <args>: the emulator, named after the program */
            char *argv[MAX_ARGS + 2] = { t->argv[0], t->path };
            for (int i = 1; t->argv[i]; i++)
                argv[i + 1] = t->argv[i];
            char via[PATH_MAX];
            snprintf(via, sizeof via, "%s/%s", g_via, t->argv[0]);
            execve(via, argv, envp);
            die_child("execve %s", via);
        }
        execve(t->path, t->argv, envp);
        die_child("execve %s", t->path);
    }
    free(envp);
    CHECK_SYS(close(po[1]));
    CHECK_SYS(close(pe[1]));
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd == -1)
        die("pidfd_open");

    int64_t start = now_ns(), deadline = start + g_timeout, drain_until = 0;
    bool reaped = false, sent_int = false;
    struct pollfd p[3] = { { .fd = po[0], .events = POLLIN },
                           { .fd = pe[0], .events = POLLIN },
                           { .fd = pidfd, .events = POLLIN } };
    while (p[0].fd >= 0 || p[1].fd >= 0 || !reaped) {
        int64_t now = now_ns();
        if (!sent_int && t->interrupt_ns > 0 && now - start >= t->interrupt_ns) {
            CHECK_SYS(kill(pid, SIGINT)); /* to the program only, as `kill -INT` does */
            sent_int = true;
            deadline = now + 5 * NS_PER_S;
        }
        if (!reaped && now >= deadline) {
            r->timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        if (reaped && now >= drain_until)
            break; /* a leftover descendant holds the pipes open; stop reading */
        int64_t wait = (reaped ? drain_until : deadline) - now;
        if (!sent_int && t->interrupt_ns > 0 && start + t->interrupt_ns - now < wait)
            wait = start + t->interrupt_ns - now;
        if (wait < 0)
            wait = 0;
        struct timespec ts = ns_to_ts(wait);
        int n = ppoll(p, 3, &ts, NULL);
        if (n == -1 && errno != EINTR)
            die("ppoll");
        for (int i = 0; i < 2; i++) {
            if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP))) {
                char buf[4096];
                ssize_t k = read(p[i].fd, buf, sizeof buf);
                if (k > 0 && i == 0)
                    append(&r->out, &r->nout, buf, (size_t)k);
                else if (k > 0)
                    append(&r->err, &r->nerr, buf, (size_t)k);
                else {
                    CHECK_SYS(close(p[i].fd));
                    p[i].fd = -1;
                }
            }
        }
        if (!reaped && (p[2].revents & POLLIN)) {
            CHECK_SYS(waitpid(pid, &r->status, 0));
            reaped = true;
            p[2].fd = -1;
            drain_until = now_ns() + 500 * NS_PER_MS;
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            CHECK_SYS(close(p[i].fd));
    CHECK_SYS(close(pidfd));
}

/* ---- the tests ---- */

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0)
        fatal("smoke.txt: bad regex /%s/", pattern);
    bool m = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void smoke_run(void **state)
{
    const struct test *t = *state;
    char mark[96];
    snprintf(mark, sizeof mark, "WB_SMOKE_MARK=%d-%zu", (int)getpid(), (size_t)(t - g_tests));
    struct run r;
    run_program(t, mark, &r);

    /* nothing may be left behind, whatever else happened */
    pid_t left[16];
    int nleft = marked_processes(mark, left, 16);
    for (int i = 0; i < nleft; i++)
        kill(left[i], SIGKILL);

    char msg[256] = "";
    int code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -WTERMSIG(r.status);
    if (r.timed_out)
        snprintf(msg, sizeof msg, "did not end within %.0f s", (double)g_timeout / 1e9);
    else if (nleft > 0)
        snprintf(msg, sizeof msg, "left %d process(es) behind, first pid %d", nleft, (int)left[0]);
    else if (t->interrupt_ns > 0 && code != -SIGINT && code != 130 && code != 1)
        snprintf(msg, sizeof msg, "after SIGINT: exit %d (expected death by SIGINT, or 130 or 1)", code);
    else if (t->interrupt_ns == 0 && code != t->exit_code)
        snprintf(msg, sizeof msg, "exit %d (expected %d)", code, t->exit_code);
    for (int i = 0; !msg[0] && i < t->nchecks; i++) {
        const struct check *c = &t->checks[i];
        const char *text = c->where == ERR ? r.err : r.out;
        if (matches(text, c->regex) != (c->where != NOT_OUT))
            snprintf(msg, sizeof msg, "%s %s /%s/", c->where == ERR ? "stderr" : "stdout",
                     c->where == NOT_OUT ? "matches" : "does not match", c->regex);
    }
    if (!msg[0] && t->must1) { /* a bad option: exit 2, one line naming it, then usage */
        size_t len = strcspn(r.err, "\n");
        char first[512];
        snprintf(first, sizeof first, "%.*s", (int)(len < 511 ? len : 511), r.err);
        if (r.nout != 0)
            snprintf(msg, sizeof msg, "printed to stdout on a bad option");
        else if (!strstr(first, t->must1) || (t->must2 && !strstr(first, t->must2)))
            snprintf(msg, sizeof msg, "first stderr line does not name '%s'%s%s", t->must1,
                     t->must2 ? " and " : "", t->must2 ? t->must2 : "");
        else if (!strstr(r.err, "\nusage: "))
            snprintf(msg, sizeof msg, "no usage after the error line");
    }
    if (msg[0]) {
        /* the report is built before the buffers are freed: fail_msg does not return */
        static char report[8192];
        snprintf(report, sizeof report, "%s: %s\n--- stdout (%zu bytes) ---\n%.3000s\n--- stderr ---\n%.3000s",
                 t->name, msg, r.nout, r.out, r.err);
        free(r.out);
        free(r.err);
        fail_msg("%s", report);
    }
    free(r.out);
    free(r.err);
}

/* ---- building the list ---- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        die("strdup");
    return p;
}

/* t keeps prog_path (it stays allocated while the runner runs) */
static void set_args(struct test *t, char *prog_path, const char *words)
{
    t->path = prog_path;
    char *copy = xstrdup(words);
    int n = 0;
    t->argv[n++] = xstrdup(strrchr(prog_path, '/') + 1);
    for (char *save, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_ARGS)
            fatal("too many arguments: %s", words);
        t->argv[n++] = xstrdup(w);
    }
    t->argv[n] = NULL;
    free(copy);
}

static void bad_option(const char *chapter, char *path, const char *prog, const char *arg1,
                       const char *arg2, const char *must1, const char *must2)
{
    struct test *t = new_test();
    t->name = xasprintf("%s/%s %s %s", chapter, prog, arg1, arg2 ? arg2 : "");
    char words[256];
    snprintf(words, sizeof words, "%s", arg1);
    set_args(t, path, words);
    if (arg2) { /* keep an empty or spaced value as one argument */
        int n = 0;
        while (t->argv[n])
            n++;
        t->argv[n] = xstrdup(arg2);
        t->argv[n + 1] = NULL;
    }
    t->exit_code = 2;
    t->must1 = must1 ? xstrdup(must1) : NULL;
    t->must2 = must2 ? xstrdup(must2) : NULL;
}

/* Reads `prog --help` and adds the tests every program gets. */
static void option_tests(const char *chapter, char *path, const char *prog)
{
    struct test *h = new_test();
    h->name = xasprintf("%s/%s --help", chapter, prog);
    set_args(h, path, "--help");
    h->checks[h->nchecks++] = (struct check){ OUT, xstrdup("^usage: ") };

    /* the help text itself, now, to find the options */
    struct run r;
    run_program(h, "WB_SMOKE_MARK=help", &r);
    snprintf(g_help_buf, sizeof g_help_buf, "%s", r.out);
    free(r.out);
    free(r.err);

    bad_option(chapter, path, prog, "--no-such-option", NULL, "--no-such-option", NULL);
    bad_option(chapter, path, prog, "stray-argument", NULL, "stray-argument", NULL);
    /* short options: there are none, and the message names the letter, not the word
     * before it */
    bad_option(chapter, path, prog, "-x", NULL, "unknown option '-x'", NULL);
    bad_option(chapter, path, prog, "--quick", "-ab", "unknown option '-a'", "'-ab'");

    regex_t re;
    if (regcomp(&re, "^  --([a-z0-9-]+) (N|TIME|X) .*; ([^ ]+)\\.\\.([^ ]+) \\(default", REG_EXTENDED | REG_NEWLINE))
        fatal("regcomp");
    regmatch_t m[5];
    for (const char *p = g_help_buf; regexec(&re, p, 5, m, 0) == 0; p += m[0].rm_eo) {
        char name[64], kind[8], lo[32], hi[32], opt[80], range[80];
        snprintf(name, sizeof name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        snprintf(kind, sizeof kind, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
        snprintf(lo, sizeof lo, "%.*s", (int)(m[3].rm_eo - m[3].rm_so), p + m[3].rm_so);
        snprintf(hi, sizeof hi, "%.*s", (int)(m[4].rm_eo - m[4].rm_so), p + m[4].rm_so);
        snprintf(opt, sizeof opt, "--%s", name);
        snprintf(range, sizeof range, "%s..%s", lo, hi);
        char below[48], above[48];
        bad_option(chapter, path, prog, opt, "abc", opt, range);
        bad_option(chapter, path, prog, opt, "", opt, range);
        if (strcmp(kind, "N") == 0) {
            long a, b;
            if (parse_long(lo, &a) || parse_long(hi, &b))
                fatal("%s %s: bad range %s", prog, opt, range);
            snprintf(below, sizeof below, "%ld", a - 1);
            snprintf(above, sizeof above, "%ld", b + 1);
            bad_option(chapter, path, prog, opt, "99999999999999999999999", opt, range);
            bad_option(chapter, path, prog, opt, "1.5", opt, range);
        } else if (strcmp(kind, "TIME") == 0) {
            int64_t a, b;
            if (parse_duration(lo, &a) || parse_duration(hi, &b))
                fatal("%s %s: bad range %s", prog, opt, range);
            snprintf(below, sizeof below, "%" PRId64 "ns", a - 1);
            snprintf(above, sizeof above, "%" PRId64 "ns", b + 1);
            bad_option(chapter, path, prog, opt, "5", opt, range); /* no unit */
            bad_option(chapter, path, prog, opt, "1e30s", opt, range);
        } else {
            double a, b;
            if (parse_real(lo, &a) || parse_real(hi, &b))
                fatal("%s %s: bad range %s", prog, opt, range);
            snprintf(below, sizeof below, "%g", a - (a > 0 ? a / 2 : 1));
            snprintf(above, sizeof above, "%g", b + (b > 0 ? b : 1));
            bad_option(chapter, path, prog, opt, "nan", opt, range);
        }
        bad_option(chapter, path, prog, opt, below, opt, range);
        bad_option(chapter, path, prog, opt, above, opt, range);
    }
    regfree(&re);

    /* choices: "  --mode new|old ..." */
    if (regcomp(&re, "^  --([a-z0-9-]+) ([a-z0-9-]+\\|[a-z0-9|-]+) ", REG_EXTENDED | REG_NEWLINE))
        fatal("regcomp");
    for (const char *p = g_help_buf; regexec(&re, p, 3, m, 0) == 0; p += m[0].rm_eo) {
        char opt[80];
        snprintf(opt, sizeof opt, "--%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        bad_option(chapter, path, prog, opt, "no-such-choice", opt, "one of");
    }
    regfree(&re);
}

/* does directive `d` (e.g. "exit@thread") apply to this build? strips the @part */
static bool applies(char *d)
{
    char *at = strchr(d, '@');
    if (!at)
        return true;
    *at = '\0';
    return strstr(g_san, at + 1) != NULL;
}

/* Reads chapters/<chapter>/smoke.txt; marks the programs it runs in `seen`. */
static void read_smoke_file(const char *top, const char *build, const char *chapter,
                            char **progs, int nprogs, bool *seen)
{
    char *path = xasprintf("%s/chapters/%s/smoke.txt", top, chapter);
    FILE *f = fopen(path, "r");
    if (!f) {
        free(path);
        return; /* its programs will be reported as unlisted */
    }
    char line[1024];
    struct test *t = NULL;
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        line[strcspn(line, "\n")] = '\0';
        char *s = line + strspn(line, " \t");
        if (*s == '\0' || *s == '#')
            continue;
        if (s == line) { /* a run: program and arguments */
            char prog[128];
            snprintf(prog, sizeof prog, "%.*s", (int)strcspn(s, " \t"), s);
            char *rel = xasprintf("chapters/%s/%s", chapter, prog);
            int k = 0;
            while (k < nprogs && strcmp(progs[k], rel) != 0)
                k++;
            if (k == nprogs)
                fatal("%s:%d: %s is not a program of the chapter's Makefile", path, lineno, prog);
            seen[k] = true;
            t = new_test();
            t->name = xasprintf("%s/%s", chapter, s);
            set_args(t, xasprintf("%s/%s", build, rel), s + strlen(prog));
            free(rel);
            continue;
        }
        if (!t)
            fatal("%s:%d: a directive before any program", path, lineno);
        char *d = s, *arg = s + strcspn(s, " \t");
        if (*arg)
            *arg++ = '\0';
        arg += strspn(arg, " \t");
        if (!applies(d))
            continue;
        if (strcmp(d, "exit") == 0) {
            long v;
            if (parse_long(arg, &v))
                fatal("%s:%d: exit wants a number", path, lineno);
            t->exit_code = (int)v;
        } else if (strcmp(d, "interrupt") == 0) {
            if (parse_duration(arg, &t->interrupt_ns))
                fatal("%s:%d: interrupt wants a duration", path, lineno);
        } else if (strcmp(d, "out") == 0 || strcmp(d, "!out") == 0 || strcmp(d, "err") == 0) {
            if (t->nchecks == MAX_CHECKS)
                fatal("%s:%d: too many checks", path, lineno);
            int where = d[0] == '!' ? NOT_OUT : d[0] == 'e' ? ERR : OUT;
            t->checks[t->nchecks++] = (struct check){ where, xstrdup(arg) };
        } else {
            fatal("%s:%d: unknown directive '%s'", path, lineno, d);
        }
    }
    fclose(f);
    free(path);
}

static void unlisted(void **state)
{
    fail_msg("%s has no run in its chapter's smoke.txt", (const char *)*state);
}

int main(int argc, char **argv)
{
    const char *top = NULL, *build = NULL;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--top") == 0)
            top = argv[i + 1];
        else if (strcmp(argv[i], "--build") == 0)
            build = argv[i + 1];
        else if (strcmp(argv[i], "--san") == 0)
            g_san = argv[i + 1];
        else if (strcmp(argv[i], "--via") == 0)
            g_via = argv[i + 1];
        else
            break;
    }
    if (!top || !build) {
        fprintf(stderr, "usage: smoke --top DIR --build DIR [--san LIST] [--via DIR] chapters/NN/prog ...\n");
        return 2;
    }
    g_timeout = (g_san[0] ? 120 : 10) * NS_PER_S;
    char **progs = argv + i;
    int nprogs = argc - i;
    bool *seen = calloc((size_t)nprogs + 1, sizeof *seen);
    if (!seen)
        die("calloc");

    char chapters[64][128];
    int nchapters = 0;
    for (int k = 0; k < nprogs; k++) {
        char ch[128];
        if (sscanf(progs[k], "chapters/%127[^/]/", ch) != 1)
            fatal("%s: not chapters/<chapter>/<program>", progs[k]);
        int c = 0;
        while (c < nchapters && strcmp(chapters[c], ch) != 0)
            c++;
        if (c == nchapters && nchapters < 64)
            snprintf(chapters[nchapters++], sizeof chapters[0], "%s", ch);
    }
    for (int c = 0; c < nchapters; c++)
        read_smoke_file(top, build, chapters[c], progs, nprogs, seen);
    size_t nruns = g_ntests;
    for (int k = 0; k < nprogs; k++) {
        char ch[128];
        sscanf(progs[k], "chapters/%127[^/]/", ch);
        option_tests(ch, xasprintf("%s/%s", build, progs[k]), strrchr(progs[k], '/') + 1);
    }

    size_t n = g_ntests + (size_t)nprogs;
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    if (!tests)
        die("calloc");
    size_t k = 0;
    for (int p = 0; p < nprogs; p++)
        if (!seen[p])
            tests[k++] = (struct CMUnitTest){ .name = progs[p], .test_func = unlisted, .initial_state = progs[p] };
    for (size_t j = 0; j < g_ntests; j++)
        tests[k++] = (struct CMUnitTest){ .name = g_tests[j].name, .test_func = smoke_run, .initial_state = &g_tests[j] };
    printf("smoke: %zu runs from smoke.txt, %zu option checks, %d programs\n", nruns, g_ntests - nruns, nprogs);
    int failed = _cmocka_run_group_tests("smoke", tests, k, NULL, NULL);
    free(tests);
    free(seen);
    return failed != 0;
}

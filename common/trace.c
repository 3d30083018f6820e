/* trace.c: trace lines that show who did what when.
 *
 *     0.512s   4242 aaa_process   count 3
 *
 * The name is the kernel's name of the calling thread (its "comm", 15 characters at
 * most, what `ps` and `ps -L` show); trace_name() sets it. Each line is formatted
 * first and leaves with one write(2) of the stdout buffer, so lines written at the
 * same time by several processes or threads come out whole, not interleaved.
 */
#include "common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <unistd.h>

static _Atomic int64_t g_t0; /* 0 until the first trace; kept by forked children */

void trace_start(void)
{
    atomic_store(&g_t0, now_ns());
}

void trace_name(const char *name)
{
    if (prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_SET_NAME, %s)", name);
}

void trace(const char *fmt, ...)
{
    int64_t now = now_ns();
    int64_t t0 = 0;
    /* the first caller sets the start; a second one racing it keeps the first's */
    if (!atomic_compare_exchange_strong(&g_t0, &t0, now))
        now -= t0;
    else
        now = 0;

    char name[16] = "?";
    if (prctl(PR_GET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) == -1)
        die("prctl(PR_GET_NAME)");

    char line[1024];
    int n = snprintf(line, sizeof line, "%7.3fs %6d %-15s ", (double)now / 1e9, (int)getpid(), name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);

    flockfile(stdout);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    funlockfile(stdout);
}

/* err.c: report an error and exit, in the style of TLPI's errExit / errExitEN.
 *
 * Messages go to stderr as one line: "program: what failed: why". The message is
 * built first and written with a single write(2), so it stays whole when several
 * processes or threads fail at once.
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_short_name; /* glibc: basename of argv[0] */

#define LINE_MAX_ 1024

/* snprintf returns the length it wanted; keep room for the newline */
static size_t clamp(int wanted, size_t used)
{
    if (wanted < 0)
        return used;
    size_t n = used + (size_t)wanted;
    return n < LINE_MAX_ - 1 ? n : LINE_MAX_ - 2;
}

static void report(int en, bool flush, const char *fmt, va_list ap)
{
    char line[LINE_MAX_];
    size_t n = clamp(snprintf(line, sizeof line, "%s: ", program_invocation_short_name), 0);
    n = clamp(vsnprintf(line + n, sizeof line - n, fmt, ap), n);
    if (en != 0) {
        char buf[256];
        /* the GNU strerror_r returns the message, which need not be in buf */
        const char *why = strerror_r(en, buf, sizeof buf);
        n = clamp(snprintf(line + n, sizeof line - n, ": %s", why), n);
    }
    line[n++] = '\n';
    if (flush)
        fflush(stdout); /* what the program printed so far comes before the error */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nothing more can be done if stderr is gone */
}

void die(const char *fmt, ...)
{
    int en = errno;
    va_list ap;
    va_start(ap, fmt);
    report(en, true, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void die_en(int en, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(en, true, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void die_child(const char *fmt, ...)
{
    int en = errno;
    va_list ap;
    va_start(ap, fmt);
    report(en, false, fmt, ap);
    va_end(ap);
    _exit(EXIT_FAILURE);
}

void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(0, true, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

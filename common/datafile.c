/* datafile.c: gnuplot data files that say what they hold.
 *
 * perfbook keeps the machine's description beside its data; here it goes in the data
 * file's header, and the figures' captions read it back from there (plots/style.gp).
 */
#include "common.h"

#include <stdarg.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#if defined(__clang__)
#define COMPILER "clang " STR(__clang_major__) "." STR(__clang_minor__) "." STR(__clang_patchlevel__)
#elif defined(__GNUC__)
#define COMPILER "gcc " STR(__GNUC__) "." STR(__GNUC_MINOR__) "." STR(__GNUC_PATCHLEVEL__)
#else
#define COMPILER "cc"
#endif

#ifndef WB_BUILD
#define WB_BUILD "" /* the Makefile passes the optimisation and sanitizer flags */
#endif

/* "AMD EPYC" from /proc/cpuinfo's first "model name", with "(R)", "(TM)" and the
 * clock rate dropped. Falls back to "unknown CPU" (other architectures, containers). */
static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *p = strchr(line, ':');
        if (!p)
            break;
        p += 1 + strspn(p + 1, " \t");
        p[strcspn(p, "@\n")] = '\0'; /* drop " @ 2.90GHz" */
        static const char *noise[] = { "(R)", "(TM)", " CPU", " Processor" };
        for (size_t i = 0; i < ARRAY_LEN(noise); i++)
            for (char *q; (q = strstr(p, noise[i]));)
                memmove(q, q + strlen(noise[i]), strlen(q + strlen(noise[i])) + 1);
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            p[--n] = '\0';
        snprintf(buf, len, "%s", p);
        break;
    }
    fclose(f);
}

/* "2 cores": the count the sweeps followed (cpu_count), and what it was taken from when
 * that is not the whole machine: "1 core (of 2 online)" under taskset or a cpuset,
 * "16 cores (WB_CORES; 2 usable)" when faked. No commas: the figures split the machine
 * line at them. */
static const char *cores_string(void)
{
    static char s[64];
    int n = cpu_count();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int len = snprintf(s, sizeof s, "%d core%s", n, n == 1 ? "" : "s");
    if (cpus_faked())
        snprintf(s + len, sizeof s - (size_t)len, " (WB_CORES; %d usable)", cpus_usable());
    else if (online > n)
        snprintf(s + len, sizeof s - (size_t)len, " (of %ld online)", online);
    return s;
}

const char *machine_string(void)
{
    static char s[256];
    if (s[0])
        return s;
    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    struct utsname u;
    char kernel[80] = "unknown";
    if (uname(&u) == 0)
        snprintf(kernel, sizeof kernel, "%s %.*s", u.sysname, (int)strcspn(u.release, "-+"), u.release);
    snprintf(s, sizeof s, "%s, %s, %s, %s%s%s", cpu, cores_string(), kernel, COMPILER, WB_BUILD[0] ? " " : "",
             WB_BUILD);
    return s;
}

/* the open data file and how many blocks it has; one data file at a time */
static FILE *g_file;
static int g_blocks;

FILE *data_open(const char *path, const char *title)
{
    if (!path)
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f)
        die("--data: cannot write %s", path);
    time_t t = time(NULL);
    struct tm tm;
    char date[64] = "unknown";
    if (gmtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    g_file = f;
    g_blocks = 0;
    fprintf(f, "# %s\n# machine: %s\n# date: %s\n", title, machine_string(), date);
    return f;
}

void data_block(FILE *f, const char *name, const char *const *columns)
{
    if (!f)
        return;
    if (f != g_file)
        fatal("data_block: not the open data file");
    /* blocks after the first follow two blank lines: gnuplot's `index N` counts them */
    if (g_blocks > 0)
        fputs("\n\n", f);
    fprintf(f, "# block %d: %s\n# columns:\n", g_blocks++, name);
    for (int i = 0; columns && columns[i]; i++)
        fprintf(f, "#   %d  %s\n", i + 1, columns[i]);
}

void data_row(FILE *f, const char *fmt, ...)
{
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

void data_close(FILE *f)
{
    if (!f)
        return;
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed)
        die("--data: writing the data file failed");
    g_file = NULL;
}

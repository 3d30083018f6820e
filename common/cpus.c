/* cpus.c: the CPUs a program may use, and the sweeps that follow them.
 *
 * The count is the size of the process's affinity mask (sched_getaffinity), not
 * sysconf(_SC_NPROCESSORS_ONLN): the online count is every CPU the kernel runs, and
 * ignores `taskset -c 0 prog`, a cgroup cpuset (docker --cpuset-cpus) and anything else
 * that limits where this process may run. A sweep sized from it would put 32 threads on
 * one allowed core and call that 16 cores. (nproc(1) counts the mask too. A CPU quota,
 * docker --cpus=2, is a share of time, not a mask: it is not seen here; WB_CORES=2
 * tells the programs.)
 *
 * The mask is read once, when the program starts (a constructor, before main), so
 * that a thread that pins itself before asking does not shrink the count, and so that
 * cpu_nth(i) can name "the i-th CPU we were given" wherever those CPUs are.
 */
#include "common.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_cpu[CPU_SETSIZE]; /* the CPUs of the mask, in order */
static int g_ncpus;            /* how many */
static int g_faked;            /* WB_CORES, or 0 */

__attribute__((constructor)) static void cpus_init(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                g_cpu[g_ncpus++] = c;
    }
    if (g_ncpus == 0) { /* no mask to read: every online CPU, numbered from 0 */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (g_ncpus = 0; g_ncpus < (n > 0 && n < CPU_SETSIZE ? n : 1); g_ncpus++)
            g_cpu[g_ncpus] = g_ncpus;
    }
    const char *fake = getenv("WB_CORES");
    if (fake && *fake) {
        long n;
        if (parse_long(fake, &n) != 0 || n < 1 || n > MAX_CORES)
            fatal("WB_CORES=%s: must be a whole number from 1 to %d (or unset)", fake, MAX_CORES);
        g_faked = (int)n;
    }
}

int cpu_count(void)
{
    return g_faked ? g_faked : g_ncpus;
}

int cpus_usable(void)
{
    return g_ncpus;
}

bool cpus_faked(void)
{
    return g_faked != 0;
}

int cpu_nth(int i)
{
    if (i < 0)
        fatal("cpu_nth(%d): no such CPU", i);
    return g_cpu[i % g_ncpus];
}

int sweep_next(int n, int cores, int max)
{
    int next = n + 1;
    if (n >= 8) { /* 8, 12, 16, 24, 32, 48, ...: each a power of two or 1.5 times one */
        next = 8;
        while (next <= n)
            next = next % 3 == 0 ? next / 3 * 4 : next / 2 * 3;
    }
    if (n < cores && next > cores)
        next = cores;
    if (n < max && next > max)
        next = max;
    return next;
}

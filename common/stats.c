/* stats.c: order statistics over a sample, the numbers every measurement reports. */
#include "common.h"

#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between the two closest ranks (the definition numpy's
 * percentile uses by default): p = 50 of {1, 2, 3, 4} is 2.5. */
double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        fatal("percentile of an empty sample");
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

struct summary summarize(double *v, size_t n)
{
    if (n == 0)
        fatal("summarize: no samples");
    qsort(v, n, sizeof *v, cmp_double);
    return (struct summary){
        .n = n,
        .min = v[0],
        .p10 = percentile(v, n, 10),
        .median = percentile(v, n, 50),
        .p90 = percentile(v, n, 90),
        .max = v[n - 1],
    };
}

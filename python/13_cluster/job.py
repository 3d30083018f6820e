"""13_cluster/job.py: chapter 03's CPU-bound job, as chapters/13-cluster/cluster.c defines
it: the sum of mix64(i) for i in [0, n), modulo 2^64, cut into near-equal slices. Used
by the ranks of an MPI job (ranks.py) and by the Pool's workers alike."""

M64 = (1 << 64) - 1


def job_sum(lo, hi):
    """The sum of common.h's mix64 (splitmix64's finalizer) over [lo, hi), mod 2^64."""
    s = 0
    for x in range(lo, hi):
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
        s += x ^ (x >> 31)
    return s & M64


def job_slice(n, k, parts):
    """The k-th of `parts` near-equal slices of [0, n), as (lo, hi)."""
    return n * k // parts, n * (k + 1) // parts


def task_sum(n, tasks, k):
    """Task k of `tasks`: its slice's sum (what a Pool's worker computes)."""
    return job_sum(*job_slice(n, k, tasks))

/* pool_job.h: the chapter's job on chapter 03's fork pool, for comparison with MPI.
 *
 * The same slices as cluster.h's job, as pool tasks: mpi_bench times them against
 * MPI, mpi_fault kills a worker in one of them.
 */
#ifndef WORKBOOK_POOL_JOB_H
#define WORKBOOK_POOL_JOB_H

#include "cluster.h"
#include "../03-pool/pool.h"

/* a task's argument: a slice of the job; with die set, its worker kills itself */
struct pool_slice {
    uint64_t from, to;
    int die;
};

/* pool_fn: job_sum over the slice, an 8-byte result (or SIGKILL to its worker) */
int pool_slice_task(const void *arg, size_t len, void *out, size_t cap, size_t *out_len);

/* The job in job->tasks tasks on a new pool of `workers` (pool_map, one task per
 * slice). Returns the seconds the map took; the total in *total; the time from
 * pool_new to the first result of a tiny task, in ms, in *start_ms. */
double pool_job_time(int workers, const struct job *job, uint64_t *total, double *start_ms);

/* `trips` round trips (pool_apply_async + pool_get of an empty slice) on a pool of one
 * worker, the caller on CPU 0 and the worker on `cpu`; each one's time in us in us[]. */
void pool_job_trips(int cpu, long trips, double *us);

#endif

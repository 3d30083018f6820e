/* cluster.c: chapter 03's Pool.map, on MPI (see cluster.h). */
#include "cluster.h"

#include <stdlib.h>

extern char *program_invocation_short_name;

void mpi_fail(int rc, const char *call)
{
    char msg[MPI_MAX_ERROR_STRING] = "unknown MPI error";
    int len, rank = -1;
    MPI_Error_string(rc, msg, &len);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fflush(stdout);
    fprintf(stderr, "%s: rank %d: %s: %s\n", program_invocation_short_name, rank, call, msg);
    MPI_Abort(MPI_COMM_WORLD, 1); /* ends every rank of the job, not just this one */
    exit(1);
}

void mpi_start(int *argc, char ***argv, int *rank, int *size)
{
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS)
        fatal("MPI_Init failed (error %d)", rc);
    CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, rank));
    CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, size));
}

uint64_t job_sum(uint64_t from, uint64_t to)
{
    uint64_t sum = 0;
    for (uint64_t i = from; i < to; i++)
        sum += mix64(i);
    return sum;
}

void job_slice(uint64_t n, long k, long parts, uint64_t *from, uint64_t *to)
{
    /* n * k / parts, rounded down, in a form where n * k cannot overflow */
    uint64_t q = n / (uint64_t)parts, r = n % (uint64_t)parts;
    *from = q * (uint64_t)k + r * (uint64_t)k / (uint64_t)parts;
    *to = q * (uint64_t)(k + 1) + r * (uint64_t)(k + 1) / (uint64_t)parts;
}

static int64_t cpu_now(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return ts_to_ns(ts);
}

uint64_t map_static(const struct job *job, struct rank_work *me)
{
    int rank, size;
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
    *me = (struct rank_work){ 0 };
    int64_t t0 = now_ns(), c0 = cpu_now();

    uint64_t *bounds = NULL, *parts = NULL; /* rank 0 only: [from, to) per rank; the sums */
    if (rank == 0) {
        bounds = malloc(2 * (size_t)size * sizeof *bounds);
        parts = malloc((size_t)size * sizeof *parts);
        if (!bounds || !parts)
            die("malloc");
        for (int k = 0; k < size; k++)
            job_slice(job->n, k, size, &bounds[2 * k], &bounds[2 * k + 1]);
    }
    uint64_t mine[2];
    CHECK_MPI(MPI_Scatter(bounds, 2, MPI_UINT64_T, mine, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD));
    int64_t w0 = now_ns();
    uint64_t part = job_sum(mine[0], mine[1]);
    me->work_ns = now_ns() - w0;
    me->tasks = 1;
    CHECK_MPI(MPI_Gather(&part, 1, MPI_UINT64_T, parts, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));

    uint64_t total = 0;
    for (int k = 0; rank == 0 && k < size; k++)
        total += parts[k];
    free(bounds);
    free(parts);
    me->wall_ns = now_ns() - t0;
    me->cpu_ns = cpu_now() - c0;
    return total;
}

bool map_send_next(const struct job *job, int worker, long *next)
{
    if (*next >= job->tasks) {
        CHECK_MPI(MPI_Send(NULL, 0, MPI_UINT64_T, worker, MAP_STOP, MPI_COMM_WORLD));
        return false;
    }
    uint64_t task[3] = { (uint64_t)*next, 0, 0 };
    job_slice(job->n, *next, job->tasks, &task[1], &task[2]);
    CHECK_MPI(MPI_Send(task, 3, MPI_UINT64_T, worker, MAP_TASK, MPI_COMM_WORLD));
    (*next)++;
    return true;
}

static uint64_t deal(const struct job *job, int size, const struct map_hooks *hooks)
{
    uint64_t total = 0;
    long next = 0, results = 0;
    for (int working = size - 1; working > 0;) {
        uint64_t msg[2];
        MPI_Status st;
        CHECK_MPI(MPI_Recv(msg, 2, MPI_UINT64_T, MPI_ANY_SOURCE, MAP_ASK, MPI_COMM_WORLD, &st));
        if (msg[0] > 0) {
            total += msg[1];
            results++;
            if (hooks && hooks->result_in)
                hooks->result_in((long)msg[0] - 1, st.MPI_SOURCE, msg[1], results);
        }
        if (!map_send_next(job, st.MPI_SOURCE, &next))
            working--;
    }
    if (results != job->tasks)
        fatal("rank 0 got %ld results for %ld tasks", results, job->tasks);
    return total;
}

void map_worker(struct rank_work *me, const struct map_hooks *hooks)
{
    uint64_t msg[2] = { 0, 0 };
    for (;;) {
        CHECK_MPI(MPI_Send(msg, 2, MPI_UINT64_T, 0, MAP_ASK, MPI_COMM_WORLD));
        uint64_t task[3];
        MPI_Status st;
        CHECK_MPI(MPI_Recv(task, 3, MPI_UINT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
        if (st.MPI_TAG == MAP_STOP)
            return;
        me->tasks++;
        if (hooks && hooks->task_taken)
            hooks->task_taken((long)task[0], me->tasks);
        int64_t w0 = now_ns();
        msg[0] = task[0] + 1;
        msg[1] = job_sum(task[1], task[2]);
        me->work_ns += now_ns() - w0;
    }
}

uint64_t map_dynamic(const struct job *job, struct rank_work *me, const struct map_hooks *hooks)
{
    int rank, size;
    CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
    *me = (struct rank_work){ 0 };
    int64_t t0 = now_ns(), c0 = cpu_now();
    uint64_t total = 0;
    if (size == 1) { /* no one to deal to: rank 0 does it all */
        total = job_sum(0, job->n);
        me->tasks = job->tasks;
        me->work_ns = now_ns() - t0;
    } else if (rank == 0) {
        total = deal(job, size, hooks);
    } else {
        map_worker(me, hooks);
    }
    me->wall_ns = now_ns() - t0;
    me->cpu_ns = cpu_now() - c0;
    return total;
}

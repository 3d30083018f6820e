"""13_cluster/ranks.py: one MPI job of python/13_cluster.py, run by mpiexec, never by hand:

    mpiexec -n P python3 -m mpi4py python/13_cluster/ranks.py N TASKS TRIPS CORES [hang]

(`-m mpi4py` aborts the whole job when a rank raises, instead of leaving the others
waiting.) Every rank runs this file from the top; comm.Get_rank() makes them differ, as
in mpi_bench.c's one_job:
  static   comm.scatter of P slices from rank 0, each rank sums its slice, comm.gather
  dynamic  rank 0 deals TASKS tasks one at a time with comm.send, to whichever worker
           asks first (comm.recv from MPI.ANY_SOURCE); the workers ask, compute, answer
  trips    with two ranks: one small object there and back, TRIPS times, with the
           pickling comm.send / comm.recv and with the buffer calls comm.Send / Recv
           on one uint64 (what MPI_Send carries in C)
A job confined to one CPU (the launcher pinned it) measures only the round trip. With
`hang`, rank 0 waits for a message rank 1 never sends (mpi_fault's stopped rank): only
the launcher's deadline ends that job. Rank 0
prints one line of JSON: the time every rank was past MPI_Init (the import of
mpi4py.MPI) and a barrier, the maps' times and totals, each rank's work in the dynamic
map, the round trips in µs.
"""
import json
import os
import sys
import time
from array import array

from job import job_slice, job_sum
from mpi4py import MPI

ASK, TASK, STOP = 1, 2, 3


def map_static(comm, n):
    rank, size = comm.Get_rank(), comm.Get_size()
    t = time.perf_counter()
    lo, hi = comm.scatter([job_slice(n, k, size) for k in range(size)] if rank == 0 else None, root=0)
    parts = comm.gather(job_sum(lo, hi), root=0)
    return (sum(parts) & ((1 << 64) - 1) if rank == 0 else None), time.perf_counter() - t


def map_dynamic(comm, n, tasks):
    """Returns rank 0's total (None elsewhere) and this rank's work: tasks, seconds
    computing, seconds in the map, CPU seconds in the map."""
    rank, size = comm.Get_rank(), comm.Get_size()
    t, c = time.perf_counter(), time.process_time()
    done, busy, total = 0, 0.0, 0
    if size == 1:
        for k in range(tasks):
            total += job_sum(*job_slice(n, k, tasks))
        done, busy = tasks, time.perf_counter() - t
    elif rank == 0:  # the dealer
        status, dealt, working = MPI.Status(), 0, size - 1
        while working:
            k, s = comm.recv(source=MPI.ANY_SOURCE, tag=ASK, status=status)  # a result and a request
            total += s if k else 0
            if dealt < tasks:
                comm.send((dealt, *job_slice(n, dealt, tasks)), dest=status.Get_source(), tag=TASK)
                dealt += 1
            else:
                comm.send(None, dest=status.Get_source(), tag=STOP)
                working -= 1
    else:
        status = MPI.Status()
        comm.send((0, 0), dest=0, tag=ASK)
        while True:
            msg = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
            if status.Get_tag() == STOP:
                break
            w = time.perf_counter()
            s = job_sum(msg[1], msg[2])
            busy += time.perf_counter() - w
            done += 1
            comm.send((msg[0] + 1, s), dest=0, tag=ASK)
    return (total & ((1 << 64) - 1) if rank == 0 else None), (done, busy, time.perf_counter() - t,
                                                             time.process_time() - c)


def trips(comm, count, buffers):
    rank, other = comm.Get_rank(), 1 - comm.Get_rank()
    x, buf, out = 7, array("Q", [7]), []
    comm.Barrier()
    for _ in range(count):
        t = time.perf_counter_ns()
        if buffers and rank == 0:
            comm.Send([buf, MPI.UINT64_T], dest=other)
            comm.Recv([buf, MPI.UINT64_T], source=other)
        elif buffers:
            comm.Recv([buf, MPI.UINT64_T], source=other)
            comm.Send([buf, MPI.UINT64_T], dest=other)
        elif rank == 0:
            comm.send(x, dest=other)
            x = comm.recv(source=other)
        else:
            x = comm.recv(source=other)
            comm.send(x, dest=other)
        out.append((time.perf_counter_ns() - t) / 1e3)
    out.sort()
    return [out[len(out) // 2], out[len(out) // 10], out[(9 * len(out)) // 10]]


def main():
    n, tasks, count, cores = (int(a) for a in sys.argv[1:5])
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    comm.Barrier()
    if sys.argv[5:] == ["hang"]:
        if rank == 0:
            comm.recv(source=1)  # never comes
        time.sleep(3600)
    report = {"ranks": size, "started": time.monotonic_ns(), "one_cpu": len(os.sched_getaffinity(0)) == 1,
              "library": MPI.Get_library_version().splitlines()[0].strip()}
    if not report["one_cpu"]:
        map_static(comm, 10000)  # warm-up: the code paths and MPI's buffers
        map_dynamic(comm, 10000, tasks)
        comm.Barrier()
        report["static_total"], report["static_s"] = map_static(comm, n)
        comm.Barrier()
        report["dynamic_total"], mine = map_dynamic(comm, n, tasks)
        report["dynamic_s"] = mine[2] if rank == 0 else None
        report["per_rank"] = comm.gather(mine, root=0)
    if size == 2 and (report["one_cpu"] or cores >= 2):
        if not report["one_cpu"]:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[rank]})  # one rank per core
        k = 20 if report["one_cpu"] else count  # (on one core each takes a time slice)
        report["trip"] = trips(comm, k, False)
        report["trip_buffer"] = trips(comm, k, True)
    if rank == 0:
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()

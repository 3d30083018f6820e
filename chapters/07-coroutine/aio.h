/* aio.h: asyncio's shape, stackless: tasks that are generators, on an event loop.
 *
 * An asyncio coroutine has no stack of its own. `async def` compiles to a generator:
 * `await` suspends it by returning to the event loop, its frame (locals and where it
 * stands) waits on the heap, and the loop calls it again when what it awaits is done.
 * Here a task is the same thing in C: a struct holding its state (a struct gen from
 * generator.h, where it stands, plus whatever must live across an await) and a step
 * function, the body, that runs from where it stood to its next await and returns.
 * The loop is one thread, one epoll descriptor, a timer heap and a ready queue.
 *
 *   Python (asyncio)                        C (inside a step function)
 *   async def worker(...):                  static bool worker(struct aio_task *t)
 *                                           {   struct job *j = (struct job *)t;
 *                                               GEN_BEGIN(&t->gen);
 *       await asyncio.sleep(1)                  AIO_SLEEP(t, NS_PER_S);
 *       data = await loop.sock_recv(s, n)       AIO_READ(t, fd, buf, n, &j->got);
 *       await loop.sock_sendall(s, data)        AIO_WRITE(t, fd, buf, n, &j->sent);
 *       await asyncio.gather(*tasks)            AIO_GATHER(t, kids, n);
 *       return                                  GEN_END(&t->gen); }
 *   asyncio.create_task(worker(...))        aio_spawn(&j->task, worker);
 *   asyncio.run(main())                     aio_run(&m.task, main_step);
 *
 * The rules of generator.h hold, because a task is a generator: an await only in the
 * step function itself (never in a function it calls), at most one await per source
 * line, no switch statement of your own around an await, and nothing in a local
 * variable that must survive an await: keep it in the task's struct (embed struct
 * aio_task first in your own struct and cast, as above). The tasks' memory is yours:
 * the loop allocates nothing per task, and a task must stay where it is until it has
 * finished or aio_run has returned.
 */
#ifndef WORKBOOK_AIO_H
#define WORKBOOK_AIO_H

#include "generator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct aio_task;
/* Runs the task to its next await (returns true) or to its end (returns false). */
typedef bool (*aio_step)(struct aio_task *t);

struct aio_task {
    struct gen gen;            /* where the body stands (generator.h) */
    int pending;               /* AIO_GATHER: children not finished yet */
    aio_step step;
    struct aio_task *next;     /* the ready queue */
    struct aio_task *awaiter;  /* who gathers this task */
    int64_t deadline;          /* its timer, while it sleeps */
    uint32_t heap_at;          /* its place in the timer heap (UINT32_MAX: none) */
    uint32_t seq;              /* ties between equal deadlines: first set, first fired */
    bool done;
};

/* asyncio.run: runs main as a task, and the loop until main has finished. Returns 0,
 * or EDEADLK if main can never finish (nothing ready, no timer, no descriptor
 * watched). One loop per thread at a time. */
int aio_run(struct aio_task *main, aio_step step);

/* asyncio.create_task: the task runs when the loop gets to it (after the caller's next
 * await). Only from inside a running loop. */
void aio_spawn(struct aio_task *t, aio_step step);

/* The awaits. Each is a statement inside a step function: it may return from the
 * step function (the await) and come back to the same line when the loop resumes it. */
#define AIO_SLEEP(t, ns)                                                               \
    do {                                                                               \
        aio_sleep_start((t), (ns));                                                    \
        GEN_YIELD(&(t)->gen);                                                          \
    } while (0)
/* Waits until every one of the n tasks kids[0..n) has finished. */
#define AIO_GATHER(t, kids, n)                                                         \
    do {                                                                               \
        if (aio_gather_start((t), (kids), (n)))                                        \
            GEN_YIELD(&(t)->gen);                                                      \
    } while (0)
/* *out = read(fd, buf, n), waiting while the descriptor has nothing (fd non-blocking);
 * -1 with errno on an error. */
#define AIO_READ(t, fd, buf, n, out)                                                   \
    while ((*(out) = aio_read_try((t), (fd), (buf), (n))) == AIO_PENDING)               \
    GEN_YIELD(&(t)->gen)
/* Writes all n bytes; *done counts them (start it at 0): n, or -1 with errno. */
#define AIO_WRITE(t, fd, buf, n, done)                                                 \
    while (aio_write_try((t), (fd), (buf), (n), (done)) == AIO_PENDING)                 \
    GEN_YIELD(&(t)->gen)

#define AIO_PENDING (-2)

/* Behind the macros. */
void aio_sleep_start(struct aio_task *t, int64_t ns);
bool aio_gather_start(struct aio_task *t, struct aio_task *const *kids, size_t n);
ssize_t aio_read_try(struct aio_task *t, int fd, void *buf, size_t n);
ssize_t aio_write_try(struct aio_task *t, int fd, const void *buf, size_t n, ssize_t *done);

/* Close a descriptor tasks may wait on: the loop forgets it first. */
int aio_close(int fd);

#endif

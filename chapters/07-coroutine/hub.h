/* hub.h: a gevent-style hub: coroutines that switch when they would block.
 *
 * One thread, many tasks (each a stackful coroutine, coro.h), and one more coroutine,
 * the hub, that runs the event loop: a ready queue, a heap of timers and an epoll
 * set. A task never blocks the thread. When it would wait (for time to pass, for a
 * descriptor to become readable or writable, for another task to finish), it tells
 * the hub what it waits for and switches to it; the hub runs whatever is ready, and
 * when the task's event comes, switches back. To the task, co_sleep and co_read look
 * like sleep and read: they return when done.
 *
 *   Python (gevent)                          C
 *   monkey.patch_all()                       call co_sleep/co_read/... instead of
 *                                            sleep_ns/read/... (made explicit here)
 *   g = gevent.spawn(f, arg)                 struct hub_task *g = hub_spawn(f, arg);
 *   g.join(timeout); g.value                 hub_join(g, timeout_ns, &value)
 *   gevent.joinall([g1, g2])                 hub_joinall(gs, 2, timeout_ns)
 *   gevent.sleep(s)                          co_sleep(ns)
 *   gevent.sleep(0)                          hub_yield()
 *   sock.recv / sendall / accept / connect   co_read / co_write / co_accept / co_connect
 *   sock.close() (hub.cancel_wait inside)    co_close(fd): wakes its waiters with EBADF
 *   hub.cancel_wait(watcher, error)          hub_cancel_wait(fd, err)
 *   LoopExit ("would block forever")         hub_join returns EDEADLK
 *
 * The hub of a thread is made on first use and lives until hub_close(). Tasks start
 * running only when the spawner blocks (joins, sleeps or yields), as with gevent.
 * Everything here must be called from coroutines of the hub's own thread, and only
 * through these calls: a task that switches with coro_switch itself confuses the hub.
 * Descriptors given to co_read and the others must be non-blocking (hub_nonblock);
 * on a blocking one, the call would stop the whole thread, every task with it, which
 * is what happens in gevent without monkey patching.
 *
 * hub_simple.c implements the part for tasks that only sleep, the part to read first:
 * hub_spawn, hub_join, hub_joinall, hub_yield, co_sleep, hub_close and hub_stats.
 */
#ifndef WORKBOOK_HUB_H
#define WORKBOOK_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct hub_task;
typedef void *(*hub_fn)(void *arg);

/* Stack size (0: coro.h's default) and coro.h's flags (CORO_NO_GUARD: no guard page;
 * CORO_COPY_STACK: greenlet's copied stacks, one shared stack for all) for the tasks
 * spawned from now on. */
void hub_set_stack(size_t stack_size, unsigned coro_flags);

/* A new task that will run fn(arg). NULL with errno set if there was no memory for it
 * (ENOMEM: also when the kernel's limit of memory mappings is reached). */
struct hub_task *hub_spawn(hub_fn fn, void *arg);

/* Timeouts are relative, in ns; < 0 means no limit, and so does a timeout too long
 * for the clock (now + timeout past INT64_MAX: common.h's deadline_in saturates). */

/* Waits for t to finish, at most timeout_ns (< 0: no limit), and frees it (like
 * pthread_join: once per task, by one waiter). Returns 0 and, if result is not NULL,
 * what fn returned; ETIMEDOUT (t lives on: join it again later); EDEADLK if t is the
 * caller itself, or if nothing could ever wake us (no task ready, no timer, no
 * descriptor watched); EINVAL if t is detached or someone else is joining it. */
int hub_join(struct hub_task *t, int64_t timeout_ns, void **result);

/* Joins all n tasks within one overall timeout. Joined tasks are freed and their
 * slot set to NULL; on ETIMEDOUT or EDEADLK the others stay valid. */
int hub_joinall(struct hub_task **tasks, size_t n, int64_t timeout_ns);

/* The task will be freed by the hub when it finishes; it cannot be joined. */
void hub_detach(struct hub_task *t);

/* Let every task that is ready run, then carry on (gevent.sleep(0)). */
void hub_yield(void);

/* Sleep ns nanoseconds, letting the other tasks run meanwhile. */
void co_sleep(int64_t ns);

/* Wait until fd is ready for `events` (EPOLLIN, EPOLLOUT, or both) or timeout_ns
 * passes (< 0: no limit). Returns 0 when ready, ETIMEDOUT, EBADF if the descriptor was
 * closed meanwhile (co_close, or a close behind the hub's back that it noticed), the
 * error given to hub_cancel_wait, EEXIST if another task already waits on fd for the
 * same event (one reader and one writer at a time, as in gevent: one task may read a
 * socket while another writes to it), EINVAL for other events, or an errno value from
 * epoll_ctl. A regular file is always ready. */
int co_wait_fd(int fd, uint32_t events, int64_t timeout_ns);

/* Close fd the way the hub needs it (gevent's socket.close, through its cancel_wait):
 * every task waiting on fd wakes with EBADF (their co_read... fail with it), the hub
 * forgets the descriptor, then close(2). Returns what close returns. Close a
 * descriptor that other tasks may be waiting on with this, not with close(2): the hub
 * would learn of that only when the number is reused or the waits time out. */
int co_close(int fd);

/* Wake every task waiting on fd with the error err (ECANCELED, ETIMEDOUT...), without
 * closing it: their co_wait_fd returns err, their co_read... fail with errno err. */
void hub_cancel_wait(int fd, int err);

/* read(2), write(2) of all n bytes, accept4(2), connect(2) on a non-blocking
 * descriptor, waiting on the hub while the kernel says EAGAIN (or EINPROGRESS).
 * They return what the system call returns (co_write: n), -1 and errno on error.
 * co_accept gives a non-blocking, close-on-exec descriptor. */
ssize_t co_read(int fd, void *buf, size_t n);
ssize_t co_write(int fd, const void *buf, size_t n);
int co_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int co_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/* Sets O_NONBLOCK on fd; dies on failure. */
void hub_nonblock(int fd);

/* Frees the hub of this thread: its loop coroutine, its epoll descriptor, and every
 * task left, finished or not (an unfinished one is dropped where it stands, its
 * cleanup never run: join your tasks first). Call it from the main coroutine. The
 * tasks' stacks go to the thread's stack cache (coro.h), for the next hub or
 * coroutine; coro_cache_flush() gives them back to the kernel. */
void hub_close(void);

/* For the curious and the tests: tasks alive, switches into tasks so far. */
struct hub_stats {
    size_t tasks;
    uint64_t switches;
};
struct hub_stats hub_stats(void);

#endif

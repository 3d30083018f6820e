/* queue.c: queue_simple.c's queue, made to survive the death of any process that uses
 * it, at any instant (see queue.h for the API and its Python counterpart).
 *
 * Read queue_simple.c first: the same ring of slots behind one process-shared mutex,
 * with two condition variables to sleep on. A process that dies inside that queue can
 * stop every other one, and what follows is the answer to each way it can:
 *   - its mutex is not robust: a process killed holding it leaves it locked for good,
 *     and the others sleep in pthread_mutex_lock for ever (queue_killed_simple shows
 *     it). Here the mutex is PTHREAD_MUTEX_ROBUST: the next process to lock it gets
 *     EOWNERDEAD, and since every put and get commits with one 8-byte store, the repair
 *     has nothing to fix in the ring (see "The lock" and "Designed so that", below);
 *   - its condition variables keep their bookkeeping in the shared memory, where a
 *     process killed inside a wait or a signal leaves it wedged for everybody. Here
 *     waiters sleep on futex words, which hold nothing but the word ("Waiting", and
 *     "Why not condition variables?");
 *   - a wake-up can die with the process that was woken, or that owed it: here no
 *     sleeper sleeps more than LOOK_NS at a time without looking for itself.
 * It also adds named queues (shm_open, and a table of attached processes so that the
 * last one removes the name), queue_get_claim for the pool, statistics and test hooks.
 * The ring (the counters, the slot arithmetic, the range checks) is the same as in
 * queue_simple.c on purpose, so that the two differ only in what is above.
 *
 * The layout, all inside one shared mapping:
 *
 *   struct shared   the lock, the ring positions, the two futex words, who is attached
 *   slot 0          [length][up to max_msg bytes]
 *   slot 1          ...
 *   slot cap-1
 *
 * The ring. `tail` counts the messages ever put, `head` those ever taken; both only
 * grow. The queue holds tail - head messages; the next put writes slot tail % cap, the
 * next get reads slot head % cap. Counting instead of wrapping makes full and empty
 * easy to tell apart, and a 64-bit count does not wrap in any lifetime.
 *
 * The lock is a pthread mutex made PTHREAD_PROCESS_SHARED (it lives in shared memory
 * and works across processes; the kernel's futex keys on the physical page) and
 * PTHREAD_MUTEX_ROBUST: if its owner dies, the kernel walks the dead thread's list of
 * robust mutexes, marks each one "owner died" and wakes a waiter, whose lock call
 * returns EOWNERDEAD instead of blocking forever. That caller owns the lock and must
 * repair what the dead owner was doing, then call pthread_mutex_consistent.
 *
 * Designed so that a death anywhere leaves a consistent ring: a put writes its slot
 * first and then commits with one aligned 8-byte store, tail + 1; a get copies its
 * message out first and then commits with head + 1. A death before the commit leaves
 * the queue as it was (the half-written slot lies beyond tail, nobody reads it; the
 * message a dying consumer was copying is still at head, for the next one). A death
 * after it leaves the queue as it is after the put or get. So the repair (recover())
 * has nothing to fix in the ring: it wakes every sleeper, in case the dead owner owed
 * one a wake-up, and counts the death.
 *
 * Waiting. A get that finds the queue empty sleeps until a put; a put that finds it
 * full, until a get. Each kind of waiter sleeps on a futex (futex(2)): a 32-bit word in
 * the shared mapping, here a sequence number that every event its waiters wait for
 * moves on. It is read and moved on with the lock held:
 *
 *   waiter:  seen = seq; sleepers++; unlock;
 *            inside++;
 *            futex_wait(&seq, seen, deadline);      sleeps only if seq is still seen
 *            inside--;
 *            lock (if it is taken: yield the CPU once, then lock);
 *            unless woken: sleepers--; look at the queue again
 *   put:     ... if (sleepers) { seq++;
 *                                if (inside && futex_wake(&seq, 1 thread)) sleepers--; } ...
 *
 * The kernel compares the word and puts the thread to sleep in one step, so a put that
 * comes between the waiter's unlock and its sleep is not lost: seq has moved, and the
 * wait returns at once. `sleepers` saves the system call when nobody sleeps: the waker
 * takes off the sleeper it woke (futex_wake says how many it woke, and the woken
 * thread's wait returns 0), a waiter that comes back for any other reason takes itself
 * off. It can only count too many, never too few (a waiter that dies asleep never
 * takes itself off), and it heals: a wake that finds nobody asleep sets it to 0 and
 * starts a new generation, and the waiters of the old one, which were on their way to
 * sleep or back, do not take themselves off again (they find seq moved, come back,
 * and count themselves anew if they must sleep).
 *
 * `inside` saves the system call in the other common case: a waiter that has counted
 * itself in `sleepers` but is still on its way to futex_wait when the put comes (a
 * queue that keeps running full or empty sees that often). Nobody inside
 * futex_wait means nobody asleep, and the waiter on its way finds seq moved (wake()
 * says why no ordering lets both miss). Like `sleepers`, it can only count too many:
 * a process that dies inside costs a system call per wake, nothing more.
 *
 * Why not condition variables? A glibc condition variable keeps its bookkeeping in user
 * memory, guarded by a small internal lock that its waiters and signallers take
 * (__condvar_acquire_lock, in glibc's nptl/pthread_cond_common.c). In
 * shared memory that breaks when a process dies at the wrong instant: killed inside
 * pthread_cond_signal, or inside a timed wait as it gives up (glibc's wait takes the
 * internal lock to cancel itself), it leaves the internal lock taken for good, and the
 * next pthread_cond_signal blocks for ever, holding the queue's lock; the holder is
 * alive, so nobody gets EOWNERDEAD, and every process of the queue hangs. And a waiter
 * that dies asleep stays counted: the next signal is spent on it, and a later signal or
 * broadcast waits for it to leave (glibc bug 21422). A futex has no state in user
 * memory but the word itself; the kernel keeps the list of sleepers, and a process that
 * dies is gone from it. Nothing a dead process held can block anybody, except the
 * queue's lock, which is robust.
 *
 * A sleeper never sleeps longer than LOOK_NS (1 s) at a time: then it takes the lock
 * and looks at the queue itself. That catches the one wake-up that can still be lost,
 * the one a process takes with it when it dies after being woken (see below), and
 * brings the sleepers to the lock, to repair it, when its owner died and nobody else
 * comes by.
 *
 * Where a process can die, and what happens then:
 *   - holding the lock, anywhere in a put, get or close: the next process to take the
 *     lock gets EOWNERDEAD and runs recover(), which wakes every sleeper;
 *   - asleep in a wait, or on its way to sleep or back from it (before it has the
 *     lock): the kernel forgets it. At worst `sleepers` counts it a while longer, and
 *     a put or get makes one futex_wake call that finds nobody, and resets it; if it
 *     died inside, `inside` counts it for good, and the wakes of its kind no longer
 *     skip the system call when nobody is asleep (slower, never wrong);
 *   - woken, on its way back to the lock: the wake-up dies with it. The message it was
 *     woken for stays in the queue, and another sleeper finds it within LOOK_NS;
 *   - inside futex_wake: a system call, which the kernel completes or never starts;
 *     nothing is left half done.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    USERS = 64,   /* processes attached to one named queue */
    FOR_DATA = 0, /* gets waiting for a message */
    FOR_ROOM = 1, /* puts waiting for a free slot */
    MAX_NAME = 200,
};
#define QUEUE_MAGIC UINT64_C(0x5742515545554532) /* "WBQUEUE2" */
#define LOOK_NS     NS_PER_S /* a sleeper looks at the queue itself this often */

void (*queue_test_hook)(const char *point);

/* one kind of waiter: the futex word it sleeps on */
struct waitq {
    uint32_t seq;      /* moved on by every event these waiters wait for */
    uint32_t sleepers; /* how many may be asleep on seq (never fewer) */
    uint32_t gen;      /* moved on when sleepers is reset */
    uint32_t inside;   /* how many may be in futex_wait now (never fewer); atomic */
};

struct shared {
    _Atomic uint64_t magic; /* QUEUE_MAGIC once everything below is ready */
    size_t map_len;
    long capacity;
    size_t max_msg, stride; /* stride: bytes from one slot to the next */
    pthread_mutex_t lock;   /* everything below is read and written with it held */
    uint64_t head, tail;    /* messages taken off / put on, ever */
    int closed;
    struct waitq wq[2];     /* FOR_DATA, FOR_ROOM */
    /* named queues: the attached processes, each holding its own robust mutex */
    int unlinked;           /* the name is gone: no new attachments */
    pthread_mutex_t user[USERS];
    uint64_t waits, owner_deaths;
    /* the slots follow, aligned to 64 bytes */
};

struct slot {
    uint64_t len;
    unsigned char data[];
};

/* the process-local handle */
struct queue {
    struct shared *s;
    unsigned char *slots;
    size_t map_len;
    int user;                /* our entry in s->user[], or -1 (anonymous, or inherited) */
    pid_t pid;               /* the process that attached */
    char name[MAX_NAME];     /* named queues: "/wb-..." */
    char path[MAX_NAME + 16]; /* "/dev/shm/wb-...", for the signal handler */
};

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static size_t header_len(void)
{
    return round_up(sizeof(struct shared), 64);
}

static void init_robust_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    CHECK_PT(pthread_mutexattr_init(&a));
    CHECK_PT(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
    CHECK_PT(pthread_mutex_init(m, &a));
    CHECK_PT(pthread_mutexattr_destroy(&a));
}

/* the commit of a put or a get: one 8-byte store, which the compiler may not move
 * before the slot copy that precedes it (release), and which a death cannot tear */
static void commit(uint64_t *pos, uint64_t value)
{
    __atomic_store_n(pos, value, __ATOMIC_RELEASE);
}

static struct slot *slot_at(struct queue *q, uint64_t pos)
{
    return (struct slot *)(q->slots + (pos % (uint64_t)q->s->capacity) * q->s->stride);
}

/* ---- futexes: glibc has no wrapper for futex(2) ------------------------------------
 * Without FUTEX_PRIVATE_FLAG: the word is in memory that several processes map, so the
 * kernel finds its sleepers by the page, not by this process's address. */

/* Sleeps while *word == seen, until woken or until `until` (a now_ns() time: with
 * FUTEX_WAIT_BITSET the timeout is an absolute CLOCK_MONOTONIC time, so a change of the
 * wall clock cannot stretch or cut it). Returns 0 when woken, else EAGAIN (the word
 * had moved already), ETIMEDOUT or EINTR. */
static int futex_wait(uint32_t *word, uint32_t seen, int64_t until)
{
    struct timespec ts = ns_to_ts(until);
    if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, seen, &ts, NULL, FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    if (errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR)
        die("futex(FUTEX_WAIT_BITSET)");
    return errno;
}

/* Wakes up to n threads asleep on word; returns how many it woke. */
static int futex_wake(uint32_t *word, int n)
{
    long woken = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
    if (woken == -1)
        die("futex(FUTEX_WAKE)");
    return (int)woken;
}

/* ---- waking and waiting ---------------------------------------------------------- */

/* Moves a waiter kind's word on and wakes up to n of its sleepers; returns how many it
 * woke. The lock is held, but the waiters read seq and count themselves in `inside`
 * without it, hence the atomics. Both sides write one word and then read the other,
 * all in one total order (sequentially consistent): either we see a waiter counted in
 * `inside`, and make the system call, or its futex_wait sees seq moved, and returns at
 * once. So with nobody inside, nobody can be asleep, and the call is saved: it would
 * find nobody (a waiter on its way, which has counted itself in `sleepers` but not
 * yet called futex_wait, is the common case when the queue runs full or empty). */
static int wake(struct waitq *w, int n)
{
    __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&w->inside, __ATOMIC_SEQ_CST) == 0)
        return 0;
    return futex_wake(&w->seq, n);
}

/* Wakes one waiter of this kind, if any may be asleep. */
static void wake_one(struct shared *s, int kind)
{
    struct waitq *w = &s->wq[kind];
    if (!w->sleepers)
        return;
    if (wake(w, 1) == 1) {
        w->sleepers--;
    } else { /* nobody was asleep: the count is stale */
        w->sleepers = 0;
        w->gen++;
    }
}

static void wake_all(struct shared *s)
{
    for (int kind = FOR_DATA; kind <= FOR_ROOM; kind++) {
        wake(&s->wq[kind], INT_MAX);
        s->wq[kind].sleepers = 0;
        s->wq[kind].gen++;
    }
}

/* The lock's owner died while it held the lock. See the top of the file: the ring
 * needs no repair; everybody is woken, since a wake-up the dead process owed may be
 * lost (a waiter woken for nothing looks again and goes back to sleep). */
static void recover(struct queue *q)
{
    CHECK_PT(pthread_mutex_consistent(&q->s->lock));
    q->s->owner_deaths++;
    wake_all(q->s);
}

static void lock(struct queue *q)
{
    int rc = pthread_mutex_lock(&q->s->lock);
    if (rc == EOWNERDEAD)
        recover(q);
    else if (rc != 0)
        die_en(rc, "pthread_mutex_lock(queue)");
}

static void unlock(struct queue *q)
{
    CHECK_PT(pthread_mutex_unlock(&q->s->lock));
}

/* Takes the lock back after a sleep. A waiter back from futex_wait often finds the lock
 * still taken: whoever woke it (or moved seq just before it slept) did so inside the
 * critical section, before the commit, and on a busy queue others come by too. The
 * plain lock() would put it to sleep on the lock at once (glibc's robust mutexes never
 * spin), and then unlocks and locks cost a system call each for a while. So when the
 * lock is taken, the waiter yields its CPU once first: the holder, perhaps preempted by
 * our very wake-up on this CPU, gets to finish, and we take the lock free, or sleep on
 * it as before. README.md ("Back to the lock") has the measurement. */
static void relock(struct queue *q)
{
    int rc = pthread_mutex_trylock(&q->s->lock);
    if (rc == 0)
        return;
    if (rc == EOWNERDEAD) {
        recover(q);
        return;
    }
    if (rc != EBUSY)
        die_en(rc, "pthread_mutex_trylock(queue)");
    if (queue_test_hook)
        queue_test_hook("wait:busy");
    CHECK_SYS(sched_yield());
    lock(q);
}

/* Would a waiter of this kind get somewhere now? */
static bool can_go(const struct shared *s, int kind)
{
    if (s->closed)
        return true;
    if (kind == FOR_DATA)
        return s->tail != s->head;
    return s->tail - s->head < (uint64_t)s->capacity;
}

/* With the lock held, called when a waiter of this kind cannot go on (put and get look
 * first, without a call: that is the common case, and the lock is held meanwhile):
 * returns true once it can, false if timeout_ns (0: don't wait; < 0: no limit) runs
 * out first. While it sleeps the lock is free; it sleeps LOOK_NS at most at a time,
 * then looks for itself (see the top). */
static bool await(struct queue *q, int kind, int64_t timeout_ns)
{
    struct shared *s = q->s;
    struct waitq *w = &s->wq[kind];
    if (timeout_ns == 0)
        return false;
    int64_t deadline = deadline_in(timeout_ns); /* read the clock only when we must wait */
    while (!can_go(s, kind)) {
        if (ns_left(deadline) == 0)
            return false;
        s->waits++;
        uint32_t seen = w->seq, gen = w->gen;
        w->sleepers++;
        int64_t look = deadline_in(LOOK_NS);
        unlock(q);
        __atomic_fetch_add(&w->inside, 1, __ATOMIC_SEQ_CST); /* see wake() */
        int rc = futex_wait(&w->seq, seen, deadline < look ? deadline : look);
        __atomic_fetch_sub(&w->inside, 1, __ATOMIC_SEQ_CST);
        if (queue_test_hook && (rc == 0 || rc == ETIMEDOUT))
            queue_test_hook(rc == 0 ? "wait:woken" : "wait:timeout");
        relock(q);
        /* back for any reason but a wake (whose waker took us off the count): take
         * ourselves off, unless a wake that found nobody has reset the count since */
        if (rc != 0 && w->gen == gen && w->sleepers > 0)
            w->sleepers--;
    }
    return true;
}

/* ---- put and get ------------------------------------------------------------------- */

int queue_put(struct queue *q, const void *msg, size_t len, int64_t timeout_ns)
{
    struct shared *s = q->s;
    if (len > s->max_msg)
        return QUEUE_TOO_BIG;
    lock(q);
    if ((!can_go(s, FOR_ROOM) && !await(q, FOR_ROOM, timeout_ns)) || s->closed) {
        int rc = s->closed ? QUEUE_CLOSED : QUEUE_FULL;
        unlock(q);
        return rc;
    }
    struct slot *sl = slot_at(q, s->tail);
    sl->len = len;
    if (len)
        memcpy(sl->data, msg, len);
    if (queue_test_hook)
        queue_test_hook("put:copied");
    /* Wake a consumer before the commit: it cannot run until we unlock, and if we die
     * between the two it wakes, finds the lock's owner dead and repairs. Waking after
     * the commit would leave a window where we die with a message in the queue and a
     * consumer asleep next to it, until its next look (up to LOOK_NS later). */
    wake_one(s, FOR_DATA);
    if (queue_test_hook)
        queue_test_hook("put:woke");
    commit(&s->tail, s->tail + 1);
    unlock(q);
    return QUEUE_OK;
}

int queue_get_claim(struct queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns,
                    queue_claim_fn *claim, void *arg)
{
    struct shared *s = q->s;
    lock(q);
    if ((!can_go(s, FOR_DATA) && !await(q, FOR_DATA, timeout_ns)) || s->tail == s->head) {
        int rc = s->closed ? QUEUE_CLOSED : QUEUE_EMPTY; /* closed: and drained */
        unlock(q);
        return rc;
    }
    struct slot *sl = slot_at(q, s->head);
    size_t n = (size_t)sl->len;
    if (len)
        *len = n;
    if (n > cap) {
        wake_one(s, FOR_DATA); /* the message stays: if we were woken for it, pass that on */
        unlock(q);
        return QUEUE_TOO_BIG;
    }
    if (n)
        memcpy(buf, sl->data, n);
    if (claim)
        claim(s->head, buf, n, arg);
    if (queue_test_hook)
        queue_test_hook("get:copied");
    wake_one(s, FOR_ROOM);
    commit(&s->head, s->head + 1);
    unlock(q);
    return QUEUE_OK;
}

int queue_get(struct queue *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    return queue_get_claim(q, buf, cap, len, timeout_ns, NULL, NULL);
}

void queue_close(struct queue *q)
{
    lock(q);
    q->s->closed = 1;
    wake_all(q->s);
    unlock(q);
}

/* Why qsize(), empty() and full() are only hints: each takes the lock, reads the
 * count and lets go. The moment it lets go, other processes may put or get, so the
 * answer describes a queue that may no longer exist. "if not q.empty(): q.get()" can
 * block (another consumer took the last message in between), and a reader that stops
 * at the first empty() stops early if the writer was merely slow. Python's docs say the
 * same ("not reliable"). Decide with the result of a get or put instead: block with a
 * timeout, and say "no more" with queue_close(). */
long queue_qsize(struct queue *q)
{
    lock(q);
    long n = (long)(q->s->tail - q->s->head);
    unlock(q);
    return n;
}

bool queue_empty(struct queue *q)
{
    return queue_qsize(q) == 0;
}

bool queue_full(struct queue *q)
{
    return queue_qsize(q) >= q->s->capacity;
}

uint64_t queue_taken(struct queue *q)
{
    lock(q);
    uint64_t n = q->s->head;
    unlock(q);
    return n;
}

long queue_capacity(const struct queue *q)
{
    return q->s->capacity;
}

size_t queue_max_msg(const struct queue *q)
{
    return q->s->max_msg;
}

struct queue_stats queue_stats(struct queue *q)
{
    struct shared *s = q->s;
    lock(q);
    struct queue_stats st = {
        .puts = s->tail, .gets = s->head, .waits = s->waits, .owner_deaths = s->owner_deaths,
        .head = (long)(s->head % (uint64_t)s->capacity), .tail = (long)(s->tail % (uint64_t)s->capacity),
    };
    unlock(q);
    return st;
}

/* ---- making, attaching, detaching --------------------------------------------------- */

static size_t map_size(long capacity, size_t max_msg, size_t *stride)
{
    if (capacity < 1 || capacity > (1L << 24))
        fatal("queue: capacity %ld is out of range (1..%ld)", capacity, 1L << 24);
    if (max_msg < 1 || max_msg > ((size_t)1 << 26))
        fatal("queue: max_msg %zu is out of range (1..%zu)", max_msg, (size_t)1 << 26);
    *stride = round_up(sizeof(struct slot) + max_msg, 64);
    if (*stride > (((size_t)1 << 34) / (size_t)capacity))
        fatal("queue: %ld slots of %zu bytes is too much memory", capacity, max_msg);
    return round_up(header_len() + (size_t)capacity * *stride, (size_t)sysconf(_SC_PAGESIZE));
}

/* Initialises a fresh (zero-filled) mapping. A named queue's creator attaches itself
 * before the magic is set, so nobody ever sees the queue with nobody attached. */
static void init_shared(struct shared *s, size_t len, long capacity, size_t max_msg, size_t stride,
                        struct queue *creator)
{
    s->map_len = len;
    s->capacity = capacity;
    s->max_msg = max_msg;
    s->stride = stride;
    init_robust_mutex(&s->lock);
    for (int i = 0; i < USERS; i++)
        init_robust_mutex(&s->user[i]);
    if (creator) {
        CHECK_PT(pthread_mutex_lock(&s->user[0]));
        creator->user = 0;
    }
    atomic_store_explicit(&s->magic, QUEUE_MAGIC, memory_order_release);
}

static struct queue *new_handle(void *map, size_t len)
{
    struct queue *q = calloc(1, sizeof *q);
    if (!q)
        die("calloc");
    q->s = map;
    q->slots = map ? (unsigned char *)map + header_len() : NULL; /* NULL + n is undefined */
    q->map_len = len;
    q->user = -1;
    q->pid = getpid();
    return q;
}

struct queue *queue_new(long capacity, size_t max_msg)
{
    size_t stride, len = map_size(capacity, max_msg, &stride);
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        die("mmap(%zu bytes, MAP_SHARED | MAP_ANONYMOUS)", len);
    struct queue *q = new_handle(map, len);
    init_shared(map, len, capacity, max_msg, stride, NULL);
    return q;
}

/* Named queues this process has attached, for the clean-ups: the signal handler removes
 * their names, the atexit handler detaches them properly. */
static struct queue *g_named[8];
static volatile sig_atomic_t g_nnamed;

static void unlink_on_signal(void)
{
    /* async-signal-safe: unlink(2) of the path shm_open uses on Linux (tmpfs on /dev/shm) */
    for (int i = 0; i < g_nnamed; i++)
        unlink(g_named[i]->path);
}

static void detach_at_exit(void)
{
    while (g_nnamed > 0)
        queue_detach(g_named[g_nnamed - 1]);
}

static void remember(struct queue *q)
{
    static pid_t registered;
    if (registered != getpid()) { /* first named queue in this process */
        registered = getpid();
        g_nnamed = 0;
        on_termination(unlink_on_signal);
        if (atexit(detach_at_exit) != 0)
            fatal("atexit failed");
    }
    if (g_nnamed == (int)ARRAY_LEN(g_named))
        fatal("queue: more than %zu named queues in one process", ARRAY_LEN(g_named));
    g_named[g_nnamed] = q;
    g_nnamed = g_nnamed + 1; /* after the entry is complete: the handler may run now */
}

static void forget(struct queue *q)
{
    for (int i = 0; i < g_nnamed; i++)
        if (g_named[i] == q) {
            g_named[i] = g_named[g_nnamed - 1];
            g_nnamed = g_nnamed - 1;
            return;
        }
}

static void set_name(struct queue *q, const char *name)
{
    if (name[0] != '/' || strchr(name + 1, '/') || strlen(name) < 2 || strlen(name) >= MAX_NAME)
        fatal("queue: '%s' is not a valid name (\"/something\", no other slash)", name);
    snprintf(q->name, sizeof q->name, "%s", name);
    snprintf(q->path, sizeof q->path, "/dev/shm%s", name);
}

/* Takes an entry in the table of attached processes (lock held). */
static void attach_user(struct queue *q)
{
    for (int i = 0; i < USERS; i++) {
        int rc = pthread_mutex_trylock(&q->s->user[i]);
        if (rc == EBUSY)
            continue;
        if (rc == EOWNERDEAD) /* an attached process died: its entry is free */
            CHECK_PT(pthread_mutex_consistent(&q->s->user[i]));
        else if (rc != 0)
            die_en(rc, "pthread_mutex_trylock(user)");
        q->user = i;
        return;
    }
    fatal("queue %s: more than %d processes attached", q->name, USERS);
}

struct queue *queue_create(const char *name, long capacity, size_t max_msg)
{
    size_t stride, len = map_size(capacity, max_msg, &stride);
    struct queue *q = new_handle(NULL, len);
    set_name(q, name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1)
        die("shm_open(%s, O_CREAT | O_EXCL)", name);
    remember(q); /* from here on, SIGINT removes the name */
    void *map = MAP_FAILED;
    if (ftruncate(fd, (off_t)len) == 0)
        map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) { /* remove the name and forget the handle before dying:
                              * the atexit handler must not detach a queue never mapped */
        int err = errno;
        shm_unlink(name);
        forget(q);
        errno = err;
        die("ftruncate + mmap(%s, %zu bytes)", name, len);
    }
    CHECK_SYS(close(fd));
    q->s = map;
    q->slots = (unsigned char *)map + header_len();
    init_shared(map, len, capacity, max_msg, stride, q);
    return q;
}

struct queue *queue_open(const char *name, int64_t timeout_ns)
{
    struct queue *q = new_handle(NULL, 0);
    set_name(q, name);
    int64_t deadline = deadline_in(timeout_ns);
    for (;; sleep_ns(NS_PER_MS)) {
        int fd = shm_open(name, O_RDWR, 0);
        if (fd == -1 && errno != ENOENT)
            die("shm_open(%s)", name);
        if (fd >= 0) {
            struct stat st;
            CHECK_SYS(fstat(fd, &st));
            if (st.st_size >= (off_t)header_len()) { /* sized by its creator */
                void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (map == MAP_FAILED)
                    die("mmap(%s)", name);
                q->s = map;
                q->slots = (unsigned char *)map + header_len();
                q->map_len = (size_t)st.st_size;
                struct shared *s = map;
                bool ready = atomic_load_explicit(&s->magic, memory_order_acquire) == QUEUE_MAGIC;
                if (ready && s->map_len != q->map_len)
                    fatal("queue %s: not a queue of this program", name);
                if (ready) {
                    lock(q);
                    if (!s->unlinked) {
                        attach_user(q);
                        unlock(q);
                        CHECK_SYS(close(fd));
                        remember(q);
                        return q;
                    }
                    unlock(q); /* its last user is removing it: as if not there */
                }
                CHECK_SYS(munmap(map, (size_t)st.st_size));
                q->s = NULL;
            }
            CHECK_SYS(close(fd));
        }
        if (now_ns() >= deadline)
            break;
    }
    free(q);
    errno = ENOENT;
    return NULL;
}

void queue_detach(struct queue *q)
{
    if (q->name[0] && q->pid == getpid()) {
        struct shared *s = q->s;
        lock(q);
        CHECK_PT(pthread_mutex_unlock(&s->user[q->user]));
        /* anybody else still attached? a held entry answers EBUSY; an entry whose
         * process died answers EOWNERDEAD and no longer counts */
        bool others = false;
        for (int i = 0; i < USERS && !others; i++) {
            int rc = pthread_mutex_trylock(&s->user[i]);
            if (rc == EBUSY) {
                others = true;
                continue;
            }
            if (rc == EOWNERDEAD)
                CHECK_PT(pthread_mutex_consistent(&s->user[i]));
            else if (rc != 0)
                die_en(rc, "pthread_mutex_trylock(user)");
            CHECK_PT(pthread_mutex_unlock(&s->user[i]));
        }
        if (!others && !s->unlinked) {
            s->unlinked = 1;
            if (shm_unlink(q->name) == -1 && errno != ENOENT) /* ENOENT: a signal handler did */
                die("shm_unlink(%s)", q->name);
        }
        unlock(q);
    }
    if (q->name[0])
        forget(q);
    CHECK_SYS(munmap(q->s, q->map_len));
    free(q);
}

/* queue.c: a bounded multi-producer, multi-consumer queue of byte messages in shared
 * memory (see queue.h for the API and its Python counterpart).
 *
 * The layout, all inside one shared mapping:
 *
 *   struct shared   the lock, the ring positions, who waits, who is attached
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
 * has nothing to fix in the ring: it only redoes the wake-ups the dead owner may have
 * owed, and counts the death.
 *
 * Waiting. Python's threading.Condition gives each waiter a lock of its own, parks the
 * waiter on it and lets notify() release the oldest waiters' locks. We do the same
 * with one process-shared condition variable per waiting thread, in a table of
 * WAITERS slots in the shared mapping. A waiter takes a free slot, sleeps on the
 * slot's condition variable (pthread_cond_timedwait; the condition variables use
 * CLOCK_MONOTONIC, so a change of the wall clock cannot stretch or cut a timeout) and
 * a put or get that makes room or data wakes the oldest waiter of the right kind
 * (notify(): it marks the slot woken, then signals that one condition variable).
 *
 * Why not two shared condition variables, "not empty" and "not full", as in a
 * textbook? Because glibc's condition variables do not survive a waiter that dies
 * while it waits: its bookkeeping keeps counting the dead waiter, the next signal is
 * spent on it (a lost wake-up) and a later pthread_cond_signal or broadcast blocks
 * forever, waiting for the dead waiter to leave (glibc bug 21422; glibc 2.36 on this
 * machine does exactly that). A process killed while it waits in get() is the most
 * common death of all (an idle consumer, an idle pool worker). With one condition
 * variable per waiter, a dead waiter poisons only its own, which nobody else uses; we
 * find out with the slot's second object, a robust mutex `alive` that the waiter holds
 * for as long as it waits: pthread_mutex_trylock on it gives EBUSY while the waiter
 * lives and EOWNERDEAD once it is dead. The slot is then re-initialised and reused.
 *
 * A sleeper never sleeps longer than LOOK_NS (1 s) at a time: then it wakes by itself,
 * frees the slots of woken waiters that died (reap_dead_woken) and goes on if the queue
 * now has what it waits for (can_go). That catches the wake-ups nobody else can redo.
 *
 * Where a process can die, and what happens then:
 *   - holding the lock, anywhere in a put, get or close: the next process to take the
 *     lock gets EOWNERDEAD and runs recover(), which wakes every sleeper. A sleeper
 *     takes the lock again at least once a second, so this happens even when nobody
 *     else comes by (a close that died half-way through its wake-ups);
 *   - asleep in a wait: the next notify() that picks its slot finds `alive` dead, frees
 *     the slot and wakes the next waiter instead: nothing is lost;
 *   - woken, on its way back to the lock: the wake-up dies with it. The message it was
 *     woken for stays in the queue, and another sleeper finds it within LOOK_NS;
 *   - inside pthread_cond_signal itself (notify(), a few hundred nanoseconds): the one
 *     gap. glibc keeps an internal lock in each condition variable, and a process killed
 *     holding it leaves it taken for ever. The waiter of that slot then hangs, even with
 *     a timeout (glibc's timed wait takes the same internal lock to give up). recover()
 *     finds the slot in `signalling`, marks it suspect (never signalled again; its
 *     condition variable is re-initialised if the slot is ever freed) and wakes
 *     everybody else, who carry on.
 *
 * If all WAITERS slots are taken, a further waiter polls: it sleeps 1 ms with the
 * lock released and looks again (counted in stats.polls).
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    WAITERS = 64,         /* threads that can sleep on one queue at the same time */
    USERS = 64,           /* processes attached to one named queue */
    FOR_DATA = 1,         /* a get waits for a message */
    FOR_ROOM = 2,         /* a put waits for a free slot */
    MAX_NAME = 200,
};
#define QUEUE_MAGIC UINT64_C(0x5742515545554531) /* "WBQUEUE1" */
#define POLL_NS     NS_PER_MS
#define LOOK_NS     NS_PER_S /* a sleeper looks at the queue itself this often */

void (*queue_test_hook)(const char *point);

struct waiter {
    pthread_mutex_t alive; /* held by the waiting thread while it waits */
    pthread_cond_t wake;   /* it sleeps on this; only it does */
};

struct shared {
    _Atomic uint64_t magic; /* QUEUE_MAGIC once everything below is ready */
    size_t map_len;
    long capacity;
    size_t max_msg, stride; /* stride: bytes from one slot to the next */
    pthread_mutex_t lock;   /* everything below is read and written with it held */
    uint64_t head, tail;    /* messages taken off / put on, ever */
    int closed;
    /* who waits: slot i is free when kind[i] == 0 */
    int8_t kind[WAITERS];   /* FOR_DATA or FOR_ROOM */
    uint8_t woken[WAITERS]; /* notified, not yet gone */
    uint8_t suspect[WAITERS]; /* its condition variable may be damaged: re-initialise */
    uint64_t ticket[WAITERS]; /* arrival order: the lowest is woken first */
    uint64_t next_ticket;
    int sleeping[3];        /* by kind: waiters not yet woken */
    int signalling;         /* the slot inside pthread_cond_signal right now, or -1 */
    /* named queues: the attached processes, each holding its own robust mutex */
    int unlinked;           /* the name is gone: no new attachments */
    pthread_mutex_t user[USERS];
    uint64_t waits, owner_deaths, dead_waiters, polls;
    struct waiter w[WAITERS];
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

/* Also used to re-initialise a condition variable a dead waiter left behind. We do not
 * call pthread_cond_destroy first: glibc's would wait for the dead waiter to leave,
 * which it never will. Initialising over it is what POSIX leaves undefined, and the one
 * place we rely on the implementation: glibc's init only writes the fields, and nobody
 * else uses this condition variable at that moment. */
static void init_cond(pthread_cond_t *c)
{
    pthread_condattr_t a;
    memset(c, 0, sizeof *c);
    CHECK_PT(pthread_condattr_init(&a));
    CHECK_PT(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_condattr_setclock(&a, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(c, &a));
    CHECK_PT(pthread_condattr_destroy(&a));
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

/* ---- waking ----------------------------------------------------------------------- */

static void recover(struct queue *q);

static void release_slot(struct shared *s, int i)
{
    if (!s->woken[i] && s->kind[i])
        s->sleeping[s->kind[i]]--;
    s->kind[i] = 0;
    s->woken[i] = 0;
}

/* Slot i's waiter died (asleep, or woken and not yet back): free the slot, and repair
 * its condition variable. */
static void reap_waiter(struct shared *s, int i)
{
    CHECK_PT(pthread_mutex_consistent(&s->w[i].alive));
    init_cond(&s->w[i].wake);
    s->suspect[i] = 0;
    release_slot(s, i);
    s->dead_waiters++;
    CHECK_PT(pthread_mutex_unlock(&s->w[i].alive));
}

/* Wakes slot i's waiter; false if it turned out to be dead (then the slot is freed). */
static bool notify(struct shared *s, int i)
{
    int rc = pthread_mutex_trylock(&s->w[i].alive);
    if (rc == EOWNERDEAD) {
        reap_waiter(s, i);
        return false;
    }
    if (rc == 0) { /* nobody holds it: a slot left over, not a live waiter */
        CHECK_PT(pthread_mutex_unlock(&s->w[i].alive));
        release_slot(s, i);
        return false;
    }
    if (rc != EBUSY)
        die_en(rc, "pthread_mutex_trylock(waiter)");
    s->woken[i] = 1;
    s->sleeping[s->kind[i]]--;
    s->signalling = i;
    CHECK_PT(pthread_cond_signal(&s->w[i].wake));
    s->signalling = -1;
    return true;
}

/* Wakes the waiter of this kind that has waited longest, if any. */
static void wake_one(struct shared *s, int kind)
{
    while (s->sleeping[kind] > 0) {
        int best = -1;
        for (int i = 0; i < WAITERS; i++)
            if (s->kind[i] == kind && !s->woken[i] && (best < 0 || s->ticket[i] < s->ticket[best]))
                best = i;
        if (best < 0 || notify(s, best))
            return;
    }
}

static void wake_all(struct shared *s)
{
    for (int i = 0; i < WAITERS; i++)
        if (s->kind[i] && !s->woken[i] && !s->suspect[i])
            notify(s, i);
}

/* The lock's owner died while it held the lock. See the comment at the top: the ring
 * needs no repair; the waiting bookkeeping is recounted and everybody woken, since a
 * wake-up the dead process owed may be lost (a waiter woken for nothing looks again
 * and goes back to sleep). */
static void recover(struct queue *q)
{
    struct shared *s = q->s;
    CHECK_PT(pthread_mutex_consistent(&s->lock));
    s->owner_deaths++;
    if (s->signalling >= 0) { /* it died inside pthread_cond_signal: leave that one be */
        s->suspect[s->signalling] = 1;
        s->signalling = -1;
    }
    s->sleeping[FOR_DATA] = s->sleeping[FOR_ROOM] = 0;
    for (int i = 0; i < WAITERS; i++) {
        if (s->kind[i] != FOR_DATA && s->kind[i] != FOR_ROOM)
            s->kind[i] = 0;
        else if (!s->woken[i])
            s->sleeping[s->kind[i]]++;
    }
    wake_all(s);
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

/* A free waiter slot, its `alive` mutex now held by us; -1 if there is none. */
static int claim_waiter_slot(struct shared *s)
{
    for (int i = 0; i < WAITERS; i++) {
        if (s->kind[i] != 0)
            continue;
        int rc = pthread_mutex_trylock(&s->w[i].alive);
        if (rc == EBUSY)
            continue;
        if (rc == EOWNERDEAD) { /* died between taking the slot and waiting in it */
            CHECK_PT(pthread_mutex_consistent(&s->w[i].alive));
            s->suspect[i] = 1;
            s->dead_waiters++;
        } else if (rc != 0) {
            die_en(rc, "pthread_mutex_trylock(waiter)");
        }
        if (s->suspect[i]) {
            init_cond(&s->w[i].wake);
            s->suspect[i] = 0;
        }
        return i;
    }
    return -1;
}

/* A waiter that was woken but died before it took the lock back: its slot is still
 * taken (kind set, woken) and its `alive` mutex owned by a dead thread. Free the slot. */
static void reap_dead_woken(struct shared *s)
{
    for (int i = 0; i < WAITERS; i++) {
        if (!s->kind[i] || !s->woken[i])
            continue;
        int rc = pthread_mutex_trylock(&s->w[i].alive);
        if (rc == EOWNERDEAD)
            reap_waiter(s, i);
        else if (rc == 0) { /* nobody holds it: a slot left over */
            CHECK_PT(pthread_mutex_unlock(&s->w[i].alive));
            release_slot(s, i);
        } else if (rc != EBUSY) { /* EBUSY: alive, on its way back to the lock (or us) */
            die_en(rc, "pthread_mutex_trylock(waiter)");
        }
    }
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

/* Sleeps, with the lock held (it is released while asleep), until woken or until
 * `deadline` (now_ns() time; < 0: none). Returns ETIMEDOUT or 0; either way the caller
 * looks at the queue again, since being woken is no promise that it can proceed.
 * It sleeps LOOK_NS at most at a time and then looks at the queue itself, in case the
 * wake-up meant for it was lost (see the top of the file). */
static int wait_for(struct queue *q, int kind, int64_t deadline)
{
    struct shared *s = q->s;
    s->waits++;
    int i = claim_waiter_slot(s);
    if (i < 0) { /* every slot taken: poll */
        s->polls++;
        int64_t left = deadline < 0 ? POLL_NS : deadline - now_ns();
        unlock(q);
        if (left > 0)
            sleep_ns(left < POLL_NS ? left : POLL_NS);
        lock(q);
        return deadline >= 0 && now_ns() >= deadline ? ETIMEDOUT : 0;
    }
    s->kind[i] = (int8_t)kind;
    s->woken[i] = 0;
    s->ticket[i] = s->next_ticket++;
    s->sleeping[kind]++;
    bool go = false, timed_out = false;
    while (!s->woken[i] && !go && !timed_out) {
        int64_t look = now_ns() + LOOK_NS;
        bool last = deadline >= 0 && deadline <= look; /* this sleep ends at the deadline */
        struct timespec ts = ns_to_ts(last ? deadline : look);
        int rc = pthread_cond_timedwait(&s->w[i].wake, &s->lock, &ts);
        if (rc == EOWNERDEAD) { /* we hold the lock again; its last owner died */
            recover(q);
        } else if (rc == ETIMEDOUT && last) {
            timed_out = true;
        } else if (rc == ETIMEDOUT) { /* time to look around */
            reap_dead_woken(s);
            go = can_go(s, kind);
        } else if (rc != 0) {
            die_en(rc, "pthread_cond_timedwait(queue)");
        }
    }
    go = go || s->woken[i];
    release_slot(s, i);
    CHECK_PT(pthread_mutex_unlock(&s->w[i].alive));
    return go ? 0 : ETIMEDOUT;
}

/* ---- put and get ------------------------------------------------------------------- */

int queue_put(struct queue *q, const void *msg, size_t len, int64_t timeout_ns)
{
    struct shared *s = q->s;
    if (len > s->max_msg)
        return QUEUE_TOO_BIG;
    int64_t deadline = -1;
    bool timed_out = false;
    lock(q);
    for (;;) {
        if (s->closed) {
            unlock(q);
            return QUEUE_CLOSED;
        }
        if (s->tail - s->head < (uint64_t)s->capacity)
            break;
        if (timeout_ns == 0 || timed_out) {
            unlock(q);
            return QUEUE_FULL;
        }
        if (timeout_ns > 0 && deadline < 0) /* read the clock only when we must wait */
            deadline = deadline_in(timeout_ns);
        timed_out = wait_for(q, FOR_ROOM, deadline) == ETIMEDOUT;
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
    int64_t deadline = -1;
    bool timed_out = false;
    lock(q);
    for (;;) {
        if (s->tail != s->head)
            break;
        if (s->closed || timeout_ns == 0 || timed_out) {
            unlock(q);
            return s->closed ? QUEUE_CLOSED : QUEUE_EMPTY;
        }
        if (timeout_ns > 0 && deadline < 0)
            deadline = deadline_in(timeout_ns);
        timed_out = wait_for(q, FOR_DATA, deadline) == ETIMEDOUT;
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
        .dead_waiters = s->dead_waiters, .polls = s->polls,
        .head = (long)(s->head % (uint64_t)s->capacity), .tail = (long)(s->tail % (uint64_t)s->capacity),
    };
    unlock(q);
    return st;
}

const char *queue_status_name(int status)
{
    static const char *const names[] = { "QUEUE_OK", "QUEUE_FULL", "QUEUE_EMPTY", "QUEUE_CLOSED",
                                         "QUEUE_TOO_BIG" };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "QUEUE_?";
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
    s->signalling = -1;
    init_robust_mutex(&s->lock);
    for (int i = 0; i < WAITERS; i++) {
        init_robust_mutex(&s->w[i].alive);
        init_cond(&s->w[i].wake);
    }
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
    q->slots = (unsigned char *)map + header_len();
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

/* futex_mutex.c: a mutex written from scratch on futex(2), in two steps (sync.h).
 *
 * Why not a flag and a sleep?
 *   The lock everybody writes first is  while (locked) sleep_a_little(); locked = 1;
 *   and it is wrong twice. Two threads can both read locked == 0 and both set it: the
 *   test and the set must be one atomic step (an exchange, or a compare-and-swap).
 *   Fix that, and the question is what a thread that finds the lock taken should do.
 *   Spinning burns a core while the holder may not even be running. Sleeping for a
 *   fixed time wakes too early (wasted) or too late (the lock sat free meanwhile). It
 *   should sleep until the holder lets go, and the holder should wake it. But "I see
 *   the lock taken" and "I go to sleep" are two steps: if the holder unlocks and sends
 *   its wake-up between them, the wake-up finds nobody asleep and is lost, and the
 *   waiter sleeps forever on a free lock. That is the lost wake-up.
 *
 * What FUTEX_WAIT closes
 *   futex_wait(&word, v) says to the kernel: put me to sleep, *if word still equals v*.
 *   The kernel locks the queue it keeps for that address, reads the word, compares,
 *   and queues the thread before it unlocks the queue; futex_wake takes the same queue
 *   lock. So a wake-up sent after the comparison finds the thread queued, and a change
 *   made before it fails the comparison (EAGAIN: don't sleep, look again). No wake-up
 *   can fall in between.
 *
 * What the kernel keeps
 *   Nothing while nobody waits: the lock is the 32-bit word in our memory, and taking
 *   or releasing a free lock is one atomic instruction, no system call. Only a thread
 *   that sleeps is put on a queue, found by hashing the word's address, which exists
 *   as long as somebody sleeps there. No kernel object to create or destroy: a zeroed
 *   word is an unlocked mutex.
 *
 * Step 1, the naive lock: two states, 0 unlocked and 1 locked
 *   lock:   exchange a 1 in; if the old value was 0 the lock is ours; else
 *           futex_wait(word, 1) and try again.
 *   unlock: store 0, then futex_wake(word, 1).
 *   Correct, but the unlocker cannot tell whether anybody sleeps, so *every* unlock is
 *   a system call, with or without contention (mutex_cost.c measures the price).
 *
 * Step 2, three states: 0 unlocked, 1 locked, 2 locked and maybe somebody sleeps
 *   (Ulrich Drepper, "Futexes Are Tricky", 2011, mutex 2; glibc's low-level lock,
 *   nptl/lowlevellock.c, __lll_lock_wait, is the same design)
 *   lock:   compare-and-swap 0 -> 1: done, no system call (the fast path). Else
 *           exchange a 2 in: if the old value was 0 the lock was freed meanwhile and
 *           is ours (marked 2, which costs at most one needless wake later); else
 *           futex_wait(word, 2) and exchange again.
 *   unlock: exchange a 0 in; call futex_wake(word, 1) only if the old value was 2.
 *   A woken thread takes the lock as 2, not 1: it cannot know whether others still
 *   sleep, and "maybe" is the safe answer. Uncontended, lock and unlock are one atomic
 *   instruction each, as in pthread_mutex.
 *
 * Step 3, spinning (optional: fmutex_init's spin)
 *   A lock held for a few nanoseconds is usually free again sooner than a thread can
 *   fall asleep and be woken (microseconds). So a locker that finds it taken may look
 *   again a few times first: a plain load (the cache line stays shared, no writes),
 *   the CPU's pause hint, and a compare-and-swap only when it reads 0. That pays when
 *   the holder runs on another core; when there are more threads than cores, the
 *   holder may be waiting for this very core, and the spin is wasted (mutex_cost.c).
 *
 * Memory ordering: taking the lock is an acquire, releasing it a release, so what a
 * holder wrote before unlocking is seen by the next holder. These atomics are also the
 * only synchronisation ThreadSanitizer sees (futex.h).
 */
#include "sync.h"
#include "futex.h"

_Thread_local unsigned long futex_waits, futex_wakes;

/* ---- step 1: two states ---- */

void fmutex_naive_lock(struct fmutex_naive *m)
{
    while (atomic_exchange_explicit(&m->word, 1, memory_order_acquire) != 0)
        futex_wait(&m->word, 1, NO_DEADLINE);
}

void fmutex_naive_unlock(struct fmutex_naive *m)
{
    atomic_store_explicit(&m->word, 0, memory_order_release);
    futex_wake(&m->word, 1); /* maybe nobody sleeps: we cannot tell */
}

/* ---- steps 2 and 3: three states, optional spinning ---- */

void fmutex_init(struct fmutex *m, unsigned spin)
{
    atomic_init(&m->word, 0);
    m->spin = spin;
}

static bool try_fast(struct fmutex *m)
{
    uint32_t expected = 0;
    return atomic_compare_exchange_strong_explicit(&m->word, &expected, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

/* the lock was taken when we looked: spin a little, then sleep until it is ours */
static int lock_slow(struct fmutex *m, int64_t deadline)
{
    for (unsigned i = 0; i < m->spin; i++) {
        cpu_relax();
        if (atomic_load_explicit(&m->word, memory_order_relaxed) == 0 && try_fast(m))
            return SYNC_OK;
    }
    while (atomic_exchange_explicit(&m->word, 2, memory_order_acquire) != 0)
        if (futex_wait(&m->word, 2, deadline) == ETIMEDOUT)
            return SYNC_TIMEOUT; /* the word stays 2: the next unlock wakes for nothing */
    return SYNC_OK;
}

void fmutex_lock(struct fmutex *m)
{
    if (!try_fast(m))
        lock_slow(m, NO_DEADLINE);
}

int fmutex_acquire(struct fmutex *m, int64_t timeout_ns)
{
    if (try_fast(m))
        return SYNC_OK;
    if (timeout_ns == 0)
        return SYNC_TIMEOUT; /* acquire(blocking=False): no system call */
    return lock_slow(m, deadline_in(timeout_ns));
}

int fmutex_unlock(struct fmutex *m)
{
    uint32_t was = atomic_exchange_explicit(&m->word, 0, memory_order_release);
    if (was == 2)
        futex_wake(&m->word, 1);
    return was == 0 ? SYNC_NOT_OWNED : SYNC_OK; /* Python: "release unlocked lock" */
}

bool fmutex_locked(struct fmutex *m)
{
    return atomic_load_explicit(&m->word, memory_order_relaxed) != 0;
}

/* ---- the status codes every primitive of sync.h returns ---- */

const char *sync_status_name(int status)
{
    static const char *const names[] = {
        "SYNC_OK",       "SYNC_TIMEOUT",   "SYNC_EMPTY",     "SYNC_FULL",    "SYNC_BROKEN",
        "SYNC_TOO_MANY", "SYNC_NOT_OWNED", "SYNC_SHUT_DOWN", "SYNC_INVALID",
    };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "SYNC_?";
}

const char *sync_status_python(int status)
{
    static const char *const python[] = {
        "returns True",        "returns False",        "raises queue.Empty",
        "raises queue.Full",   "raises BrokenBarrierError", "raises ValueError",
        "raises RuntimeError", "raises queue.ShutDown", "raises ValueError",
    };
    return status >= 0 && (size_t)status < ARRAY_LEN(python) ? python[status] : "?";
}

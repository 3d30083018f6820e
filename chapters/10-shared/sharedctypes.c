/* sharedctypes.c: Value and Array in shared memory (see sharedctypes.h).
 *
 * Each object is one anonymous MAP_SHARED mapping: a header with the lock, then the
 * numbers. The lock is a pthread mutex with two attributes:
 *   PTHREAD_PROCESS_SHARED   it lives in shared memory and works between processes
 *                            (the default, PRIVATE, may assume one address space);
 *   PTHREAD_MUTEX_RECURSIVE  the owner may take it again (Python's RLock): value_get
 *                            inside value_acquire/value_release takes it a second time.
 * It is not a robust mutex (chapter 02's queue uses one): like Python's RLock, a
 * process that dies holding it leaves it held for good. Don't kill a process while it
 * holds the lock.
 */
#include "sharedctypes.h"

#include <stdatomic.h>
#include <sys/mman.h>

struct value {
    pthread_mutex_t lock;
    bool has_lock;
    _Atomic long v;
};

struct array {
    pthread_mutex_t lock;
    bool has_lock;
    size_t n;
    size_t bytes; /* of the whole mapping */
    long item[];
};

static void *map_shared(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap(%zu bytes, MAP_SHARED)", bytes);
    return p; /* zero-filled */
}

static void init_lock(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    CHECK_PT(pthread_mutexattr_init(&a));
    CHECK_PT(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE));
    CHECK_PT(pthread_mutex_init(m, &a));
    CHECK_PT(pthread_mutexattr_destroy(&a));
}

/* ---- Value ---- */

struct value *value_new(long initial, bool lock)
{
    struct value *v = map_shared(sizeof *v);
    v->has_lock = lock;
    if (lock)
        init_lock(&v->lock);
    atomic_init(&v->v, initial);
    return v;
}

pthread_mutex_t *value_get_lock(struct value *v)
{
    return v->has_lock ? &v->lock : NULL;
}

void value_acquire(struct value *v)
{
    if (v->has_lock)
        CHECK_PT(pthread_mutex_lock(&v->lock));
}

void value_release(struct value *v)
{
    if (v->has_lock)
        CHECK_PT(pthread_mutex_unlock(&v->lock));
}

long value_get(struct value *v)
{
    value_acquire(v); /* Synchronized.value's getter: acquire, read, release */
    long x = atomic_load_explicit(&v->v, memory_order_relaxed);
    value_release(v);
    return x;
}

void value_set(struct value *v, long x)
{
    value_acquire(v); /* the setter: acquire, write, release */
    atomic_store_explicit(&v->v, x, memory_order_relaxed);
    value_release(v);
}

long value_add_atomic(struct value *v, long delta)
{
    return atomic_fetch_add(&v->v, delta); /* one locked instruction: lock xadd */
}

void value_free(struct value *v)
{
    if (v->has_lock) /* destroying a process-shared mutex is per process: a no-op in glibc */
        CHECK_PT(pthread_mutex_destroy(&v->lock));
    CHECK_SYS(munmap(v, sizeof *v));
}

/* ---- Array ---- */

struct array *array_new(size_t n, bool lock)
{
    size_t bytes = sizeof(struct array) + n * sizeof(long);
    struct array *a = map_shared(bytes);
    a->has_lock = lock;
    if (lock)
        init_lock(&a->lock);
    a->n = n;
    a->bytes = bytes;
    return a;
}

size_t array_len(const struct array *a)
{
    return a->n;
}

static size_t checked(const struct array *a, size_t i)
{
    if (i >= a->n)
        fatal("array index %zu out of range (length %zu)", i, a->n); /* IndexError */
    return i;
}

/* SynchronizedArray's __getitem__ and __setitem__: one lock for the whole array */
long array_get(struct array *a, size_t i)
{
    if (a->has_lock)
        CHECK_PT(pthread_mutex_lock(&a->lock));
    long x = a->item[checked(a, i)];
    if (a->has_lock)
        CHECK_PT(pthread_mutex_unlock(&a->lock));
    return x;
}

void array_set(struct array *a, size_t i, long x)
{
    if (a->has_lock)
        CHECK_PT(pthread_mutex_lock(&a->lock));
    a->item[checked(a, i)] = x;
    if (a->has_lock)
        CHECK_PT(pthread_mutex_unlock(&a->lock));
}

long *array_obj(struct array *a)
{
    return a->item;
}

pthread_mutex_t *array_get_lock(struct array *a)
{
    return a->has_lock ? &a->lock : NULL;
}

void array_free(struct array *a)
{
    if (a->has_lock)
        CHECK_PT(pthread_mutex_destroy(&a->lock));
    CHECK_SYS(munmap(a, a->bytes));
}

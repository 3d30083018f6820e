/* test_refcnt.c: the tests of chapter 12's reference counts (chapters/12-nogil/refcnt.c).
 *
 * The atomic and biased counts under concurrent use: every count comes back where it
 * started and every object is freed exactly once (ThreadSanitizer must find nothing:
 * make test SAN=thread). The biased slow paths one by one: the owner's quick free, the
 * merge when the owner's count reaches zero with others still holding references, the
 * queue to a live owner, the merge by a non-owner once the owner has ended. Immortal
 * objects are never written. (The plain count shared between threads is the deliberate
 * race: chapter 12's smoke.txt runs refcount --race and expects ThreadSanitizer to
 * report it.) Threads record; the test's thread asserts after joining them.
 */
#include "common.h"
#include "testutil.h"
#include "../chapters/12-nogil/refcnt.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

struct tracked {
    struct rc_obj o;
    atomic_int frees;
};

static void count_free(struct rc_obj *o)
{
    atomic_fetch_add(&((struct tracked *)o->data)->frees, 1);
}

static void track(struct tracked *t, const struct rc_thread *owner)
{
    atomic_init(&t->frees, 0);
    rc_init(&t->o, owner, count_free, t);
}

/* ---- single-threaded: each path by itself ---- */

static void test_plain_and_atomic(void **state)
{
    (void)state;
    struct tracked a;
    track(&a, NULL);
    plain_incref(&a.o);
    plain_incref(&a.o);
    plain_decref(&a.o);
    plain_decref(&a.o);
    assert_int_equal(a.o.plain, 1);
    assert_int_equal(atomic_load(&a.frees), 0);
    plain_decref(&a.o);
    assert_int_equal(atomic_load(&a.frees), 1);

    track(&a, NULL);
    atomic_incref(&a.o);
    atomic_decref(&a.o);
    assert_int_equal(atomic_load(&a.o.count), 1);
    atomic_decref(&a.o);
    assert_int_equal(atomic_load(&a.frees), 1);
}

static void test_biased_owner_path(void **state)
{
    (void)state;
    struct rc_thread me;
    rc_thread_init(&me);
    struct tracked a;
    track(&a, &me);
    for (int i = 0; i < 10; i++)
        brc_incref(&a.o, &me);
    assert_int_equal(atomic_load(&a.o.local), 11);
    assert_int_equal(atomic_load(&a.o.shared), 0); /* the owner never touches the shared word */
    for (int i = 0; i < 10; i++)
        brc_decref(&a.o, &me);
    assert_int_equal(atomic_load(&a.frees), 0);
    brc_decref(&a.o, &me); /* local 0, shared 0: the quick free */
    assert_int_equal(atomic_load(&a.frees), 1);
    rc_thread_exit(&me);
}

static void test_biased_merge_when_owner_lets_go(void **state)
{
    (void)state;
    struct rc_thread owner, other;
    rc_thread_init(&owner);
    rc_thread_init(&other);
    struct tracked a;
    track(&a, &owner);
    brc_incref(&a.o, &other); /* another thread takes a reference: shared count 1 */
    assert_int_equal(atomic_load(&a.o.shared), 1 << RC_SHARED_SHIFT);
    brc_decref(&a.o, &owner); /* the owner's local count reaches 0: give up, MERGED */
    assert_int_equal(atomic_load(&a.frees), 0);
    assert_int_equal(atomic_load(&a.o.tid), 0);
    assert_int_equal(atomic_load(&a.o.shared), (1 << RC_SHARED_SHIFT) | RC_MERGED);
    brc_decref(&a.o, &other); /* the last reference, on the shared path */
    assert_int_equal(atomic_load(&a.frees), 1);
    rc_thread_exit(&other);
    rc_thread_exit(&owner);
}

static void test_biased_queue_to_owner(void **state)
{
    (void)state;
    struct rc_thread owner, other;
    rc_thread_init(&owner);
    rc_thread_init(&other);
    struct tracked a;
    track(&a, &owner);
    brc_incref(&a.o, &owner); /* local 2: one of them is handed to `other` */
    brc_decref(&a.o, &other); /* shared would go below 0: queued for the owner instead */
    assert_int_equal(atomic_load(&a.o.shared), RC_QUEUED);
    assert_true(atomic_load(&owner.pending));
    assert_int_equal(atomic_load(&a.frees), 0);
    rc_thread_merge(&owner); /* the owner's safe point: 2 + 0 - 1 = 1, MERGED */
    assert_int_equal(owner.merged, 1);
    assert_int_equal(atomic_load(&a.o.shared), (1 << RC_SHARED_SHIFT) | RC_MERGED);
    assert_int_equal(atomic_load(&a.frees), 0);
    brc_decref(&a.o, &owner); /* no longer the owner (tid 0): the shared path, to 0 */
    assert_int_equal(atomic_load(&a.frees), 1);
    rc_thread_exit(&other);
    rc_thread_exit(&owner);
}

static void test_biased_owner_gone(void **state)
{
    (void)state;
    struct rc_thread owner, other;
    rc_thread_init(&owner);
    rc_thread_init(&other);
    struct tracked a;
    track(&a, &owner);
    rc_thread_exit(&owner); /* ends, leaving its one reference to `other` */
    brc_decref(&a.o, &other); /* queued for nobody: merged at once, 1 + 0 - 1 = 0 */
    assert_int_equal(atomic_load(&a.frees), 1);
    rc_thread_exit(&other);
}

static void test_immortal(void **state)
{
    (void)state;
    struct rc_thread me, other;
    rc_thread_init(&me);
    rc_thread_init(&other);
    struct tracked a;
    track(&a, &me);
    rc_make_immortal(&a.o);
    for (int i = 0; i < 1000; i++) {
        brc_decref(&a.o, &me);
        brc_decref(&a.o, &other);
        brc_incref(&a.o, &other);
    }
    assert_true(rc_is_immortal(&a.o));
    assert_int_equal(atomic_load(&a.o.shared), 0);
    assert_int_equal(atomic_load(&a.frees), 0);
    rc_thread_exit(&other);
    rc_thread_exit(&me);
}

/* ---- under concurrent use ---- */

enum { NTHREADS = 4, NSHARED = 6, ROUNDS = 20000 };

struct stress {
    enum rc_kind kind;
    struct tracked shared[NSHARED];    /* made by the test's thread */
    struct tracked own[NTHREADS];      /* made by each worker, used by all */
    pthread_barrier_t made, done_with_own;
    struct rc_thread *main_thread;
};

struct stresser {
    pthread_t th;
    struct stress *s;
    int i;
};

static void *stress_main(void *arg)
{
    struct stresser *w = arg;
    struct stress *s = w->s;
    struct rc_thread me;
    rc_thread_init(&me);
    track(&s->own[w->i], &me);
    int rc = pthread_barrier_wait(&s->made);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    uint64_t rng = (uint64_t)w->i * 7919 + 1;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t x = random_next(&rng);
        struct rc_obj *o = x % 2 ? &s->shared[x / 2 % NSHARED].o : &s->own[x / 2 % NTHREADS].o;
        int k = 1 + (int)(x >> 40) % 4; /* hold 1..4 references at once */
        for (int j = 0; j < k; j++)
            rc_incref(s->kind, o, &me);
        for (int j = 0; j < k; j++)
            rc_decref(s->kind, o, &me);
        if (r % 64 == 0)
            rc_thread_merge(&me);
    }
    rc = pthread_barrier_wait(&s->done_with_own);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        die_en(rc, "pthread_barrier_wait");
    rc_thread_exit(&me); /* its own object outlives it: the test's thread drops it */
    return NULL;
}

static void stress(enum rc_kind kind)
{
    struct stress *s = calloc(1, sizeof *s);
    assert_non_null(s);
    struct rc_thread main_thread;
    rc_thread_init(&main_thread);
    s->kind = kind;
    for (int i = 0; i < NSHARED; i++)
        track(&s->shared[i], &main_thread);
    assert_int_equal(pthread_barrier_init(&s->made, NULL, NTHREADS), 0);
    assert_int_equal(pthread_barrier_init(&s->done_with_own, NULL, NTHREADS), 0);
    struct stresser w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct stresser){ .s = s, .i = i };
        assert_int_equal(pthread_create(&w[i].th, NULL, stress_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(w[i].th, NULL), 0);
    /* every count is back to 1, nothing was freed */
    for (int i = 0; i < NSHARED + NTHREADS; i++) {
        struct tracked *t = i < NSHARED ? &s->shared[i] : &s->own[i - NSHARED];
        long count = kind == RC_ATOMIC ? atomic_load(&t->o.count) : (long)rc_biased_count(&t->o);
        assert_int_equal(count, 1);
        assert_int_equal(atomic_load(&t->frees), 0);
    }
    /* the last references: the test's own objects (owner path) and the workers'
     * (their owners have ended: merged by the test's thread) */
    for (int i = 0; i < NSHARED + NTHREADS; i++) {
        struct tracked *t = i < NSHARED ? &s->shared[i] : &s->own[i - NSHARED];
        rc_decref(kind, &t->o, &main_thread);
        assert_int_equal(atomic_load(&t->frees), 1);
    }
    rc_thread_exit(&main_thread);
    CHECK_PT(pthread_barrier_destroy(&s->made));
    CHECK_PT(pthread_barrier_destroy(&s->done_with_own));
    free(s);
}

static void test_stress_atomic(void **state) { (void)state; stress(RC_ATOMIC); }
static void test_stress_biased(void **state) { (void)state; stress(RC_BIASED); }

/* ---- references handed from the owner to other threads, freed exactly once ---- */

enum { HANDED = 5000, SLOTS = 64 };

struct handoff {
    struct tracked obj[HANDED];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rc_obj *slot[SLOTS];
    long head, tail; /* under lock */
};

static void *consumer_main(void *arg)
{
    struct handoff *h = arg;
    struct rc_thread me;
    rc_thread_init(&me);
    for (long n = 0; n < HANDED / 2; n++) {
        CHECK_PT(pthread_mutex_lock(&h->lock));
        while (h->head == h->tail)
            CHECK_PT(pthread_cond_wait(&h->cond, &h->lock));
        struct rc_obj *o = h->slot[h->head++ % SLOTS];
        CHECK_PT(pthread_cond_broadcast(&h->cond));
        CHECK_PT(pthread_mutex_unlock(&h->lock));
        brc_incref(o, &me); /* use it a little */
        brc_decref(o, &me);
        brc_decref(o, &me); /* the reference it was given: often the last */
    }
    rc_thread_exit(&me);
    return NULL;
}

static void test_handoff_frees_once(void **state)
{
    (void)state;
    struct handoff *h = calloc(1, sizeof *h);
    assert_non_null(h);
    CHECK_PT(pthread_mutex_init(&h->lock, NULL));
    CHECK_PT(pthread_cond_init(&h->cond, NULL));
    struct rc_thread me;
    rc_thread_init(&me);
    pthread_t c[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&c[i], NULL, consumer_main, h), 0);
    for (long n = 0; n < HANDED; n++) {
        struct tracked *t = &h->obj[n];
        track(t, &me);
        brc_incref(&t->o, &me); /* one reference to keep for a while, one to hand over */
        CHECK_PT(pthread_mutex_lock(&h->lock));
        while (h->tail - h->head == SLOTS)
            CHECK_PT(pthread_cond_wait(&h->cond, &h->lock));
        h->slot[h->tail++ % SLOTS] = &t->o;
        CHECK_PT(pthread_cond_broadcast(&h->cond));
        CHECK_PT(pthread_mutex_unlock(&h->lock));
        if (n % 3 == 0) /* drop ours now or later: both orders happen */
            brc_decref(&t->o, &me);
        rc_thread_merge(&me);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(c[i], NULL), 0);
    for (long n = 0; n < HANDED; n++)
        if (n % 3 != 0)
            brc_decref(&h->obj[n].o, &me);
    rc_thread_exit(&me); /* merges whatever is still queued */
    for (long n = 0; n < HANDED; n++)
        assert_int_equal(atomic_load(&h->obj[n].frees), 1);
    assert_true(me.merged > 0); /* the queue path was taken */
    CHECK_PT(pthread_cond_destroy(&h->cond));
    CHECK_PT(pthread_mutex_destroy(&h->lock));
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_atomic),
        cmocka_unit_test(test_biased_owner_path),
        cmocka_unit_test(test_biased_merge_when_owner_lets_go),
        cmocka_unit_test(test_biased_queue_to_owner),
        cmocka_unit_test(test_biased_owner_gone),
        cmocka_unit_test(test_immortal),
        cmocka_unit_test(test_stress_atomic),
        cmocka_unit_test(test_stress_biased),
        cmocka_unit_test(test_handoff_frees_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

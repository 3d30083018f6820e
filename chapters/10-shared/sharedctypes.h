/* sharedctypes.h: multiprocessing.Value and Array, in C.
 *
 *   Python                                  C
 *   v = Value('l', 0)                       struct value *v = value_new(0, true);
 *   v = Value('l', 0, lock=False)           v = value_new(0, false);   (RawValue)
 *   v.value                                 value_get(v)
 *   v.value = 7                             value_set(v, 7)
 *   v.value += 1                            value_set(v, value_get(v) + 1)   (not atomic!)
 *   with v.get_lock(): v.value += 1         value_acquire(v); ...; value_release(v);
 *   (no Python equivalent)                  value_add_atomic(v, 1)
 *   a = Array('l', 8), a[i], a[i] = x       array_new(8, true), array_get(a, i), array_set(a, i, x)
 *   Array('l', 8, lock=False)               array_new(8, false)   (RawArray)
 *
 * The numbers live in a MAP_SHARED anonymous mapping: make them before fork(), and every
 * child sees the same memory (unlike a global, which fork copies). The kernel frees the
 * mapping when the last process that has it unmaps it or ends: nothing is left behind.
 *
 * What CPython does (Lib/multiprocessing/sharedctypes.py): Value() allocates the
 * number from a shared heap (Lib/multiprocessing/heap.py: a file in /dev/shm, unlinked
 * at once, mmap'd MAP_SHARED) and, unless lock=False, wraps it in a Synchronized
 * object with a multiprocessing RLock. The wrapper's `value` property takes the lock
 * around the read and, separately, around the write: so `v.value += 1` is a locked read
 * then a locked write, and two processes can still read the same number. Holding
 * get_lock() around the whole += makes it exact; the property then takes the lock again
 * inside, which is why the lock must be recursive (an RLock). Here too: the lock is a
 * process-shared, recursive pthread mutex.
 *
 * get and set on a value made with lock=false are plain loads and stores (relaxed
 * atomics, well-defined C, the same instructions as a plain long on x86-64).
 */
#ifndef WORKBOOK_SHAREDCTYPES_H
#define WORKBOOK_SHAREDCTYPES_H

#include "common.h"

#include <pthread.h>

struct value;
struct array;

struct value *value_new(long initial, bool lock);
long value_get(struct value *v);           /* v.value: under the lock, if it has one */
void value_set(struct value *v, long x);   /* v.value = x: likewise */
long value_add_atomic(struct value *v, long delta); /* returns the old value */
/* get_lock(): NULL for a value made with lock=false */
pthread_mutex_t *value_get_lock(struct value *v);
void value_acquire(struct value *v);       /* with v.get_lock(): (re-entrant) */
void value_release(struct value *v);
void value_free(struct value *v);          /* unmaps it in this process */

struct array *array_new(size_t n, bool lock); /* n longs, all 0 */
size_t array_len(const struct array *a);
long array_get(struct array *a, size_t i);    /* a[i]: under the array's one lock */
void array_set(struct array *a, size_t i, long x);
long *array_obj(struct array *a);             /* get_obj(): the raw numbers, no lock */
pthread_mutex_t *array_get_lock(struct array *a);
void array_free(struct array *a);

#endif

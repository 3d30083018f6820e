/* handoff.h: two parties that take turns through the kernel, for switch_cost.c.
 *
 * What a thread or a process pays to hand the CPU to another and get it back, the
 * kernel's side of switch_cost's comparison:
 *   struct turns   two threads take turns through a mutex and a condition variable:
 *                  each turn wakes the other through a futex;
 *   struct bounce  two processes bounce a byte through two pipes: a write and a read
 *                  system call on each side per round trip.
 * The partner (a thread, or a forked child) runs pinned to `cpu` (-1: anywhere); the
 * caller runs n round trips with *_rounds, then *_stop ends and reaps the partner.
 */
#ifndef WORKBOOK_HANDOFF_H
#define WORKBOOK_HANDOFF_H

#include "common.h"

#include <pthread.h>

struct turns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int turn;       /* 0: the caller's, 1: the partner's */
    bool stop;
    int cpu;
    pthread_t th;
};
void turns_start(struct turns *t, int cpu);
void turns_rounds(struct turns *t, long n);
void turns_stop(struct turns *t);

struct bounce {
    pid_t pid;
    int to, from;          /* our ends of the two pipes */
    struct bounce *next;   /* the partners alive (a new child closes their pipes) */
};
void bounce_start(struct bounce *b, int cpu);
void bounce_rounds(struct bounce *b, long n);
void bounce_stop(struct bounce *b);

#endif

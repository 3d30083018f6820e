/* transports.h: the three ways queue_bench.c moves messages between processes.
 *
 *   queue  queue.c: a ring in shared memory behind one robust mutex; a message is
 *          copied in and out, and no system call is made unless somebody must sleep;
 *          end of stream: queue_close() once the producers are done;
 *   mq     a POSIX message queue (its name unlinked at once, so nothing is left
 *          behind); end of stream: one empty message per consumer;
 *   pipe   a pipe: a write and a read system call per message; end of stream: end of
 *          file when the last producer has exited.
 * One channel carries messages of one size. The parent opens it before forking,
 * each child calls channel_producer or channel_consumer first (to drop what it does not
 * use), the parent channel_forked after forking, and channel_end once every producer
 * has finished. Every call dies on failure (die_child in the children).
 */
#ifndef WORKBOOK_TRANSPORTS_H
#define WORKBOOK_TRANSPORTS_H

#include "queue.h"

#include <mqueue.h>

enum { T_QUEUE, T_MQ, T_PIPE, NTRANSPORTS };
extern const char *const transport_name[NTRANSPORTS];

struct channel {
    int transport;
    size_t size;        /* every message is this long */
    struct queue *q;
    mqd_t mq;
    int pipefd[2];
};

/* Reads the kernel's limits on message queues and names ours after this process
 * (unlinked again if a signal ends it). Call once, first. */
void transports_init(void);
long transports_mq_maxmsg(void); /* messages in a message queue: 10, or less if the kernel says so */
/* Can it carry messages of `size` bytes between `side` producers and consumers?
 * (mq: up to msgsize_max; pipe: two writers only up to PIPE_BUF, or they interleave) */
bool transport_supports(int transport, size_t size, int side);

/* queue: a ring of up to `capacity` slots and 1 MiB, at least 16 slots */
void channel_open(struct channel *ch, int transport, size_t size, long capacity);
void channel_producer(struct channel *ch);
void channel_consumer(struct channel *ch);
void channel_forked(struct channel *ch);
void channel_send(struct channel *ch, const void *msg);
size_t channel_recv(struct channel *ch, void *buf); /* `size` bytes, or 0: end of stream */
void channel_end(struct channel *ch, int consumers);
void channel_close(struct channel *ch);

#endif

/* echo_client.h: the client side of echo_hub.c.
 *
 * On a hub of its own (call it in a fresh process, or a thread with no hub yet), it
 * opens `clients` connections to addr at once, one task each; each task sends
 * `messages` messages of random sizes (1 to `size` bytes, a pattern that differs per
 * connection and message), reads every reply back in full and compares it byte for
 * byte. After `timeout` it gives up the hub's way: hub_cancel_wait wakes every task
 * still blocked on its socket with ETIMEDOUT, and each ends through its own cleanup.
 * It traces what it did (as "echo_client") and returns an exit status: 0 if every
 * reply came back right, 1 otherwise.
 */
#ifndef WORKBOOK_ECHO_CLIENT_H
#define WORKBOOK_ECHO_CLIENT_H

#include "common.h"

#include <netinet/in.h>

struct echo_load {
    long clients, messages, size;
    int64_t timeout;
};

int echo_clients(struct sockaddr_in addr, const struct echo_load *load);

#endif

/* manager.h: multiprocessing.Manager in C: a server process that owns a queue, a dict
 * and a list, and proxies that call it over a Unix socket.
 *
 *   Python                                  C
 *   m = Manager()                           struct manager *m = manager_start(0);
 *   q = m.Queue(); d = m.dict(); l = m.list()   struct mgr_proxy q = manager_proxy(m, MGR_QUEUE), ...
 *   q.put(x); q.put(x, True, 2)             mgr_put(&q, x, len, MGR_FOREVER); mgr_put(&q, x, len, 2 * NS_PER_S)
 *   q.get(); q.get(True, 2); q.get_nowait() mgr_get(&q, buf, cap, &len, timeout)
 *   q.qsize(), len(d), len(l)               mgr_len(&p, &n)
 *   d[k] = v; d[k]; d.keys()                mgr_dict_set(&d, k, v, len); mgr_dict_get(&d, k, ...); mgr_dict_keys(...)
 *   l.append(v); l[i]                       mgr_list_append(&l, v, len); mgr_list_get(&l, i, ...)
 *   queue.Empty, queue.Full, KeyError,      MGR_EMPTY, MGR_FULL, MGR_KEYERROR, MGR_INDEXERROR
 *   IndexError
 *   EOFError / BrokenPipeError (dead server)  MGR_DEAD, at once; MGR_TIMEOUT if it stops answering
 *   m.shutdown()                            manager_shutdown(m)
 *
 * A proxy is plain data (the server's address, its pid, the object, a time bound): copy
 * it, pass it to a pool task as bytes, as Python pickles a proxy into its token. Each
 * process, and each thread, opens its own connection on its first call (a connection
 * inherited through fork belongs to the parent: it is left alone and a new one made),
 * as CPython's BaseProxy keeps one connection per thread (Lib/multiprocessing/
 * managers.py, _callmethod and _after_fork).
 *
 * Every call is one round trip: a request (operation, object, arguments), then a reply
 * (status, result). A call that gets no reply within its own timeout plus the proxy's
 * bound gives up with MGR_TIMEOUT; a server that has died makes every call fail with
 * MGR_DEAD as soon as the kernel closes its sockets. mgr_last_error() says what
 * happened, in words. A wait with no timeout (MGR_FOREVER) waits for ever for a live
 * server, as Python's q.get() does; a dead one still ends it at once.
 *
 * Start the manager before the program starts threads (the server is forked).
 */
#ifndef WORKBOOK_MANAGER_H
#define WORKBOOK_MANAGER_H

#include "common.h"

enum mgr_object { MGR_QUEUE, MGR_DICT, MGR_LIST, MGR_OBJECTS };

enum mgr_status {
    MGR_OK = 0,
    MGR_EMPTY,      /* get: nothing within the timeout (queue.Empty) */
    MGR_FULL,       /* put: no room within the timeout (queue.Full) */
    MGR_KEYERROR,   /* dict: no such key */
    MGR_INDEXERROR, /* list: no such index */
    MGR_TOOBIG,     /* the item is longer than the buffer (*len says how long; it stays
                     * where it was), or a request longer than MGR_MAX_ITEM */
    MGR_BADREQ,     /* the object has no such method (Python: AttributeError) */
    MGR_TIMEOUT,    /* no reply within the bound: the server is stopped or stuck */
    MGR_DEAD,       /* the server is gone: no connection, or the connection closed */
};

#define MGR_FOREVER ((int64_t)-1)
#define MGR_NOWAIT  ((int64_t)0)
#define MGR_MAX_ITEM 65536 /* bytes in an item, a key plus its value, or a reply */

struct mgr_proxy {
    char address[48];   /* abstract Unix socket name, "@wb-manager-PID-N" with a NUL for the @ */
    pid_t server;       /* for the messages */
    uint32_t object;    /* enum mgr_object */
    int64_t bound_ns;   /* how long a reply may take beyond the call's own timeout */
};

struct manager {
    pid_t pid;          /* the server process */
    struct mgr_proxy proxy[MGR_OBJECTS];
};

/* Forks the server (dies on failure). The queue holds at most queue_maxsize items
 * (0: no limit, Python's default). */
struct manager *manager_start(long queue_maxsize);
/* Asks the server to stop, waits for it (SIGKILL after 2 s), frees m. Returns the
 * server's exit code (0 when it stopped as asked). */
int manager_shutdown(struct manager *m);
struct mgr_proxy manager_proxy(const struct manager *m, enum mgr_object o);

int mgr_put(const struct mgr_proxy *q, const void *item, size_t len, int64_t timeout_ns);
int mgr_get(const struct mgr_proxy *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns);
int mgr_len(const struct mgr_proxy *p, long *n);
int mgr_dict_set(const struct mgr_proxy *d, const char *key, const void *value, size_t len);
int mgr_dict_get(const struct mgr_proxy *d, const char *key, void *buf, size_t cap, size_t *len);
/* every key, each ended by a NUL, in the order they were first set */
int mgr_dict_keys(const struct mgr_proxy *d, char *buf, size_t cap, size_t *len);
int mgr_list_append(const struct mgr_proxy *l, const void *item, size_t len);
int mgr_list_get(const struct mgr_proxy *l, long index, void *buf, size_t cap, size_t *len); /* index < 0: from the end */

const char *mgr_status_name(int status);
const char *mgr_last_error(void); /* the calling thread's last failure, in words */
void mgr_disconnect(void);        /* closes the calling thread's connections */

#endif

/* manager.c: a manager server and its proxies (see manager.h for the API).
 *
 * The minimal version, manager_min.c, shows the idea in one page: a forked server that
 * owns a dict, a socket, one request and one reply per call, served one at a time.
 * This one adds what a manager needs to be used for real:
 *   - a queue, a dict and a list, with the blocking get and put (with timeouts) of a
 *     queue: the server runs a thread per connection, as CPython's Server does
 *     (Server.accepter starts a thread per accepted connection), so one client can
 *     wait in get() while others are served;
 *   - errors that come back as errors: Empty, Full, KeyError, IndexError, a method the
 *     object does not have, an item longer than the caller's buffer (which then stays
 *     in the queue: the request carries the room the caller has);
 *   - calls that cannot hang: a dead server is MGR_DEAD at once (the kernel closes its
 *     sockets, the client sees end of file or a refused connection); a live server
 *     that does not answer within the call's timeout plus the proxy's bound is
 *     MGR_TIMEOUT, and the connection is dropped so that a late answer cannot be taken
 *     for the next one;
 *   - a connection per process and per thread, made on first use: after fork the
 *     child leaves the parent's connection alone and opens its own;
 *   - a server thread waiting in get() for a client that has died notices (every
 *     100 ms it looks at the socket) and gives up without taking an item that nobody
 *     would read. (One gap stays, as in CPython: a client that dies after the server
 *     has sent it an item loses that item.)
 *   - only this user may connect: the server checks the peer's uid (SO_PEERCRED).
 *     CPython's manager checks an HMAC challenge with its authkey as well.
 *
 * Where the socket lives: in Linux's abstract namespace ("@wb-manager-PID-N": a name
 * that starts with a NUL byte). It has no file: nothing to unlink, nothing left behind
 * whatever kills the server. It has no file permissions either: any process in the
 * same network namespace may connect, which is why CPython stopped using abstract
 * sockets by default (gh-97514, CVE-2022-42919) and binds a file in a private
 * temporary directory. The uid check above does what that directory's permissions do.
 *
 * Wire format (SOCK_SEQPACKET: one send is one message, boundaries kept):
 *   request  [op, object, n (timeout or index), key length, data length, room] key data
 *   reply    [status, length, n (a count, or the item's length)] data
 */
#include "manager.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum op { OP_PUT = 1, OP_GET, OP_LEN, OP_SET, OP_LOOKUP, OP_KEYS, OP_APPEND, OP_INDEX, OP_SHUTDOWN };

struct req {
    uint32_t op, object;
    int64_t n;               /* PUT/GET: timeout in ns (< 0: none); INDEX: the index */
    uint32_t keylen, datalen;
    uint64_t room;           /* bytes the caller can take back */
};
struct rep {
    int32_t status;
    uint32_t len;
    int64_t n;               /* LEN: the count; TOOBIG: the item's length */
};
enum { MSG_MAX = sizeof(struct req) + MGR_MAX_ITEM };

/* ======================= the server ======================= */

struct item {
    struct item *next;
    size_t len;
    unsigned char data[];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;  /* something was put or taken */
    struct item *head, *tail;
    long qlen, qmax;
    struct entry { struct item *key, *value; } *dict;
    size_t ndict, dict_cap;
    struct item **list;
    size_t nlist, list_cap;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct item *new_item(const void *data, size_t len)
{
    struct item *it = malloc(sizeof *it + len);
    if (!it)
        die_child("malloc");
    it->next = NULL;
    it->len = len;
    memcpy(it->data, data, len);
    return it;
}

static void grow(void *array, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return;
    *cap = *cap ? 2 * *cap : 16;
    void *p = realloc(*(void **)array, *cap * elem);
    if (!p)
        die_child("realloc");
    *(void **)array = p;
}

static bool client_gone(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* waits on S.changed (S.lock held) until it is signalled, the deadline passes or
 * 100 ms go by; false if the client on fd has gone meanwhile */
static bool wait_a_while(int64_t deadline, int fd)
{
    int64_t slice = deadline_in(100 * NS_PER_MS);
    struct timespec ts = ns_to_ts(slice < deadline ? slice : deadline);
    int rc = pthread_cond_timedwait(&S.changed, &S.lock, &ts);
    if (rc != 0 && rc != ETIMEDOUT)
        die_en(rc, "pthread_cond_timedwait");
    return !client_gone(fd);
}

/* copies an item into the reply if it fits the caller's room */
static int give(const struct item *it, const struct req *rq, struct rep *rp, unsigned char *out)
{
    if (it->len > rq->room) {
        rp->n = (int64_t)it->len;
        return MGR_TOOBIG;
    }
    memcpy(out, it->data, it->len);
    rp->len = (uint32_t)it->len;
    return MGR_OK;
}

static struct entry *find(const unsigned char *key, size_t len)
{
    for (size_t i = 0; i < S.ndict; i++)
        if (S.dict[i].key->len == len && memcmp(S.dict[i].key->data, key, len) == 0)
            return &S.dict[i];
    return NULL;
}

static bool allowed(uint32_t op, uint32_t object)
{
    switch (op) {
    case OP_PUT: case OP_GET: return object == MGR_QUEUE;
    case OP_SET: case OP_LOOKUP: case OP_KEYS: return object == MGR_DICT;
    case OP_APPEND: case OP_INDEX: return object == MGR_LIST;
    case OP_LEN: return object < MGR_OBJECTS;
    case OP_SHUTDOWN: return true;
    default: return false;
    }
}

/* one request; the reply goes into rp and out. Returns false if the client is gone. */
static bool handle(int fd, const struct req *rq, const unsigned char *key, const unsigned char *data,
                   struct rep *rp, unsigned char *out)
{
    rp->status = MGR_OK;
    if (!allowed(rq->op, rq->object)) {
        rp->status = MGR_BADREQ;
        return true;
    }
    int64_t deadline = deadline_in(rq->n); /* for PUT and GET; n < 0: no limit */
    CHECK_PT(pthread_mutex_lock(&S.lock));
    switch (rq->op) {
    case OP_PUT:
        while (S.qmax > 0 && S.qlen >= S.qmax && ns_left(deadline) > 0)
            if (!wait_a_while(deadline, fd))
                goto gone;
        if (S.qmax > 0 && S.qlen >= S.qmax) {
            rp->status = MGR_FULL;
            break;
        }
        {
            struct item *it = new_item(data, rq->datalen);
            if (S.tail)
                S.tail->next = it;
            else
                S.head = it;
            S.tail = it;
            S.qlen++;
        }
        CHECK_PT(pthread_cond_broadcast(&S.changed));
        break;
    case OP_GET:
        while (!S.head && ns_left(deadline) > 0)
            if (!wait_a_while(deadline, fd)) /* don't take an item nobody would read */
                goto gone;
        if (!S.head) {
            rp->status = MGR_EMPTY;
            break;
        }
        if ((rp->status = give(S.head, rq, rp, out)) == MGR_OK) {
            struct item *first = S.head;
            S.head = first->next;
            if (!S.head)
                S.tail = NULL;
            S.qlen--;
            free(first);
            CHECK_PT(pthread_cond_broadcast(&S.changed));
        }
        break;
    case OP_LEN:
        rp->n = rq->object == MGR_QUEUE ? S.qlen : rq->object == MGR_DICT ? (int64_t)S.ndict : (int64_t)S.nlist;
        break;
    case OP_SET: {
        struct entry *e = find(key, rq->keylen);
        if (e) {
            free(e->value);
        } else {
            grow(&S.dict, &S.dict_cap, S.ndict, sizeof *S.dict);
            e = &S.dict[S.ndict++];
            e->key = new_item(key, rq->keylen);
        }
        e->value = new_item(data, rq->datalen);
        break;
    }
    case OP_LOOKUP: {
        struct entry *e = find(key, rq->keylen);
        rp->status = e ? give(e->value, rq, rp, out) : MGR_KEYERROR;
        break;
    }
    case OP_KEYS: {
        size_t n = 0;
        for (size_t i = 0; i < S.ndict; i++)
            n += S.dict[i].key->len + 1;
        rp->n = (int64_t)n;
        if (n > rq->room) {
            rp->status = MGR_TOOBIG;
            break;
        }
        for (size_t i = 0; i < S.ndict; i++) {
            memcpy(out + rp->len, S.dict[i].key->data, S.dict[i].key->len);
            rp->len += (uint32_t)S.dict[i].key->len;
            out[rp->len++] = '\0';
        }
        break;
    }
    case OP_APPEND:
        grow(&S.list, &S.list_cap, S.nlist, sizeof *S.list);
        S.list[S.nlist++] = new_item(data, rq->datalen);
        break;
    case OP_INDEX: {
        int64_t i = rq->n < 0 ? (int64_t)S.nlist + rq->n : rq->n;
        rp->status = i < 0 || i >= (int64_t)S.nlist ? MGR_INDEXERROR : give(S.list[i], rq, rp, out);
        break;
    }
    }
    CHECK_PT(pthread_mutex_unlock(&S.lock));
    return true;
gone:
    CHECK_PT(pthread_mutex_unlock(&S.lock));
    return false;
}

/* a connection's thread: request, reply, until the client closes */
static void *serve_client(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char *in = malloc(MSG_MAX + 1), *out = malloc(sizeof(struct rep) + MGR_MAX_ITEM);
    if (!in || !out)
        die_child("malloc");
    for (;;) {
        ssize_t n = recv(fd, in, MSG_MAX + 1, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* closed, or reset: the client is gone */
        struct req rq = { 0 };
        struct rep rp = { 0 };
        memcpy(&rq, in, n < (ssize_t)sizeof rq ? 0 : sizeof rq);
        if (n < (ssize_t)sizeof rq || (size_t)n != sizeof rq + rq.keylen + rq.datalen || rq.room > MGR_MAX_ITEM) {
            rp.status = MGR_BADREQ;
        } else if (!handle(fd, &rq, in + sizeof rq, in + sizeof rq + rq.keylen, &rp, out + sizeof rp)) {
            break;
        }
        memcpy(out, &rp, sizeof rp);
        if (send(fd, out, sizeof rp + rp.len, MSG_NOSIGNAL) == -1)
            break;
        if (rq.op == OP_SHUTDOWN && rp.status == MGR_OK)
            _exit(0); /* every thread, every object: the kernel frees it all */
    }
    close(fd);
    free(in);
    free(out);
    return NULL;
}

static noreturn void serve(int listener, long qmax)
{
    trace_name("manager");
    signal(SIGPIPE, SIG_IGN);
    S.qmax = qmax;
    pthread_condattr_t ca;
    CHECK_PT(pthread_condattr_init(&ca));
    CHECK_PT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    CHECK_PT(pthread_cond_init(&S.changed, &ca));
    CHECK_PT(pthread_condattr_destroy(&ca));
    pthread_attr_t detached;
    CHECK_PT(pthread_attr_init(&detached));
    CHECK_PT(pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED));
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd == -1)
            die_child("manager: accept4");
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 || cred.uid != getuid()) {
            close(fd); /* another user: the abstract namespace has no file permissions */
            continue;
        }
        pthread_t t;
        CHECK_PT(pthread_create(&t, &detached, serve_client, (void *)(intptr_t)fd));
    }
}

static socklen_t abstract_address(const char *name, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(sa->sun_path + 1, name, n); /* sun_path[0] = '\0': the abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

struct manager *manager_start(long queue_maxsize)
{
    static int count;
    struct manager *m = calloc(1, sizeof *m);
    if (!m)
        die("calloc");
    char name[sizeof m->proxy[0].address];
    snprintf(name, sizeof name, "wb-manager-%d-%d", (int)getpid(), ++count);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (listener == -1)
        die("socket(AF_UNIX, SOCK_SEQPACKET)");
    struct sockaddr_un sa;
    socklen_t len = abstract_address(name, &sa);
    if (bind(listener, (struct sockaddr *)&sa, len) == -1)
        die("bind(@%s)", name);
    CHECK_SYS(listen(listener, 64)); /* bound and listening before the fork: no race */
    m->pid = fork_child();
    if (m->pid == 0)
        serve(listener, queue_maxsize);
    CHECK_SYS(close(listener));
    for (int o = 0; o < MGR_OBJECTS; o++) {
        snprintf(m->proxy[o].address, sizeof m->proxy[o].address, "%s", name);
        m->proxy[o].server = m->pid;
        m->proxy[o].object = (uint32_t)o;
        m->proxy[o].bound_ns = 2 * NS_PER_S;
    }
    return m;
}

struct mgr_proxy manager_proxy(const struct manager *m, enum mgr_object o)
{
    return m->proxy[o];
}

/* ======================= the client ======================= */

struct conn {
    char address[48];
    pid_t pid; /* the process that opened it: after fork it is the parent's */
    int fd;
};
static _Thread_local struct conn g_conn[4];
static _Thread_local char g_err[320];

static int fail(const struct mgr_proxy *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const struct mgr_proxy *p, int status, const char *fmt, ...)
{
    int n = snprintf(g_err, sizeof g_err, "manager (pid %d, @%s): ", (int)p->server, p->address);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof g_err)
        vsnprintf(g_err + n, sizeof g_err - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}

static void drop(struct conn *c)
{
    if (c->fd > 0 && c->pid == getpid())
        close(c->fd);
    memset(c, 0, sizeof *c);
}

/* this thread's connection to p's server: an fd, or -1 with the failure in *status */
static struct conn *connection(const struct mgr_proxy *p, int *status)
{
    struct conn *c = NULL;
    for (size_t i = 0; i < ARRAY_LEN(g_conn) && !c; i++)
        if (strcmp(g_conn[i].address, p->address) == 0)
            c = &g_conn[i];
    if (c && c->pid != getpid()) { /* inherited through fork: the parent's connection */
        close(c->fd);              /* our copy only: the parent's stays open */
        memset(c, 0, sizeof *c);
    }
    if (c && c->fd > 0)
        return c;
    for (size_t i = 0; i < ARRAY_LEN(g_conn) && !c; i++)
        if (g_conn[i].address[0] == '\0')
            c = &g_conn[i];
    if (!c) { /* all slots taken: forget the first */
        c = &g_conn[0];
        drop(c);
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die("socket(AF_UNIX, SOCK_SEQPACKET)");
    struct sockaddr_un sa;
    socklen_t len = abstract_address(p->address, &sa);
    if (connect(fd, (struct sockaddr *)&sa, len) == -1) {
        int e = errno;
        close(fd);
        *status = fail(p, MGR_DEAD, "cannot connect: %s (the server is gone)", strerror(e));
        return NULL;
    }
    snprintf(c->address, sizeof c->address, "%s", p->address);
    c->pid = getpid();
    c->fd = fd;
    return c;
}

/* one round trip: the request out, the reply in (its data straight into out) */
static int call(const struct mgr_proxy *p, struct req *rq, const void *key, const void *data, void *out,
                size_t cap, size_t *out_len, int64_t *n)
{
    if ((size_t)rq->keylen + rq->datalen > MGR_MAX_ITEM)
        return fail(p, MGR_TOOBIG, "a request of %zu bytes (at most %d)", (size_t)rq->keylen + rq->datalen,
                    MGR_MAX_ITEM);
    int status;
    struct conn *c = connection(p, &status);
    if (!c)
        return status;
    rq->object = p->object;
    rq->room = cap < MGR_MAX_ITEM ? cap : MGR_MAX_ITEM;
    struct iovec out_v[3] = { { rq, sizeof *rq }, { (void *)key, rq->keylen }, { (void *)data, rq->datalen } };
    struct msghdr msg = { .msg_iov = out_v, .msg_iovlen = 3 };
    if (sendmsg(c->fd, &msg, MSG_NOSIGNAL) == -1) {
        int e = errno;
        drop(c);
        return fail(p, MGR_DEAD, "send: %s (the server is gone)", strerror(e));
    }
    /* the reply: within the call's own timeout plus the bound; no limit for a wait
     * without a timeout (a dead server still ends it: end of file) */
    bool waits = rq->op == OP_PUT || rq->op == OP_GET;
    int64_t deadline = waits && rq->n < 0 ? NO_DEADLINE : deadline_in((waits ? rq->n : 0) + p->bound_ns);
    struct rep rp;
    int64_t t0 = now_ns();
    for (;;) {
        struct pollfd pf = { .fd = c->fd, .events = POLLIN };
        struct timespec ts = ns_to_ts(ns_left(deadline));
        int r = ppoll(&pf, 1, deadline == NO_DEADLINE ? NULL : &ts, NULL);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            die("ppoll(manager connection)");
        if (r == 0) {
            drop(c); /* a late reply must not be read as the answer to the next call */
            char b[32];
            return fail(p, MGR_TIMEOUT, "no reply in %s: the server is stopped or stuck",
                        format_duration(now_ns() - t0, b, sizeof b));
        }
        struct iovec in_v[2] = { { &rp, sizeof rp }, { out, cap } };
        struct msghdr in = { .msg_iov = in_v, .msg_iovlen = out ? 2 : 1 };
        ssize_t got = recvmsg(c->fd, &in, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0 || got < (ssize_t)sizeof rp) {
            int e = got == -1 ? errno : 0;
            drop(c);
            return fail(p, MGR_DEAD, "connection closed%s%s: the server is gone", e ? ": " : "", e ? strerror(e) : "");
        }
        break;
    }
    if (out_len)
        *out_len = rp.status == MGR_TOOBIG ? (size_t)rp.n : rp.len;
    if (n)
        *n = rp.n;
    static const char *const object_name[] = { "the queue", "the dict", "the list" };
    switch (rp.status) {
    case MGR_OK:
        break;
    case MGR_EMPTY:
        return fail(p, MGR_EMPTY, "Empty: nothing in the queue within the timeout");
    case MGR_FULL:
        return fail(p, MGR_FULL, "Full: no room in the queue within the timeout");
    case MGR_KEYERROR:
        return fail(p, MGR_KEYERROR, "KeyError: no key \"%.*s\"", (int)rq->keylen, (const char *)key);
    case MGR_INDEXERROR:
        return fail(p, MGR_INDEXERROR, "IndexError: no item %lld in the list", (long long)rq->n);
    case MGR_TOOBIG:
        return fail(p, MGR_TOOBIG, "an item of %lld bytes, a buffer of %zu: it stays where it is",
                    (long long)rp.n, cap);
    default:
        return fail(p, rp.status, "%s has no such method (%s)", p->object < MGR_OBJECTS ? object_name[p->object] :
                    "the object", mgr_status_name(rp.status));
    }
    if (rp.status == MGR_OK && rq->op == OP_SHUTDOWN)
        drop(c);
    return rp.status;
}

int mgr_put(const struct mgr_proxy *q, const void *item, size_t len, int64_t timeout_ns)
{
    struct req rq = { .op = OP_PUT, .n = timeout_ns, .datalen = (uint32_t)(len > MGR_MAX_ITEM ? MGR_MAX_ITEM + 1 : len) };
    return call(q, &rq, NULL, item, NULL, 0, NULL, NULL);
}

int mgr_get(const struct mgr_proxy *q, void *buf, size_t cap, size_t *len, int64_t timeout_ns)
{
    struct req rq = { .op = OP_GET, .n = timeout_ns };
    return call(q, &rq, NULL, NULL, buf, cap, len, NULL);
}

int mgr_len(const struct mgr_proxy *p, long *n)
{
    struct req rq = { .op = OP_LEN };
    int64_t count = 0;
    int rc = call(p, &rq, NULL, NULL, NULL, 0, NULL, &count);
    *n = (long)count;
    return rc;
}

int mgr_dict_set(const struct mgr_proxy *d, const char *key, const void *value, size_t len)
{
    struct req rq = { .op = OP_SET, .keylen = (uint32_t)strlen(key), .datalen = (uint32_t)len };
    return call(d, &rq, key, value, NULL, 0, NULL, NULL);
}

int mgr_dict_get(const struct mgr_proxy *d, const char *key, void *buf, size_t cap, size_t *len)
{
    struct req rq = { .op = OP_LOOKUP, .keylen = (uint32_t)strlen(key) };
    return call(d, &rq, key, NULL, buf, cap, len, NULL);
}

int mgr_dict_keys(const struct mgr_proxy *d, char *buf, size_t cap, size_t *len)
{
    struct req rq = { .op = OP_KEYS };
    return call(d, &rq, NULL, NULL, buf, cap, len, NULL);
}

int mgr_list_append(const struct mgr_proxy *l, const void *item, size_t len)
{
    struct req rq = { .op = OP_APPEND, .datalen = (uint32_t)len };
    return call(l, &rq, NULL, item, NULL, 0, NULL, NULL);
}

int mgr_list_get(const struct mgr_proxy *l, long index, void *buf, size_t cap, size_t *len)
{
    struct req rq = { .op = OP_INDEX, .n = index };
    return call(l, &rq, NULL, NULL, buf, cap, len, NULL);
}

int manager_shutdown(struct manager *m)
{
    struct req rq = { .op = OP_SHUTDOWN };
    call(&m->proxy[0], &rq, NULL, NULL, NULL, 0, NULL, NULL); /* a dead server: nothing to ask */
    for (size_t i = 0; i < ARRAY_LEN(g_conn); i++)
        if (strcmp(g_conn[i].address, m->proxy[0].address) == 0)
            drop(&g_conn[i]);
    int status;
    if (child_wait(m->pid, 2 * NS_PER_S, &status) == ETIMEDOUT) {
        CHECK_SYS(kill(m->pid, SIGKILL));
        child_wait(m->pid, -1, &status);
    }
    free(m);
    return exitcode_of(status);
}

void mgr_disconnect(void)
{
    for (size_t i = 0; i < ARRAY_LEN(g_conn); i++)
        drop(&g_conn[i]);
}

const char *mgr_last_error(void)
{
    return g_err;
}

const char *mgr_status_name(int status)
{
    static const char *const names[] = { "MGR_OK", "MGR_EMPTY", "MGR_FULL", "MGR_KEYERROR", "MGR_INDEXERROR",
                                         "MGR_TOOBIG", "MGR_BADREQ", "MGR_TIMEOUT", "MGR_DEAD" };
    return status >= 0 && status < (int)ARRAY_LEN(names) ? names[status] : "?";
}

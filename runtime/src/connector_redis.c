/*
 * connector_redis.c — the redis:// connector, on hiredis.
 *
 *   redis://[[user]:password@]host[:port][/db][?prefix=P&chunk=BYTES
 *           &timeout=MS&connect_timeout=MS&pool=N]
 *
 * Read in this order: the on-Redis format, the pipeline that writes
 * commands, link-level I/O, the connection pool, the reader of bulk replies,
 * then the operations and open/close.  docs/connectors/redis.md describes
 * the format and the failure behaviour for users.
 *
 * Why not plain redisCommand():
 *  - Writes go out through our own pipeline with sendmsg(MSG_NOSIGNAL):
 *    large payload parts are sent in place from the caller's buffers (hiredis
 *    would copy them twice: into the formatted command, then into its output
 *    buffer), and a server that died cannot kill the process with SIGPIPE.
 *  - Values are received straight into the caller's buffer by a small reader
 *    of bulk replies (hiredis would copy them twice too); hiredis connects
 *    and parses every other reply.
 *  - Batches are one write of many commands, then one read of their replies.
 *
 * Thread safety: a small pool of connections; an operation checks one out,
 * so threads never share a connection.  A connection that failed is dropped;
 * an operation that failed on a pooled connection (the server restarted
 * since) is retried once on a fresh one.  Every operation here is idempotent,
 * so the retry is safe.
 */
#include "connector.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "error.h"
#include "hash.h"
#include "key.h"
#include "object.h"

/* ------------------------------------------------------------ options */

#define RD_DEFAULT_HOST "127.0.0.1"
#define RD_DEFAULT_PORT 6379
#define RD_DEFAULT_PREFIX "ps"
#define RD_PREFIX_MAX 200
/* A Redis string holds at most 512 MB (proto-max-bulk-len); a value is a
 * chunk of payload plus our 16-byte frame. */
#define RD_MAX_CHUNK (((size_t)512 << 20) - 64)
#define RD_MIN_CHUNK ((size_t)1024)
#define RD_DEFAULT_CHUNK ((size_t)256 << 20)
#define RD_DEFAULT_TIMEOUT_MS 10000
#define RD_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define RD_DEFAULT_POOL 16
#define RD_MAX_POOL 1024

/* ---------------------------------------------------- on-Redis format
 *
 * Object KEY of a store with prefix P lives under the head key "P/KEY".
 * Store keys never hold '/' or '#' (key.h), so a head key splits uniquely at
 * its last '/', and no head key of any prefix equals a temporary key below.
 *
 * A whole object (up to `chunk` bytes) is a string: a 16-byte frame, then
 * the object's bytes, so one SET writes it and one GET returns it.
 *   0..3  "PSRD"   magic
 *   4     1|2      format version (2 for kind 'H' only)
 *   5     'W'|'C'|'H'  whole object | chunk manifest | whole, hash after
 *   6..7  0
 *   8..15 u64 LE   object length
 * Kind 'H' is a whole object whose header holds a zero payload hash and
 * whose real hash follows the object as 8 more bytes (u64 LE): a plain put
 * of a large object hashes each piece of the payload just before sending
 * it (put_hashing), so it cannot know the hash when the header leaves.  A
 * reader puts the hash back into the header, so the store sees the same
 * bytes either way.  Only kind 'H' is written as version 2: older readers
 * report it as written by a newer ProxyStore rather than misreading it.
 *
 * A chunked object is a hash under the same key: field "m" holds a 48-byte
 * manifest (the frame with kind 'C', then chunk size, chunk count and a
 * random generation, u64 LE, and 8 zero bytes), field "<generation as 16
 * hex>.<i>" holds chunk i.  It is written under the temporary key
 * "P/KEY#<generation>" (with an expiry, so a writer that dies leaves nothing
 * for long), then RENAMEd onto the head in one MULTI with a PERSIST: readers
 * see the old object or the new one, never a half-written one.  Because one
 * key holds everything, a SET of a whole object over a chunked one, or an
 * UNLINK, removes every chunk with it: no command ever has to look first.
 * A reader learns that an object is chunked from GET's WRONGTYPE error; the
 * generation in the field names keeps a reader of a replaced version from
 * mixing in chunks of the new one (it finds its fields gone and starts over).
 */
#define RD_FRAME 16
#define RD_MANIFEST 48
#define RD_VERSION 1          /* what 'W' and 'C' values are written as */
#define RD_VERSION_HASH_AFTER 2 /* what 'H' values are written as; the newest read */
#define RD_KIND_WHOLE 'W'
#define RD_KIND_CHUNKED 'C'
#define RD_KIND_HASH_AFTER 'H'
#define RD_TRAILER 8 /* the hash after a kind 'H' object */
static const char rd_magic[4] = {'P', 'S', 'R', 'D'};

typedef struct rd_frame {
    int kind;
    uint64_t len;   /* object bytes */
    uint64_t chunk; /* chunked only */
    uint64_t count;
    uint64_t gen;
} rd_frame;

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void frame_encode(unsigned char *out, int kind, uint64_t len)
{
    memcpy(out, rd_magic, 4);
    out[4] = kind == RD_KIND_HASH_AFTER ? RD_VERSION_HASH_AFTER : RD_VERSION;
    out[5] = (unsigned char)kind;
    out[6] = out[7] = 0;
    put_u64(out + 8, len);
}

static void manifest_encode(unsigned char out[RD_MANIFEST], uint64_t len, uint64_t chunk,
                            uint64_t count, uint64_t gen)
{
    frame_encode(out, RD_KIND_CHUNKED, len);
    put_u64(out + 16, chunk);
    put_u64(out + 24, count);
    put_u64(out + 32, gen);
    put_u64(out + 40, 0);
}

typedef enum { FRAME_OK, FRAME_FOREIGN, FRAME_NEWER } frame_result;

/* Decode the 16-byte frame at the start of a head value (n bytes of it
 * available); a chunked head's manifest fields come from manifest_decode. */
static frame_result frame_decode(const void *bytes, size_t n, rd_frame *f)
{
    const unsigned char *p = bytes;
    memset(f, 0, sizeof *f);
    if (n < RD_FRAME || memcmp(p, rd_magic, 4) != 0)
        return FRAME_FOREIGN;
    if (p[4] > RD_VERSION_HASH_AFTER)
        return FRAME_NEWER;
    bool v1_kind = p[4] == RD_VERSION && (p[5] == RD_KIND_WHOLE || p[5] == RD_KIND_CHUNKED);
    bool v2_kind = p[4] == RD_VERSION_HASH_AFTER && p[5] == RD_KIND_HASH_AFTER;
    if (!v1_kind && !v2_kind)
        return FRAME_FOREIGN;
    f->kind = p[5];
    f->len = get_u64(p + 8);
    if (f->kind == RD_KIND_HASH_AFTER && f->len < PS_OBJECT_HEADER_SIZE)
        return FRAME_FOREIGN; /* no header to put the hash into */
    return FRAME_OK;
}

static void manifest_decode(const unsigned char head[RD_MANIFEST], rd_frame *f)
{
    f->chunk = get_u64(head + 16);
    f->count = get_u64(head + 24);
    f->gen = get_u64(head + 32);
}

/* A manifest a reader can trust: chunk sizes and count agree with length. */
static bool manifest_consistent(const rd_frame *f)
{
    return f->chunk > 0 && f->chunk <= RD_MAX_CHUNK && f->len > 0 && f->len <= SIZE_MAX - 64 &&
           f->count == f->len / f->chunk + (f->len % f->chunk != 0);
}

static uint64_t new_generation(void)
{
    uint64_t g = 0;
    if (getrandom(&g, sizeof g, GRND_NONBLOCK) != (ssize_t)sizeof g) {
        /* No entropy yet: time and address still differ between writers. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        g = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
            (uint64_t)(uintptr_t)&ts;
    }
    return g;
}

/* ----------------------------------------------------------- pipeline
 *
 * Commands in RESP, gathered for one sendmsg: protocol text and small
 * payload parts are copied into buf; parts of RD_COPY_BELOW bytes or more
 * are referenced in place.  Segments name buf by offset because buf grows.
 */
#define RD_COPY_BELOW 16384
#define RD_FLUSH_BYTES ((size_t)4 << 20)
#define RD_FLUSH_SEGS 4096

typedef struct rd_seg {
    const char *ref; /* NULL: buf[off, off+len) */
    size_t off;
    size_t len;
} rd_seg;

typedef struct rd_pipeline {
    char *buf;
    size_t len, cap;
    rd_seg *segs;
    size_t nsegs, segcap;
    size_t ref_bytes;     /* bytes referenced in place, not yet sent */
    struct iovec *iov;
    size_t iovcap;
    size_t queued;        /* commands whose replies are not read yet */
    bool oom;
} rd_pipeline;

static bool pl_add_seg(rd_pipeline *p, const char *ref, size_t off, size_t len)
{
    if (p->nsegs == p->segcap) {
        size_t cap = p->segcap ? p->segcap * 2 : 64;
        rd_seg *segs = realloc(p->segs, cap * sizeof *segs);
        if (!segs) {
            p->oom = true;
            return false;
        }
        p->segs = segs;
        p->segcap = cap;
    }
    p->segs[p->nsegs++] = (rd_seg){ref, off, len};
    return true;
}

/* Room for n more bytes of protocol text at the end of buf (NULL: out of
 * memory, recorded); pl_commit then appends what was written there. */
static char *pl_reserve(rd_pipeline *p, size_t n)
{
    if (p->oom)
        return NULL;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        char *buf = realloc(p->buf, cap);
        if (!buf) {
            p->oom = true;
            return NULL;
        }
        p->buf = buf;
        p->cap = cap;
    }
    return p->buf + p->len;
}

static void pl_commit(rd_pipeline *p, size_t n)
{
    rd_seg *last = p->nsegs ? &p->segs[p->nsegs - 1] : NULL;
    if (last && !last->ref && last->off + last->len == p->len)
        last->len += n;
    else if (!pl_add_seg(p, NULL, p->len, n))
        return;
    p->len += n;
}

static void pl_copy(rd_pipeline *p, const void *data, size_t n)
{
    char *at = n ? pl_reserve(p, n) : NULL;
    if (!at)
        return;
    memcpy(at, data, n);
    pl_commit(p, n);
}

/* v in decimal at out; returns the digits written (at most 20). */
static size_t put_decimal(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void pl_ref(rd_pipeline *p, const void *data, size_t n)
{
    if (n < RD_COPY_BELOW) {
        pl_copy(p, data, n);
    } else if (!p->oom && pl_add_seg(p, data, 0, n)) {
        p->ref_bytes += n;
    }
}

/* "*N\r\n" or "$N\r\n" */
static void pl_header(rd_pipeline *p, char type, size_t n)
{
    char tmp[32];
    char *end = tmp + sizeof tmp;
    char *s = end;
    *--s = '\n';
    *--s = '\r';
    do {
        *--s = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    *--s = type;
    pl_copy(p, s, (size_t)(end - s));
}

static void pl_command(rd_pipeline *p, size_t nargs)
{
    pl_header(p, '*', nargs);
    p->queued++;
}

static void pl_arg(rd_pipeline *p, const void *data, size_t n)
{
    pl_header(p, '$', n);
    pl_ref(p, data, n);
    pl_copy(p, "\r\n", 2);
}

static void pl_arg_str(rd_pipeline *p, const char *s)
{
    pl_arg(p, s, strlen(s));
}

static void pl_reset(rd_pipeline *p)
{
    p->len = 0;
    p->nsegs = 0;
    p->ref_bytes = 0;
}

static void pl_free(rd_pipeline *p)
{
    free(p->buf);
    free(p->segs);
    free(p->iov);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------ the connector */

/* Our own input buffer, for GET and HGET replies (see "reading bulk
 * replies"). */
#define RD_IN_SIZE ((size_t)64 << 10)
typedef struct rd_in {
    char *buf;
    size_t cap, pos, len;
} rd_in;

typedef struct rd_link {
    redisContext *ctx;
    rd_pipeline pl;
    rd_in in;
    bool broken;    /* the stream is unusable: drop the connection */
    bool timed_out; /* ... because the server did not answer in time */
} rd_link;

typedef struct rd_connector {
    ps_connector base;
    char *host;
    int port;
    char *user;
    char *password;
    int db;
    char *prefix;
    size_t prefix_len;
    size_t chunk;
    int timeout_ms;
    int connect_timeout_ms;
    char *where; /* "redis://host:port/db", for messages (never the password) */

    pthread_mutex_t lock;
    pthread_cond_t idle_cv;
    rd_link **idle;
    size_t nidle;
    size_t nopen; /* idle + checked out */
    size_t pool_max;
    unsigned forks; /* rd_forks when the pool was filled: see pool_checkout */
} rd_connector;

/* ----------------------------------------------------- link-level I/O */

static ps_status link_io_error(rd_connector *rc, rd_link *l, int err, const char *doing)
{
    l->broken = true;
    if (err == EAGAIN || err == EWOULDBLOCK) {
        l->timed_out = true;
        return ps_error_set(PS_ERR_TIMEOUT, "%s did not answer within %d ms while %s (timeout= in the URL)",
                            rc->where, rc->timeout_ms, doing);
    }
    return ps_error_set(PS_ERR_CONNECTION, "%s: connection lost while %s: %s", rc->where, doing,
                        strerror(err));
}

/* Send everything queued in the pipeline. */
static ps_status link_flush(rd_connector *rc, rd_link *l)
{
    rd_pipeline *p = &l->pl;
    if (p->oom) {
        pl_reset(p);
        p->oom = false;
        l->broken = true; /* commands may be half-queued: start over on a new stream */
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory building a redis command");
    }
    if (p->nsegs > p->iovcap) {
        struct iovec *iov = realloc(p->iov, p->nsegs * sizeof *iov);
        if (!iov) {
            l->broken = true;
            pl_reset(p);
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory sending a redis command");
        }
        p->iov = iov;
        p->iovcap = p->nsegs;
    }
    size_t n = p->nsegs;
    for (size_t i = 0; i < n; i++) {
        const rd_seg *s = &p->segs[i];
        p->iov[i].iov_base = (void *)(s->ref ? s->ref : p->buf + s->off);
        p->iov[i].iov_len = s->len;
    }
    size_t i = 0;
    while (i < n) {
        if (p->iov[i].iov_len == 0) {
            i++;
            continue;
        }
        struct msghdr msg = {0};
        msg.msg_iov = p->iov + i;
        msg.msg_iovlen = n - i < IOV_MAX ? n - i : IOV_MAX;
        ssize_t w = sendmsg(l->ctx->fd, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            pl_reset(p);
            return link_io_error(rc, l, err, "sending a command");
        }
        size_t left = (size_t)w;
        while (left > 0 && i < n) {
            if (left >= p->iov[i].iov_len) {
                left -= p->iov[i].iov_len;
                i++;
            } else {
                p->iov[i].iov_base = (char *)p->iov[i].iov_base + left;
                p->iov[i].iov_len -= left;
                left = 0;
            }
        }
    }
    pl_reset(p);
    return PS_OK;
}

/* Flush early when a long pipeline has grown large; replies are read later
 * (the server buffers them), so this only bounds our own memory. */
static ps_status link_maybe_flush(rd_connector *rc, rd_link *l)
{
    rd_pipeline *p = &l->pl;
    if (p->len >= RD_FLUSH_BYTES || p->nsegs >= RD_FLUSH_SEGS || p->ref_bytes >= ((size_t)64 << 20))
        return link_flush(rc, l);
    return PS_OK;
}

/* The next reply (caller frees it).  Server error replies are returned as
 * replies; only a broken stream is an error here. */
static ps_status link_read(rd_connector *rc, rd_link *l, redisReply **out)
{
    void *r = NULL;
    *out = NULL;
    errno = 0;
    if (redisGetReply(l->ctx, &r) != REDIS_OK || !r) {
        int err = errno;
        redisContext *c = l->ctx;
        l->broken = true;
        if (c->err == REDIS_ERR_IO)
            return link_io_error(rc, l, err ? err : EIO, "reading a reply");
        if (c->err == REDIS_ERR_OOM)
            return ps_error_set(PS_ERR_NO_MEMORY, "%s: out of memory reading a reply", rc->where);
        if (c->err == REDIS_ERR_EOF)
            return ps_error_set(PS_ERR_CONNECTION, "%s: the server closed the connection (%s)", rc->where,
                                c->errstr);
        return ps_error_set(PS_ERR_CONNECTION, "%s: %s", rc->where, c->err ? c->errstr : "no reply");
    }
    if (l->pl.queued)
        l->pl.queued--;
    *out = r;
    return PS_OK;
}

/* Read and discard n replies, keeping the stream in step after a failure
 * that left some unread. */
static void link_skip(rd_connector *rc, rd_link *l, size_t n)
{
    for (size_t i = 0; i < n && !l->broken; i++) {
        redisReply *r;
        if (link_read(rc, l, &r) == PS_OK)
            freeReplyObject(r);
    }
}

/* Set when the server answered LOADING (it is reading its data after a
 * restart and refuses commands until done): the operation is retried, not
 * failed (rd_run, rd_open). */
static __thread bool rd_saw_loading;

/* A server error reply as PS_ERR_SERVER, with a hint for missing AUTH. */
static ps_status server_error(rd_connector *rc, const redisReply *r, const char *what, const char *key)
{
    const char *msg = r && r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type";
    if (strncmp(msg, "LOADING", 7) == 0)
        rd_saw_loading = true;
    if (strncmp(msg, "NOAUTH", 6) == 0)
        return ps_error_set(PS_ERR_SERVER, "%s requires a password (%s); give it in the URL as "
                            "redis://:PASSWORD@host:port", rc->where, msg);
    return ps_error_set(PS_ERR_SERVER, "%s: %s %s%s%s: %s", rc->where, what, key ? rc->prefix : "",
                        key ? "/" : "", key ? key : "", msg);
}

/* After a large transfer, hiredis keeps its grown read buffer and our
 * pipeline its grown arrays; drop them rather than park megabytes in every
 * idle pooled connection. */
#define RD_KEEP_BYTES ((size_t)1 << 20)

static void link_trim(rd_link *l)
{
    redisReader *r = l->ctx->reader;
    if (r && r->buf && r->len == r->pos && sdsalloc(r->buf) > RD_KEEP_BYTES) {
        redisReader *fresh = redisReaderCreate();
        if (fresh) {
            redisReaderFree(r);
            l->ctx->reader = fresh;
        }
    }
    rd_pipeline *p = &l->pl;
    if (p->cap > RD_KEEP_BYTES) {
        free(p->buf);
        p->buf = NULL;
        p->cap = 0;
    }
    if (p->segcap > 2 * RD_FLUSH_SEGS) {
        free(p->segs);
        free(p->iov);
        p->segs = NULL;
        p->iov = NULL;
        p->segcap = p->iovcap = 0;
    }
}

/* ----------------------------------------------------------- the pool */

/* Counts fork()s in this process's ancestry, bumped in the child: a pool
 * filled under another count holds its parent's sockets.  (Cheaper than a
 * getpid() system call on every checkout.) */
static unsigned rd_forks;
static pthread_once_t rd_fork_once = PTHREAD_ONCE_INIT;

static void rd_fork_child(void)
{
    rd_forks++;
}

static void rd_fork_register(void)
{
    pthread_atfork(NULL, NULL, rd_fork_child);
}

static void link_close(rd_link *l)
{
    if (!l)
        return;
    if (l->ctx)
        redisFree(l->ctx);
    pl_free(&l->pl);
    free(l->in.buf);
    free(l);
}

/* Connect, authenticate and select the database.  ping: also check that
 * the server accepts commands (at open, to report NOAUTH there). */
static ps_status link_open(rd_connector *rc, bool ping, rd_link **out)
{
    *out = NULL;
    struct timeval ctv = {rc->connect_timeout_ms / 1000, (rc->connect_timeout_ms % 1000) * 1000};
    struct timeval tv = {rc->timeout_ms / 1000, (rc->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(rc->host, rc->port, ctv);
    if (!c)
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory connecting to %s", rc->where);
    if (c->err) {
        ps_status st = ps_error_set(PS_ERR_CONNECTION, "cannot connect to %s: %s", rc->where, c->errstr);
        redisFree(c);
        return st;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        ps_status st = ps_error_set(PS_ERR_CONNECTION, "%s: cannot set the socket timeout: %s", rc->where,
                                    c->errstr);
        redisFree(c);
        return st;
    }
    rd_link *l = ps_calloc(1, sizeof *l);
    if (!l) {
        redisFree(c);
        return PS_ERR_NO_MEMORY;
    }
    l->ctx = c;

    rd_pipeline *p = &l->pl;
    size_t nauth = 0, nselect = 0, nping = 0;
    if (rc->password) {
        pl_command(p, rc->user ? 3 : 2);
        pl_arg_str(p, "AUTH");
        if (rc->user)
            pl_arg_str(p, rc->user);
        pl_arg_str(p, rc->password);
        nauth = 1;
    }
    if (rc->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", rc->db);
        pl_command(p, 2);
        pl_arg_str(p, "SELECT");
        pl_arg_str(p, db);
        nselect = 1;
    }
    if (ping) {
        pl_command(p, 1);
        pl_arg_str(p, "PING");
        nping = 1;
    }
    ps_status st = PS_OK;
    if (nauth + nselect + nping > 0)
        st = link_flush(rc, l);
    for (size_t i = 0; st == PS_OK && i < nauth + nselect + nping; i++) {
        redisReply *r;
        st = link_read(rc, l, &r);
        if (st != PS_OK)
            break;
        if (r->type == REDIS_REPLY_ERROR) {
            if (strncmp(r->str, "LOADING", 7) == 0)
                st = server_error(rc, r, i < nauth ? "AUTH" : i < nauth + nselect ? "SELECT" : "PING", NULL);
            else if (i < nauth)
                st = ps_error_set(PS_ERR_SERVER, "%s refused the %s in the URL: %s", rc->where,
                                  rc->user ? "user name and password" : "password", r->str);
            else if (strncmp(r->str, "NOAUTH", 6) == 0)
                st = server_error(rc, r, NULL, NULL);
            else if (i < nauth + nselect)
                st = ps_error_set(PS_ERR_SERVER, "%s: cannot select database %d: %s", rc->where, rc->db,
                                  r->str);
            else
                st = server_error(rc, r, "PING", NULL);
        }
        freeReplyObject(r);
        if (st != PS_OK)
            link_skip(rc, l, nauth + nselect + nping - i - 1);
    }
    if (st != PS_OK) {
        link_close(l);
        return st;
    }
    *out = l;
    return PS_OK;
}

/* Drop every idle connection: after one failed, the others most likely
 * point at the same dead server. */
static void pool_drop_idle(rd_connector *rc)
{
    pthread_mutex_lock(&rc->lock);
    size_t n = rc->nidle;
    rd_link **links = rc->idle;
    rd_link *stack[RD_DEFAULT_POOL];
    rd_link **drop = n <= RD_DEFAULT_POOL ? stack : malloc(n * sizeof *drop);
    if (drop) {
        memcpy(drop, links, n * sizeof *drop);
        rc->nidle = 0;
        rc->nopen -= n;
    } else {
        n = 0;
    }
    pthread_cond_broadcast(&rc->idle_cv);
    pthread_mutex_unlock(&rc->lock);
    for (size_t i = 0; i < n; i++)
        link_close(drop[i]);
    if (drop != stack)
        free(drop);
}

static ps_status pool_checkout(rd_connector *rc, rd_link **out, bool *reused)
{
    pthread_mutex_lock(&rc->lock);
    if (rc->forks != rd_forks) {
        /* A forked child: the parent's connections are the parent's.  Close
         * our copies of their sockets (the parent's stay open) and start
         * afresh; links checked out at fork time belonged to other threads
         * and are forgotten. */
        for (size_t i = 0; i < rc->nidle; i++)
            link_close(rc->idle[i]);
        rc->nidle = 0;
        rc->nopen = 0;
        rc->forks = rd_forks;
    }
    while (rc->nidle == 0 && rc->nopen >= rc->pool_max)
        pthread_cond_wait(&rc->idle_cv, &rc->lock);
    if (rc->nidle > 0) {
        *out = rc->idle[--rc->nidle];
        *reused = true;
        pthread_mutex_unlock(&rc->lock);
        return PS_OK;
    }
    rc->nopen++;
    pthread_mutex_unlock(&rc->lock);
    *reused = false;
    ps_status st = link_open(rc, false, out);
    if (st != PS_OK) {
        pthread_mutex_lock(&rc->lock);
        rc->nopen--;
        pthread_cond_signal(&rc->idle_cv);
        pthread_mutex_unlock(&rc->lock);
    }
    return st;
}

static void pool_checkin(rd_connector *rc, rd_link *l)
{
    bool drop = l->broken || l->ctx->err || l->pl.queued != 0 || l->in.len != l->in.pos;
    if (!drop)
        link_trim(l);
    pthread_mutex_lock(&rc->lock);
    if (drop || rc->forks != rd_forks) {
        if (rc->nopen)
            rc->nopen--;
    } else {
        rc->idle[rc->nidle++] = l;
        l = NULL;
    }
    pthread_cond_signal(&rc->idle_cv);
    pthread_mutex_unlock(&rc->lock);
    if (l)
        link_close(l);
}

typedef ps_status (*rd_op)(rd_connector *rc, rd_link *l, void *arg);

static uint64_t rd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* After a failure st: whether it was the server's LOADING and the caller
 * may try again (sleeping a little first) before timeout_ms have passed
 * since start_ms.  Once they have, the error becomes PS_ERR_TIMEOUT. */
static bool rd_wait_loading(rd_connector *rc, ps_status *st, uint64_t start_ms)
{
    if (*st != PS_ERR_SERVER || !rd_saw_loading)
        return false;
    rd_saw_loading = false;
    uint64_t waited = rd_now_ms() - start_ms;
    if (waited >= (uint64_t)rc->timeout_ms) {
        *st = ps_error_set(PS_ERR_TIMEOUT, "%s was still loading its data after %d ms (timeout= in the "
                           "URL)", rc->where, rc->timeout_ms);
        return false;
    }
    uint64_t pause = (uint64_t)rc->timeout_ms - waited;
    if (pause > 50)
        pause = 50;
    struct timespec ts = {0, (long)pause * 1000000L};
    nanosleep(&ts, NULL);
    return true;
}

/* Run op on a pooled connection; retry once on a fresh connection when a
 * pooled one turns out to be dead (the server restarted since it was used),
 * and for up to the timeout while the server is loading its data. */
static ps_status rd_run(rd_connector *rc, rd_op op, void *arg)
{
    uint64_t start = 0;
    for (int attempt = 0;; attempt++) {
        rd_link *l;
        bool reused;
        rd_saw_loading = false;
        ps_status st = pool_checkout(rc, &l, &reused); /* a new link's AUTH may meet LOADING too */
        if (st != PS_OK) {
            if (rd_saw_loading && !start)
                start = rd_now_ms();
            if (rd_wait_loading(rc, &st, start)) {
                attempt--;
                continue;
            }
            return st;
        }
        rd_saw_loading = false;
        st = op(rc, l, arg);
        bool broken = l->broken, timed_out = l->timed_out;
        pool_checkin(rc, l);
        if (rd_saw_loading && !start)
            start = rd_now_ms();
        if (rd_wait_loading(rc, &st, start)) {
            attempt--; /* waiting for loading is not the one reconnect */
            continue;
        }
        if (st == PS_OK || !broken || !reused || timed_out || attempt > 0 ||
            st == PS_ERR_NO_MEMORY)
            return st;
        pool_drop_idle(rc);
    }
}

/* ----------------------------------------------- reading bulk replies
 *
 * Replies to GET and HGET are read by this small reader rather than by
 * hiredis: a value is received straight into the buffer the caller gets
 * (hiredis copies it twice, into its read buffer and then into a reply
 * string), and chunks land directly at their offset in the reassembled
 * object.  Other replies are small and go through hiredis.  The two readers
 * never hold bytes at the same time: every operation reads all the replies
 * it asked for before it sends anything else.
 */
#define RD_DIRECT_FROM ((size_t)4096)   /* payload bytes worth a recv of their own */
#define RD_HUGE_FROM ((size_t)4 << 20)  /* buffers that get transparent huge pages */
#define RD_HUGE_ALIGN ((size_t)2 << 20)

static ps_status protocol_error(rd_connector *rc, rd_link *l, const char *what)
{
    l->broken = true;
    return ps_error_set(PS_ERR_CONNECTION, "%s: protocol error: %s", rc->where, what);
}

/* Receive more bytes into the input buffer (at least one). */
static ps_status in_fill(rd_connector *rc, rd_link *l)
{
    rd_in *in = &l->in;
    if (!in->buf) {
        if (!(in->buf = malloc(RD_IN_SIZE))) {
            l->broken = true;
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory reading from %s", rc->where);
        }
        in->cap = RD_IN_SIZE;
    }
    if (in->pos == in->len) {
        in->pos = in->len = 0;
    } else if (in->pos > 0) {
        memmove(in->buf, in->buf + in->pos, in->len - in->pos);
        in->len -= in->pos;
        in->pos = 0;
    }
    if (in->len == in->cap)
        return protocol_error(rc, l, "a reply line longer than 64 KiB");
    for (;;) {
        ssize_t n = recv(l->ctx->fd, in->buf + in->len, in->cap - in->len, 0);
        if (n > 0) {
            in->len += (size_t)n;
            return PS_OK;
        }
        if (n == 0) {
            l->broken = true;
            return ps_error_set(PS_ERR_CONNECTION, "%s: the server closed the connection", rc->where);
        }
        if (errno != EINTR)
            return link_io_error(rc, l, errno, "reading a reply");
    }
}

/* The next line, without its CRLF; valid until the next in_* call. */
static ps_status in_line(rd_connector *rc, rd_link *l, const char **line, size_t *n)
{
    rd_in *in = &l->in;
    for (;;) {
        if (in->len > in->pos) {
            char *start = in->buf + in->pos;
            char *nl = memchr(start, '\n', in->len - in->pos);
            if (nl) {
                if (nl == start || nl[-1] != '\r')
                    return protocol_error(rc, l, "a reply line without CRLF");
                *line = start;
                *n = (size_t)(nl - 1 - start);
                in->pos = (size_t)(nl + 1 - in->buf);
                return PS_OK;
            }
        }
        ps_status st = in_fill(rc, l);
        if (st != PS_OK)
            return st;
    }
}

/* Take n payload bytes into dest (NULL: discard them): what is buffered
 * first, then large remainders straight from the socket. */
static ps_status in_take(rd_connector *rc, rd_link *l, char *dest, size_t n)
{
    rd_in *in = &l->in;
    while (n > 0) {
        size_t have = in->len - in->pos;
        if (have > 0) {
            size_t k = have < n ? have : n;
            if (dest) {
                memcpy(dest, in->buf + in->pos, k);
                dest += k;
            }
            in->pos += k;
            n -= k;
            continue;
        }
        if (!dest || n < RD_DIRECT_FROM) {
            ps_status st = in_fill(rc, l);
            if (st != PS_OK)
                return st;
            continue;
        }
        ssize_t got = recv(l->ctx->fd, dest, n, 0);
        if (got > 0) {
            dest += got;
            n -= (size_t)got;
        } else if (got == 0) {
            l->broken = true;
            return ps_error_set(PS_ERR_CONNECTION, "%s: the server closed the connection", rc->where);
        } else if (errno != EINTR) {
            return link_io_error(rc, l, errno, "reading a reply");
        }
    }
    return PS_OK;
}

typedef enum { BULK_NIL, BULK_DATA, BULK_ERROR } bulk_reply;

/* The header of one reply to GET or HGET.  BULK_ERROR copies the server's
 * message into err; BULK_DATA leaves the *len payload bytes and CRLF to
 * read. */
static ps_status in_bulk_header(rd_connector *rc, rd_link *l, bulk_reply *kind, size_t *len, char *err,
                                size_t errsize)
{
    const char *line = NULL;
    size_t n = 0;
    ps_status st = in_line(rc, l, &line, &n);
    if (st != PS_OK)
        return st;
    if (l->pl.queued)
        l->pl.queued--;
    if (n >= 1 && line[0] == '-') {
        *kind = BULK_ERROR;
        snprintf(err, errsize, "%.*s", (int)(n - 1), line + 1);
        return PS_OK;
    }
    /* "*-1": a blocking command's timeout (wait_get's BLMOVE). */
    if (n == 3 && (memcmp(line, "$-1", 3) == 0 || memcmp(line, "*-1", 3) == 0)) {
        *kind = BULK_NIL;
        return PS_OK;
    }
    if (n < 2 || n > 20 || line[0] != '$')
        return protocol_error(rc, l, "unexpected reply to GET or HGET");
    size_t v = 0;
    for (size_t i = 1; i < n; i++) {
        if (line[i] < '0' || line[i] > '9' || v > (SIZE_MAX / 4 - 9) / 10)
            return protocol_error(rc, l, "bad length in a bulk reply");
        v = v * 10 + (size_t)(line[i] - '0');
    }
    *kind = BULK_DATA;
    *len = v;
    return PS_OK;
}

static ps_status in_bulk_end(rd_connector *rc, rd_link *l)
{
    char crlf[2];
    ps_status st = in_take(rc, l, crlf, 2);
    if (st == PS_OK && memcmp(crlf, "\r\n", 2) != 0)
        return protocol_error(rc, l, "a bulk reply not ended by CRLF");
    return st;
}

/* The rest of a bulk reply that we do not want. */
static ps_status in_discard(rd_connector *rc, rd_link *l, size_t n)
{
    ps_status st = in_take(rc, l, NULL, n);
    return st == PS_OK ? in_bulk_end(rc, l) : st;
}

/* A reply that must be +OK (a SET's), read by our own reader: for a small
 * put, hiredis' reader (a reply object allocated and freed) costs more
 * than the rest of the client's work together. */
static ps_status in_status(rd_connector *rc, rd_link *l, const char *what, const char *key)
{
    const char *line;
    size_t n;
    ps_status st = in_line(rc, l, &line, &n);
    if (st != PS_OK)
        return st;
    if (l->pl.queued)
        l->pl.queued--;
    if (n >= 1 && line[0] == '+')
        return PS_OK;
    if (n >= 1 && line[0] == '-') {
        char err[256];
        snprintf(err, sizeof err, "%.*s", (int)(n - 1), line + 1);
        redisReply r = {.type = REDIS_REPLY_ERROR, .str = err, .len = strlen(err)};
        return server_error(rc, &r, what, key);
    }
    return protocol_error(rc, l, "unexpected reply to SET");
}

static void release_buffer(ps_blob *blob)
{
    free(blob->opaque);
    blob->opaque = NULL;
}

/* A buffer for an object: 64-byte aligned, so plain data resolved in place
 * suits any type's alignment; big ones on transparent huge pages, which
 * halves the cost of touching fresh memory. */
static char *object_buffer(rd_connector *rc, size_t len)
{
    size_t align = len >= RD_HUGE_FROM ? RD_HUGE_ALIGN : 64;
    void *p = NULL;
    if (len > SIZE_MAX - RD_HUGE_ALIGN || posix_memalign(&p, align, len ? len : 1) != 0) {
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory allocating %zu bytes for an object from %s", len,
                     rc->where);
        return NULL;
    }
    if (align == RD_HUGE_ALIGN)
        madvise(p, len & ~(size_t)4095, MADV_HUGEPAGE); /* advice only: fine if refused */
    return p;
}

/* ---------------------------------------------------------- keys */

static void pl_head_key(rd_pipeline *p, const rd_connector *rc, const char *key)
{
    size_t klen = strlen(key);
    pl_header(p, '$', rc->prefix_len + 1 + klen);
    pl_copy(p, rc->prefix, rc->prefix_len);
    pl_copy(p, "/", 1);
    pl_copy(p, key, klen);
    pl_copy(p, "\r\n", 2);
}

/* The start of "SET P/KEY <value>" up to the value's first byte, with the
 * value's 16-byte frame, written in one piece: a small put is mostly this
 * text, and one copy into the pipeline costs a fraction of one per part. */
static void pl_set_head(rd_pipeline *p, const rd_connector *rc, const char *key, size_t nargs, size_t value_len,
                        const unsigned char frame[RD_FRAME])
{
    size_t klen = strlen(key);
    /* "*N\r\n$3\r\nSET\r\n$" "K\r\n" "P/KEY" "\r\n$V\r\n": 3 numbers of at most 20 digits */
    char *at = pl_reserve(p, 1 + 12 + 2 + 3 + 2 + 3 * 20 + rc->prefix_len + 1 + klen + RD_FRAME);
    if (!at)
        return;
    char *w = at;
    *w++ = '*';
    w += put_decimal(w, nargs);
    memcpy(w, "\r\n$3\r\nSET\r\n$", 12);
    w += 12;
    w += put_decimal(w, rc->prefix_len + 1 + klen);
    *w++ = '\r', *w++ = '\n';
    memcpy(w, rc->prefix, rc->prefix_len);
    w += rc->prefix_len;
    *w++ = '/';
    memcpy(w, key, klen);
    w += klen;
    memcpy(w, "\r\n$", 3);
    w += 3;
    w += put_decimal(w, value_len);
    *w++ = '\r', *w++ = '\n';
    memcpy(w, frame, RD_FRAME);
    w += RD_FRAME;
    pl_commit(p, (size_t)(w - at));
    p->queued++;
}

/* "P/KEY#<gen>": where a chunked object is written before it is renamed
 * onto its head. */
static void pl_temp_key(rd_pipeline *p, const rd_connector *rc, const char *key, uint64_t gen)
{
    char tail[24];
    int n = snprintf(tail, sizeof tail, "#%016llx", (unsigned long long)gen);
    size_t klen = strlen(key);
    pl_header(p, '$', rc->prefix_len + 1 + klen + (size_t)n);
    pl_copy(p, rc->prefix, rc->prefix_len);
    pl_copy(p, "/", 1);
    pl_copy(p, key, klen);
    pl_copy(p, tail, (size_t)n);
    pl_copy(p, "\r\n", 2);
}

/* "<gen>.<i>": the hash field of chunk i. */
static void pl_chunk_field(rd_pipeline *p, uint64_t gen, uint64_t index)
{
    char field[48];
    int n = snprintf(field, sizeof field, "%016llx.%llu", (unsigned long long)gen, (unsigned long long)index);
    pl_arg(p, field, (size_t)n);
}

static ps_status check_key(const char *key)
{
    if (!key)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis connector: no key given");
    return ps_key_check(key);
}

/* A reply that must be +OK (or, for counts, an integer). */
static ps_status expect_ok(rd_connector *rc, const redisReply *r, const char *what, const char *key)
{
    if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_INTEGER)
        return PS_OK;
    return server_error(rc, r, what, key);
}

/* Read n replies that must each be +OK or an integer.  All n are read even
 * after a bad one, so the link stays in step; the first bad one is the
 * result. */
static ps_status expect_ok_replies(rd_connector *rc, rd_link *l, size_t n, const char *what, const char *key)
{
    ps_status first = PS_OK;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        ps_status st = link_read(rc, l, &r);
        if (st != PS_OK)
            return st;
        if (first == PS_OK)
            first = expect_ok(rc, r, what, key);
        freeReplyObject(r);
    }
    return first;
}

/* Send cmd once for each of the n keys (GET, EXISTS: one argument). */
static ps_status send_per_key(rd_connector *rc, rd_link *l, const char *cmd, size_t n, const char *const keys[])
{
    for (size_t i = 0; i < n; i++) {
        pl_command(&l->pl, 2);
        pl_arg_str(&l->pl, cmd);
        pl_head_key(&l->pl, rc, keys[i]);
        ps_status st = link_maybe_flush(rc, l);
        if (st != PS_OK)
            return st;
    }
    return link_flush(rc, l);
}

/* The checks of every batch entry point with n > 0: the arrays are given
 * (out_given: the output array, where the operation has one) and each key
 * is one this connector can hold. */
static ps_status check_batch(const char *op, size_t n, const char *const keys[], bool out_given)
{
    if (!keys || !out_given)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis %s: NULL array", op);
    for (size_t i = 0; i < n; i++) {
        ps_status st = check_key(keys[i]);
        if (st != PS_OK)
            return st;
    }
    return PS_OK;
}

/* --------------------------------------------------------------- put */

typedef struct rd_put {
    const char *key;
    const ps_iov *parts;
    size_t nparts;
    size_t total;
    uint64_t expires_ms; /* from the object's header: the server expires it */
} rd_put;

/* The put of one object, with the expiry its header records (a lease's
 * objects, borrow records) passed on to the server. */
static rd_put rd_put_of(const char *key, const ps_iov *parts, size_t nparts)
{
    rd_put o = {key, parts, nparts, ps_iov_total(parts, nparts), 0};
    if (nparts && parts[0].len >= PS_OBJECT_HEADER_SIZE)
        o.expires_ms = ps_object_expiry(parts[0].base, parts[0].len);
    return o;
}

static void pl_arg_u64(rd_pipeline *p, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    pl_arg_str(p, num);
}

/* Queue "SET head <frame><parts>": the parts are not joined, big ones are
 * sent from the caller's memory. */
static void queue_put_whole(rd_connector *rc, rd_link *l, const rd_put *o)
{
    rd_pipeline *p = &l->pl;
    unsigned char frame[RD_FRAME];
    frame_encode(frame, RD_KIND_WHOLE, o->total);
    pl_set_head(p, rc, o->key, o->expires_ms ? 5 : 3, RD_FRAME + o->total, frame);
    for (size_t i = 0; i < o->nparts; i++)
        pl_ref(p, o->parts[i].base, o->parts[i].len);
    pl_copy(p, "\r\n", 2);
    if (o->expires_ms) {
        pl_arg(p, "PXAT", 4);
        pl_arg_u64(p, o->expires_ms);
    }
}

/* Copy-free slicing of a gather list into consecutive chunks. */
typedef struct rd_cursor {
    const ps_iov *parts;
    size_t nparts;
    size_t part, off;
} rd_cursor;

static void queue_slice(rd_pipeline *p, rd_cursor *c, size_t n)
{
    while (n > 0 && c->part < c->nparts) {
        const ps_iov *iv = &c->parts[c->part];
        size_t take = iv->len - c->off < n ? iv->len - c->off : n;
        if (take)
            pl_ref(p, (const char *)iv->base + c->off, take);
        c->off += take;
        n -= take;
        if (c->off == iv->len) {
            c->part++;
            c->off = 0;
        }
    }
}

/* How long a half-written chunked object may linger if its writer dies;
 * refreshed with every chunk, so only a stalled writer runs out of it. */
#define RD_TEMP_TTL_MS "3600000"

static void queue_unlink_temp(rd_connector *rc, rd_link *l, const char *key, uint64_t gen)
{
    pl_command(&l->pl, 2);
    pl_arg(&l->pl, "UNLINK", 6);
    pl_temp_key(&l->pl, rc, key, gen);
}

/* Remove a temporary hash after a failed write; best effort (the put's
 * error is the news, and the expiry cleans up if this fails). */
static void drop_temp(rd_connector *rc, rd_link *l, const char *key, uint64_t gen)
{
    if (l->broken)
        return;
    char msg[512];
    ps_status code = ps_last_error_code();
    snprintf(msg, sizeof msg, "%s", ps_last_error_message());
    queue_unlink_temp(rc, l, key, gen);
    if (link_flush(rc, l) == PS_OK)
        link_skip(rc, l, 1);
    ps_error_set(code, "%s", msg);
}

/* Write a chunked object into its temporary hash, generation gen; on
 * failure the hash is dropped (best effort: it expires anyway). */
static ps_status write_chunked_temp(rd_connector *rc, rd_link *l, const rd_put *o, uint64_t gen)
{
    rd_pipeline *p = &l->pl;
    uint64_t chunk = rc->chunk;
    uint64_t count = o->total / chunk + (o->total % chunk != 0);
    rd_cursor cur = {o->parts, o->nparts, 0, 0};
    ps_status st = PS_OK;
    size_t queued = 0;
    for (uint64_t i = 0; i < count && st == PS_OK; i++) {
        size_t n = (size_t)(i + 1 < count ? chunk : o->total - i * chunk);
        pl_command(p, 4);
        pl_arg(p, "HSET", 4);
        pl_temp_key(p, rc, o->key, gen);
        pl_chunk_field(p, gen, i);
        pl_header(p, '$', n);
        queue_slice(p, &cur, n);
        pl_copy(p, "\r\n", 2);
        pl_command(p, 3);
        pl_arg(p, "PEXPIRE", 7);
        pl_temp_key(p, rc, o->key, gen);
        pl_arg_str(p, RD_TEMP_TTL_MS);
        queued += 2;
        st = link_maybe_flush(rc, l);
    }
    unsigned char manifest[RD_MANIFEST];
    manifest_encode(manifest, o->total, chunk, count, gen);
    pl_command(p, 4);
    pl_arg(p, "HSET", 4);
    pl_temp_key(p, rc, o->key, gen);
    pl_arg(p, "m", 1);
    pl_arg(p, manifest, sizeof manifest);
    queued++;
    if (st == PS_OK)
        st = link_flush(rc, l);
    if (st != PS_OK)
        return st;
    /* Every chunk must be in before the object may appear. */
    ps_status first = expect_ok_replies(rc, l, queued, "HSET (a chunk of)", o->key);
    if (first != PS_OK) /* drop_temp skips a broken link */
        drop_temp(rc, l, o->key, gen);
    return first;
}

/* What a batch publishes in its one transaction: whole objects are SET
 * inside it; chunked ones, already written into their temporary hash, are
 * renamed onto their head. */
typedef struct rd_publish {
    const rd_put *obj;
    uint64_t gen; /* chunked: the temporary hash's generation; whole: 0 */
    bool written; /* a failed batch removes what it wrote */
} rd_publish;

/* Publish n objects in one MULTI/EXEC: all of them appear, or (the server
 * died, the link broke before EXEC) none does: the server drops a
 * transaction whose client goes away, and an AOF records it whole; chunked
 * objects' temporary hashes then expire.  The rename replaces whatever a
 * head held (a whole object, an older chunked one with all its chunks) in
 * one step. */
static ps_status publish(rd_connector *rc, rd_link *l, const rd_publish *pub, size_t n)
{
    rd_pipeline *p = &l->pl;
    size_t ncmds = 0;
    pl_command(p, 1);
    pl_arg(p, "MULTI", 5);
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        if (!pub[i].gen) {
            queue_put_whole(rc, l, pub[i].obj);
            ncmds++;
            st = link_maybe_flush(rc, l);
            continue;
        }
        pl_command(p, 3);
        pl_arg(p, "RENAME", 6);
        pl_temp_key(p, rc, pub[i].obj->key, pub[i].gen);
        pl_head_key(p, rc, pub[i].obj->key);
        if (pub[i].obj->expires_ms) { /* a lease's object: the server expires it */
            pl_command(p, 3);
            pl_arg(p, "PEXPIREAT", 9);
            pl_head_key(p, rc, pub[i].obj->key);
            pl_arg_u64(p, pub[i].obj->expires_ms);
        } else {
            pl_command(p, 2);
            pl_arg(p, "PERSIST", 7);
            pl_head_key(p, rc, pub[i].obj->key);
        }
        ncmds += 2;
    }
    pl_command(p, 1);
    pl_arg(p, "EXEC", 4);
    if (st == PS_OK)
        st = link_flush(rc, l);
    if (st != PS_OK)
        return st;
    ps_status first = PS_OK;
    for (size_t i = 0; i < ncmds + 2; i++) {
        redisReply *r;
        if ((st = link_read(rc, l, &r)) != PS_OK)
            return st;
        const char *key = n ? pub[0].obj->key : NULL;
        if (first == PS_OK && r->type == REDIS_REPLY_ERROR)
            first = server_error(rc, r, i == ncmds + 1 ? "EXEC" : "MULTI", key);
        if (first == PS_OK && i == ncmds + 1) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements != ncmds)
                first = ps_error_set(PS_ERR_SERVER, "%s: the transaction publishing %s/%s was aborted",
                                     rc->where, rc->prefix, key);
            for (size_t j = 0; first == PS_OK && j < r->elements; j++)
                if (r->element[j]->type == REDIS_REPLY_ERROR)
                    first = server_error(rc, r->element[j], "SET or RENAME (publishing)", key);
        }
        freeReplyObject(r);
    }
    return first;
}

static ps_status put_chunked(rd_connector *rc, rd_link *l, const rd_put *o)
{
    rd_publish pub = {o, new_generation(), false};
    ps_status st = write_chunked_temp(rc, l, o, pub.gen);
    if (st == PS_OK && (st = publish(rc, l, &pub, 1)) != PS_OK)
        drop_temp(rc, l, o->key, pub.gen);
    return st;
}

typedef struct rd_put_batch {
    size_t n;
    rd_put *objs;
} rd_put_batch;

/* After a failed batch: remove what it wrote (best effort; the rest
 * expires).  The batch's error is kept. */
static ps_status send_one(rd_connector *rc, rd_link *l, const char *cmd, const char *key, const char *field);

static void drop_batch(rd_connector *rc, rd_link *l, const rd_publish *pub, size_t n)
{
    ps_saved_error saved;
    ps_error_save(&saved);
    for (size_t i = 0; i < n && !l->broken; i++) {
        if (!pub[i].written)
            continue;
        if (pub[i].gen)
            drop_temp(rc, l, pub[i].obj->key, pub[i].gen);
        if (!l->broken && send_one(rc, l, "UNLINK", pub[i].obj->key, NULL) == PS_OK)
            link_skip(rc, l, 1);
    }
    ps_error_restore(&saved);
}

/* A batch of several objects becomes visible as a whole or not at all:
 * chunked objects are written into their temporary hashes (which expire),
 * then one transaction SETs the whole objects and renames the chunked ones
 * (publish).  A batch that fails half-way (the server died or timed out)
 * leaves nothing that lasts, even on a server that persists its data.  One
 * object alone needs none of this: its SET or rename is atomic. */
static ps_status op_put_batch_whole(rd_connector *rc, rd_link *l, rd_put_batch *b)
{
    rd_publish *pub = ps_calloc(b->n, sizeof *pub);
    if (!pub)
        return PS_ERR_NO_MEMORY;
    ps_status st = PS_OK;
    for (size_t i = 0; i < b->n && st == PS_OK; i++) {
        pub[i].obj = &b->objs[i];
        if (b->objs[i].total <= rc->chunk)
            continue;
        pub[i].gen = new_generation();
        st = write_chunked_temp(rc, l, &b->objs[i], pub[i].gen); /* dropped if it fails */
        pub[i].written = st == PS_OK;
    }
    if (st == PS_OK && (st = publish(rc, l, pub, b->n)) != PS_OK) {
        /* EXEC may have run with some commands refused: remove the rest. */
        for (size_t i = 0; i < b->n; i++)
            pub[i].written = true;
    }
    if (st != PS_OK)
        drop_batch(rc, l, pub, b->n);
    free(pub);
    return st;
}

static ps_status op_put_batch(rd_connector *rc, rd_link *l, void *arg)
{
    rd_put_batch *b = arg;
    if (b->n > 1)
        return op_put_batch_whole(rc, l, b);
    ps_status st = PS_OK;
    size_t queued = 0;
    for (size_t i = 0; i < b->n && st == PS_OK; i++) {
        if (b->objs[i].total > rc->chunk)
            continue;
        queue_put_whole(rc, l, &b->objs[i]);
        queued++;
        st = link_maybe_flush(rc, l);
    }
    if (st == PS_OK && queued)
        st = link_flush(rc, l);
    if (st != PS_OK)
        return st;
    ps_status first = PS_OK;
    for (size_t i = 0; i < b->n; i++) {
        if (b->objs[i].total > rc->chunk)
            continue;
        st = in_status(rc, l, "SET", b->objs[i].key);
        if (l->broken)
            return st;
        if (first == PS_OK)
            first = st;
    }
    if (first != PS_OK)
        return first;
    for (size_t i = 0; i < b->n; i++) {
        if (b->objs[i].total <= rc->chunk)
            continue;
        if ((st = put_chunked(rc, l, &b->objs[i])) != PS_OK)
            return st;
    }
    return PS_OK;
}

/* The arguments of a single put, checked. */
static ps_status put_args(const char *key, const ps_iov *parts, size_t nparts, rd_put *o)
{
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    if (nparts && !parts)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis put %s: no parts given", key);
    *o = rd_put_of(key, parts, nparts);
    return PS_OK;
}

static ps_status rd_put_(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    rd_connector *rc = (rd_connector *)conn;
    rd_put o;
    ps_status st = put_args(key, parts, nparts, &o);
    if (st != PS_OK)
        return st;
    rd_put_batch b = {1, &o};
    return rd_run(rc, op_put_batch, &b);
}

/* ---------------------------------------------- put, hashing after sending
 *
 * The payload's hash costs one pass over it (about 40 GB/s here); done
 * before sending, it adds its whole time to a put.  For a payload larger
 * than the socket buffers take at once, the client's sendmsg waits for the
 * server to drain them; sent first, the last buffers' worth is still being
 * taken in by the server while the client hashes, and only the 8-byte hash
 * and the end of the command follow.  The value is then kind 'H' (see
 * "on-Redis format").  Below RD_HASH_AFTER_FROM the whole payload sits in
 * the socket buffers at once, the server has caught up by the time the
 * hash is done, and the second send costs it one more wake-up: measured no
 * faster at 1 MiB (docs/benchmarks.md).  Sending in pieces, each hashed just
 * before, was slower still: a wake-up per piece. */
#define RD_HASH_AFTER_FROM ((size_t)4 << 20) /* payloads below: hash first, plain 'W' value */

typedef struct rd_put_hashing {
    const char *key;
    const unsigned char *header; /* hash field zero */
    const unsigned char *payload;
    size_t len;
    uint64_t expires_ms;
    uint64_t hash; /* out */
} rd_put_hashing;

static ps_status op_put_hashing(rd_connector *rc, rd_link *l, void *arg)
{
    rd_put_hashing *o = arg;
    rd_pipeline *p = &l->pl;
    unsigned char frame[RD_FRAME];
    frame_encode(frame, RD_KIND_HASH_AFTER, PS_OBJECT_HEADER_SIZE + o->len);
    pl_set_head(p, rc, o->key, o->expires_ms ? 5 : 3, RD_FRAME + PS_OBJECT_HEADER_SIZE + o->len + RD_TRAILER,
                frame);
    pl_copy(p, o->header, PS_OBJECT_HEADER_SIZE);
    pl_ref(p, o->payload, o->len);
    /* A failure between the two sends breaks the link: the server drops
     * the unfinished command with the connection, nothing is written. */
    ps_status st = link_flush(rc, l);
    if (st != PS_OK)
        return st;
    o->hash = ps_payload_hash(o->payload, o->len);
    unsigned char trailer[RD_TRAILER];
    put_u64(trailer, o->hash);
    pl_copy(p, trailer, sizeof trailer);
    pl_copy(p, "\r\n", 2);
    if (o->expires_ms) {
        pl_arg(p, "PXAT", 4);
        pl_arg_u64(p, o->expires_ms);
    }
    if ((st = link_flush(rc, l)) != PS_OK)
        return st;
    return in_status(rc, l, "SET", o->key);
}

static ps_status rd_put_hashing_(ps_connector *conn, const char *key, unsigned char *header, const void *payload,
                                 size_t len, uint64_t *hash_out)
{
    rd_connector *rc = (rd_connector *)conn;
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    if (len < RD_HASH_AFTER_FROM || PS_OBJECT_HEADER_SIZE + len > rc->chunk) {
        /* Small: the hash costs less than a second sendmsg would.  Chunked:
         * its pieces are written apart from the header anyway. */
        *hash_out = ps_payload_hash(payload, len);
        ps_object_hash_set(header, *hash_out);
        ps_iov parts[2] = {{header, PS_OBJECT_HEADER_SIZE}, {payload, len}};
        return rd_put_(conn, key, parts, 2);
    }
    rd_put_hashing o = {key, header, payload, len, ps_object_expiry(header, PS_OBJECT_HEADER_SIZE), 0};
    if ((st = rd_run(rc, op_put_hashing, &o)) != PS_OK)
        return st;
    *hash_out = o.hash;
    ps_object_hash_set(header, o.hash);
    return PS_OK;
}

static ps_status rd_put_batch_(ps_connector *conn, size_t n, const char *const keys[],
                               const ps_iov *const parts[], const size_t nparts[])
{
    rd_connector *rc = (rd_connector *)conn;
    if (n == 0)
        return PS_OK;
    if (!keys || !parts || !nparts)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis put_batch: NULL array");
    rd_put *objs = ps_malloc(n * sizeof *objs);
    if (!objs)
        return PS_ERR_NO_MEMORY;
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && st == PS_OK; i++) {
        st = check_key(keys[i]);
        if (st == PS_OK && nparts[i] && !parts[i])
            st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis put_batch %s: no parts given", keys[i]);
        if (st == PS_OK)
            objs[i] = rd_put_of(keys[i], parts[i], nparts[i]);
    }
    if (st == PS_OK) {
        rd_put_batch b = {n, objs};
        st = rd_run(rc, op_put_batch, &b);
    }
    free(objs);
    return st;
}

/* --------------------------------------------------------------- get */

/* What a GET or HGET of a head found.  VALUE_OTHER_TYPE is the server's
 * WRONGTYPE: to GET, a hash (a chunked object); to HGET, a string. */
typedef enum { VALUE_MISSING, VALUE_FOUND, VALUE_OTHER_TYPE, VALUE_ERROR } value_kind;

static ps_status bad_value(rd_connector *rc, const char *key, frame_result fr, const unsigned char *frame,
                           const char *what)
{
    if (fr == FRAME_NEWER)
        return ps_error_set(PS_ERR_BAD_DATA, "%s: the object %s/%s was written by a newer ProxyStore "
                            "(redis format version %u)", rc->where, rc->prefix, key, frame[4]);
    return ps_error_set(PS_ERR_BAD_DATA, "%s: the value under %s/%s %s", rc->where, rc->prefix, key, what);
}

/* Read the reply to cmd on key up to the first *taken = min(*len, cap) of
 * its *len value bytes, into start.  VALUE_FOUND leaves the rest of the
 * value and CRLF to read.  VALUE_ERROR: the error is set; the link is broken
 * only if the stream is. */
static value_kind read_value_start(rd_connector *rc, rd_link *l, const char *cmd, const char *key,
                                   unsigned char *start, size_t cap, size_t *len, size_t *taken)
{
    bulk_reply kind;
    char err[256];
    if (in_bulk_header(rc, l, &kind, len, err, sizeof err) != PS_OK)
        return VALUE_ERROR;
    if (kind == BULK_NIL)
        return VALUE_MISSING;
    if (kind == BULK_ERROR) {
        if (strncmp(err, "WRONGTYPE", 9) == 0)
            return VALUE_OTHER_TYPE;
        redisReply r = {.type = REDIS_REPLY_ERROR, .str = err, .len = strlen(err)};
        server_error(rc, &r, cmd, key);
        return VALUE_ERROR;
    }
    *taken = *len < cap ? *len : cap;
    return in_take(rc, l, (char *)start, *taken) == PS_OK ? VALUE_FOUND : VALUE_ERROR;
}

/* Read the reply to GET head: a whole object into *out; VALUE_OTHER_TYPE
 * for a chunked object. */
static value_kind read_head(rd_connector *rc, rd_link *l, const char *key, ps_blob *out)
{
    unsigned char frame[RD_FRAME];
    size_t len = 0, first = 0;
    value_kind k = read_value_start(rc, l, "GET", key, frame, sizeof frame, &len, &first);
    if (k != VALUE_FOUND)
        return k;
    rd_frame f;
    frame_result fr = frame_decode(frame, first, &f);
    bool whole = fr == FRAME_OK && (f.kind == RD_KIND_WHOLE || f.kind == RD_KIND_HASH_AFTER);
    size_t after = whole && f.kind == RD_KIND_HASH_AFTER ? RD_TRAILER : 0;
    if (whole && len >= RD_FRAME + after && f.len == len - RD_FRAME - after) {
        char *buf = object_buffer(rc, f.len);
        if (!buf) {
            in_discard(rc, l, len - first);
            return VALUE_ERROR;
        }
        unsigned char hash[RD_TRAILER];
        if (in_take(rc, l, buf, f.len) != PS_OK || in_take(rc, l, (char *)hash, after) != PS_OK ||
            in_bulk_end(rc, l) != PS_OK) {
            free(buf);
            return VALUE_ERROR;
        }
        if (after)
            ps_object_hash_set((unsigned char *)buf, get_u64(hash));
        *out = (ps_blob){buf, f.len, release_buffer, buf, true};
        return VALUE_FOUND;
    }
    /* Not an object we can read: skip its bytes, keep the stream. */
    if (in_discard(rc, l, len - first) != PS_OK)
        return VALUE_ERROR;
    if (whole) {
        ps_error_set(PS_ERR_BAD_DATA, "%s: the object %s/%s is truncated (%zu of %llu bytes)", rc->where,
                     rc->prefix, key, len - RD_FRAME, (unsigned long long)(f.len + after));
        return VALUE_ERROR;
    }
    bad_value(rc, key, fr, frame, "is not a ProxyStore object");
    return VALUE_ERROR;
}

/* Read the reply to HGET head m into *f; VALUE_OTHER_TYPE when the head is
 * not a hash. */
static value_kind read_manifest(rd_connector *rc, rd_link *l, const char *key, rd_frame *f)
{
    unsigned char m[RD_MANIFEST] = {0};
    size_t len = 0, first = 0;
    value_kind k = read_value_start(rc, l, "HGET (the manifest of)", key, m, sizeof m, &len, &first);
    if (k == VALUE_FOUND && in_discard(rc, l, len - first) != PS_OK)
        k = VALUE_ERROR;
    if (k != VALUE_FOUND)
        return k;
    frame_result fr = frame_decode(m, first, f);
    if (fr == FRAME_OK && f->kind == RD_KIND_CHUNKED && len == RD_MANIFEST) {
        manifest_decode(m, f);
        if (manifest_consistent(f))
            return VALUE_FOUND;
    }
    bad_value(rc, key, fr, m, "has a malformed chunk manifest");
    return VALUE_ERROR;
}

/* Fetch a chunked object's chunks into one buffer, each received in place.
 * A missing chunk means the object was evicted or rewritten while we read:
 * *vanished. */
static ps_status fetch_chunks(rd_connector *rc, rd_link *l, const char *key, const rd_frame *f,
                              ps_blob *out, bool *vanished)
{
    *vanished = false;
    char *buf = object_buffer(rc, (size_t)f->len);
    if (!buf)
        return PS_ERR_NO_MEMORY;
    /* Keep about 64 MB in flight: enough to hide round trips, little enough
     * that the server does not queue the whole object as replies at once. */
    uint64_t window = ((uint64_t)64 << 20) / f->chunk;
    window = window < 1 ? 1 : window > 512 ? 512 : window;
    rd_pipeline *p = &l->pl;
    ps_status st = PS_OK, first = PS_OK;
    for (uint64_t base = 0; base < f->count && st == PS_OK && first == PS_OK && !*vanished; base += window) {
        uint64_t m = f->count - base < window ? f->count - base : window;
        for (uint64_t i = 0; i < m; i++) {
            pl_command(p, 3);
            pl_arg(p, "HGET", 4);
            pl_head_key(p, rc, key);
            pl_chunk_field(p, f->gen, base + i);
        }
        st = link_flush(rc, l);
        for (uint64_t i = 0; i < m && st == PS_OK; i++) {
            uint64_t idx = base + i;
            size_t want = (size_t)(idx + 1 < f->count ? f->chunk : f->len - idx * f->chunk);
            bulk_reply kind;
            size_t len = 0;
            char err[256];
            st = in_bulk_header(rc, l, &kind, &len, err, sizeof err);
            if (st != PS_OK)
                break;
            if (kind == BULK_NIL || (kind == BULK_ERROR && strncmp(err, "WRONGTYPE", 9) == 0)) {
                *vanished = true; /* replaced or evicted under us */
            } else if (kind == BULK_ERROR) {
                if (first == PS_OK) {
                    redisReply r = {.type = REDIS_REPLY_ERROR, .str = err, .len = strlen(err)};
                    first = server_error(rc, &r, "HGET (a chunk of)", key);
                }
            } else if (len != want || *vanished || first != PS_OK) {
                st = in_discard(rc, l, len);
                if (st == PS_OK && len != want && first == PS_OK)
                    first = ps_error_set(PS_ERR_BAD_DATA, "%s: chunk %llu of %s/%s has %zu bytes, expected "
                                         "%zu", rc->where, (unsigned long long)idx, rc->prefix, key, len, want);
            } else {
                st = in_take(rc, l, buf + idx * f->chunk, want);
                if (st == PS_OK)
                    st = in_bulk_end(rc, l);
            }
        }
    }
    if (st == PS_OK)
        st = first;
    if (st != PS_OK || *vanished) {
        free(buf);
        return st;
    }
    *out = (ps_blob){buf, (size_t)f->len, release_buffer, buf, true};
    return PS_OK;
}

/* How often a get starts over when the object changed under it (a
 * concurrent rewrite) before giving up. */
#define RD_GET_ATTEMPTS 4

static ps_status not_found(rd_connector *rc, const char *key)
{
    return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' in %s (prefix '%s')", key, rc->where,
                        rc->prefix);
}

static ps_status send_one(rd_connector *rc, rd_link *l, const char *cmd, const char *key, const char *field)
{
    pl_command(&l->pl, field ? 3 : 2);
    pl_arg_str(&l->pl, cmd);
    pl_head_key(&l->pl, rc, key);
    if (field)
        pl_arg_str(&l->pl, field);
    return link_flush(rc, l);
}

/* Get an object GET found to be a hash: its manifest, then its chunks;
 * starts over when it changes under us.  *missing: it is gone. */
static ps_status get_chunked(rd_connector *rc, rd_link *l, const char *key, ps_blob *out, bool *missing)
{
    *missing = false;
    rd_frame seen = {0}; /* the manifest whose chunks went missing last time */
    for (int attempt = 0; attempt < RD_GET_ATTEMPTS; attempt++) {
        ps_status st = send_one(rc, l, "HGET", key, "m");
        if (st != PS_OK)
            return st;
        rd_frame f = {0};
        value_kind mk = read_manifest(rc, l, key, &f);
        if (mk == VALUE_ERROR)
            return ps_last_error_code();
        if (mk == VALUE_MISSING) {
            /* No manifest: the key is gone, or a hash that is not ours. */
            redisReply *r;
            if ((st = send_one(rc, l, "EXISTS", key, NULL)) != PS_OK || (st = link_read(rc, l, &r)) != PS_OK)
                return st;
            bool exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
            freeReplyObject(r);
            if (!exists) {
                *missing = true;
                return PS_OK;
            }
            return ps_error_set(PS_ERR_BAD_DATA, "%s: the value under %s/%s is not a ProxyStore object",
                                rc->where, rc->prefix, key);
        }
        if (mk == VALUE_OTHER_TYPE) { /* rewritten as a whole object meanwhile, or not ours */
            redisReply *r;
            if ((st = send_one(rc, l, "TYPE", key, NULL)) != PS_OK || (st = link_read(rc, l, &r)) != PS_OK)
                return st;
            bool is_string = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "string") == 0;
            bool is_hash = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "hash") == 0;
            bool is_none = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "none") == 0;
            freeReplyObject(r);
            if (is_none) {
                *missing = true;
                return PS_OK;
            }
            if (is_hash)
                continue;
            if (!is_string)
                return ps_error_set(PS_ERR_BAD_DATA, "%s: the value under %s/%s is not a ProxyStore object",
                                    rc->where, rc->prefix, key);
            if ((st = send_one(rc, l, "GET", key, NULL)) != PS_OK)
                return st;
            value_kind k = read_head(rc, l, key, out);
            if (k == VALUE_ERROR)
                return ps_last_error_code();
            if (k != VALUE_OTHER_TYPE) { /* whole, or gone */
                *missing = k == VALUE_MISSING;
                return PS_OK;
            }
        }
        /* A rewrite gives the object a new generation and an evict removes
         * the manifest: the same manifest twice with its chunks missing is
         * damage, not a race. */
        if (attempt > 0 && seen.gen == f.gen && seen.len == f.len && seen.chunk == f.chunk &&
            seen.count == f.count)
            return ps_error_set(PS_ERR_BAD_DATA, "%s: the chunk manifest of %s/%s names chunks that are not "
                                "there (damaged manifest)", rc->where, rc->prefix, key);
        bool vanished;
        if ((st = fetch_chunks(rc, l, key, &f, out, &vanished)) != PS_OK)
            return st;
        if (!vanished)
            return PS_OK;
        seen = f;
    }
    return ps_error_set(PS_ERR_NOT_FOUND, "%s: the object %s/%s kept changing while being read (evicted or "
                        "rewritten concurrently)", rc->where, rc->prefix, key);
}

typedef struct rd_get_batch {
    size_t n;
    const char *const *keys;
    ps_blob *out;
    bool missing_is_error; /* single get: NOT_FOUND */
} rd_get_batch;

static ps_status op_get_batch(rd_connector *rc, rd_link *l, void *arg)
{
    rd_get_batch *b = arg;
    for (size_t i = 0; i < b->n; i++)
        b->out[i] = (ps_blob){0};
    ps_status st = send_per_key(rc, l, "GET", b->n, b->keys);
    if (st != PS_OK)
        return st;
    ps_status first = PS_OK;
    size_t *hashes = NULL; /* indexes of chunked objects, fetched after */
    size_t nhashes = 0;
    for (size_t i = 0; i < b->n && !l->broken; i++) {
        value_kind k = read_head(rc, l, b->keys[i], &b->out[i]);
        if (k == VALUE_ERROR && first == PS_OK)
            first = ps_last_error_code();
        if (k == VALUE_MISSING && b->missing_is_error && first == PS_OK)
            first = not_found(rc, b->keys[i]);
        if (k == VALUE_OTHER_TYPE && first == PS_OK) { /* chunked */
            if (!hashes && !(hashes = ps_malloc(b->n * sizeof *hashes)))
                first = PS_ERR_NO_MEMORY;
            else
                hashes[nhashes++] = i;
        }
    }
    for (size_t h = 0; h < nhashes && first == PS_OK; h++) {
        size_t i = hashes[h];
        bool missing;
        first = get_chunked(rc, l, b->keys[i], &b->out[i], &missing);
        if (first == PS_OK && missing && b->missing_is_error)
            first = not_found(rc, b->keys[i]);
    }
    free(hashes);
    if (first == PS_OK && l->broken)
        first = ps_last_error_code();
    if (first != PS_OK) {
        for (size_t i = 0; i < b->n; i++)
            ps_blob_release(&b->out[i]);
    }
    return first;
}

static ps_status rd_get_(ps_connector *conn, const char *key, ps_blob *out)
{
    rd_connector *rc = (rd_connector *)conn;
    if (!out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis get: no output blob given");
    *out = (ps_blob){0};
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    const char *keys[1] = {key};
    rd_get_batch b = {1, keys, out, true};
    return rd_run(rc, op_get_batch, &b);
}

static ps_status rd_get_batch_(ps_connector *conn, size_t n, const char *const keys[], ps_blob out[])
{
    for (size_t i = 0; out && i < n; i++)
        out[i] = (ps_blob){0};
    ps_status st = PS_OK;
    if (n == 0 || (st = check_batch("get_batch", n, keys, out != NULL)) != PS_OK)
        return st;
    rd_get_batch b = {n, keys, out, false};
    return rd_run((rd_connector *)conn, op_get_batch, &b);
}

/* ------------------------------------------------------------ exists */

typedef struct rd_exists_batch {
    size_t n;
    const char *const *keys;
    bool *out;
} rd_exists_batch;

static ps_status op_exists_batch(rd_connector *rc, rd_link *l, void *arg)
{
    rd_exists_batch *b = arg;
    ps_status st = send_per_key(rc, l, "EXISTS", b->n, b->keys);
    if (st != PS_OK)
        return st;
    ps_status first = PS_OK;
    for (size_t i = 0; i < b->n; i++) {
        redisReply *r;
        if ((st = link_read(rc, l, &r)) != PS_OK)
            return st;
        if (r->type == REDIS_REPLY_INTEGER)
            b->out[i] = r->integer > 0;
        else if (first == PS_OK)
            first = server_error(rc, r, "EXISTS", b->keys[i]);
        freeReplyObject(r);
    }
    return first;
}

static ps_status rd_exists_batch_(ps_connector *conn, size_t n, const char *const keys[], bool out[])
{
    for (size_t i = 0; out && i < n; i++)
        out[i] = false;
    ps_status st = PS_OK;
    if (n == 0 || (st = check_batch("exists_batch", n, keys, out != NULL)) != PS_OK)
        return st;
    rd_exists_batch b = {n, keys, out};
    return rd_run((rd_connector *)conn, op_exists_batch, &b);
}

static ps_status rd_exists_(ps_connector *conn, const char *key, bool *exists_out)
{
    if (!exists_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis exists: no output given");
    const char *keys[1] = {key};
    return rd_exists_batch_(conn, 1, keys, exists_out);
}

/* ------------------------------------------------------------- evict */

/* UNLINK frees big values in the server's background thread. */
#define RD_UNLINK_GROUP 1024

typedef struct rd_evict_batch {
    size_t n;
    const char *const *keys;
} rd_evict_batch;

static ps_status op_evict_batch(rd_connector *rc, rd_link *l, void *arg)
{
    rd_evict_batch *b = arg;
    ps_status st = PS_OK;
    size_t commands = 0;
    for (size_t i = 0; i < b->n; i += RD_UNLINK_GROUP) {
        size_t m = b->n - i < RD_UNLINK_GROUP ? b->n - i : RD_UNLINK_GROUP;
        pl_command(&l->pl, m + 1);
        pl_arg(&l->pl, "UNLINK", 6);
        for (size_t j = 0; j < m; j++)
            pl_head_key(&l->pl, rc, b->keys[i + j]);
        commands++;
        if ((st = link_maybe_flush(rc, l)) != PS_OK)
            return st;
    }
    if ((st = link_flush(rc, l)) != PS_OK)
        return st;
    return expect_ok_replies(rc, l, commands, "UNLINK", b->n == 1 ? b->keys[0] : NULL);
}

static ps_status rd_evict_batch_(ps_connector *conn, size_t n, const char *const keys[])
{
    ps_status st = PS_OK;
    if (n == 0 || (st = check_batch("evict_batch", n, keys, true)) != PS_OK)
        return st;
    rd_evict_batch b = {n, keys};
    return rd_run((rd_connector *)conn, op_evict_batch, &b);
}

static ps_status rd_evict_(ps_connector *conn, const char *key)
{
    const char *keys[1] = {key};
    return rd_evict_batch_(conn, 1, keys);
}

/* ---------------------------------------------- claim and expiry */

typedef struct rd_key_op {
    const char *key;
    uint64_t expires_ms;
    bool done; /* claim: this call removed the key; expiry: the key exists */
} rd_key_op;

/* One command on one key whose integer reply says whether it acted. */
static ps_status key_op_reply(rd_connector *rc, rd_link *l, rd_key_op *o, const char *what)
{
    ps_status st = link_flush(rc, l);
    redisReply *r;
    if (st != PS_OK || (st = link_read(rc, l, &r)) != PS_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER)
        o->done = r->integer > 0;
    else
        st = server_error(rc, r, what, o->key);
    freeReplyObject(r);
    return st;
}

static ps_status op_claim(rd_connector *rc, rd_link *l, void *arg)
{
    rd_key_op *o = arg;
    pl_command(&l->pl, 2);
    pl_arg(&l->pl, "DEL", 3);
    pl_head_key(&l->pl, rc, o->key);
    return key_op_reply(rc, l, o, "DEL");
}

static ps_status rd_claim_(ps_connector *conn, const char *key, bool *claimed_out)
{
    *claimed_out = false;
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    rd_key_op o = {key, 0, false};
    st = rd_run((rd_connector *)conn, op_claim, &o);
    *claimed_out = st == PS_OK && o.done;
    return st;
}

static ps_status op_set_expiry(rd_connector *rc, rd_link *l, void *arg)
{
    rd_key_op *o = arg;
    if (o->expires_ms) {
        pl_command(&l->pl, 3);
        pl_arg(&l->pl, "PEXPIREAT", 9);
        pl_head_key(&l->pl, rc, o->key);
        pl_arg_u64(&l->pl, o->expires_ms);
        return key_op_reply(rc, l, o, "PEXPIREAT");
    }
    /* PERSIST answers 0 for a key without expiry too: ask EXISTS after. */
    pl_command(&l->pl, 2);
    pl_arg(&l->pl, "PERSIST", 7);
    pl_head_key(&l->pl, rc, o->key);
    ps_status st = key_op_reply(rc, l, o, "PERSIST");
    if (st != PS_OK)
        return st;
    pl_command(&l->pl, 2);
    pl_arg(&l->pl, "EXISTS", 6);
    pl_head_key(&l->pl, rc, o->key);
    return key_op_reply(rc, l, o, "EXISTS");
}

static ps_status rd_set_expiry_(ps_connector *conn, const char *key, uint64_t expires_ms)
{
    rd_connector *rc = (rd_connector *)conn;
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    rd_key_op o = {key, expires_ms, false};
    if ((st = rd_run(rc, op_set_expiry, &o)) != PS_OK)
        return st;
    if (!o.done)
        return ps_error_set(PS_ERR_NOT_FOUND, "%s: no object under key %s/%s to set an expiry on", rc->where,
                            rc->prefix, key);
    return PS_OK;
}

/* ----------------------------------------------------------- listing
 *
 * SCAN over the keys "P/...", a page at a time; for each page one pipeline of TYPE and
 * PTTL per key, then one of GETRANGE 0 79 (the frame and the object header)
 * and STRLEN for strings, HGET m (the manifest) for hashes.  "P/KEY#G" is a
 * leftover: the temporary hash of an unfinished chunked write. */

typedef struct rd_list {
    ps_list_fn fn;
    void *ctx;
    bool stopped;
} rd_list;

static void pl_args(rd_pipeline *p, size_t n, const char *const args[])
{
    pl_command(p, n);
    for (size_t i = 0; i < n; i++)
        pl_arg_str(p, args[i]);
}

/* Read n replies into r[] (NULL where reading failed: the link is broken). */
static ps_status read_replies(rd_connector *rc, rd_link *l, size_t n, redisReply **r)
{
    ps_status st = PS_OK;
    for (size_t i = 0; i < n; i++) {
        r[i] = NULL;
        if (st == PS_OK)
            st = link_read(rc, l, &r[i]);
    }
    return st;
}

static void free_replies(size_t n, redisReply **r)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(r[i]);
}

/* Report the keys of one SCAN page. */
static ps_status list_page(rd_connector *rc, rd_link *l, const redisReply *keys, rd_list *ls)
{
    size_t n = keys->elements;
    if (n == 0)
        return PS_OK;
    redisReply **a = ps_calloc(2 * n, sizeof *a), **b = ps_calloc(2 * n, sizeof *b);
    ps_status st = a && b ? PS_OK : PS_ERR_NO_MEMORY;
    for (size_t i = 0; st == PS_OK && i < n; i++) {
        pl_args(&l->pl, 2, (const char *[]){"TYPE", keys->element[i]->str});
        pl_args(&l->pl, 2, (const char *[]){"PTTL", keys->element[i]->str});
    }
    if (st == PS_OK && (st = link_flush(rc, l)) == PS_OK)
        st = read_replies(rc, l, 2 * n, a);
    for (size_t i = 0; st == PS_OK && i < n; i++) {
        const char *k = keys->element[i]->str;
        bool hash = a[2 * i]->type == REDIS_REPLY_STATUS && strcmp(a[2 * i]->str, "hash") == 0;
        if (hash) {
            pl_args(&l->pl, 3, (const char *[]){"HGET", k, "m"});
            pl_args(&l->pl, 2, (const char *[]){"HLEN", k});
        } else {
            pl_args(&l->pl, 4, (const char *[]){"GETRANGE", k, "0", "79"});
            pl_args(&l->pl, 2, (const char *[]){"STRLEN", k});
        }
    }
    if (st == PS_OK && (st = link_flush(rc, l)) == PS_OK)
        st = read_replies(rc, l, 2 * n, b);
    for (size_t i = 0; st == PS_OK && i < n && !ls->stopped; i++) {
        const char *k = keys->element[i]->str;
        const char *key = k + rc->prefix_len + 1;
        bool leftover = strchr(key, '#') != NULL;
        const redisReply *head = b[2 * i], *len = b[2 * i + 1];
        ps_list_entry e = {.entry = k, .key = leftover || !ps_key_valid(key) ? NULL : key, .leftover = leftover,
                           .age_ms = -1,
                           .ttl_ms = a[2 * i + 1]->type == REDIS_REPLY_INTEGER && a[2 * i + 1]->integer >= 0
                                         ? a[2 * i + 1]->integer : -1};
        rd_frame f;
        if (head->type == REDIS_REPLY_STRING && head->len == RD_MANIFEST &&
            frame_decode(head->str, head->len, &f) == FRAME_OK && f.kind == RD_KIND_CHUNKED) {
            e.len = f.len; /* chunked: the object's length; its header is in chunk 0 */
        } else if (head->type == REDIS_REPLY_STRING && head->len > RD_FRAME &&
                   frame_decode(head->str, head->len, &f) == FRAME_OK &&
                   (f.kind == RD_KIND_WHOLE || f.kind == RD_KIND_HASH_AFTER)) {
            e.len = f.len; /* a kind 'H' head shows a zero hash: its hash follows the object */
            e.head = head->str + RD_FRAME;
            e.head_len = head->len - RD_FRAME;
        } else if (len->type == REDIS_REPLY_INTEGER) {
            e.len = (uint64_t)len->integer; /* not ours, or a leftover: what the server holds */
        }
        if (!ls->fn(&e, ls->ctx))
            ls->stopped = true;
    }
    if (a)
        free_replies(2 * n, a);
    if (b)
        free_replies(2 * n, b);
    free(a);
    free(b);
    return st;
}

static ps_status op_list(rd_connector *rc, rd_link *l, void *arg)
{
    rd_list *ls = arg;
    char match[RD_PREFIX_MAX + 4];
    snprintf(match, sizeof match, "%s/*", rc->prefix);
    char cursor[32] = "0";
    do {
        pl_args(&l->pl, 6, (const char *[]){"SCAN", cursor, "MATCH", match, "COUNT", "500"});
        redisReply *r;
        ps_status st = link_flush(rc, l);
        if (st == PS_OK)
            st = link_read(rc, l, &r);
        if (st != PS_OK)
            return st;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            st = server_error(rc, r, "SCAN", NULL);
            freeReplyObject(r);
            return st;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        st = list_page(rc, l, r->element[1], ls);
        freeReplyObject(r);
        if (st != PS_OK)
            return st;
    } while (strcmp(cursor, "0") != 0 && !ls->stopped);
    return PS_OK;
}

static ps_status rd_list_(ps_connector *conn, ps_list_fn fn, void *ctx)
{
    rd_list ls = {fn, ctx, false};
    return rd_run((rd_connector *)conn, op_list, &ls);
}

static ps_status op_remove_entry(rd_connector *rc, rd_link *l, void *arg)
{
    pl_args(&l->pl, 2, (const char *[]){"UNLINK", (const char *)arg});
    ps_status st = link_flush(rc, l);
    return st == PS_OK ? expect_ok_replies(rc, l, 1, "UNLINK", NULL) : st;
}

static ps_status rd_remove_entry_(ps_connector *conn, const char *entry)
{
    rd_connector *rc = (rd_connector *)conn;
    if (!entry || strncmp(entry, rc->prefix, rc->prefix_len) != 0 || entry[rc->prefix_len] != '/' ||
        !entry[rc->prefix_len + 1])
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: '%s' is not an entry of prefix '%s'", rc->where,
                            entry ? entry : "(null)", rc->prefix);
    return rd_run(rc, op_remove_entry, (void *)entry);
}

/* ------------------------------------------------------ open / close */

static ps_status parse_int_param(const ps_url *url, const char *name, long lo, long hi, long fallback,
                                 long *out)
{
    const char *v = ps_url_param_get(url, name);
    if (!v) {
        *out = fallback;
        return PS_OK;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < lo || n > hi)
        return ps_error_set(PS_ERR_BAD_URL, "parameter %s=%s in URL '%s' must be a whole number from %ld "
                            "to %ld", name, v, url->text, lo, hi);
    *out = n;
    return PS_OK;
}

static void rd_close(ps_connector *conn);

static ps_status parse_url(const ps_url *url, rd_connector *rc)
{
    static const char *const known[] = {"prefix", "chunk", "timeout", "connect_timeout", "pool"};
    for (size_t i = 0; i < url->nparams; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok |= strcmp(url->params[i].key, known[k]) == 0;
        if (!ok)
            return ps_error_set(PS_ERR_BAD_URL, "unknown parameter '%s' in URL '%s' (known: prefix, chunk, "
                                "timeout, connect_timeout, pool)", url->params[i].key, url->text);
    }
    if (url->user && !url->password)
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' names a user but no password "
                            "(redis://user:password@host:port)", url->text);
    if (url->port == 0)
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has port 0", url->text);
    rc->port = url->port > 0 ? url->port : RD_DEFAULT_PORT;

    const char *path = url->path;
    long db = 0;
    if (path[0] == '/' && path[1] != '\0') {
        const char *d = path + 1;
        char *end;
        errno = 0;
        db = strtol(d, &end, 10);
        if (!(*d >= '0' && *d <= '9') || *end || errno || db > INT_MAX)
            return ps_error_set(PS_ERR_BAD_URL, "URL '%s': the path must be a database number (/0, /1, ...), "
                                "not '%s'", url->text, path);
    }
    rc->db = (int)db;

    const char *prefix = ps_url_param_get(url, "prefix");
    if (!prefix)
        prefix = RD_DEFAULT_PREFIX;
    size_t plen = strlen(prefix);
    if (plen == 0 || plen > RD_PREFIX_MAX)
        return ps_error_set(PS_ERR_BAD_URL, "prefix in URL '%s' must be 1 to %d bytes", url->text,
                            RD_PREFIX_MAX);
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)prefix[i] <= ' ' || prefix[i] == 0x7f)
            return ps_error_set(PS_ERR_BAD_URL, "prefix in URL '%s' contains a space or control character",
                                url->text);

    ps_status st = ps_url_param_size(url, "chunk", RD_DEFAULT_CHUNK, &rc->chunk);
    if (st != PS_OK)
        return st;
    if (rc->chunk < RD_MIN_CHUNK || rc->chunk > RD_MAX_CHUNK)
        return ps_error_set(PS_ERR_BAD_URL, "chunk=%s in URL '%s' must be from 1K to 512M minus 64 bytes "
                            "(a Redis value holds at most 512 MB)", ps_url_param_get(url, "chunk"),
                            url->text);
    long timeout, connect_timeout, pool;
    if ((st = parse_int_param(url, "timeout", 1, 86400000, RD_DEFAULT_TIMEOUT_MS, &timeout)) != PS_OK ||
        (st = parse_int_param(url, "connect_timeout", 1, 86400000, RD_DEFAULT_CONNECT_TIMEOUT_MS,
                              &connect_timeout)) != PS_OK ||
        (st = parse_int_param(url, "pool", 1, RD_MAX_POOL, RD_DEFAULT_POOL, &pool)) != PS_OK)
        return st;
    rc->timeout_ms = (int)timeout;
    rc->connect_timeout_ms = (int)connect_timeout;
    rc->pool_max = (size_t)pool;

    const char *host = url->host[0] ? url->host : RD_DEFAULT_HOST;
    rc->host = ps_strdup(host);
    rc->prefix = ps_strdup(prefix);
    rc->prefix_len = plen;
    if (url->user && !(rc->user = ps_strdup(url->user)))
        return PS_ERR_NO_MEMORY;
    if (url->password && !(rc->password = ps_strdup(url->password)))
        return PS_ERR_NO_MEMORY;
    if (!rc->host || !rc->prefix)
        return PS_ERR_NO_MEMORY;
    bool v6 = strchr(host, ':') != NULL;
    size_t wlen = strlen(host) + 48;
    if (!(rc->where = ps_malloc(wlen)))
        return PS_ERR_NO_MEMORY;
    snprintf(rc->where, wlen, "redis://%s%s%s:%d/%d", v6 ? "[" : "", host, v6 ? "]" : "", rc->port, rc->db);
    return PS_OK;
}

static ps_status rd_open(const ps_url *url, ps_connector **out)
{
    if (!url || !out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "redis open: NULL argument");
    *out = NULL;
    if (strcmp(url->scheme, "redis") != 0)
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' is not a redis:// URL", url->text);
    rd_connector *rc = ps_calloc(1, sizeof *rc);
    if (!rc)
        return PS_ERR_NO_MEMORY;
    rc->base.ops = &ps_redis_connector;
    pthread_mutex_init(&rc->lock, NULL);
    pthread_cond_init(&rc->idle_cv, NULL);
    pthread_once(&rd_fork_once, rd_fork_register);
    rc->forks = rd_forks;
    ps_status st = parse_url(url, rc);
    if (st == PS_OK && !(rc->idle = ps_calloc(rc->pool_max, sizeof *rc->idle)))
        st = PS_ERR_NO_MEMORY;
    rd_link *first = NULL;
    uint64_t start = rd_now_ms();
    do {
        rd_saw_loading = false;
        if (st == PS_OK)
            st = link_open(rc, true, &first); /* a wrong URL or a dead server shows now */
    } while (rd_wait_loading(rc, &st, start) && (st = PS_OK) == PS_OK);
    if (st != PS_OK) {
        rd_close(&rc->base);
        return st;
    }
    rc->idle[rc->nidle++] = first;
    rc->nopen = 1;
    *out = &rc->base;
    return PS_OK;
}

/* Closing frees connections only: objects outlive their producer, and keys
 * that are not ours are never touched (no FLUSHDB, no SCAN-and-delete). */
static void rd_close(ps_connector *conn)
{
    rd_connector *rc = (rd_connector *)conn;
    if (!rc)
        return;
    for (size_t i = 0; i < rc->nidle; i++)
        link_close(rc->idle[i]);
    free(rc->idle);
    pthread_mutex_destroy(&rc->lock);
    pthread_cond_destroy(&rc->idle_cv);
    free(rc->host);
    free(rc->user);
    if (rc->password) {
        explicit_bzero(rc->password, strlen(rc->password));
        free(rc->password);
    }
    free(rc->prefix);
    free(rc->where);
    free(rc);
}

/* ---------------------------------------------------- set-once objects
 *
 * A future's object is an ordinary whole object under its head "P/KEY",
 * written with SET NX, so get, exists and evict see it as any other.  Beside
 * it the signal list "P/KEY#w" ('#w' is never a temporary's "#<16 hex>")
 * gets one element in the same script: the object itself when it is small
 * (RD_INLINE_MAX), else a frame of an empty object meaning "GET the head".
 * A waiter blocks in BLMOVE from the list onto itself: the server wakes it
 * as soon as the element is pushed, every waiter in turn (the move puts the
 * element back), and an element pushed before anyone waits is found at once.
 * A small object so reaches the waiter within the one round trip of its
 * wait; a large one costs one GET more.  A large object is written without
 * the script (Lua copies its arguments, milliseconds a megabyte): SET NX and
 * RPUSH of the token in one MULTI; a losing SET NX then pushes one more
 * token, harmless, as every token leads to the head, which holds the
 * winner's object.  Objects larger than one chunk are refused (a chunked
 * object cannot be created-if-absent in one step).
 *
 * A retried put_new (rd_run retries once when a pooled connection turns out
 * dead) can report PS_ERR_EXISTS for the object its first attempt wrote, if
 * that attempt reached the server before the link broke.
 */
#define RD_INLINE_MAX ((size_t)64 << 10)

static const char rd_put_new_script[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('RPUSH', KEYS[2], ARGV[1]) "
    "return 1 end return 0";

/* "P/KEY#w", the signal list of a set-once object. */
static void pl_signal_key(rd_pipeline *p, const rd_connector *rc, const char *key)
{
    size_t klen = strlen(key);
    pl_header(p, '$', rc->prefix_len + 1 + klen + 2);
    pl_copy(p, rc->prefix, rc->prefix_len);
    pl_copy(p, "/", 1);
    pl_copy(p, key, klen);
    pl_copy(p, "#w\r\n", 4);
}

/* The object's frame and bytes as one bulk argument. */
static void pl_object_arg(rd_pipeline *p, const rd_put *o)
{
    unsigned char frame[RD_FRAME];
    frame_encode(frame, RD_KIND_WHOLE, o->total);
    pl_header(p, '$', RD_FRAME + o->total);
    pl_copy(p, frame, RD_FRAME);
    for (size_t i = 0; i < o->nparts; i++)
        pl_ref(p, o->parts[i].base, o->parts[i].len);
    pl_copy(p, "\r\n", 2);
}

static ps_status already_there(rd_connector *rc, const char *key)
{
    return ps_error_set(PS_ERR_EXISTS, "%s: an object is already under %s/%s", rc->where, rc->prefix, key);
}

/* MULTI, SET head NX, RPUSH signal token, EXEC: four replies, the last
 * holding SET's (nil when the head was taken). */
static ps_status put_new_large(rd_connector *rc, rd_link *l, const rd_put *o)
{
    rd_pipeline *p = &l->pl;
    unsigned char token[RD_FRAME];
    frame_encode(token, RD_KIND_WHOLE, 0);
    pl_command(p, 1);
    pl_arg_str(p, "MULTI");
    pl_command(p, 4);
    pl_arg_str(p, "SET");
    pl_head_key(p, rc, o->key);
    pl_object_arg(p, o);
    pl_arg_str(p, "NX");
    pl_command(p, 3);
    pl_arg_str(p, "RPUSH");
    pl_signal_key(p, rc, o->key);
    pl_arg(p, token, sizeof token);
    pl_command(p, 1);
    pl_arg_str(p, "EXEC");
    ps_status st = link_flush(rc, l);
    if (st != PS_OK || (st = expect_ok_replies(rc, l, 3, "MULTI (put_new)", o->key)) != PS_OK)
        return st;
    redisReply *r;
    if ((st = link_read(rc, l, &r)) != PS_OK)
        return st;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type == REDIS_REPLY_ERROR)
        st = server_error(rc, r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0] : r,
                          "EXEC (put_new)", o->key);
    else if (r->element[0]->type == REDIS_REPLY_NIL)
        st = already_there(rc, o->key);
    freeReplyObject(r);
    return st;
}

static ps_status op_put_new(rd_connector *rc, rd_link *l, void *arg)
{
    const rd_put *o = arg;
    if (o->total > RD_INLINE_MAX)
        return put_new_large(rc, l, o);
    rd_pipeline *p = &l->pl;
    pl_command(p, 6);
    pl_arg_str(p, "EVAL");
    pl_arg_str(p, rd_put_new_script);
    pl_arg_str(p, "2");
    pl_head_key(p, rc, o->key);
    pl_signal_key(p, rc, o->key);
    pl_object_arg(p, o);
    ps_status st = link_flush(rc, l);
    redisReply *r;
    if (st != PS_OK || (st = link_read(rc, l, &r)) != PS_OK)
        return st;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
        st = already_there(rc, o->key);
    else if (r->type != REDIS_REPLY_INTEGER)
        st = server_error(rc, r, "EVAL (put_new)", o->key);
    freeReplyObject(r);
    return st;
}

static ps_status rd_put_new_(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    rd_connector *rc = (rd_connector *)conn;
    rd_put o;
    ps_status st = put_args(key, parts, nparts, &o);
    if (st != PS_OK)
        return st;
    if (o.total > rc->chunk)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: a set-once object (future) holds at most one chunk "
                            "(%zu bytes; raise ?chunk=), not %zu bytes", rc->where, rc->chunk, o.total);
    return rd_run(rc, op_put_new, &o);
}

typedef struct rd_wait {
    const char *key;
    long timeout_ms;
    ps_blob *out;
} rd_wait;

/* The socket's receive timeout while blocked: the wait plus the usual
 * timeout for the reply, or none (0) for a wait without limit.  Only the
 * receive side changes: one system call, not redisSetTimeout's two. */
static ps_status set_read_timeout(rd_connector *rc, rd_link *l, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(l->ctx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        l->broken = true;
        return ps_error_set(PS_ERR_CONNECTION, "%s: cannot set the socket timeout", rc->where);
    }
    return PS_OK;
}

/* The reply to EXISTS, read by our reader (the bytes may already sit in
 * its buffer behind a bulk reply). */
static ps_status read_exists(rd_connector *rc, rd_link *l, const char *key, bool *there)
{
    const char *line = NULL;
    size_t n = 0;
    ps_status st = in_line(rc, l, &line, &n);
    if (st != PS_OK)
        return st;
    if (l->pl.queued)
        l->pl.queued--;
    if (n == 2 && line[0] == ':' && (line[1] == '0' || line[1] == '1')) {
        *there = line[1] == '1';
        return PS_OK;
    }
    if (n >= 1 && line[0] == '-')
        return ps_error_set(PS_ERR_SERVER, "%s: EXISTS %s/%s: %.*s", rc->where, rc->prefix, key, (int)(n - 1),
                            line + 1);
    return protocol_error(rc, l, "unexpected reply to EXISTS");
}

static ps_status op_wait_get(rd_connector *rc, rd_link *l, void *arg)
{
    rd_wait *w = arg;
    *w->out = (ps_blob){0};
    rd_pipeline *p = &l->pl;
    if (w->timeout_ms == 0) {
        pl_command(p, 5);
        pl_arg_str(p, "LMOVE");
    } else {
        pl_command(p, 6);
        pl_arg_str(p, "BLMOVE");
    }
    pl_signal_key(p, rc, w->key);
    pl_signal_key(p, rc, w->key);
    pl_arg_str(p, "RIGHT");
    pl_arg_str(p, "LEFT");
    if (w->timeout_ms != 0) {
        char seconds[32];
        snprintf(seconds, sizeof seconds, "%ld.%03ld", w->timeout_ms < 0 ? 0 : w->timeout_ms / 1000,
                 w->timeout_ms < 0 ? 0 : w->timeout_ms % 1000);
        pl_arg_str(p, seconds);
    }
    /* Whether the head still exists once the wait is over, in the same
     * write: an object evicted with a plain evict leaves its signal list,
     * whose element must not resolve to it. */
    pl_command(p, 2);
    pl_arg_str(p, "EXISTS");
    pl_head_key(p, rc, w->key);
    ps_status st = set_read_timeout(rc, l, w->timeout_ms < 0 ? 0 : w->timeout_ms + rc->timeout_ms);
    if (st == PS_OK)
        st = link_flush(rc, l);
    value_kind k = st == PS_OK ? read_head(rc, l, w->key, w->out) : VALUE_ERROR;
    ps_saved_error saved;
    ps_error_save(&saved);
    bool there = true;
    ps_status exists_st = l->broken ? PS_OK : read_exists(rc, l, w->key, &there);
    if (k == VALUE_ERROR)
        ps_error_restore(&saved);
    if (!l->broken) /* back to the usual timeout for the pool */
        set_read_timeout(rc, l, rc->timeout_ms);
    if (k == VALUE_FOUND && (exists_st != PS_OK || !there)) {
        ps_blob_release(w->out);
        return exists_st != PS_OK ? exists_st
                                  : ps_error_set(PS_ERR_NOT_FOUND, "%s: the object %s/%s was evicted", rc->where,
                                                 rc->prefix, w->key);
    }
    if (k == VALUE_ERROR)
        return ps_last_error_code();
    if (k == VALUE_MISSING)
        return ps_error_set(PS_ERR_TIMEOUT, "%s: no object came under %s/%s within %ld ms", rc->where,
                            rc->prefix, w->key, w->timeout_ms);
    if (k == VALUE_OTHER_TYPE)
        return ps_error_set(PS_ERR_BAD_DATA, "%s: %s/%s#w is not the signal list of a set-once object",
                            rc->where, rc->prefix, w->key);
    if (w->out->len > 0)
        return PS_OK;
    /* The element says the object is too large to travel with the signal. */
    ps_blob_release(w->out);
    const char *keys[1] = {w->key};
    rd_get_batch b = {1, keys, w->out, true};
    return op_get_batch(rc, l, &b);
}

static ps_status rd_wait_get_(ps_connector *conn, const char *key, long timeout_ms, ps_blob *out)
{
    ps_status st = check_key(key);
    if (st != PS_OK)
        return st;
    rd_wait w = {key, timeout_ms, out};
    return rd_run((rd_connector *)conn, op_wait_get, &w);
}

static ps_status op_evict_new(rd_connector *rc, rd_link *l, void *arg)
{
    const char *key = arg;
    pl_command(&l->pl, 3);
    pl_arg_str(&l->pl, "UNLINK");
    pl_head_key(&l->pl, rc, key);
    pl_signal_key(&l->pl, rc, key);
    ps_status st = link_flush(rc, l);
    return st == PS_OK ? expect_ok_replies(rc, l, 1, "UNLINK", key) : st;
}

static ps_status rd_evict_new_(ps_connector *conn, const char *key)
{
    ps_status st = check_key(key);
    return st == PS_OK ? rd_run((rd_connector *)conn, op_evict_new, (void *)key) : st;
}

const ps_connector_ops ps_redis_connector = {
    .scheme = "redis",
    .open = rd_open,
    .close = rd_close,
    .put = rd_put_,
    .put_hashing = rd_put_hashing_,
    .get = rd_get_,
    .exists = rd_exists_,
    .evict = rd_evict_,
    .put_batch = rd_put_batch_,
    .get_batch = rd_get_batch_,
    .exists_batch = rd_exists_batch_,
    .evict_batch = rd_evict_batch_,
    .claim = rd_claim_,
    .set_expiry = rd_set_expiry_,
    .list = rd_list_,
    .remove_entry = rd_remove_entry_,
    .put_new = rd_put_new_,
    .wait_get = rd_wait_get_,
    .evict_new = rd_evict_new_,
};

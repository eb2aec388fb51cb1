/*
 * future.c — futures (proxystore/future.h, docs/futures.md).
 *
 * A future is a key with nothing under it yet.  Its value is written once,
 * through the connector's put_new (atomic create-if-absent), so "set once"
 * is enforced where the object lives, for every producer in every process.
 * A failure is written the same way under the same key, as a failure
 * record instead of an object, so a value and a failure exclude each other
 * too.  A consumer's proxy is an ordinary proxy marked pending: its fetch
 * (proxy.c) comes here, waits in the connector's wait_get, and learns the
 * target's facts from the header it finds.
 *
 * The failure record, 64 bytes then the message (UTF-8 or not, no NUL):
 *   off size field
 *     0    4 magic "PSFF" (an object starts with "PSOB")
 *     4    2 version (1)
 *     6    2 header size (64)
 *     8    4 the producer's ps_status code, little-endian
 *    12    4 message length (at most FAILURE_MESSAGE_MAX)
 *    16   48 zero
 */
#include "future.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "key.h"
#include "live_set.h"
#include "metrics.h"

#define FAILURE_HEADER 64
#define FAILURE_VERSION 1
#define FAILURE_MESSAGE_MAX 1024
static const char failure_magic[4] = {'P', 'S', 'F', 'F'};

struct ps_future {
    ps_store *store; /* a reference */
    const ps_type *type;
    char key[PS_KEY_MAX];
    pthread_mutex_t lock;
    bool settled; /* lock: this handle set a value or a failure */
};

/* Live producer handles, so one used after ps_future_free is refused. */
static ps_live_set live_futures = PS_LIVE_SET_INIT;

static ps_status check_future(const ps_future *f, const char *fn)
{
    if (!f)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: no future given", fn);
    if (!ps_live_set_contains(&live_futures, f))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: %p is not a live future (released already, or "
                            "never a future)", fn, (const void *)f);
    return PS_OK;
}

static ps_status check_connector(const ps_store *store)
{
    const ps_connector_ops *ops = store->conn->ops;
    if (!ops->put_new || !ops->wait_get)
        return ps_error_set(PS_ERR_STATE, "store '%s': %s:// connectors have no futures", store->name,
                            ops->scheme);
    return PS_OK;
}

/* ------------------------------------------------------------- producer */

ps_future *ps_future_new(ps_store *store, const ps_type *type, const char *key)
{
    if (ps_store_usable(store) != PS_OK || ps_type_validate(type) != PS_OK || check_connector(store) != PS_OK)
        return NULL;
    ps_future *f = ps_calloc(1, sizeof *f);
    if (!f)
        return NULL;
    ps_status st = key ? ps_key_check(key) : ps_key_generate(f->key);
    if (st == PS_OK && key)
        snprintf(f->key, sizeof f->key, "%s", key);
    if (st == PS_OK)
        st = ps_live_set_add(&live_futures, f);
    if (st != PS_OK) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    f->type = type;
    ps_store_ref(store);
    f->store = store;
    return f;
}

void ps_future_free(ps_future *future)
{
    if (!future)
        return;
    if (!ps_live_set_remove(&live_futures, future)) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_future_free: %p is not a live future (released twice?)",
                     (void *)future);
        return;
    }
    ps_store_unref(future->store);
    pthread_mutex_destroy(&future->lock);
    free(future);
}

const char *ps_future_key(const ps_future *future)
{
    return check_future(future, "ps_future_key") == PS_OK ? future->key : NULL;
}

ps_proxy_t *ps_future_proxy(ps_future *future)
{
    if (check_future(future, "ps_future_proxy") != PS_OK)
        return NULL;
    const ps_type *t = future->type;
    ps_proxy_facts facts = {t->name, t->size, 0, 0, 0, (t->flags & PS_TYPE_POD) != 0};
    ps_proxy_t *p = ps_proxy_make(future->store, t, future->key, &facts);
    if (p)
        p->future = p->pending = true;
    return p;
}

/* Run write (a set or a fail) once for this handle; the connector refuses
 * it if anyone set the key before. */
typedef ps_status (*settle_fn)(ps_future *f, const void *arg);

static ps_status settle(ps_future *f, const char *fn, settle_fn write, const void *arg)
{
    ps_status st = check_future(f, fn);
    if (st != PS_OK)
        return st;
    pthread_mutex_lock(&f->lock);
    if (f->settled)
        st = ps_error_set(PS_ERR_STATE, "%s: future '%s' was set already by this handle", fn, f->key);
    else if ((st = ps_store_usable(f->store)) == PS_OK && (st = write(f, arg)) == PS_OK)
        f->settled = true;
    else if (st == PS_ERR_EXISTS)
        st = ps_error_set(PS_ERR_STATE, "%s: future '%s' is already set (a value or a failure, by another "
                          "producer): the first one stays", fn, f->key);
    pthread_mutex_unlock(&f->lock);
    return st;
}

typedef struct value_arg {
    const void *obj;
    size_t count;
} value_arg;

static ps_status write_value(ps_future *f, const void *arg)
{
    const value_arg *v = arg;
    return ps_store_put_new_object(f->store, f->key, f->type, v->obj, v->count, NULL);
}

ps_status ps_future_set_array(ps_future *future, const void *obj, size_t count)
{
    value_arg v = {obj, count};
    return settle(future, "ps_future_set", write_value, &v);
}

ps_status ps_future_set(ps_future *future, const void *obj)
{
    return ps_future_set_array(future, obj, 1);
}

typedef struct failure_arg {
    ps_status code;
    const char *message;
} failure_arg;

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static ps_status write_failure(ps_future *f, const void *arg)
{
    const failure_arg *a = arg;
    unsigned char head[FAILURE_HEADER] = {0};
    size_t len = strnlen(a->message, FAILURE_MESSAGE_MAX);
    memcpy(head, failure_magic, 4);
    head[4] = FAILURE_VERSION;
    head[6] = FAILURE_HEADER;
    put_u32(head + 8, (uint32_t)a->code);
    put_u32(head + 12, (uint32_t)len);
    ps_iov parts[2] = {{head, sizeof head}, {a->message, len}};
    ps_connector *conn = f->store->conn;
    return conn->ops->put_new(conn, f->key, parts, 2);
}

ps_status ps_future_fail(ps_future *future, ps_status code, const char *message)
{
    if (code == PS_OK || (unsigned)code > PS_ERR_STATE)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_future_fail: %d is not an error code", (int)code);
    failure_arg a = {code, message ? message : ""};
    return settle(future, "ps_future_fail", write_failure, &a);
}

ps_status ps_future_evict_key(ps_store *store, const char *key)
{
    uint64_t start = ps_now_ns();
    ps_status st = ps_key_check(key);
    if (st == PS_OK) {
        const ps_connector_ops *ops = store->conn->ops;
        st = ops->evict_new ? ops->evict_new(store->conn, key) : ops->evict(store->conn, key);
        ps_cache_remove(&store->cache, key);
    }
    ps_metrics_record(&store->metrics, PS_OP_EVICT, 1, 0, start, st != PS_OK);
    return st;
}

ps_status ps_future_evict(ps_future *future)
{
    ps_status st = check_future(future, "ps_future_evict");
    return st == PS_OK ? ps_future_evict_key(future->store, future->key) : st;
}

/* ------------------------------------------------------------- consumer */

ps_status ps_store_set_wait_timeout(ps_store *store, long timeout_ms)
{
    ps_status st = ps_store_live(store, "ps_store_set_wait_timeout");
    if (st == PS_OK)
        __atomic_store_n(&store->wait_timeout_ms, timeout_ms < 0 ? -1 : timeout_ms, __ATOMIC_RELAXED);
    return st;
}

static long store_wait_timeout(const ps_store *store)
{
    long ms = __atomic_load_n(&store->wait_timeout_ms, __ATOMIC_RELAXED);
    return ms == 0 ? PS_FUTURE_DEFAULT_TIMEOUT_MS : ms;
}

static bool is_failure(const ps_blob *blob)
{
    return blob->len >= FAILURE_HEADER && memcmp(blob->data, failure_magic, 4) == 0;
}

/* The failure in blob as the thread's error; the blob is released. */
static ps_status failure_error(const char *key, ps_blob *blob)
{
    const unsigned char *h = blob->data;
    uint32_t code = get_u32(h + 8), len = get_u32(h + 12);
    ps_status st;
    if (h[4] != FAILURE_VERSION || code == PS_OK || code > PS_ERR_STATE || len > FAILURE_MESSAGE_MAX ||
        len > blob->len - FAILURE_HEADER)
        st = ps_error_set(PS_ERR_BAD_DATA, "future '%s' holds a malformed failure record", key);
    else
        st = ps_error_set((ps_status)code, "future '%s' failed in its producer: %.*s", key, (int)len,
                          (const char *)h + FAILURE_HEADER);
    ps_blob_release(blob);
    return st;
}

ps_status ps_future_fetch(ps_proxy_t *p, long timeout_ms, ps_resolved **out)
{
    ps_store *store = p->store;
    uint64_t start = ps_now_ns();
    *out = NULL;
    if (timeout_ms == PS_WAIT_DEFAULT)
        timeout_ms = store_wait_timeout(store);
    ps_status st = check_connector(store);
    ps_blob blob = {0};
    if (st == PS_OK)
        st = store->conn->ops->wait_get(store->conn, p->key, timeout_ms, &blob);
    if (st == PS_OK && is_failure(&blob))
        st = failure_error(p->key, &blob);
    else if (st == PS_OK)
        st = ps_resolved_from_blob(p->key, &blob, p->type, out);
    if (st == PS_OK && ((*out)->info.elem_size != p->elem_size ||
                        ((*out)->info.flags == PS_OBJECT_POD) != p->pod)) {
        st = ps_error_set(PS_ERR_TYPE_MISMATCH, "future '%s' was set to an object of '%s' (element size %zu), "
                          "not of '%s' (element size %zu)", p->key, (*out)->info.type_name,
                          (*out)->info.elem_size, p->type_name, p->elem_size);
        ps_resolved_release(*out);
        *out = NULL;
    }
    if (st == PS_OK) {
        const ps_object_info *info = &(*out)->info;
        pthread_mutex_lock(&p->lock);
        p->count = info->count;
        p->size = info->payload_len;
        p->hash = info->payload_hash;
        p->pending = false;
        pthread_mutex_unlock(&p->lock);
    }
    ps_metrics_record(&store->metrics, PS_OP_RESOLVE, 1, *out ? (*out)->info.payload_len : 0, start,
                      st != PS_OK);
    return st;
}

ps_status ps_proxy_wait(ps_proxy_t *proxy, long timeout_ms)
{
    ps_status st = ps_proxy_check(proxy, "ps_proxy_wait");
    if (st != PS_OK)
        return st;
    if (ps_proxy_resolve_within(proxy, timeout_ms < 0 ? -1 : timeout_ms))
        return PS_OK;
    return ps_proxy_is_resolved(proxy) ? PS_OK : ps_last_error_code();
}

ps_status ps_proxy_done(ps_proxy_t *proxy, bool *done_out)
{
    ps_status st = ps_proxy_check(proxy, "ps_proxy_done");
    if (st != PS_OK)
        return st;
    if (!done_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_proxy_done: no output given");
    pthread_mutex_lock(&proxy->lock);
    bool pending = proxy->pending;
    pthread_mutex_unlock(&proxy->lock);
    *done_out = true;
    if (!pending)
        return PS_OK;
    ps_connector *conn = proxy->store->conn;
    return conn->ops->exists(conn, proxy->key, done_out);
}

/*
 * connector_local.c — local://, an in-process hash map.
 *
 * Each connector has its own map (two local:// stores never see each
 * other's objects; a store found by name in the registry is how a process
 * shares one).  An entry is one allocation holding its bookkeeping, its key
 * and its bytes (at a 64-byte-aligned address inside it), and is reference
 * counted: the map holds one reference and every blob handed out by get
 * holds one, so a blob stays valid after the key is evicted or overwritten,
 * or the connector closed.
 *
 * A read-write lock guards the table only; bytes are copied outside it.
 */
#include "connector.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"
#include "object.h"

#define LOCAL_ALIGN 64

typedef struct local_entry {
    struct local_entry *next; /* chain, guarded by the table lock */
    uint64_t hash;
    int refs;                 /* atomic */
    size_t len;
    uint64_t expires_ms;      /* Unix ms, 0: never; guarded by the table lock */
    unsigned char *data;      /* LOCAL_ALIGN-aligned, inside this allocation */
    char key[];
} local_entry;

typedef struct local_conn {
    ps_connector base;
    pthread_rwlock_t lock;
    local_entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    size_t heap_max; /* entries from this size: ps_aligned_alloc (huge pages) */
} local_conn;

static uint64_t key_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

/*
 * Up to LOCAL_HEAP_MAX the entry comes from plain malloc, with LOCAL_ALIGN - 1
 * bytes of slack to align the data inside it, rather than from
 * posix_memalign: an aligned request asks the heap for more than the block
 * it returns, so the hole a freed object of the same size leaves is always a
 * little too small for the next one, the heap grows into fresh pages and
 * every large put pays a page fault per 4 KB.  malloc of the same size
 * reuses that hole, warm.  Beyond glibc's largest mmap threshold (32 MiB)
 * malloc maps fresh memory whatever we do; ps_aligned_alloc then puts it on
 * transparent huge pages, which fault 2 MB at a time.  mpi:// lowers that
 * size (ps_local_huge_from): its objects are read by the kernel's
 * cross-process copy, which was twice as fast from huge pages at 10 MB
 * (docs/connectors/mpi.md), and a fetch is paid for by every reader while
 * the fresh pages are paid for once, by the put.
 */
#define LOCAL_HEAP_MAX ((size_t)32 << 20)

static local_entry *entry_new(const local_conn *c, const char *key, const ps_iov *parts, size_t nparts)
{
    size_t keylen = strlen(key);
    size_t head = sizeof(local_entry) + keylen + 1 + LOCAL_ALIGN - 1;
    size_t len = ps_iov_total(parts, nparts);
    if (len > SIZE_MAX - head) {
        ps_error_set(PS_ERR_NO_MEMORY, "object '%s' of %zu bytes is too large", key, len);
        return NULL;
    }
    local_entry *e;
    if (head + len >= c->heap_max) {
        e = ps_aligned_alloc(LOCAL_ALIGN, head + len); /* sets the error */
    } else if (!(e = malloc(head + len))) {
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory storing object '%s' of %zu bytes", key, len);
    }
    if (!e)
        return NULL;
    e->next = NULL;
    e->hash = key_hash(key);
    e->refs = 1;
    e->len = len;
    memcpy(e->key, key, keylen + 1);
    uintptr_t data = ((uintptr_t)(e->key + keylen + 1) + LOCAL_ALIGN - 1) & ~(uintptr_t)(LOCAL_ALIGN - 1);
    e->data = (unsigned char *)data;
    size_t off = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len)
            memcpy(e->data + off, parts[i].base, parts[i].len);
        off += parts[i].len;
    }
    e->expires_ms = ps_object_expiry(e->data, e->len);
    return e;
}

static void entry_unref(local_entry *e)
{
    if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(e);
}

static void blob_release(ps_blob *blob)
{
    entry_unref(blob->opaque);
}

/* ------------------------------------------------------------ the table */

static local_entry **slot_of(local_conn *c, const char *key, uint64_t hash)
{
    local_entry **pp = &c->buckets[hash & (c->nbuckets - 1)];
    while (*pp && ((*pp)->hash != hash || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

/* Grow when the chains get long; a failed allocation just keeps them long. */
static void maybe_grow(local_conn *c)
{
    if (c->count <= c->nbuckets)
        return;
    size_t n = c->nbuckets * 2;
    local_entry **buckets = calloc(n, sizeof *buckets);
    if (!buckets)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        local_entry *e = c->buckets[i];
        while (e) {
            local_entry *next = e->next;
            e->next = buckets[e->hash & (n - 1)];
            buckets[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = buckets;
    c->nbuckets = n;
}

/* Insert e, returning the entry it replaced (to unref outside the lock). */
static local_entry *insert_locked(local_conn *c, local_entry *e)
{
    local_entry **pp = slot_of(c, e->key, e->hash);
    local_entry *old = *pp;
    if (old) {
        e->next = old->next;
        *pp = e;
        return old;
    }
    e->next = NULL;
    *pp = e;
    c->count++;
    maybe_grow(c);
    return NULL;
}

static local_entry *remove_locked(local_conn *c, const char *key)
{
    local_entry **pp = slot_of(c, key, key_hash(key));
    local_entry *e = *pp;
    if (e) {
        *pp = e->next;
        e->next = NULL;
        c->count--;
    }
    return e;
}

static bool expired(const local_entry *e)
{
    return e->expires_ms && ps_unix_ms() >= e->expires_ms;
}

/* The live entry for key: an expired one reads as missing. */
static local_entry *find_locked(local_conn *c, const char *key)
{
    local_entry *e = *slot_of(c, key, key_hash(key));
    return e && !expired(e) ? e : NULL;
}

static local_entry *find_ref_locked(local_conn *c, const char *key)
{
    local_entry *e = find_locked(c, key);
    if (e)
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

/* ----------------------------------------------------------- operations */

static ps_status local_open(const ps_url *url, ps_connector **out)
{
    if (url->host[0] || url->path[0] || url->user || url->password || url->port >= 0 || url->nparams)
        return ps_error_set(PS_ERR_BAD_URL, "local URL '%s' takes no host, path or parameters "
                            "(write local://)", url->text);
    local_conn *c = ps_calloc(1, sizeof *c);
    if (!c)
        return PS_ERR_NO_MEMORY;
    c->nbuckets = 64;
    c->heap_max = LOCAL_HEAP_MAX;
    c->buckets = ps_calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return PS_ERR_NO_MEMORY;
    }
    pthread_rwlock_init(&c->lock, NULL);
    c->base.ops = &ps_local_connector;
    *out = &c->base;
    return PS_OK;
}

static void local_close(ps_connector *conn)
{
    local_conn *c = (local_conn *)conn;
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        local_entry *e = c->buckets[i];
        while (e) {
            local_entry *next = e->next;
            entry_unref(e);
            e = next;
        }
    }
    free(c->buckets);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

static ps_status local_put(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    local_conn *c = (local_conn *)conn;
    local_entry *e = entry_new(c, key, parts, nparts);
    if (!e)
        return ps_last_error_code();
    pthread_rwlock_wrlock(&c->lock);
    local_entry *old = insert_locked(c, e);
    pthread_rwlock_unlock(&c->lock);
    entry_unref(old);
    return PS_OK;
}

static void fill_blob(local_entry *e, ps_blob *out)
{
    out->data = e->data;
    out->len = e->len;
    out->release = blob_release;
    out->opaque = e;
}

static ps_status local_get(ps_connector *conn, const char *key, ps_blob *out)
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_rdlock(&c->lock);
    local_entry *e = find_ref_locked(c, key);
    pthread_rwlock_unlock(&c->lock);
    memset(out, 0, sizeof *out);
    if (!e)
        return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' in the local store", key);
    fill_blob(e, out);
    return PS_OK;
}

static ps_status local_exists(ps_connector *conn, const char *key, bool *exists_out)
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_rdlock(&c->lock);
    *exists_out = find_locked(c, key) != NULL;
    pthread_rwlock_unlock(&c->lock);
    return PS_OK;
}


static ps_status local_claim(ps_connector *conn, const char *key, bool *claimed_out)
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_wrlock(&c->lock);
    local_entry *e = remove_locked(c, key);
    pthread_rwlock_unlock(&c->lock);
    *claimed_out = e && !expired(e);
    entry_unref(e);
    return PS_OK;
}

static ps_status local_evict(ps_connector *conn, const char *key)
{
    bool removed;
    return local_claim(conn, key, &removed);
}

static ps_status local_put_batch(ps_connector *conn, size_t n, const char *const keys[],
                                 const ps_iov *const parts[], const size_t nparts[])
{
    local_conn *c = (local_conn *)conn;
    local_entry **made = ps_calloc(n, sizeof *made);
    if (!made)
        return PS_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        if (!(made[i] = entry_new(c, keys[i], parts[i], nparts[i]))) {
            for (size_t j = 0; j < i; j++)
                entry_unref(made[j]);
            free(made);
            return ps_last_error_code();
        }
    }
    /* All or nothing: entries are built first, published under one lock. */
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        made[i] = insert_locked(c, made[i]);
    pthread_rwlock_unlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        entry_unref(made[i]);
    free(made);
    return PS_OK;
}

static ps_status local_get_batch(ps_connector *conn, size_t n, const char *const keys[], ps_blob out[])
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        local_entry *e = find_ref_locked(c, keys[i]);
        memset(&out[i], 0, sizeof out[i]);
        if (e)
            fill_blob(e, &out[i]);
    }
    pthread_rwlock_unlock(&c->lock);
    return PS_OK;
}

static ps_status local_exists_batch(ps_connector *conn, size_t n, const char *const keys[], bool out[])
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        out[i] = find_locked(c, keys[i]) != NULL;
    pthread_rwlock_unlock(&c->lock);
    return PS_OK;
}

static ps_status local_evict_batch(ps_connector *conn, size_t n, const char *const keys[])
{
    local_conn *c = (local_conn *)conn;
    local_entry **gone = ps_calloc(n, sizeof *gone);
    if (!gone)
        return PS_ERR_NO_MEMORY;
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        gone[i] = remove_locked(c, keys[i]);
    pthread_rwlock_unlock(&c->lock);
    for (size_t i = 0; i < n; i++)
        entry_unref(gone[i]);
    free(gone);
    return PS_OK;
}

static ps_status local_set_expiry(ps_connector *conn, const char *key, uint64_t expires_ms)
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_wrlock(&c->lock);
    local_entry *e = find_locked(c, key);
    if (e)
        e->expires_ms = expires_ms;
    pthread_rwlock_unlock(&c->lock);
    if (!e)
        return ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s' in the local store", key);
    return PS_OK;
}

/* ---------------------------------------------------- set-once objects
 *
 * Waiters of every local connector in the process share one condition
 * variable: a put_new broadcasts, each waiter looks for its own key again.
 * Futures are set once, so the extra wake-ups are few, and no connector
 * state has to outlive a waiter.  Lock order: new_lock, then the table. */
static pthread_mutex_t new_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t new_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t new_cv_once = PTHREAD_ONCE_INIT;

/* Timed waits measure CLOCK_MONOTONIC, so a clock step cannot stretch them. */
static void new_cv_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_destroy(&new_cv);
    pthread_cond_init(&new_cv, &attr);
    pthread_condattr_destroy(&attr);
}

static ps_status local_put_new(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    local_conn *c = (local_conn *)conn;
    local_entry *e = entry_new(c, key, parts, nparts);
    if (!e)
        return ps_last_error_code();
    pthread_once(&new_cv_once, new_cv_init);
    pthread_rwlock_wrlock(&c->lock);
    bool taken = *slot_of(c, e->key, e->hash) != NULL;
    if (!taken)
        insert_locked(c, e);
    pthread_rwlock_unlock(&c->lock);
    if (taken) {
        entry_unref(e);
        return ps_error_set(PS_ERR_EXISTS, "an object is already under key '%s' in the local store", key);
    }
    pthread_mutex_lock(&new_lock);
    pthread_cond_broadcast(&new_cv);
    pthread_mutex_unlock(&new_lock);
    return PS_OK;
}

static ps_status local_wait_get(ps_connector *conn, const char *key, long timeout_ms, ps_blob *out)
{
    local_conn *c = (local_conn *)conn;
    memset(out, 0, sizeof *out);
    pthread_once(&new_cv_once, new_cv_init);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&new_lock);
    for (bool expired = false;;) {
        pthread_rwlock_rdlock(&c->lock);
        local_entry *e = find_ref_locked(c, key);
        pthread_rwlock_unlock(&c->lock);
        if (e) {
            pthread_mutex_unlock(&new_lock);
            fill_blob(e, out);
            return PS_OK;
        }
        if (expired) {
            pthread_mutex_unlock(&new_lock);
            return ps_error_set(PS_ERR_TIMEOUT, "no object came under key '%s' in the local store within "
                                "%ld ms", key, timeout_ms);
        }
        int rc = timeout_ms < 0 ? pthread_cond_wait(&new_cv, &new_lock)
                 : timeout_ms == 0 ? ETIMEDOUT
                                   : pthread_cond_timedwait(&new_cv, &new_lock, &until);
        expired = rc == ETIMEDOUT; /* one last look before giving up */
    }
}

/* Every entry held, expired ones too (they hold memory until reclaimed),
 * under the read lock: fn must not write to this connector. */
static ps_status local_list(ps_connector *conn, ps_list_fn fn, void *ctx)
{
    local_conn *c = (local_conn *)conn;
    pthread_rwlock_rdlock(&c->lock);
    bool go = true;
    uint64_t now = ps_unix_ms();
    for (size_t b = 0; go && b < c->nbuckets; b++)
        for (local_entry *e = c->buckets[b]; go && e; e = e->next) {
            int64_t ttl = !e->expires_ms ? -1 : e->expires_ms > now ? (int64_t)(e->expires_ms - now) : 0;
            ps_list_entry le = {.entry = e->key, .key = e->key, .len = e->len, .age_ms = -1, .ttl_ms = ttl,
                                .head = e->data, .head_len = e->len < PS_OBJECT_HEADER_SIZE ? 0
                                                                                           : PS_OBJECT_HEADER_SIZE};
            go = fn(&le, ctx);
        }
    pthread_rwlock_unlock(&c->lock);
    return PS_OK;
}

const ps_connector_ops ps_local_connector = {
    .scheme = "local",
    .open = local_open,
    .close = local_close,
    .put = local_put,
    .get = local_get,
    .exists = local_exists,
    .evict = local_evict,
    .put_batch = local_put_batch,
    .get_batch = local_get_batch,
    .exists_batch = local_exists_batch,
    .evict_batch = local_evict_batch,
    .claim = local_claim,
    .set_expiry = local_set_expiry,
    .list = local_list,
    .put_new = local_put_new,
    .wait_get = local_wait_get,
    .evict_new = NULL,
};

void ps_local_huge_from(ps_connector *conn, size_t bytes)
{
    ((local_conn *)conn)->heap_max = bytes;
}

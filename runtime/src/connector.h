/*
 * connector.h — the one interface every connector module implements.
 *
 * A connector moves opaque byte strings ("blobs") under string keys; the
 * store above it owns object headers, types, caching and metrics.  Keys that
 * reach a connector are already validated by the store (ps_key_valid), but
 * each connector still refuses a key it could not hold safely.
 *
 * Errors: return a ps_status set through ps_error_set() (error.h); never
 * abort.  Every operation must be safe to call from several threads at once.
 */
#ifndef PS_CONNECTOR_H
#define PS_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxystore/proxystore.h"
#include "url.h"

/* A gather list: a put writes the concatenation of its parts (the store
 * passes its object header and the payload without joining them). */
typedef struct ps_iov {
    const void *base;
    size_t len;
} ps_iov;

/* Bytes read from a connector.  data is at least 16-byte aligned and stays
 * valid until release(blob) is called; it may point into a mapping (shm),
 * a reply buffer (redis) or a shared entry (local), so readers never write
 * through it.  release is never NULL for a filled blob. */
typedef struct ps_blob {
    const void *data;
    size_t len;
    void (*release)(struct ps_blob *blob);
    void *opaque; /* the connector's own handle for release */
    /* data is memory of this blob alone (a buffer the bytes were read
     * into, not a mapping or an entry other readers share): the store may
     * hand it to the caller as a private, writable object (ps_store_get)
     * instead of copying it.  Connectors that cannot promise it leave it
     * false. */
    bool private_copy;
} ps_blob;

static inline void ps_blob_release(ps_blob *blob)
{
    if (blob && blob->release) {
        blob->release(blob);
        blob->release = NULL;
        blob->data = NULL;
        blob->len = 0;
        blob->private_copy = false;
    }
}

typedef struct ps_connector ps_connector;

/* One entry of a store, as list reports it (valid during the callback). */
typedef struct ps_list_entry {
    const char *entry;   /* the connector's own name: file, segment or Redis key */
    const char *key;     /* the store key; NULL for leftovers and unrecoverable keys */
    bool leftover;       /* a temporary entry of an unfinished write */
    long writer_pid;     /* for leftovers whose name records their writer; else 0 */
    uint64_t len;        /* stored bytes, object header included */
    int64_t age_ms;      /* since it was last written; -1 if unknown */
    int64_t ttl_ms;      /* until the server expires it; -1 if never or unknown */
    const void *head;    /* its first head_len bytes (the object header), if */
    size_t head_len;     /* cheaply read; else head_len 0 */
} ps_list_entry;

/* Called for each entry; returning false stops the listing. */
typedef bool (*ps_list_fn)(const ps_list_entry *entry, void *ctx);

typedef struct ps_connector_ops {
    const char *scheme; /* "local", "shm", "file", "redis", "mpi" */
    /* Open from a parsed URL; on success *out is a new connector. */
    ps_status (*open)(const ps_url *url, ps_connector **out);
    /* Close and free.  Deletes only what this connector may own (shm
     * segments it created), never other stores' or processes' data. */
    void (*close)(ps_connector *conn);

    ps_status (*put)(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts);
    /* Optional: put a plain-data object whose payload hash is still to be
     * computed, so that the hash pass can overlap the transfer instead of
     * preceding it.  header is the object header (PS_OBJECT_HEADER_SIZE
     * bytes) with a zero hash; the connector hashes the len payload bytes
     * (ps_payload_hash's value), writes the hash into header
     * (ps_object_hash_set) and *hash_out, and stores an object that reads
     * back exactly as put(header, payload) would.  NULL: the store hashes
     * first and calls put. */
    ps_status (*put_hashing)(ps_connector *conn, const char *key, unsigned char *header, const void *payload,
                             size_t len, uint64_t *hash_out);
    /* Missing key: PS_ERR_NOT_FOUND (with the error set). */
    ps_status (*get)(ps_connector *conn, const char *key, ps_blob *out);
    ps_status (*exists)(ps_connector *conn, const char *key, bool *exists_out);
    /* Evicting a missing key succeeds. */
    ps_status (*evict)(ps_connector *conn, const char *key);

    /* Batch forms; NULL means the store loops over the single forms.
     * put_batch: object i is parts[i][0..nparts[i]).
     * get_batch: a missing key leaves out[i] with data == NULL, release ==
     * NULL and is not an error; a failed batch leaves no out[i] filled (the
     * store also releases any it finds filled). */
    ps_status (*put_batch)(ps_connector *conn, size_t n, const char *const keys[],
                           const ps_iov *const parts[], const size_t nparts[]);
    ps_status (*get_batch)(ps_connector *conn, size_t n, const char *const keys[], ps_blob out[]);
    ps_status (*exists_batch)(ps_connector *conn, size_t n, const char *const keys[], bool out[]);
    ps_status (*evict_batch)(ps_connector *conn, size_t n, const char *const keys[]);

    /* Ownership support (docs/ownership.md); NULL: the connector cannot
     * hold owned proxies' moves or leases (the store says so).
     * claim: remove key and report whether this call removed it, atomically:
     * of several processes claiming one key, exactly one sees true.
     * set_expiry: make key read as missing from Unix time expires_ms on (0:
     * never); the object's header records it (PS_OBJECT_EXPIRY_OFFSET), and
     * a put whose header carries an expiry has it from the start.  A
     * missing key: PS_ERR_NOT_FOUND.  get, exists and their batch forms
     * treat an expired object as missing (and may reclaim its space). */
    ps_status (*claim)(ps_connector *conn, const char *key, bool *claimed_out);
    ps_status (*set_expiry)(ps_connector *conn, const char *key, uint64_t expires_ms);
    /* Connectors that remove what their process wrote when it closes (shm):
     * leave key alone at close.  An owned proxy's target, its updates and
     * the move and borrow markers belong to the owner, wherever it moves,
     * not to the process that happened to write them.  NULL: nothing to do. */
    void (*disown)(ps_connector *conn, const char *key);

    /* Optional (NULL: the connector cannot), for tools (ps-store): every
     * entry of this store, objects and leftovers, in no particular order. */
    ps_status (*list)(ps_connector *conn, ps_list_fn fn, void *ctx);
    /* Optional: remove the entry list named entry (a leftover, or an object
     * whose key list could not recover).  A missing entry is not an error. */
    ps_status (*remove_entry)(ps_connector *conn, const char *entry);

    /* Optional: a fresh key for a new object, for connectors that route by
     * key (mpi:// names the owning rank in it).  It must follow the key rule
     * (key.h).  NULL: 128 random bits as hex (ps_key_generate). */
    ps_status (*new_key)(ps_connector *conn, char key_out[PS_KEY_MAX]);

    /* Set-once objects, for futures (future.c).  NULL: the connector has no
     * futures, and creating one on it fails with PS_ERR_STATE.
     * put_new writes key only if no object is under it, as one atomic step
     * across threads and processes (PS_ERR_EXISTS, error set, if one is),
     * and wakes every wait_get of key, in any process. */
    ps_status (*put_new)(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts);
    /* Wait up to timeout_ms (negative: no limit) for an object under key,
     * then read it as get does.  PS_ERR_TIMEOUT when none came in time.
     * Blocks in the kernel or the server, never in a busy loop. */
    ps_status (*wait_get)(ps_connector *conn, const char *key, long timeout_ms, ps_blob *out);
    /* Evict an object written by put_new together with whatever the
     * connector keeps beside it for its waiters; NULL: evict does that. */
    ps_status (*evict_new)(ps_connector *conn, const char *key);

    /* Routing (multi://).  put_tagged: put with the caller's tags, which
     * choose where the object goes; NULL: the connector has no use for
     * tags and put is called.  locate: the name and URL of the connector
     * that holds key, for descriptors (NULL: the connector holds it). */
    ps_status (*put_tagged)(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts,
                            const char *const tags[], size_t ntags);
    ps_status (*locate)(ps_connector *conn, const char *key, char *name, size_t name_size, char *url,
                        size_t url_size);
} ps_connector_ops;

/* Every connector object starts with this, so the store can reach its ops. */
struct ps_connector {
    const ps_connector_ops *ops;
};

extern const ps_connector_ops ps_local_connector;
extern const ps_connector_ops ps_shm_connector;
extern const ps_connector_ops ps_file_connector;
extern const ps_connector_ops ps_redis_connector;
#ifdef PS_HAVE_MPI
extern const ps_connector_ops ps_mpi_connector; /* connector_mpi.c, built with MPI only */
#endif
extern const ps_connector_ops ps_multi_connector;

/* A local:// connector's objects from bytes up go on transparent huge pages
 * (fresh memory each put) rather than on the heap (reused warm holes, 4 kB
 * pages).  For mpi://, whose large objects are read by the kernel's
 * cross-process copy, faster from huge pages. */
void ps_local_huge_from(ps_connector *conn, size_t bytes);

/* Look up by scheme and open; unknown scheme: PS_ERR_BAD_URL. */
ps_status ps_connector_open(const char *url, ps_connector **out);

/* Total length of a gather list. */
static inline size_t ps_iov_total(const ps_iov *parts, size_t nparts)
{
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].len;
    return total;
}

#endif /* PS_CONNECTOR_H */

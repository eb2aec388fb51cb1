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
} ps_blob;

static inline void ps_blob_release(ps_blob *blob)
{
    if (blob && blob->release) {
        blob->release(blob);
        blob->release = NULL;
        blob->data = NULL;
        blob->len = 0;
    }
}

typedef struct ps_connector ps_connector;

typedef struct ps_connector_ops {
    const char *scheme; /* "local", "shm", "file", "redis", "mpi" */
    /* Open from a parsed URL; on success *out is a new connector. */
    ps_status (*open)(const ps_url *url, ps_connector **out);
    /* Close and free.  Deletes only what this connector may own (shm
     * segments it created), never other stores' or processes' data. */
    void (*close)(ps_connector *conn);

    ps_status (*put)(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts);
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

    /* Optional: a fresh key for a new object, for connectors that route by
     * key (mpi:// names the owning rank in it).  It must follow the key rule
     * (key.h).  NULL: 128 random bits as hex (ps_key_generate). */
    ps_status (*new_key)(ps_connector *conn, char key_out[PS_KEY_MAX]);

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

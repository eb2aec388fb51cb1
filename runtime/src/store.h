/*
 * store.h — the store object shared by store.c (operations), registry.c
 * (open/close by name) and proxy.c.
 *
 * Lifetime: a store has two counts.  `opens` counts ps_store_open calls not
 * yet closed; while it is positive the store is in the registry under its
 * name.  `refs` counts everything that keeps the object alive: the opens
 * (together, as one reference) and each live proxy (a prefetch in flight
 * holds its proxy, which ps_proxy_free waits for).  When the last open is
 * closed the name is free again (a new open creates a new store); the
 * connector is closed and the store freed when refs reaches 0.
 *
 * A store object is recorded in ps_live_stores (live_set.h) from its
 * registration until it is freed, so a handle used after its last close is
 * refused rather than read.
 *
 * Locking: the registry lock guards names and `opens` (never held while a
 * connector opens); the cache has its own lock; metrics are atomic counters.
 * Connector I/O runs under no store lock (connectors are thread-safe).
 */
#ifndef PS_STORE_H
#define PS_STORE_H

#include <sys/types.h>

#include "cache.h"
#include "connector.h"
#include "object.h"

#define PS_STORE_DEFAULT_CACHE 16
#define PS_STORE_DEFAULT_BORROW_LEASE_MS 30000u

struct ps_store {
    char *name;
    char *url;
    ps_connector *conn;
    ps_cache cache;
    ps_metrics metrics;
    pid_t owner; /* the process that opened it (see the exit hook) */
    bool verify; /* ps_store_options.verify: check payload hashes on every read */
    int opens;  /* registry lock */
    int refs;   /* atomic */
    unsigned borrow_lease_ms; /* atomic; 0: PS_STORE_DEFAULT_BORROW_LEASE_MS */
    /* One of the opens is the registry's own, made by ps_store_attach for
     * proxies made from descriptors: it is dropped (and the name freed)
     * once it is the only open and no proxy holds the store.  Registry
     * lock; read without it only as a hint. */
    bool implicit;
    long wait_timeout_ms; /* atomic; how long resolving a future waits (future.c), 0: the default */
    struct ps_store *next; /* registry list */
};

/* Store names follow the key rule (key.h). */
ps_status ps_store_name_check(const char *name);

void ps_store_ref(ps_store *store);
void ps_store_unref(ps_store *store);
/* PS_OK if store is a store object that still exists (open, or closed but
 * kept by its proxies); else PS_ERR_CLOSED (PS_ERR_INVALID_ARGUMENT for
 * NULL), with fn (may be NULL) in the message, without reading through the
 * pointer. */
ps_status ps_store_live(const ps_store *store, const char *fn);
/* PS_OK if the store may be used (live, and not closed by every opener). */
ps_status ps_store_usable(const ps_store *store);
/* The store registered under name with url, opening it if there is none;
 * a reference, not an open, is taken (ps_store_unref releases it).  A store
 * opened here is held by the references taken on it: it closes when the
 * last is released and nobody has it open with ps_store_open. */
ps_store *ps_store_attach(const char *name, const char *url);

/* Put and report the stored header facts (for proxies).  key is the caller's
 * (validated) or NULL for a new random key, written to key_out. */
ps_status ps_store_put_object(ps_store *store, const char *key, const ps_type *type,
                              const void *obj, size_t count, char key_out[PS_KEY_MAX],
                              ps_object_info *info_out);
/* ps_store_put_object, the header recording an expiry (Unix ms; 0: none). */
ps_status ps_store_put_expiring(ps_store *store, const char *key, const ps_type *type, const void *obj,
                                size_t count, uint64_t expires_ms, char key_out[PS_KEY_MAX],
                                ps_object_info *info_out);

/* An object encoded as a put writes it (header and payload), for callers
 * that gather objects and write them later in one batch (stream batches).
 * The payload of plain data stays the caller's memory until
 * ps_encoded_keep copies it; custom types are serialized at once. */
typedef struct ps_encoded ps_encoded;
ps_status ps_encoded_new(const ps_type *type, const void *obj, size_t count, ps_encoded **out);
ps_status ps_encoded_keep(ps_encoded *e);
const ps_object_info *ps_encoded_info(const ps_encoded *e);
void ps_encoded_free(ps_encoded *e);
/* The n objects under new keys (keys_out) with one call of the connector's
 * batch put (counted as one put call of n objects); on failure none stays
 * written and every key is "". */
ps_status ps_store_put_encoded_batch(ps_store *store, size_t n, ps_encoded *const items[],
                                     char (*keys_out)[PS_KEY_MAX]);

/* Ownership support (ownership.c): works on stores every opener closed. */
/* Empty objects under keys (the connector's batch put), each with its
 * expiry (expires_ms may be NULL): move tokens and borrow records. */
ps_status ps_store_put_markers(ps_store *store, size_t n, const char *const keys[], const uint64_t expires_ms[]);
/* The connector's disown (see connector.h): the owner, not this process's
 * close, decides when key goes. */
void ps_store_disown(ps_store *store, const char *key);
/* The connector's claim and set_expiry; PS_ERR_STATE if it has none. */
ps_status ps_store_claim(ps_store *store, const char *key, bool *claimed_out);
ps_status ps_store_set_expiry(ps_store *store, const char *key, uint64_t expires_ms);
/* exists for n keys in one batch where the connector has one. */
ps_status ps_store_exists_keys(ps_store *store, size_t n, const char *const keys[], bool out[]);
/* The stored bytes of key under a new random key (clone). */
ps_status ps_store_copy_object(ps_store *store, const char *key, char new_key[PS_KEY_MAX],
                               ps_object_info *info_out);
/* A private, writable copy of the object (never the cache's). */
ps_status ps_store_read_private(ps_store *store, const char *key, const ps_type *type, void **obj_out,
                                ps_object_info *info_out);

/* ps_store_put_object under the caller's key through the connector's
 * put_new: written only if the key is free (PS_ERR_EXISTS otherwise; no
 * put_new: PS_ERR_STATE).  Futures set their value so. */
ps_status ps_store_put_new_object(ps_store *store, const char *key, const ps_type *type, const void *obj,
                                  size_t count, ps_object_info *info_out);
/* ps_store_put_object under a new key with tags for the connector's
 * put_tagged (multi://); connectors without it ignore them. */
ps_status ps_store_put_tagged_object(ps_store *store, const ps_type *type, const void *obj, size_t count,
                                     const char *const tags[], size_t ntags, char key_out[PS_KEY_MAX],
                                     ps_object_info *info_out);
/* Evict key even from a store every opener has closed (a proxy's store). */
ps_status ps_store_evict_key(ps_store *store, const char *key);
/* The object under key as type (NULL: raw plain data) as a shared resolved
 * entry, from the cache or the connector; counted as a resolve.  from_cache
 * (may be NULL) tells which. */
ps_status ps_store_resolve(ps_store *store, const char *key, const ps_type *type,
                           ps_resolved **out, bool *from_cache);

#endif /* PS_STORE_H */

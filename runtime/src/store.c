/*
 * store.c — put / get / exists / evict, their batch forms, resolving into the
 * cache, and metrics.  Opening, closing and lifetime are in registry.c.
 *
 * A put writes the object header and the payload as a two-part gather list:
 * plain data goes from the caller's memory to the connector with no
 * intermediate copy.  Custom types are serialized after a reserved header
 * and written as one part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "held_blob.h"
#include "key.h"
#include "metrics.h"
#include "store.h"

/* --------------------------------------------------------------- encoding */

/* One object as the connector will write it. */
typedef struct encoded {
    unsigned char header[PS_OBJECT_HEADER_SIZE];
    ps_iov parts[2];
    size_t nparts;
    ps_buffer custom; /* custom types: header and payload together */
    ps_object_info info;
} encoded;

/* Header and parts of an object.  hash false: a plain-data payload is left
 * unhashed (hash 0) for a connector's put_hashing to hash as it sends. */
static ps_status encode(const ps_type *type, const void *obj, size_t count, uint64_t expires_ms, bool hash,
                        encoded *e)
{
    memset(e, 0, sizeof *e);
    if (type->flags & PS_TYPE_POD) {
        size_t len;
        if (__builtin_mul_overflow(count, type->size, &len))
            return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%zu elements of '%s' overflow the address space",
                                count, type->name);
        if (!obj && len)
            return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no object given");
        ps_object_info_init(&e->info, type, count, len, hash ? ps_payload_hash(obj, len) : 0);
        e->info.expires_ms = expires_ms;
        ps_object_header_encode(&e->info, e->header);
        e->parts[0] = (ps_iov){e->header, sizeof e->header};
        e->parts[1] = (ps_iov){obj, len};
        e->nparts = 2;
        return PS_OK;
    }
    if (!obj)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no object given");
    if (count != 1)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "custom-serialized type '%s' is stored one object at "
                            "a time (count %zu given)", type->name, count);
    ps_status st = ps_buffer_reserve(&e->custom, PS_OBJECT_HEADER_SIZE);
    if (st != PS_OK)
        return st;
    e->custom.len = PS_OBJECT_HEADER_SIZE;
    if ((st = ps_type_serialize(type, obj, &e->custom)) != PS_OK) {
        ps_buffer_free(&e->custom);
        return st;
    }
    const unsigned char *payload = e->custom.data + PS_OBJECT_HEADER_SIZE;
    size_t len = e->custom.len - PS_OBJECT_HEADER_SIZE;
    ps_object_info_init(&e->info, type, 1, len, ps_payload_hash(payload, len));
    e->info.expires_ms = expires_ms;
    ps_object_header_encode(&e->info, e->custom.data);
    e->parts[0] = (ps_iov){e->custom.data, e->custom.len};
    e->nparts = 1;
    return PS_OK;
}

static void encoded_free(encoded *e)
{
    ps_buffer_free(&e->custom);
}

/* The payload of a stored object against the XXH3 hash in its header:
 * when the store verifies (ps_store_options.verify), and always before a
 * custom deserialize hook sees the bytes.  A blob that fails is released.
 * An undecodable header is left to the normal header check. */
static ps_status verify_blob(const ps_store *store, const char *key, ps_blob *blob)
{
    ps_object_info info;
    ps_saved_error saved;
    ps_error_save(&saved);
    if (ps_object_header_decode(blob->data, blob->len, key, &info) != PS_OK) {
        ps_error_restore(&saved);
        return PS_OK;
    }
    if (!store->verify && info.flags == PS_OBJECT_POD)
        return PS_OK;
    const unsigned char *payload = (const unsigned char *)blob->data + PS_OBJECT_HEADER_SIZE;
    uint64_t hash = ps_payload_hash(payload, info.payload_len);
    if (hash == info.payload_hash)
        return PS_OK;
    ps_blob_release(blob);
    return ps_error_set(PS_ERR_BAD_DATA, "the object under key '%s' in store '%s' is corrupted: its %zu payload "
                        "bytes hash to %016llx, not to the %016llx stored with them", key, store->name,
                        info.payload_len, (unsigned long long)hash, (unsigned long long)info.payload_hash);
}

/* A private copy of the object in blob (which is released). */
static ps_status object_from_blob(const ps_store *store, const char *key, ps_blob *blob, const ps_type *type,
                                  void **obj_out, size_t *count_out)
{
    *obj_out = NULL;
    ps_status vst = verify_blob(store, key, blob);
    if (vst != PS_OK)
        return vst;
    ps_object_info info;
    ps_status st = ps_object_read_header(blob->data, blob->len, key, type, &info);
    if (st != PS_OK) {
        ps_blob_release(blob);
        return st;
    }
    const unsigned char *payload = (const unsigned char *)blob->data + PS_OBJECT_HEADER_SIZE;
    void *obj = NULL;
    if (info.flags == PS_OBJECT_POD && (uintptr_t)payload % (type && type->align ? type->align : 1) == 0 &&
        (obj = ps_held_blob_take(blob))) {
        /* The connector's buffer is the caller's copy already: no second one. */
        if (count_out)
            *count_out = info.count;
        *obj_out = obj;
        return PS_OK;
    } else if (info.flags == PS_OBJECT_POD) {
        obj = ps_aligned_alloc(type && type->align > 64 ? type->align : 64, info.payload_len);
        if (obj)
            memcpy(obj, payload, info.payload_len);
        else
            st = PS_ERR_NO_MEMORY;
    } else {
        st = ps_type_deserialize(type, key, payload, info.payload_len, &obj);
    }
    ps_blob_release(blob);
    if (st != PS_OK)
        return st;
    *obj_out = obj;
    if (count_out)
        *count_out = info.count;
    return PS_OK;
}

/* ------------------------------------------------------------ single ops */

/* A key for a new object: the connector's own form where it routes by key. */
static ps_status new_key(ps_store *store, char key_out[PS_KEY_MAX])
{
    if (store->conn->ops->new_key)
        return store->conn->ops->new_key(store->conn, key_out);
    return ps_key_generate(key_out);
}

/* How put_object writes: plainly, once only (the connector's put_new: a key
 * already taken is PS_ERR_EXISTS and nothing is written), or with tags;
 * and the expiry the object's header records (0: none). */
typedef struct put_how {
    bool only_new;
    const char *const *tags;
    size_t ntags;
    uint64_t expires_ms;
} put_how;

static ps_status check_tags(const char *const tags[], size_t ntags)
{
    if (ntags && !tags)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%zu tags announced, none given", ntags);
    for (size_t i = 0; i < ntags; i++)
        if (!tags[i] || !tags[i][0])
            return ps_error_set(PS_ERR_INVALID_ARGUMENT, "tag %zu is empty", i);
    return PS_OK;
}

/* The one put path. */
static ps_status put_object(ps_store *store, const char *key, const ps_type *type, const void *obj,
                            size_t count, char key_out[PS_KEY_MAX], ps_object_info *info_out,
                            const put_how *how)
{
    uint64_t start = ps_now_ns();
    ps_status st = ps_store_usable(store);
    if (st != PS_OK)
        return st;
    char fresh[PS_KEY_MAX];
    encoded e;
    memset(&e, 0, sizeof e);
    if ((st = ps_type_validate(type)) != PS_OK || (st = check_tags(how->tags, how->ntags)) != PS_OK)
        goto done;
    if (key)
        st = ps_key_check(key);
    else if ((st = new_key(store, fresh)) == PS_OK)
        key = fresh;
    const ps_connector_ops *ops = store->conn->ops;
    bool tagged = how->ntags && ops->put_tagged;
    /* Plain data on a plain put: the connector may hash while it sends. */
    bool hashing = !how->only_new && !tagged && ops->put_hashing && (type->flags & PS_TYPE_POD);
    if (st != PS_OK || (st = encode(type, obj, count, how->expires_ms, !hashing, &e)) != PS_OK)
        goto done;
    if (hashing)
        st = ops->put_hashing(store->conn, key, e.header, e.parts[1].base, e.parts[1].len, &e.info.payload_hash);
    else if (!how->only_new && tagged)
        st = ops->put_tagged(store->conn, key, e.parts, e.nparts, how->tags, how->ntags);
    else if (!how->only_new)
        st = store->conn->ops->put(store->conn, key, e.parts, e.nparts);
    else if (store->conn->ops->put_new)
        st = store->conn->ops->put_new(store->conn, key, e.parts, e.nparts);
    else
        st = ps_error_set(PS_ERR_STATE, "store '%s': its connector has no set-once objects", store->name);
    /* An overwritten key must not resolve to the old object from the cache. */
    ps_cache_remove(&store->cache, key);
    if (st == PS_OK) {
        if (key_out && key_out != key)
            memcpy(key_out, key, strlen(key) + 1);
        if (info_out)
            *info_out = e.info;
    }
done:
    ps_metrics_record(&store->metrics, PS_OP_PUT, 1, st == PS_OK ? e.info.payload_len : 0, start,
                      st != PS_OK);
    encoded_free(&e);
    return st;
}

ps_status ps_store_put_object(ps_store *store, const char *key, const ps_type *type, const void *obj,
                              size_t count, char key_out[PS_KEY_MAX], ps_object_info *info_out)
{
    static const put_how plain = {false, NULL, 0, 0};
    return put_object(store, key, type, obj, count, key_out, info_out, &plain);
}

ps_status ps_store_put_expiring(ps_store *store, const char *key, const ps_type *type, const void *obj,
                                size_t count, uint64_t expires_ms, char key_out[PS_KEY_MAX],
                                ps_object_info *info_out)
{
    put_how expiring = {false, NULL, 0, expires_ms};
    return put_object(store, key, type, obj, count, key_out, info_out, &expiring);
}

ps_status ps_store_put_tagged_object(ps_store *store, const ps_type *type, const void *obj, size_t count,
                                     const char *const tags[], size_t ntags, char key_out[PS_KEY_MAX],
                                     ps_object_info *info_out)
{
    put_how tagged = {false, tags, ntags, 0};
    return put_object(store, NULL, type, obj, count, key_out, info_out, &tagged);
}

ps_status ps_store_put_tagged(ps_store *store, const ps_type *type, const void *obj, size_t count,
                              const char *const tags[], size_t ntags, char key_out[PS_KEY_MAX])
{
    if (!key_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_put_tagged: no key_out buffer given");
    key_out[0] = '\0';
    return ps_store_put_tagged_object(store, type, obj, count, tags, ntags, key_out, NULL);
}

ps_status ps_store_put_new_object(ps_store *store, const char *key, const ps_type *type, const void *obj,
                                  size_t count, ps_object_info *info_out)
{
    static const put_how once = {true, NULL, 0, 0};
    return put_object(store, key, type, obj, count, NULL, info_out, &once);
}

ps_status ps_store_put(ps_store *store, const ps_type *type, const void *obj, size_t count,
                       char key_out[PS_KEY_MAX])
{
    if (!key_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_put: no key_out buffer given");
    key_out[0] = '\0';
    return ps_store_put_object(store, NULL, type, obj, count, key_out, NULL);
}

ps_status ps_store_put_key(ps_store *store, const char *key, const ps_type *type, const void *obj,
                           size_t count)
{
    if (!key)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_put_key: no key given");
    return ps_store_put_object(store, key, type, obj, count, NULL, NULL);
}

void *ps_store_get(ps_store *store, const char *key, const ps_type *type, size_t *count_out)
{
    uint64_t start = ps_now_ns();
    if (ps_store_usable(store) != PS_OK)
        return NULL;
    void *obj = NULL;
    size_t bytes = 0;
    ps_status st = ps_key_check(key);
    if (st == PS_OK)
        st = ps_type_validate(type);
    ps_blob blob = {0};
    if (st == PS_OK)
        st = store->conn->ops->get(store->conn, key, &blob);
    if (st == PS_OK) {
        bytes = blob.len > PS_OBJECT_HEADER_SIZE ? blob.len - PS_OBJECT_HEADER_SIZE : 0;
        st = object_from_blob(store, key, &blob, type, &obj, count_out);
    }
    ps_metrics_record(&store->metrics, PS_OP_GET, 1, st == PS_OK ? bytes : 0, start, st != PS_OK);
    return obj;
}

ps_status ps_store_exists(ps_store *store, const char *key, bool *exists_out)
{
    uint64_t start = ps_now_ns();
    ps_status st = ps_store_usable(store);
    if (st != PS_OK)
        return st;
    if (!exists_out)
        st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_exists: no output given");
    else if ((st = ps_key_check(key)) == PS_OK)
        st = store->conn->ops->exists(store->conn, key, exists_out);
    ps_metrics_record(&store->metrics, PS_OP_EXISTS, 1, 0, start, st != PS_OK);
    return st;
}

ps_status ps_store_evict(ps_store *store, const char *key)
{
    ps_status st = ps_store_usable(store);
    return st == PS_OK ? ps_store_evict_key(store, key) : st;
}

ps_status ps_store_evict_key(ps_store *store, const char *key)
{
    uint64_t start = ps_now_ns();
    ps_status st;
    if ((st = ps_key_check(key)) == PS_OK) {
        st = store->conn->ops->evict(store->conn, key);
        ps_cache_remove(&store->cache, key);
    }
    ps_metrics_record(&store->metrics, PS_OP_EVICT, 1, 0, start, st != PS_OK);
    return st;
}

/* ----------------------------------------------------------------- batches */

static ps_status check_keys(size_t n, const char *const keys[])
{
    if (n && !keys)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no keys given");
    for (size_t i = 0; i < n; i++)
        if (ps_key_check(keys[i]) != PS_OK)
            return ps_error_wrap("key %zu of the batch", i);
    return PS_OK;
}

/* Every batch entry point starts here: a closed store fails, an empty
 * batch succeeds at once (no connector call, no metrics).  True when *st is
 * the answer. */
static bool batch_done_early(ps_store *store, size_t n, ps_status *st)
{
    *st = ps_store_usable(store);
    return *st != PS_OK || n == 0;
}

/* The connector's evict_batch, or its evict key by key: up to the first
 * failure, or through every key when best_effort. */
static ps_status evict_keys(ps_connector *conn, size_t n, const char *const keys[], bool best_effort)
{
    if (conn->ops->evict_batch)
        return conn->ops->evict_batch(conn, n, keys);
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && (st == PS_OK || best_effort); i++)
        st = conn->ops->evict(conn, keys[i]);
    return st;
}

/* Best-effort removal of objects a failed batch already wrote. */
static void undo_puts(ps_store *store, size_t n, const char *const keys[])
{
    ps_saved_error saved;
    ps_error_save(&saved);
    evict_keys(store->conn, n, keys, true);
    ps_error_restore(&saved);
}

ps_status ps_store_put_batch(ps_store *store, const ps_type *type, size_t n, const void *const objs[],
                             const size_t counts[], char (*keys_out)[PS_KEY_MAX])
{
    uint64_t start = ps_now_ns();
    ps_status st;
    if (batch_done_early(store, n, &st))
        return st;
    encoded *enc = NULL;
    const char **keys = NULL;
    const ps_iov **parts = NULL;
    size_t *nparts = NULL;
    size_t encoded_n = 0;
    uint64_t bytes = 0;
    if (!objs || !keys_out) {
        st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_put_batch: no objects or no key buffers given");
        goto done;
    }
    if ((st = ps_type_validate(type)) != PS_OK)
        goto done;
    enc = ps_calloc(n, sizeof *enc);
    keys = ps_calloc(n, sizeof *keys);
    parts = ps_calloc(n, sizeof *parts);
    nparts = ps_calloc(n, sizeof *nparts);
    if (!enc || !keys || !parts || !nparts) {
        st = PS_ERR_NO_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < n; i++, encoded_n++) {
        if ((st = new_key(store, keys_out[i])) != PS_OK ||
            (st = encode(type, objs[i], counts ? counts[i] : 1, 0, true, &enc[i])) != PS_OK) {
            ps_error_wrap("object %zu of the batch", i);
            goto done;
        }
        keys[i] = keys_out[i];
        parts[i] = enc[i].parts;
        nparts[i] = enc[i].nparts;
        bytes += enc[i].info.payload_len;
    }
    if (store->conn->ops->put_batch) {
        st = store->conn->ops->put_batch(store->conn, n, keys, parts, nparts);
        if (st != PS_OK)
            undo_puts(store, n, keys);
    } else {
        for (size_t i = 0; i < n && st == PS_OK; i++)
            if ((st = store->conn->ops->put(store->conn, keys[i], parts[i], nparts[i])) != PS_OK)
                undo_puts(store, i, keys);
    }
done:
    for (size_t i = 0; enc && i < encoded_n; i++)
        encoded_free(&enc[i]);
    if (st != PS_OK && keys_out)
        for (size_t i = 0; i < n; i++)
            keys_out[i][0] = '\0';
    free(enc);
    free(keys);
    free(parts);
    free(nparts);
    ps_metrics_record(&store->metrics, PS_OP_PUT, n, st == PS_OK ? bytes : 0, start, st != PS_OK ? n : 0);
    return st;
}

ps_status ps_store_get_batch(ps_store *store, const ps_type *type, size_t n, const char *const keys[],
                             void *objs_out[], size_t counts_out[])
{
    uint64_t start = ps_now_ns();
    ps_status st;
    if (batch_done_early(store, n, &st))
        return st;
    uint64_t bytes = 0;
    ps_blob *blobs = NULL;
    if (!objs_out) {
        st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_get_batch: no output array given");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        objs_out[i] = NULL;
    if ((st = check_keys(n, keys)) != PS_OK || (st = ps_type_validate(type)) != PS_OK)
        goto done;
    if (!(blobs = ps_calloc(n, sizeof *blobs))) {
        st = PS_ERR_NO_MEMORY;
        goto done;
    }
    if (store->conn->ops->get_batch) {
        st = store->conn->ops->get_batch(store->conn, n, keys, blobs);
    } else {
        for (size_t i = 0; i < n && st == PS_OK; i++) {
            st = store->conn->ops->get(store->conn, keys[i], &blobs[i]);
            if (st == PS_ERR_NOT_FOUND) {
                memset(&blobs[i], 0, sizeof blobs[i]);
                st = PS_OK;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (counts_out)
            counts_out[i] = 0;
        if (st != PS_OK || !blobs[i].data) {
            ps_blob_release(&blobs[i]);
            continue;
        }
        size_t payload = blobs[i].len > PS_OBJECT_HEADER_SIZE ? blobs[i].len - PS_OBJECT_HEADER_SIZE : 0;
        if ((st = object_from_blob(store, keys[i], &blobs[i], type, &objs_out[i], counts_out ? &counts_out[i] : NULL))
            == PS_OK)
            bytes += payload;
    }
    if (st != PS_OK) {
        /* All or nothing: the caller gets no half-filled array. */
        for (size_t i = 0; i < n; i++) {
            ps_object_free(type, objs_out[i]);
            objs_out[i] = NULL;
        }
    }
done:
    free(blobs);
    ps_metrics_record(&store->metrics, PS_OP_GET, n, st == PS_OK ? bytes : 0, start, st != PS_OK ? n : 0);
    return st;
}

ps_status ps_store_exists_batch(ps_store *store, size_t n, const char *const keys[], bool exists_out[])
{
    uint64_t start = ps_now_ns();
    ps_status st;
    if (batch_done_early(store, n, &st))
        return st;
    if (!exists_out)
        st = ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_exists_batch: no output array given");
    else if ((st = check_keys(n, keys)) == PS_OK) {
        if (store->conn->ops->exists_batch)
            st = store->conn->ops->exists_batch(store->conn, n, keys, exists_out);
        else
            for (size_t i = 0; i < n && st == PS_OK; i++)
                st = store->conn->ops->exists(store->conn, keys[i], &exists_out[i]);
    }
    ps_metrics_record(&store->metrics, PS_OP_EXISTS, n, 0, start, st != PS_OK ? n : 0);
    return st;
}

ps_status ps_store_evict_batch(ps_store *store, size_t n, const char *const keys[])
{
    uint64_t start = ps_now_ns();
    ps_status st;
    if (batch_done_early(store, n, &st))
        return st;
    if ((st = check_keys(n, keys)) == PS_OK) {
        st = evict_keys(store->conn, n, keys, false);
        for (size_t i = 0; i < n; i++)
            ps_cache_remove(&store->cache, keys[i]);
    }
    ps_metrics_record(&store->metrics, PS_OP_EVICT, n, 0, start, st != PS_OK ? n : 0);
    return st;
}

/* ------------------------------------------------------ ownership support */

/* The connector op, or a clear refusal naming what needs it. */
static ps_status need_op(const ps_store *store, const void *op, const char *what)
{
    if (op)
        return PS_OK;
    return ps_error_set(PS_ERR_STATE, "store '%s': its connector (%s) cannot %s", store->name,
                        store->conn->ops->scheme, what);
}

ps_status ps_store_put_markers(ps_store *store, size_t n, const char *const keys[], const uint64_t expires_ms[])
{
    ps_status st = check_keys(n, keys);
    if (st != PS_OK)
        return st;
    ps_connector *conn = store->conn;
    unsigned char (*headers)[PS_OBJECT_HEADER_SIZE] = ps_calloc(n ? n : 1, sizeof *headers);
    ps_iov *iovs = ps_calloc(n ? n : 1, sizeof *iovs);
    const ps_iov **parts = ps_calloc(n ? n : 1, sizeof *parts);
    size_t *nparts = ps_calloc(n ? n : 1, sizeof *nparts);
    if (!headers || !iovs || !parts || !nparts) {
        st = PS_ERR_NO_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        ps_object_info info;
        ps_object_info_init(&info, &ps_type_bytes, 0, 0, ps_payload_hash(NULL, 0));
        info.expires_ms = expires_ms ? expires_ms[i] : 0;
        ps_object_header_encode(&info, headers[i]);
        iovs[i] = (ps_iov){headers[i], PS_OBJECT_HEADER_SIZE};
        parts[i] = &iovs[i];
        nparts[i] = 1;
    }
    if (conn->ops->put_batch) {
        st = conn->ops->put_batch(conn, n, keys, parts, nparts);
        if (st != PS_OK)
            undo_puts(store, n, keys);
    } else {
        for (size_t i = 0; i < n && st == PS_OK; i++)
            if ((st = conn->ops->put(conn, keys[i], parts[i], 1)) != PS_OK)
                undo_puts(store, i, keys);
    }
    for (size_t i = 0; st == PS_OK && i < n; i++)
        ps_store_disown(store, keys[i]);
done:
    free(headers);
    free(iovs);
    free(parts);
    free(nparts);
    return st;
}

void ps_store_disown(ps_store *store, const char *key)
{
    if (store->conn->ops->disown)
        store->conn->ops->disown(store->conn, key);
}

ps_status ps_store_claim(ps_store *store, const char *key, bool *claimed_out)
{
    *claimed_out = false;
    ps_status st = need_op(store, (const void *)store->conn->ops->claim, "move owned proxies or borrows");
    if (st == PS_OK && (st = ps_key_check(key)) == PS_OK)
        st = store->conn->ops->claim(store->conn, key, claimed_out);
    return st;
}

ps_status ps_store_set_expiry(ps_store *store, const char *key, uint64_t expires_ms)
{
    ps_status st = need_op(store, (const void *)store->conn->ops->set_expiry, "expire objects");
    if (st == PS_OK && (st = ps_key_check(key)) == PS_OK)
        st = store->conn->ops->set_expiry(store->conn, key, expires_ms);
    return st;
}

ps_status ps_store_exists_keys(ps_store *store, size_t n, const char *const keys[], bool out[])
{
    ps_connector *conn = store->conn;
    if (conn->ops->exists_batch)
        return conn->ops->exists_batch(conn, n, keys, out);
    ps_status st = PS_OK;
    for (size_t i = 0; i < n && st == PS_OK; i++)
        st = conn->ops->exists(conn, keys[i], &out[i]);
    return st;
}

ps_status ps_store_copy_object(ps_store *store, const char *key, char key_out[PS_KEY_MAX],
                               ps_object_info *info_out)
{
    uint64_t start = ps_now_ns();
    ps_blob blob = {0};
    ps_status st = store->conn->ops->get(store->conn, key, &blob);
    if (st == PS_OK)
        st = ps_object_header_decode(blob.data, blob.len, key, info_out);
    if (st == PS_OK)
        st = new_key(store, key_out);
    if (st == PS_OK) {
        /* The copy is a new object: no expiry carried over. */
        unsigned char header[PS_OBJECT_HEADER_SIZE];
        memcpy(header, blob.data, sizeof header);
        ps_object_expiry_encode(0, header + PS_OBJECT_EXPIRY_OFFSET);
        ps_iov parts[2] = {{header, sizeof header},
                           {(const unsigned char *)blob.data + PS_OBJECT_HEADER_SIZE,
                            blob.len - PS_OBJECT_HEADER_SIZE}};
        st = store->conn->ops->put(store->conn, key_out, parts, 2);
    }
    ps_blob_release(&blob);
    ps_metrics_record(&store->metrics, PS_OP_PUT, 1, st == PS_OK ? info_out->payload_len : 0, start,
                      st != PS_OK);
    return st;
}

ps_status ps_store_read_private(ps_store *store, const char *key, const ps_type *type, void **obj_out,
                                ps_object_info *info_out)
{
    uint64_t start = ps_now_ns();
    ps_blob blob = {0};
    ps_status st = store->conn->ops->get(store->conn, key, &blob);
    if (st == PS_OK)
        st = ps_object_read_header(blob.data, blob.len, key, type, info_out);
    if (st == PS_OK)
        st = object_from_blob(store, key, &blob, type, obj_out, NULL);
    else
        ps_blob_release(&blob);
    ps_metrics_record(&store->metrics, PS_OP_RESOLVE, 1, st == PS_OK ? info_out->payload_len : 0, start,
                      st != PS_OK);
    return st;
}

/* -------------------------------------------------------------- resolving */

ps_status ps_store_resolve(ps_store *store, const char *key, const ps_type *type, ps_resolved **out,
                           bool *from_cache)
{
    uint64_t start = ps_now_ns();
    *out = NULL;
    ps_resolved *r = ps_cache_lookup(&store->cache, key, type);
    ps_metrics_cache(&store->metrics, r != NULL);
    if (from_cache)
        *from_cache = r != NULL;
    ps_status st = PS_OK;
    if (!r) {
        unsigned stamp = ps_cache_fill_stamp(&store->cache, key);
        ps_blob blob = {0};
        st = store->conn->ops->get(store->conn, key, &blob);
        if (st == PS_OK)
            st = verify_blob(store, key, &blob);
        if (st == PS_OK)
            st = ps_resolved_from_blob(key, &blob, type, &r);
        if (st == PS_OK)
            ps_cache_insert_fresh(&store->cache, r, stamp);
    }
    ps_metrics_record(&store->metrics, PS_OP_RESOLVE, 1, r ? r->info.payload_len : 0, start, st != PS_OK);
    *out = r;
    return st;
}

/* ----------------------------------------------------------------- metrics */

ps_status ps_store_metrics(ps_store *store, ps_metrics *out)
{
    ps_status st = ps_store_live(store, "ps_store_metrics");
    if (st != PS_OK)
        return st;
    if (!out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_store_metrics: no output given");
    ps_metrics_snapshot(&store->metrics, out);
    return PS_OK;
}

/*
 * proxystore/proxystore.h — libproxystore, pass large objects by proxy.
 *
 * A producer puts an object in a store and passes a small proxy; a consumer
 * resolves the proxy just in time, straight from the store.  Stores sit on
 * connectors named by URL:
 *
 *   local://                                   in-process
 *   shm://NAME                                 POSIX shared memory, one node
 *   file:///absolute/dir                       a (possibly shared) directory
 *   redis://[:password@]host:port[/db][?prefix=P&chunk=BYTES]
 *   mpi://[NAME][?timeout=MS]                  rank to rank in one MPI job
 *                                              (proxystore/mpi.h; MPI builds)
 *   multi:///absolute/policy.json             several of these, by policy
 *
 * Errors: every function reports failure through its return value — a
 * ps_status, or NULL for functions returning a pointer — and records a code
 * and a message for the calling thread, read with ps_last_error_code() and
 * ps_last_error_message().  Nothing aborts the process on bad input.
 */
#ifndef PROXYSTORE_PROXYSTORE_H
#define PROXYSTORE_PROXYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <proxystore/annotations.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; what this header declares is
 * its public interface. */
#pragma GCC visibility push(default)

/* ----------------------------------------------------------------- version */

/* The library's version, "MAJOR.MINOR.PATCH": PS_VERSION_STRING of the
 * build that made it.  The macros PS_VERSION_MAJOR/MINOR/PATCH are in
 * <proxystore/version.h> (generated at build time, installed beside this
 * header); comparing the two catches a program run against another build. */
const char *ps_version(void);

/* ------------------------------------------------------------------ errors */

typedef enum ps_status {
    PS_OK = 0,
    PS_ERR_INVALID_ARGUMENT, /* a NULL or out-of-range argument, a bad key */
    PS_ERR_NO_MEMORY,        /* an allocation failed */
    PS_ERR_BAD_URL,          /* malformed connector URL or unknown scheme */
    PS_ERR_NOT_FOUND,        /* no object under that key, no such store */
    PS_ERR_EXISTS,           /* a store of that name is open with another URL */
    PS_ERR_BAD_DESCRIPTOR,   /* malformed, truncated or unknown-version descriptor */
    PS_ERR_BAD_DATA,         /* stored bytes with a bad or unsupported header */
    PS_ERR_TYPE_MISMATCH,    /* resolved as a type other than the target's */
    PS_ERR_IO,               /* a file or shared-memory system call failed */
    PS_ERR_CONNECTION,       /* the server is unreachable or the link broke */
    PS_ERR_SERVER,           /* the server answered with an error */
    PS_ERR_SERIALIZE,        /* a type's serialize/deserialize hook failed */
    PS_ERR_CLOSED,           /* the store was closed */
    PS_ERR_TIMEOUT,          /* waited longer than allowed */
    PS_ERR_STATE,            /* the operation is not allowed in this state */
} ps_status;

/* The code and message of the last failure on the calling thread.  The
 * message stays valid until the thread's next failing call. */
ps_status ps_last_error_code(void);
const char *ps_last_error_message(void);
/* A fixed name for a code, e.g. "PS_ERR_NOT_FOUND". */
const char *ps_status_name(ps_status status);

/* ------------------------------------------------------------------- types */

/* A growable byte buffer that custom serializers append to. */
typedef struct ps_buffer {
    unsigned char *data;
    size_t len;
    size_t cap;
} ps_buffer;

ps_status ps_buffer_append(ps_buffer *buf, const void *bytes, size_t len);

enum {
    PS_TYPE_POD = 1u << 0, /* plain data: bytes move as they are, no copy on shm */
};

/*
 * A type descriptor: how a T is serialized, deserialized and freed.
 * Plain-data types and flat arrays of them need one line (PS_TYPE_POD);
 * structures with pointers give the three hooks.
 */
typedef struct ps_type {
    const char *name;   /* the C type as written, e.g. "struct matrix" */
    size_t size;        /* sizeof(T): of one element for arrays */
    size_t align;       /* _Alignof(T) */
    unsigned flags;     /* PS_TYPE_* */
    /* Custom types only: append obj's bytes to out. */
    ps_status (*serialize)(const void *obj, ps_buffer *out);
    /* Custom types only: build a new object from bytes (caller frees it with
     * free_obj). */
    ps_status (*deserialize)(const void *bytes, size_t len, void **obj_out);
    /* Custom types only: release an object made by deserialize. */
    void (*free_obj)(void *obj);
} ps_type;

/* One line for plain data:  PS_TYPE_POD_DEFINE(matrix_type, struct matrix);
 * Arrays of a plain type use the element's descriptor and a count. */
#ifdef __cplusplus
/* C++: alignof, and extern so that a namespace-scope const keeps external
 * linkage (PS_TYPE_DECLARE in other files refers to it). */
#define PS_ALIGNOF_(T) alignof(T)
#define PS_TYPE_POD_DEFINE(var, T) extern const ps_type var = PS_TYPE_POD_INIT(T)
#else
#define PS_ALIGNOF_(T) _Alignof(T)
#define PS_TYPE_POD_DEFINE(var, T) const ps_type var = PS_TYPE_POD_INIT(T)
#endif
#define PS_TYPE_POD_INIT(T) \
    { #T, sizeof(T), PS_ALIGNOF_(T), PS_TYPE_POD, NULL, NULL, NULL }

/* Declares a descriptor defined in another file and names its type, so that
 * ps-check can match objects and proxies against it (ps-create-mismatch):
 *   PS_TYPE_DECLARE(matrix_type, struct matrix);      in a header */
#ifdef __PS_CHECK__
#define PS_TYPE_DECLARE(var, T) \
    extern const ps_type var __attribute__((annotate("ps.type", (__typeof__(T) *)0)))
#else
#define PS_TYPE_DECLARE(var, T) extern const ps_type var
#endif

/* Built-in descriptors for common element types. */
extern const ps_type ps_type_bytes;   /* unsigned char */
extern const ps_type ps_type_char;    /* char (strings: count includes NUL) */
extern const ps_type ps_type_int32;   /* int32_t */
extern const ps_type ps_type_int64;   /* int64_t */
extern const ps_type ps_type_double;  /* double */
extern const ps_type ps_type_float;   /* float */

/* Free an object returned by ps_store_get or ps_store_get_batch (custom
 * types through free_obj). */
void ps_object_free(const ps_type *type, void *obj);

/* ------------------------------------------------------------------ stores */

typedef struct ps_store ps_store;

typedef struct ps_store_options {
    /* Resolved objects kept in the store's LRU cache (used by ps_resolve, not
     * by ps_store_get); 0 disables the cache.  Negative means the default
     * (16).  Options of a name already open are those of its first open. */
    int cache_size;
    /* Cross-process borrows (docs/ownership.md): how long a borrow record
     * lives unless its holder renews it; a holder that dies stops renewing
     * and its borrow stops counting after this long.  0 means the default
     * (30000 ms). */
    unsigned borrow_lease_ms;
    /* Check every object read (ps_resolve, ps_store_get, their batch forms)
     * against the XXH3-64 hash stored with it: a payload corrupted at rest
     * fails with PS_ERR_BAD_DATA instead of being handed back.  Costs one
     * hash pass over the payload per read (bench/: "verify").  Objects of
     * custom types are always checked before their deserialize hook sees
     * them.  Stores opened by descriptors verify when PS_VERIFY=1 is set in
     * the environment. */
    bool verify;
} ps_store_options;

#define PS_KEY_MAX 128 /* bytes, including the terminating NUL */

/*
 * Open the store NAME on the connector URL, or return the open store of that
 * name (a process-wide registry; each open takes a reference that
 * ps_store_close releases).  Opening an existing name with another URL fails
 * with PS_ERR_EXISTS.  opts may be NULL.
 */
ps_store *ps_store_open(const char *name, const char *url, const ps_store_options *opts);
/* The open store of that name, without taking a reference; NULL if none.
 * Valid only while the caller keeps an open or a proxy of that store; never
 * ps_store_close it (close what you opened). */
ps_store *ps_store_lookup(const char *name);
/* Release a reference.  After the last one the name is free again and other
 * calls on this handle fail with PS_ERR_CLOSED; the connector closes when the
 * live proxies of the store are freed too.  Closing never deletes objects
 * that other stores or other processes put.  Stores still open at exit are
 * closed by an atexit hook. */
void ps_store_close(ps_store *store);
const char *ps_store_name(const ps_store *store);
const char *ps_store_url(const ps_store *store);

/*
 * Put count objects of type (count 1 for a single object; custom types take
 * one object at a time) under a new key, written to key_out (PS_KEY_MAX
 * bytes): 128 random bits as hex.  ps_store_put_key uses the caller's key:
 * [A-Za-z0-9._:-], at most PS_KEY_MAX-1 bytes, not starting with '.'.
 */
ps_status ps_store_put(ps_store *store, const ps_type *type, const void *obj,
                       size_t count, char key_out[PS_KEY_MAX]);
ps_status ps_store_put_key(ps_store *store, const char *key, const ps_type *type,
                           const void *obj, size_t count);
/* The caller's own, writable object (free it with ps_object_free, never
 * free(): plain data read from a file or Redis store is handed out in the
 * buffer it was read into, without a second copy); count_out may be NULL.
 * Missing key: PS_ERR_NOT_FOUND; another type: PS_ERR_TYPE_MISMATCH. */
void *ps_store_get(ps_store *store, const char *key, const ps_type *type, size_t *count_out);
ps_status ps_store_exists(ps_store *store, const char *key, bool *exists_out);
/* Evicting a missing key is not an error. */
ps_status ps_store_evict(ps_store *store, const char *key);

/* Batch forms: one round trip where the connector allows it.  On failure no
 * key is reported as written (objects already written are evicted). */
ps_status ps_store_put_batch(ps_store *store, const ps_type *type, size_t n,
                             const void *const objs[], const size_t counts[],
                             char (*keys_out)[PS_KEY_MAX]);
/* objs_out[i] is NULL for a missing key (not an error); counts_out may be NULL.
 * counts may be NULL in ps_store_put_batch (one object each). */
ps_status ps_store_get_batch(ps_store *store, const ps_type *type, size_t n,
                             const char *const keys[], void *objs_out[], size_t counts_out[]);
ps_status ps_store_exists_batch(ps_store *store, size_t n, const char *const keys[],
                                bool exists_out[]);
ps_status ps_store_evict_batch(ps_store *store, size_t n, const char *const keys[]);

/* ----------------------------------------------------------------- metrics */

typedef enum ps_op {
    PS_OP_PUT,
    PS_OP_GET,
    PS_OP_EXISTS,
    PS_OP_EVICT,
    PS_OP_RESOLVE,
    PS_OP_COUNT_
} ps_op;

typedef struct ps_op_metrics {
    uint64_t count;      /* operations (a batch of n counts n) */
    uint64_t bytes;      /* payload bytes moved */
    uint64_t total_ns;   /* wall time spent, nanoseconds */
    uint64_t errors;     /* operations that failed */
    uint64_t calls;      /* calls (a batch of n counts 1) */
} ps_op_metrics;

typedef struct ps_metrics {
    ps_op_metrics op[PS_OP_COUNT_];
    uint64_t cache_hits;
    uint64_t cache_misses;
} ps_metrics;

ps_status ps_store_metrics(ps_store *store, ps_metrics *out);
const char *ps_op_name(ps_op op);

/* ----------------------------------------------------------------- proxies */

/* Put obj in store and return a proxy to it (count objects for an array).
 * The type descriptor must outlive the proxy. */
ps_proxy_t *ps_proxy(ps_store *store, const ps_type *type, const void *obj);
ps_proxy_t *ps_proxy_array(ps_store *store, const ps_type *type, const void *obj, size_t count);
/* A proxy to an object already in the store under key.  The object is read
 * now (a missing key or another type fails here) and the proxy starts out
 * resolved. */
ps_proxy_t *ps_proxy_from_key(ps_store *store, const char *key, const ps_type *type);

/* The target, fetched once and then cached; NULL on failure.  The pointer
 * stays valid until ps_proxy_free.  Plain data resolved from shm is mapped,
 * not copied: treat it as read-only. */
void *ps_resolve(ps_proxy_t *proxy);
/* Resolve, checking the target's type name and element size (PS_RESOLVE). */
void *ps_resolve_as(ps_proxy_t *proxy, const char *type_name, size_t elem_size);
/* x is either a T * or a proxy (PROXY_OR(T)): a proxy is resolved as type,
 * any other pointer is returned as it is.  Telling them apart never reads
 * through x: live proxies are recorded in a process-wide set. */
void *ps_resolve_or(void *x, const char *type_name, size_t elem_size);
bool ps_is_proxy(const void *x);

#define PS_RESOLVE(T, p) ((T *)ps_resolve_as((p), #T, sizeof(T)))
#define PS_RESOLVE_OR(T, x) ((T *)ps_resolve_or((x), #T, sizeof(T)))

/* Start fetching the target in the background; a later ps_resolve waits for
 * it.  Calling it on a resolved or prefetching proxy does nothing. */
ps_status ps_resolve_async(ps_proxy_t *proxy);

/* Release the handle (and the resolved copy it holds).  The stored object
 * of a plain proxy stays; evict it with ps_store_evict or ps_proxy_evict.
 * On an owned proxy it is ps_owned_release, on a borrow ps_borrow_release
 * (a refusal is recorded as the thread's error: use those calls to see
 * it).  On a handle moved away by ps_proxy_serialize: PS_ERR_STATE. */
void ps_proxy_free(ps_proxy_t *proxy);
/* Evict the target from its store and release the handle (released even if
 * the evict fails; the error is returned).  On an owned proxy it is
 * ps_owned_release; on a borrow it fails with PS_ERR_STATE. */
ps_status ps_proxy_evict(ps_proxy_t *proxy);

/* Facts about the target, answered without resolving. */
const char *ps_proxy_type_name(const ps_proxy_t *proxy);
size_t ps_proxy_size(const ps_proxy_t *proxy);    /* payload bytes */
size_t ps_proxy_count(const ps_proxy_t *proxy);   /* elements */
uint64_t ps_proxy_hash(const ps_proxy_t *proxy);  /* XXH3-64 of the payload */
const char *ps_proxy_key(const ps_proxy_t *proxy);
ps_store *ps_proxy_store(const ps_proxy_t *proxy);
bool ps_proxy_is_resolved(const ps_proxy_t *proxy);

/* A small self-contained text descriptor (malloc'd; free() it) that
 * ps_proxy_deserialize turns into a live proxy in any process: it carries the
 * store name and URL, the key and the target's type, size and hash (format:
 * docs/descriptor.md).  The type descriptor is the caller's (matched by name
 * and element size); NULL reads a plain-data target as raw bytes.  The store
 * is found by name or opened from the URL; a store opened so closes by
 * itself when the last proxy using it is freed (unless the program opened
 * that name with ps_store_open too): nothing for the caller to close. */
char *ps_proxy_serialize(const ps_proxy_t *proxy);
ps_proxy_t *ps_proxy_deserialize(const char *descriptor, const ps_type *type);

/* Descriptors are input from elsewhere (docs/descriptor.md, "Trust").  One
 * may re-create only a store whose URL this process has opened with
 * ps_store_open or allowed here or in the environment variable
 * PS_TRUSTED_URLS (entries separated by white space); anything else fails
 * with PS_ERR_BAD_DESCRIPTOR naming the URL.  An entry is a URL, compared
 * without its password, or a prefix ending in '*' ("redis://cache:6379*";
 * "*" alone allows every URL).  Descriptors never carry passwords: the
 * matching entry's user name and password are used.  A file:// store is
 * only opened from a descriptor, never created. */
ps_status ps_trust_allow_url(const char *url);

/* --------------------------------------------------------------- ownership
 *
 * The ownership model of docs/ownership.md.  An owned proxy is the one owner
 * of its target: releasing it evicts the target.  Borrows follow Rust's
 * rules: any number of shared borrows or one exclusive borrow, never both,
 * and no release, move or update of the owner while a borrow is alive.
 * Every violation fails with PS_ERR_STATE and a message naming the handle
 * and the rule; nothing is evicted or lost by a refused call.
 *
 * Serializing an owned proxy or a borrow moves it: the local handle is gone
 * (any later use fails with PS_ERR_STATE, "moved"), and the descriptor can
 * be deserialized exactly once, in any process.  Borrows held by other
 * processes are counted in the store, under a lease their holder renews.
 */
typedef enum ps_proxy_kind {
    PS_KIND_PLAIN = 0, /* ps_proxy: the handle does not own the target */
    PS_KIND_OWNED,     /* PROXY_OWNED(T) */
    PS_KIND_REF,       /* PROXY_REF(T): a shared borrow */
    PS_KIND_REF_MUT,   /* PROXY_REF_MUT(T): an exclusive borrow */
} ps_proxy_kind;

ps_proxy_kind ps_proxy_kind_of(const ps_proxy_t *proxy);
const char *ps_proxy_kind_name(ps_proxy_kind kind);

/* Put obj in store and return its owner. */
ps_proxy_t *ps_owned(ps_store *store, const ps_type *type, const void *obj);
ps_proxy_t *ps_owned_array(ps_store *store, const ps_type *type, const void *obj, size_t count);
/* Turn a plain proxy into the owner of its target.  On success the plain
 * handle is gone (consumed); on failure it is untouched. */
ps_proxy_t *ps_into_owned(ps_proxy_t *proxy);
/* Evict the target and release the owner.  While borrows are alive (here or
 * in another process) it fails with PS_ERR_STATE and nothing happens: the
 * owner stays valid, release the borrows and call it again.  If the evict
 * itself fails the owner also stays valid (retry). */
ps_status ps_owned_release(ps_proxy_t *owner);
/* A new shared (ps_borrow) or exclusive (ps_borrow_mut) borrow of owner;
 * NULL with PS_ERR_STATE when the rules forbid it.  A borrow is a handle of
 * its own, released with ps_borrow_release. */
ps_proxy_t *ps_borrow(ps_proxy_t *owner);
ps_proxy_t *ps_borrow_mut(ps_proxy_t *owner);
ps_status ps_borrow_release(ps_proxy_t *borrow);
/* Copy the stored bytes of an owner's or a borrow's target under a new key:
 * the result is a new owner. */
ps_proxy_t *ps_owned_clone(ps_proxy_t *proxy);
/* Resolve for reading: works on every kind, const for all; the only way to
 * resolve a shared borrow (PS_RESOLVE on one fails). */
const void *ps_resolve_ref(ps_proxy_t *proxy, const char *type_name, size_t elem_size);
/* Resolve for writing: an owner with no borrows, or an exclusive borrow.
 * The target is a private copy of the stored object; ps_proxy_update
 * publishes it. */
void *ps_resolve_mut(ps_proxy_t *proxy, const char *type_name, size_t elem_size);
#define PS_RESOLVE_REF(T, p) ((const T *)ps_resolve_ref((p), #T, sizeof(T)))
#define PS_RESOLVE_MUT(T, p) ((T *)ps_resolve_mut((p), #T, sizeof(T)))
/* Write the target obtained with PS_RESOLVE_MUT back under the same key, as
 * one atomic replace: every later resolve, in any process, sees the new
 * version.  PS_ERR_STATE on a shared borrow, a plain proxy, an owner with
 * borrows, or a handle never resolved with PS_RESOLVE_MUT. */
ps_status ps_proxy_update(ps_proxy_t *proxy);

/* --------------------------------------------------------------- lifetimes
 *
 * A lifetime evicts every object added to it when it ends.  A scope ends
 * when closed; a lease ends when it expires (or is closed first) and can be
 * extended; the static lifetime ends at process exit.  An owned proxy or a
 * borrow cannot be added to a lifetime (ownership and lifetimes do not mix).
 */
typedef struct ps_lifetime ps_lifetime;

ps_lifetime *ps_lifetime_scope(void);
/* Ends ms milliseconds from now.  On Redis the objects also get that
 * expiry on the server; on shm and file the expiry is recorded with each
 * object, which then reads as missing once expired. */
ps_lifetime *ps_lifetime_lease(uint64_t ms);
/* The process's static lifetime (ends at exit); the same handle each call. */
ps_lifetime *ps_lifetime_static(void);
/* Add the object a plain proxy stands for (the handle stays the caller's,
 * and is freed with ps_proxy_free as usual) or a key of a store. */
ps_status ps_lifetime_add_proxy(ps_lifetime *lifetime, ps_proxy_t *proxy);
ps_status ps_lifetime_add_key(ps_lifetime *lifetime, ps_store *store, const char *key);
/* ps_proxy, then ps_lifetime_add_proxy (the object is evicted if adding
 * fails). */
ps_proxy_t *ps_lifetime_proxy(ps_lifetime *lifetime, ps_store *store, const ps_type *type,
                              const void *obj);
/* Push a lease's end ms further (from its current end); effective at once.
 * PS_ERR_STATE once the lease has ended or for another kind. */
ps_status ps_lifetime_extend(ps_lifetime *lifetime, uint64_t ms);
bool ps_lifetime_done(const ps_lifetime *lifetime);
/* End now: evict everything added.  Closing an ended lifetime is harmless. */
ps_status ps_lifetime_close(ps_lifetime *lifetime);
/* Close if still open, then release the handle (not the static one). */
ps_status ps_lifetime_free(ps_lifetime *lifetime);

/* ------------------------------------------------------------- tagged puts
 *
 * Tags say where an object belongs to a multi:// store's policy
 * (docs/connectors/multi.md): ps_store_put and ps_proxy_array with tags
 * (non-empty strings).  Other connectors ignore them.
 */
ps_status ps_store_put_tagged(ps_store *store, const ps_type *type, const void *obj, size_t count,
                              const char *const tags[], size_t ntags, char key_out[PS_KEY_MAX]);
ps_proxy_t *ps_proxy_tagged(ps_store *store, const ps_type *type, const void *obj, size_t count,
                            const char *const tags[], size_t ntags);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_PROXYSTORE_H */

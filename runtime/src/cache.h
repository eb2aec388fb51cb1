/*
 * cache.h — resolved objects and the store's LRU cache of them.
 *
 * A ps_resolved is one object read from a store, shared by reference count:
 * the cache holds one reference while the entry is in its LRU list, and
 * every proxy that resolved to it holds one.  So an entry pushed out of the
 * LRU, or dropped because its key was evicted, lives on for the proxies that
 * still point into it, and is freed by the last of them.
 *
 * For plain data the object is the connector's blob itself (a shm mapping, a
 * Redis reply buffer, a local entry): zero-copy, kept until the last
 * reference goes.  Custom types are deserialized into a new object released
 * with the type's free_obj.
 */
#ifndef PS_CACHE_H
#define PS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "connector.h"
#include "object.h"

typedef struct ps_resolved {
    char *key;
    int refs; /* atomic */
    ps_object_info info;
    void *obj;              /* the target: into blob, into owned, or deserialized */
    ps_blob blob;           /* plain data read in place */
    void *owned;            /* plain data copied to honour the type's alignment */
    /* Custom objects: how to free obj, and who made it (compared by value, so
     * a descriptor that no longer exists is never read). */
    const ps_type *made_by;
    ps_status (*deserialize)(const void *, size_t, void **);
    void (*free_obj)(void *);

    /* Cache links, guarded by the cache lock. */
    struct ps_resolved *lru_prev, *lru_next, *hash_next;
    bool cached;
} ps_resolved;

/* Read the object under key from the blob (taken over: released here on
 * failure, or by the entry's last reference) as type (NULL: raw plain data).
 * The blob's header is checked first. */
ps_status ps_resolved_from_blob(const char *key, ps_blob *blob, const ps_type *type,
                                ps_resolved **out);
void ps_resolved_ref(ps_resolved *r);
void ps_resolved_release(ps_resolved *r);
/* Whether r can stand for an object read as type (NULL: raw plain data). */
bool ps_resolved_fits(const ps_resolved *r, const ps_type *type);

/*
 * A resolve that misses reads the connector without the cache lock, so a
 * put or evict of the same key can land between its read and its insert;
 * inserting then would cache the old object (or an evicted one) after the
 * put or evict dropped the key.  Each bucket therefore has a stamp that every
 * remove of a key in it bumps: a resolve takes the stamp before it reads
 * (ps_cache_fill_stamp) and inserts only if the stamp is unchanged
 * (ps_cache_insert_fresh).  A bump for another key of the same bucket only
 * costs that one resolve its caching.
 */
typedef struct ps_cache {
    pthread_mutex_t lock;
    size_t capacity; /* entries; 0 disables the cache */
    size_t size;
    size_t nbuckets;
    ps_resolved **buckets;
    unsigned *stamps;         /* per bucket; bumped under the lock, read atomically */
    ps_resolved *head, *tail; /* most and least recently used */
} ps_cache;

ps_status ps_cache_init(ps_cache *cache, size_t capacity);
/* Drop the cache's references (entries held elsewhere live on). */
void ps_cache_destroy(ps_cache *cache);
/* A new reference to the entry for key if it fits type; NULL otherwise. */
ps_resolved *ps_cache_lookup(ps_cache *cache, const char *key, const ps_type *type);
/* Add r (the cache takes its own reference), replacing any entry for the
 * same key and pushing out the least recently used beyond capacity. */
void ps_cache_insert(ps_cache *cache, ps_resolved *r);
/* The stamp of key's bucket, taken before reading key from the connector. */
unsigned ps_cache_fill_stamp(ps_cache *cache, const char *key);
/* ps_cache_insert, unless key was removed since stamp was taken; true if
 * inserted. */
bool ps_cache_insert_fresh(ps_cache *cache, ps_resolved *r, unsigned stamp);
/* Forget key (its entry lives on while referenced elsewhere). */
void ps_cache_remove(ps_cache *cache, const char *key);
/* Forget r if it is still the entry for its key (a stale entry found out by
 * its reader); true if it was. */
bool ps_cache_drop(ps_cache *cache, const ps_resolved *r);
size_t ps_cache_count(ps_cache *cache);

#endif /* PS_CACHE_H */

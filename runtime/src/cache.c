/* cache.c — resolved objects and the LRU cache (see cache.h). */
#include "cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "error.h"

/* ------------------------------------------------------- resolved objects */

ps_status ps_resolved_from_blob(const char *key, ps_blob *blob, const ps_type *type,
                                ps_resolved **out)
{
    *out = NULL;
    ps_object_info info;
    ps_status st = ps_object_read_header(blob->data, blob->len, key, type, &info);
    ps_resolved *r = NULL;
    if (st == PS_OK && !(r = ps_calloc(1, sizeof *r)))
        st = PS_ERR_NO_MEMORY;
    if (st == PS_OK && !(r->key = ps_strdup(key)))
        st = PS_ERR_NO_MEMORY;
    if (st != PS_OK) {
        if (r)
            free(r);
        ps_blob_release(blob);
        return st;
    }
    r->refs = 1;
    r->info = info;
    const unsigned char *payload = (const unsigned char *)blob->data + PS_OBJECT_HEADER_SIZE;

    if (info.flags == PS_OBJECT_POD) {
        size_t align = type && type->align > 1 ? type->align : 1;
        if ((uintptr_t)payload % align == 0) {
            r->blob = *blob; /* zero-copy: the entry now owns the blob */
            r->obj = (void *)payload;
            blob->release = NULL;
            return *out = r, PS_OK;
        }
        /* A connector gives 16-byte alignment; a type asking for more gets a
         * copy rather than a misaligned pointer. */
        r->owned = ps_aligned_alloc(align, info.payload_len);
        if (r->owned) {
            memcpy(r->owned, payload, info.payload_len);
            r->obj = r->owned;
        } else {
            st = PS_ERR_NO_MEMORY;
        }
    } else {
        void *obj = NULL;
        if ((st = ps_type_deserialize(type, key, payload, info.payload_len, &obj)) == PS_OK) {
            r->obj = obj;
            r->made_by = type;
            r->deserialize = type->deserialize;
            r->free_obj = type->free_obj;
        }
    }
    ps_blob_release(blob);
    if (st != PS_OK) {
        free(r->key);
        free(r);
        return st;
    }
    *out = r;
    return PS_OK;
}

void ps_resolved_ref(ps_resolved *r)
{
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

void ps_resolved_release(ps_resolved *r)
{
    if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (r->free_obj)
        r->free_obj(r->obj);
    free(r->owned);
    ps_blob_release(&r->blob);
    free(r->key);
    free(r);
}

bool ps_resolved_fits(const ps_resolved *r, const ps_type *type)
{
    if (r->info.flags == PS_OBJECT_CUSTOM)
        return type && type == r->made_by && type->deserialize == r->deserialize &&
               type->free_obj == r->free_obj;
    if (!type)
        return true;
    if (!(type->flags & PS_TYPE_POD) || type->size != r->info.elem_size ||
        ps_type_name_hash(type->name) != r->info.type_hash)
        return false;
    return type->align <= 1 || (uintptr_t)r->obj % type->align == 0;
}

/* ------------------------------------------------------------------ cache */

static size_t bucket_of(const ps_cache *cache, const char *key)
{
    return (size_t)XXH3_64bits(key, strlen(key)) & (cache->nbuckets - 1);
}

ps_status ps_cache_init(ps_cache *cache, size_t capacity)
{
    memset(cache, 0, sizeof *cache);
    pthread_mutex_init(&cache->lock, NULL);
    cache->capacity = capacity;
    if (capacity == 0)
        return PS_OK;
    size_t n = 16;
    while (n < 2 * capacity && n < ((size_t)1 << 30))
        n *= 2;
    cache->buckets = ps_calloc(n, sizeof *cache->buckets);
    cache->stamps = cache->buckets ? ps_calloc(n, sizeof *cache->stamps) : NULL;
    if (!cache->stamps) {
        free(cache->buckets);
        pthread_mutex_destroy(&cache->lock);
        return PS_ERR_NO_MEMORY;
    }
    cache->nbuckets = n;
    return PS_OK;
}

static void lru_unlink(ps_cache *cache, ps_resolved *r)
{
    if (r->lru_prev)
        r->lru_prev->lru_next = r->lru_next;
    else
        cache->head = r->lru_next;
    if (r->lru_next)
        r->lru_next->lru_prev = r->lru_prev;
    else
        cache->tail = r->lru_prev;
    r->lru_prev = r->lru_next = NULL;
}

static void lru_push_front(ps_cache *cache, ps_resolved *r)
{
    r->lru_prev = NULL;
    r->lru_next = cache->head;
    if (cache->head)
        cache->head->lru_prev = r;
    cache->head = r;
    if (!cache->tail)
        cache->tail = r;
}

/* Unlink r from the table and the list; the caller drops the cache's
 * reference once the lock is released. */
static void detach(ps_cache *cache, ps_resolved *r)
{
    ps_resolved **pp = &cache->buckets[bucket_of(cache, r->key)];
    while (*pp && *pp != r)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = r->hash_next;
    r->hash_next = NULL;
    lru_unlink(cache, r);
    r->cached = false;
    cache->size--;
}

static ps_resolved *find(ps_cache *cache, const char *key)
{
    for (ps_resolved *r = cache->buckets[bucket_of(cache, key)]; r; r = r->hash_next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

void ps_cache_destroy(ps_cache *cache)
{
    ps_resolved *r = cache->head;
    while (r) {
        ps_resolved *next = r->lru_next;
        r->cached = false;
        r->lru_prev = r->lru_next = r->hash_next = NULL;
        ps_resolved_release(r);
        r = next;
    }
    free(cache->buckets);
    free(cache->stamps);
    pthread_mutex_destroy(&cache->lock);
    memset(cache, 0, sizeof *cache);
}

ps_resolved *ps_cache_lookup(ps_cache *cache, const char *key, const ps_type *type)
{
    if (cache->capacity == 0)
        return NULL;
    pthread_mutex_lock(&cache->lock);
    ps_resolved *r = find(cache, key);
    if (r && ps_resolved_fits(r, type)) {
        lru_unlink(cache, r);
        lru_push_front(cache, r);
        ps_resolved_ref(r);
    } else {
        r = NULL;
    }
    pthread_mutex_unlock(&cache->lock);
    return r;
}

/* Release ordering: a resolve that reads the new stamp also sees the put or
 * evict that preceded the bump. */
static void bump_locked(ps_cache *cache, const char *key)
{
    __atomic_add_fetch(&cache->stamps[bucket_of(cache, key)], 1, __ATOMIC_RELEASE);
}

unsigned ps_cache_fill_stamp(ps_cache *cache, const char *key)
{
    if (cache->capacity == 0)
        return 0;
    return __atomic_load_n(&cache->stamps[bucket_of(cache, key)], __ATOMIC_ACQUIRE);
}

static bool insert(ps_cache *cache, ps_resolved *r, const unsigned *stamp)
{
    if (cache->capacity == 0)
        return false;
    ps_resolved *dropped[2] = {NULL, NULL};
    pthread_mutex_lock(&cache->lock);
    size_t b = bucket_of(cache, r->key);
    if (r->cached || (stamp && cache->stamps[b] != *stamp)) {
        pthread_mutex_unlock(&cache->lock);
        return false;
    }
    ps_resolved *old = find(cache, r->key);
    if (old) {
        detach(cache, old);
        dropped[0] = old;
    }
    ps_resolved_ref(r);
    r->hash_next = cache->buckets[b];
    cache->buckets[b] = r;
    lru_push_front(cache, r);
    r->cached = true;
    cache->size++;
    if (cache->size > cache->capacity) {
        ps_resolved *victim = cache->tail;
        detach(cache, victim);
        dropped[1] = victim;
    }
    pthread_mutex_unlock(&cache->lock);
    /* Releasing may unmap or free a large object: not under the lock. */
    ps_resolved_release(dropped[0]);
    ps_resolved_release(dropped[1]);
    return true;
}

void ps_cache_insert(ps_cache *cache, ps_resolved *r)
{
    insert(cache, r, NULL);
}

bool ps_cache_insert_fresh(ps_cache *cache, ps_resolved *r, unsigned stamp)
{
    return insert(cache, r, &stamp);
}

void ps_cache_remove(ps_cache *cache, const char *key)
{
    if (cache->capacity == 0)
        return;
    pthread_mutex_lock(&cache->lock);
    ps_resolved *r = find(cache, key);
    if (r)
        detach(cache, r);
    bump_locked(cache, key); /* even if absent: a resolve may be filling it */
    pthread_mutex_unlock(&cache->lock);
    ps_resolved_release(r);
}

bool ps_cache_drop(ps_cache *cache, const ps_resolved *r)
{
    if (cache->capacity == 0)
        return false;
    pthread_mutex_lock(&cache->lock);
    ps_resolved *found = find(cache, r->key);
    bool same = found == r;
    if (same) {
        detach(cache, found);
        bump_locked(cache, found->key);
    }
    pthread_mutex_unlock(&cache->lock);
    if (same)
        ps_resolved_release(found);
    return same;
}

size_t ps_cache_count(ps_cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    size_t n = cache->size;
    pthread_mutex_unlock(&cache->lock);
    return n;
}

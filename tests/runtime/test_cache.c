/*
 * test_cache.c — the LRU cache of resolved objects: order, capacity,
 * reference counts, and how store operations keep it honest.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "cache.h"

/* ----------------------------------------------------- the cache on its own */

static int released; /* blobs released so far */

static void count_release(ps_blob *blob)
{
    released++;
    free((void *)blob->data);
}

/* A resolved plain-data entry for key holding one reference (the caller's). */
static ps_resolved *entry(const char *key)
{
    ps_resolved *r = calloc(1, sizeof *r);
    r->key = strdup(key);
    r->refs = 1;
    r->info.flags = PS_OBJECT_POD;
    r->info.elem_size = 1;
    r->info.type_hash = ps_type_name_hash("unsigned char");
    r->blob.data = strdup(key);
    r->blob.len = strlen(key) + 1;
    r->blob.release = count_release;
    r->obj = (void *)r->blob.data;
    return r;
}

/* Insert an entry and drop the caller's reference: the cache owns it. */
static void insert_owned(ps_cache *c, const char *key)
{
    ps_resolved *r = entry(key);
    ps_cache_insert(c, r);
    ps_resolved_release(r);
}

static bool cached(ps_cache *c, const char *key)
{
    ps_resolved *r = ps_cache_lookup(c, key, &ps_type_bytes);
    ps_resolved_release(r);
    return r != NULL;
}

Test(lru, least_recently_used_goes_first)
{
    ps_cache c;
    cr_assert_eq(ps_cache_init(&c, 2), PS_OK);
    insert_owned(&c, "a");
    insert_owned(&c, "b");
    cr_assert(cached(&c, "a")); /* a is now the most recent */
    insert_owned(&c, "c");      /* pushes out b */
    cr_assert_eq(ps_cache_count(&c), 2);
    cr_assert_eq(released, 1, "b was freed when the cache let it go");
    cr_assert(cached(&c, "a"));
    cr_assert(cached(&c, "c"));
    cr_assert_not(cached(&c, "b"));
    insert_owned(&c, "d"); /* c was looked up after a: a goes */
    cr_assert(cached(&c, "d"));
    cr_assert(cached(&c, "c"), "c was used more recently than a");
    cr_assert_not(cached(&c, "a"));
    ps_cache_destroy(&c);
    cr_assert_eq(released, 4, "destroy releases what is left");
}

Test(lru, a_held_entry_outlives_the_cache)
{
    ps_cache c;
    ps_cache_init(&c, 1);
    insert_owned(&c, "held");
    ps_resolved *r = ps_cache_lookup(&c, "held", &ps_type_bytes);
    cr_assert_not_null(r);
    insert_owned(&c, "other"); /* pushes out "held" */
    cr_assert_not(cached(&c, "held"));
    cr_assert_eq(released, 0, "still referenced by its holder");
    cr_assert_str_eq(r->obj, "held");
    ps_cache_remove(&c, "other");
    cr_assert_eq(released, 1);
    ps_cache_destroy(&c);
    cr_assert_eq(released, 1);
    cr_assert_str_eq(r->obj, "held", "and even the cache's end");
    ps_resolved_release(r);
    cr_assert_eq(released, 2);
}

Test(lru, same_key_replaces)
{
    ps_cache c;
    ps_cache_init(&c, 4);
    insert_owned(&c, "k");
    ps_resolved *old = ps_cache_lookup(&c, "k", &ps_type_bytes);
    ps_resolved *fresh = entry("k");
    ps_cache_insert(&c, fresh);
    ps_resolved *now = ps_cache_lookup(&c, "k", &ps_type_bytes);
    cr_assert_eq(now, fresh);
    cr_assert_neq(now, old);
    cr_assert_eq(ps_cache_count(&c), 1);
    ps_resolved_release(now);
    ps_resolved_release(fresh);
    ps_resolved_release(old);
    cr_assert_eq(released, 1, "the replaced entry went with its last holder");
    ps_cache_destroy(&c);
    cr_assert_eq(released, 2);
}

Test(lru, capacity_zero_disables)
{
    ps_cache c;
    ps_cache_init(&c, 0);
    ps_resolved *r = entry("k");
    ps_cache_insert(&c, r);
    cr_assert_null(ps_cache_lookup(&c, "k", &ps_type_bytes));
    cr_assert_eq(ps_cache_count(&c), 0);
    ps_resolved_release(r);
    cr_assert_eq(released, 1, "the cache took no reference");
    ps_cache_destroy(&c);
}

Test(lru, lookups_respect_the_type)
{
    ps_cache c;
    ps_cache_init(&c, 4);
    insert_owned(&c, "bytes");
    cr_assert_null(ps_cache_lookup(&c, "bytes", &ps_type_double), "a plain-data entry of another type");
    ps_resolved *raw = ps_cache_lookup(&c, "bytes", NULL);
    cr_assert_not_null(raw, "raw reads fit any plain data");
    ps_resolved_release(raw);
    ps_cache_destroy(&c);
}

Test(lru, many_keys)
{
    ps_cache c;
    ps_cache_init(&c, 100);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        insert_owned(&c, key);
    }
    cr_assert_eq(ps_cache_count(&c), 100);
    cr_assert_eq(released, 900);
    for (int i = 900; i < 1000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        cr_assert(cached(&c, key), "%s", key);
    }
    ps_cache_destroy(&c);
}

/* --------------------------------------------------- the cache in the store */

static ps_store *open_with_cache(const char *name, int size)
{
    ps_store_options o = {.cache_size = size};
    ps_store *s = ps_store_open(name, "local://", &o);
    cr_assert_not_null(s);
    return s;
}

Test(store_cache, resolved_objects_are_shared_not_copied)
{
    ps_store *s = open_with_cache("shared", 4);
    double v[100] = {[7] = 7.5};
    char key[PS_KEY_MAX];
    ps_store_put(s, &ps_type_double, v, 100, key);
    ps_proxy_t *a = ps_proxy_from_key(s, key, &ps_type_double);
    ps_proxy_t *b = ps_proxy_from_key(s, key, &ps_type_double);
    cr_assert_eq(ps_resolve(a), ps_resolve(b), "one object for both");
    cr_assert_eq(((uintptr_t)ps_resolve(a)) % 64, 0, "local payloads are 64-byte aligned");
    ps_proxy_free(a);
    ps_proxy_free(b);
    ps_store_close(s);
}

Test(store_cache, a_proxy_keeps_its_object_after_lru_eviction)
{
    ps_store *s = open_with_cache("small", 1);
    int a = 11, b = 22;
    ps_proxy_t *pa = ps_proxy(s, &ps_type_int32, &a);
    ps_proxy_t *pb = ps_proxy(s, &ps_type_int32, &b);
    int *ra = ps_resolve(pa);
    int *rb = ps_resolve(pb); /* pushes pa's object out of the one-entry cache */
    cr_assert_eq(*rb, 22);
    cr_assert_eq(*ra, 11, "still valid (the sanitizer build checks the read)");
    ps_proxy_free(pa);
    ps_proxy_free(pb);
    ps_store_close(s);
}

Test(store_cache, evict_drops_the_entry)
{
    ps_store *s = open_with_cache("evicting", 8);
    int x = 5;
    ps_proxy_t *p = ps_proxy(s, &ps_type_int32, &x);
    int *r = ps_resolve(p);
    char key[PS_KEY_MAX];
    strcpy(key, ps_proxy_key(p));
    cr_assert_eq(ps_store_evict(s, key), PS_OK);
    cr_assert_null(ps_proxy_from_key(s, key, &ps_type_int32), "not served from the cache after an evict");
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert_eq(*r, 5, "the resolved object lives on for its proxy");
    ps_proxy_free(p);

    /* batch evicts too */
    p = ps_proxy(s, &ps_type_int32, &x);
    ps_resolve(p);
    const char *keys[] = {ps_proxy_key(p)};
    cr_assert_eq(ps_store_evict_batch(s, 1, keys), PS_OK);
    cr_assert_null(ps_proxy_from_key(s, keys[0], &ps_type_int32));
    ps_proxy_free(p);
    ps_store_close(s);
}

Test(store_cache, overwrite_drops_the_entry)
{
    ps_store *s = open_with_cache("overwrite", 8);
    int one = 1, two = 2;
    ps_store_put_key(s, "k", &ps_type_int32, &one, 1);
    ps_proxy_t *p = ps_proxy_from_key(s, "k", &ps_type_int32);
    cr_assert_eq(*PS_RESOLVE(int32_t, p), 1);
    ps_store_put_key(s, "k", &ps_type_int32, &two, 1);
    ps_proxy_t *q = ps_proxy_from_key(s, "k", &ps_type_int32);
    cr_assert_eq(*PS_RESOLVE(int32_t, q), 2, "the new object, not the cached old one");
    cr_assert_eq(*PS_RESOLVE(int32_t, p), 1, "a resolved proxy keeps what it resolved");
    ps_proxy_free(p);
    ps_proxy_free(q);
    ps_store_close(s);
}

Test(store_cache, hits_and_misses)
{
    ps_store *s = open_with_cache("counting", 2);
    int x = 3;
    char k[3][PS_KEY_MAX];
    for (int i = 0; i < 3; i++)
        ps_store_put(s, &ps_type_int32, &x, 1, k[i]);
    const int order[] = {0, 1, 0, 2, 1, 0};
    /* hit: the second 0; misses: the rest (1 was pushed out by 2, then 0 by 1) */
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        ps_proxy_free(ps_proxy_from_key(s, k[order[i]], &ps_type_int32));
    ps_metrics m;
    ps_store_metrics(s, &m);
    cr_assert_eq(m.cache_hits, 1);
    cr_assert_eq(m.cache_misses, 5);
    ps_store_close(s);
}

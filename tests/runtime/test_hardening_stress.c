/*
 * test_hardening_stress.c — races between threads on one store, each bounded
 * to about a second: one proxy resolved from many threads, prefetches racing
 * ps_proxy_free, a store closed while its proxies live on in other threads,
 * LRU eviction under objects in use, descriptors attaching while their
 * store's name is opened and closed, and a writer whose own puts must be
 * visible to it while readers keep filling the cache.
 *
 * They are meant for the sanitizer builds (ASan, and TSan by hand) as much
 * as for their own assertions: a lifetime bug shows up there as a report.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"

#define STRESS_MS 700

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef struct {
    int32_t tag;
    int32_t cells[63];
} block;
static PS_TYPE_POD_DEFINE(block_type, block);

static block make_block(int32_t tag)
{
    block b;
    b.tag = tag;
    for (int i = 0; i < 63; i++)
        b.cells[i] = tag * 63 + i;
    return b;
}

static bool block_ok(const block *b, int32_t tag)
{
    if (!b || b->tag != tag)
        return false;
    for (int i = 0; i < 63; i++)
        if (b->cells[i] != tag * 63 + i)
            return false;
    return true;
}

static void run_threads(int n, void *(*fn)(void *), void *arg)
{
    pthread_t t[16];
    for (int i = 0; i < n; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, fn, arg), 0);
    for (int i = 0; i < n; i++) {
        void *failed;
        pthread_join(t[i], &failed);
        cr_assert_null(failed, "thread %d: %s", i, (char *)failed);
    }
}

/* ------------------------------------------- one proxy, many resolvers */

typedef struct {
    ps_proxy_t *proxy;
    atomic_int go;
    void *seen[8];
    atomic_int nseen;
} shared_proxy;

static void *resolve_one(void *arg)
{
    shared_proxy *sp = arg;
    while (!atomic_load(&sp->go))
        ;
    if (atomic_fetch_add(&sp->nseen, 0) % 2)
        ps_resolve_async(sp->proxy);
    void *obj = ps_resolve(sp->proxy);
    int i = atomic_fetch_add(&sp->nseen, 1);
    sp->seen[i] = obj;
    return block_ok(obj, 7) ? NULL : "wrong object";
}

Test(stress, one_proxy_resolved_by_many_threads_is_fetched_once)
{
    ps_store_options no_cache = {.cache_size = 0};
    ps_store *s = ps_store_open("stress-one", "local://", &no_cache);
    block b = make_block(7);
    uint64_t end = now_ms() + STRESS_MS;
    int rounds = 0;
    while (now_ms() < end) {
        shared_proxy sp = {ps_proxy(s, &block_type, &b), 0, {0}, 0};
        cr_assert_not_null(sp.proxy);
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, resolve_one, &sp);
        atomic_store(&sp.go, 1);
        for (int i = 0; i < 8; i++) {
            void *failed;
            pthread_join(t[i], &failed);
            cr_assert_null(failed);
        }
        for (int i = 1; i < 8; i++)
            cr_assert_eq(sp.seen[i], sp.seen[0], "one proxy handed out two objects");
        cr_assert_eq(ps_proxy_evict(sp.proxy), PS_OK);
        rounds++;
    }
    ps_metrics m;
    ps_store_metrics(s, &m);
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, (uint64_t)rounds, "%llu fetches for %d proxies",
                 (unsigned long long)m.op[PS_OP_RESOLVE].count, rounds);
    ps_store_close(s);
}

/* ----------------------------------------- prefetch racing ps_proxy_free */

static void *prefetch_then_free(void *arg)
{
    ps_store *s = arg;
    uint64_t end = now_ms() + STRESS_MS;
    for (int i = 0; now_ms() < end; i++) {
        block b = make_block(i);
        ps_proxy_t *p = ps_proxy(s, &block_type, &b);
        if (!p)
            return "ps_proxy failed";
        if (ps_resolve_async(p) != PS_OK) {
            ps_proxy_free(p);
            return "ps_resolve_async failed";
        }
        if (i % 3 == 1 && ps_resolve_async(p) != PS_OK) {
            ps_proxy_free(p);
            return "a second ps_resolve_async failed";
        }
        if (i % 3 == 2 && !block_ok(ps_resolve(p), i)) {
            ps_proxy_free(p);
            return "a prefetched proxy resolved to the wrong object";
        }
        if (i % 2)
            ps_proxy_free(p); /* maybe while the prefetch is queued or running */
        else if (ps_proxy_evict(p) != PS_OK)
            return "ps_proxy_evict failed";
    }
    return NULL;
}

Test(stress, prefetches_racing_ps_proxy_free)
{
    const char *kinds[] = {"local", "shm", "file"};
    for (int k = 0; k < 3; k++) {
        char *url = ps_test_url_for(kinds[k]);
        char name[32];
        snprintf(name, sizeof name, "stress-prefetch-%s", kinds[k]);
        ps_store *s = ps_store_open(name, url, NULL);
        cr_assert_not_null(s, "%s", ps_last_error_message());
        run_threads(3, prefetch_then_free, s);
        ps_store_close(s);
        free(url);
    }
}

/* ------------------------------------- a store closed under its proxies */

typedef struct {
    ps_proxy_t *proxies[64];
    int32_t tags[64];
    atomic_int next;
} proxy_pool;

static void *use_then_free(void *arg)
{
    proxy_pool *pool = arg;
    for (;;) {
        int i = atomic_fetch_add(&pool->next, 1);
        if (i >= 64)
            return NULL;
        ps_proxy_t *p = pool->proxies[i];
        if (i % 4 == 0)
            ps_resolve_async(p);
        if (!block_ok(ps_resolve(p), pool->tags[i]))
            return "a proxy of a closed store did not resolve";
        char *desc = ps_proxy_serialize(p);
        if (!desc)
            return "serializing a proxy of a closed store failed";
        free(desc);
        if (i % 2 ? ps_proxy_evict(p) != PS_OK : (ps_proxy_free(p), false))
            return "evicting through a proxy of a closed store failed";
    }
}

Test(stress, a_store_closed_while_other_threads_use_its_proxies)
{
    const char *kinds[] = {"local", "shm", "file"};
    uint64_t end = now_ms() + STRESS_MS;
    for (int round = 0; now_ms() < end || round < 3; round++) {
        char *url = ps_test_url_for(kinds[round % 3]);
        ps_store *s = ps_store_open("stress-closing", url, NULL);
        cr_assert_not_null(s, "%s", ps_last_error_message());
        proxy_pool pool = {.next = 0};
        for (int i = 0; i < 64; i++) {
            block b = make_block(round * 64 + i);
            pool.tags[i] = b.tag;
            pool.proxies[i] = ps_proxy(s, &block_type, &b);
            cr_assert_not_null(pool.proxies[i]);
        }
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, use_then_free, &pool);
        ps_store_close(s); /* while the threads work */
        for (int i = 0; i < 3; i++) {
            void *failed;
            pthread_join(t[i], &failed);
            cr_assert_null(failed, "%s: %s", (char *)failed, ps_last_error_message());
        }
        cr_assert_null(ps_store_lookup("stress-closing"));
        free(url);
    }
}

/* ------------------------------------- LRU eviction under objects in use */

typedef struct {
    ps_store *store;
    char keys[8][PS_KEY_MAX];
} lru_case;

static void *resolve_and_read(void *arg)
{
    lru_case *c = arg;
    uint64_t end = now_ms() + STRESS_MS;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    while (now_ms() < end) {
        int k = (int)(rand_r(&seed) % 8);
        ps_proxy_t *p = ps_proxy_from_key(c->store, c->keys[k], &block_type);
        if (!p)
            return "ps_proxy_from_key failed";
        const block *b = ps_resolve(p);
        /* Other threads push this entry out of the one-entry cache while
         * it is read here: the proxy's reference must keep it valid. */
        for (int again = 0; again < 4; again++)
            if (!block_ok(b, k)) {
                ps_proxy_free(p);
                return "an object in use was freed or changed under its reader";
            }
        ps_proxy_free(p);
    }
    return NULL;
}

Test(stress, lru_eviction_while_objects_are_in_use)
{
    const char *kinds[] = {"local", "shm", "file"};
    for (int kind = 0; kind < 3; kind++) {
        char *url = ps_test_url_for(kinds[kind]);
        ps_store_options one = {.cache_size = 1};
        lru_case c = {ps_store_open("stress-lru", url, &one), {{0}}};
        cr_assert_not_null(c.store, "%s", ps_last_error_message());
        for (int k = 0; k < 8; k++) {
            block b = make_block(k);
            cr_assert_eq(ps_store_put(c.store, &block_type, &b, 1, c.keys[k]), PS_OK);
        }
        run_threads(4, resolve_and_read, &c);
        ps_metrics m;
        ps_store_metrics(c.store, &m);
        cr_assert_gt(m.cache_hits, 0);
        cr_assert_gt(m.cache_misses, 0);
        ps_store_close(c.store);
        free(url);
    }
}

/* ------------------- descriptors attaching while the name opens and closes */

typedef struct {
    char *desc;
    char *url;
    atomic_int stop;
} attach_case;

static void *deserialize_and_resolve(void *arg)
{
    attach_case *c = arg;
    while (!atomic_load(&c->stop)) {
        ps_proxy_t *p = ps_proxy_deserialize(c->desc, &block_type);
        if (!p)
            return "ps_proxy_deserialize failed";
        if (!block_ok(ps_resolve(p), 11)) {
            ps_proxy_free(p);
            return "a deserialized proxy resolved to the wrong object";
        }
        ps_proxy_free(p);
    }
    return NULL;
}

static void *open_and_close(void *arg)
{
    attach_case *c = arg;
    while (!atomic_load(&c->stop)) {
        ps_store *s = ps_store_open("stress-attach", c->url, NULL);
        if (!s)
            return "ps_store_open failed";
        ps_store_close(s);
    }
    return NULL;
}

Test(stress, descriptors_attach_while_the_name_opens_and_closes)
{
    char *url = ps_test_url_for("file");
    ps_store *s = ps_store_open("stress-attach", url, NULL);
    block b = make_block(11);
    ps_proxy_t *p = ps_proxy(s, &block_type, &b);
    attach_case c = {ps_proxy_serialize(p), url, 0};
    ps_proxy_free(p);
    ps_store_close(s);

    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, i < 2 ? deserialize_and_resolve : open_and_close, &c);
    usleep(STRESS_MS * 1000);
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 4; i++) {
        void *failed;
        pthread_join(t[i], &failed);
        cr_assert_null(failed, "%s: %s", (char *)failed, ps_last_error_message());
    }
    /* the store the descriptors opened closed with their last proxy */
    cr_assert_null(ps_store_lookup("stress-attach"));
    free(c.desc);
    free(url);
}

/* ----------------------------- a writer sees its own puts through the cache */

typedef struct {
    ps_store *store;
    atomic_int stop;
} rewrite_case;

static void *keep_resolving(void *arg)
{
    rewrite_case *c = arg;
    while (!atomic_load(&c->stop)) {
        ps_proxy_t *p = ps_proxy_from_key(c->store, "rewritten", &block_type);
        if (p)
            ps_proxy_free(p);
    }
    return NULL;
}

Test(stress, a_put_is_visible_to_the_next_resolve_despite_concurrent_fills)
{
    char *url = ps_test_url_for("file");
    rewrite_case c = {ps_store_open("stress-rewrite", url, NULL), 0};
    cr_assert_not_null(c.store);
    block b = make_block(0);
    cr_assert_eq(ps_store_put_key(c.store, "rewritten", &block_type, &b, 1), PS_OK);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, keep_resolving, &c);
    uint64_t end = now_ms() + STRESS_MS;
    int stale = 0, rounds = 0;
    for (int32_t v = 1; now_ms() < end; v++, rounds++) {
        b = make_block(v);
        cr_assert_eq(ps_store_put_key(c.store, "rewritten", &block_type, &b, 1), PS_OK);
        ps_proxy_t *p = ps_proxy_from_key(c.store, "rewritten", &block_type);
        cr_assert_not_null(p, "%s", ps_last_error_message());
        if (!block_ok(ps_resolve(p), v))
            stale++;
        ps_proxy_free(p);
    }
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(stale, 0, "%d of %d resolves right after a put returned the object it replaced", stale, rounds);
    ps_store_close(c.store);
    free(url);
}

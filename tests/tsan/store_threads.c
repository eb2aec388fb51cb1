/*
 * store_threads.c — threads put, resolve, overwrite and evict objects of
 * many sizes in one store at once, some keys shared between threads;
 * built with ThreadSanitizer by scripts/tsan.sh (a plain program, as
 * ownership_threads.c).  On shm:// with an arena this drives its
 * allocator, index and reader bits from every thread, with small arenas
 * falling back to segments.  Exit 0 only if every object read back whole.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "run_threads.h"

#define THREADS 4
#define ROUNDS 400
#define MAX_LEN (96 * 1024)

static ps_store *store;
static int failures[THREADS];

/* Bytes that say which (seed, length) wrote them. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + i * 7u);
}

static void *work(void *arg)
{
    int id = (int)(long)arg;
    unsigned char *buf = malloc(MAX_LEN);
    if (!buf)
        abort();
    for (int i = 0; i < ROUNDS; i++) {
        size_t len = 1 + (size_t)(i * 7919u + (unsigned)id * 104729u) % MAX_LEN;
        unsigned seed = (unsigned)(id * ROUNDS + i);
        fill(buf, len, seed);
        /* Own keys, and one key every thread overwrites. */
        char key[32];
        snprintf(key, sizeof key, i % 5 ? "t%d-%d" : "shared", id, i % 6);
        if (ps_store_put_key(store, key, &ps_type_bytes, buf, len) != PS_OK) {
            failures[id]++;
            continue;
        }
        size_t count = 0;
        unsigned char *back = ps_store_get(store, key, &ps_type_bytes, &count);
        if (strcmp(key, "shared") != 0 && (!back || count != len || memcmp(back, buf, len) != 0))
            failures[id]++;
        ps_object_free(&ps_type_bytes, back);
        ps_proxy_t *p = ps_proxy_array(store, &ps_type_bytes, buf, len);
        const unsigned char *got = p ? ps_resolve(p) : NULL;
        if (!got || memcmp(got, buf, len) != 0)
            failures[id]++;
        if (!p || ps_store_evict(store, ps_proxy_key(p)) != PS_OK)
            failures[id]++;
        ps_proxy_free(p);
        if (i % 3 == 0 && ps_store_evict(store, key) != PS_OK)
            failures[id]++;
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "local://";
    ps_store_options opts = {.cache_size = 0}; /* every resolve reads the connector */
    store = ps_store_open("tsan-store", url, &opts);
    if (!store)
        return 2;
    run_threads(work, THREADS);
    int total = 0;
    for (int i = 0; i < THREADS; i++)
        total += failures[i];
    printf("%s: %d failures\n", url, total);
    ps_store_close(store);
    return total ? 1 : 0;
}

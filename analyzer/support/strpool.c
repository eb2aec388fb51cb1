/*
 * strpool.c — open-addressing hash set of strings behind one mutex.
 * Interning happens once per distinct file per translation unit (the sink
 * caches the result per CXFile), so the lock is never hot.
 */
#include "strpool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ps_strpool {
    pthread_mutex_t lock;
    char **slots;
    size_t cap, len; /* cap is a power of two */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

ps_strpool *ps_strpool_new(void)
{
    ps_strpool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->cap = 64;
    pool->slots = calloc(pool->cap, sizeof *pool->slots);
    if (!pool->slots) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    return pool;
}

void ps_strpool_free(ps_strpool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->cap; i++)
        free(pool->slots[i]);
    free(pool->slots);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

static int grow(ps_strpool *pool)
{
    size_t ncap = pool->cap * 2;
    char **nslots = calloc(ncap, sizeof *nslots);
    if (!nslots)
        return -1;
    for (size_t i = 0; i < pool->cap; i++) {
        char *s = pool->slots[i];
        if (!s)
            continue;
        size_t j = hash_str(s) & (ncap - 1);
        while (nslots[j])
            j = (j + 1) & (ncap - 1);
        nslots[j] = s;
    }
    free(pool->slots);
    pool->slots = nslots;
    pool->cap = ncap;
    return 0;
}

const char *ps_strpool_intern(ps_strpool *pool, const char *s)
{
    const char *result = NULL;
    pthread_mutex_lock(&pool->lock);
    if ((pool->len + 1) * 2 > pool->cap && grow(pool) != 0)
        goto out;
    size_t i = hash_str(s) & (pool->cap - 1);
    while (pool->slots[i]) {
        if (strcmp(pool->slots[i], s) == 0) {
            result = pool->slots[i];
            goto out;
        }
        i = (i + 1) & (pool->cap - 1);
    }
    pool->slots[i] = strdup(s);
    if (pool->slots[i]) {
        pool->len++;
        result = pool->slots[i];
    }
out:
    pthread_mutex_unlock(&pool->lock);
    return result;
}

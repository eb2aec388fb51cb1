/* proxy_set.c — live proxy addresses (see proxy_set.h).
 *
 * Open addressing with linear probing, at most half full; deletion shifts
 * later entries back, so there are no tombstones and lookups stay short.
 * Slot value 0 is empty (a proxy is never at address 0). */
#include "proxy_set.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *slots;
static size_t cap;   /* a power of two, or 0 */
static size_t used;

static size_t home(uintptr_t p, size_t mask)
{
    uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & mask;
}

static void place(uintptr_t *s, size_t mask, uintptr_t p)
{
    size_t i = home(p, mask);
    while (s[i])
        i = (i + 1) & mask;
    s[i] = p;
}

static bool grow_locked(void)
{
    size_t ncap = cap ? cap * 2 : 64;
    uintptr_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < cap; i++)
        if (slots[i])
            place(ns, ncap - 1, slots[i]);
    free(slots);
    slots = ns;
    cap = ncap;
    return true;
}

/* The slot holding p, or cap if absent. */
static size_t find_locked(uintptr_t p)
{
    if (!cap)
        return 0;
    size_t mask = cap - 1;
    for (size_t i = home(p, mask);; i = (i + 1) & mask) {
        if (slots[i] == p)
            return i;
        if (!slots[i])
            return cap;
    }
}

ps_status ps_proxy_set_add(const void *p)
{
    pthread_mutex_lock(&set_lock);
    if (2 * (used + 1) > cap && !grow_locked()) {
        pthread_mutex_unlock(&set_lock);
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory recording a proxy");
    }
    place(slots, cap - 1, (uintptr_t)p);
    used++;
    pthread_mutex_unlock(&set_lock);
    return PS_OK;
}

bool ps_proxy_set_remove(const void *p)
{
    if (!p)
        return false;
    pthread_mutex_lock(&set_lock);
    size_t i = find_locked((uintptr_t)p);
    bool found = i < cap;
    if (found) {
        size_t mask = cap - 1;
        slots[i] = 0;
        used--;
        /* Move back any later entry whose probe run passed through i. */
        for (size_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
            size_t h = home(slots[j], mask);
            bool between = i <= j ? (i < h && h <= j) : (i < h || h <= j);
            if (!between) {
                slots[i] = slots[j];
                slots[j] = 0;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&set_lock);
    return found;
}

bool ps_proxy_set_contains(const void *p)
{
    if (!p)
        return false;
    pthread_mutex_lock(&set_lock);
    bool found = find_locked((uintptr_t)p) < cap;
    pthread_mutex_unlock(&set_lock);
    return found;
}

/* live_set.c — live handle addresses (see live_set.h).
 *
 * Open addressing with linear probing, at most half full; deletion shifts
 * later entries back, so there are no tombstones and lookups stay short.
 * Slot value 0 is empty (a handle is never at address 0). */
#include "live_set.h"

#include <stdlib.h>

#include "error.h"

ps_live_set ps_live_proxies = PS_LIVE_SET_INIT;
ps_live_set ps_live_stores = PS_LIVE_SET_INIT;

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

static bool grow_locked(ps_live_set *set)
{
    size_t ncap = set->cap ? set->cap * 2 : 64;
    uintptr_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            place(ns, ncap - 1, set->slots[i]);
    free(set->slots);
    set->slots = ns;
    set->cap = ncap;
    return true;
}

/* The slot holding p, or cap if absent. */
static size_t find_locked(const ps_live_set *set, uintptr_t p)
{
    if (!set->cap)
        return 0;
    size_t mask = set->cap - 1;
    for (size_t i = home(p, mask);; i = (i + 1) & mask) {
        if (set->slots[i] == p)
            return i;
        if (!set->slots[i])
            return set->cap;
    }
}

ps_status ps_live_set_add(ps_live_set *set, const void *p)
{
    pthread_mutex_lock(&set->lock);
    if (2 * (set->used + 1) > set->cap && !grow_locked(set)) {
        pthread_mutex_unlock(&set->lock);
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory recording a live handle");
    }
    place(set->slots, set->cap - 1, (uintptr_t)p);
    __atomic_store_n(&set->used, set->used + 1, __ATOMIC_RELAXED); /* read unlocked by remove */
    pthread_mutex_unlock(&set->lock);
    return PS_OK;
}

bool ps_live_set_remove(ps_live_set *set, const void *p)
{
    /* An empty set holds nothing to remove, without taking the lock: a
     * proxy made clears its address from the set of moved proxies, which
     * is almost always empty.  An address added before this call (what
     * removing it needs) left used above 0. */
    if (!p || __atomic_load_n(&set->used, __ATOMIC_RELAXED) == 0)
        return false;
    pthread_mutex_lock(&set->lock);
    size_t i = find_locked(set, (uintptr_t)p);
    bool found = i < set->cap;
    if (found) {
        uintptr_t *slots = set->slots;
        size_t mask = set->cap - 1;
        slots[i] = 0;
        __atomic_store_n(&set->used, set->used - 1, __ATOMIC_RELAXED);
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
    pthread_mutex_unlock(&set->lock);
    return found;
}

bool ps_live_set_contains(ps_live_set *set, const void *p)
{
    if (!p)
        return false;
    pthread_mutex_lock(&set->lock);
    bool found = find_locked(set, (uintptr_t)p) < set->cap;
    pthread_mutex_unlock(&set->lock);
    return found;
}

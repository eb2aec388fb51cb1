/* proxy.c — proxies: create, resolve (once, maybe in the background), type
 * checks, release (see proxy.h). */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "future.h"
#include "key.h"
#include "prefetch.h"
#include "live_set.h"

/* Handles moved away (serialized owners and borrows, plain proxies turned
 * into owners), so a later use says so; an address leaves the set when a
 * new proxy is made there. */
static ps_live_set moved_proxies = PS_LIVE_SET_INIT;

ps_status ps_proxy_check(const ps_proxy_t *p, const char *fn)
{
    if (!p)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: no proxy given", fn);
    if (!ps_live_set_contains(&ps_live_proxies, p)) {
        if (ps_live_set_contains(&moved_proxies, p))
            return ps_error_set(PS_ERR_STATE, "%s: proxy %p was moved away (an owned proxy or a borrow moves "
                                "when serialized, a plain proxy when made owned) and can no longer be used "
                                "here", fn, (const void *)p);
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: %p is not a live proxy (freed already, or "
                            "never a proxy)", fn, (const void *)p);
    }
    return PS_OK;
}

void ps_proxy_mark_moved(ps_proxy_t *p)
{
    /* Out of memory only loses the better message. */
    ps_saved_error saved;
    ps_error_save(&saved);
    ps_live_set_add(&moved_proxies, p);
    ps_error_restore(&saved);
}

void ps_proxy_adopt_facts(ps_proxy_t *p, const ps_object_info *info)
{
    p->elem_size = info->elem_size;
    p->count = info->count;
    p->size = info->payload_len;
    p->hash = info->payload_hash;
    p->pod = info->flags == PS_OBJECT_POD;
}

ps_proxy_t *ps_proxy_make(ps_store *store, const ps_type *type, const char *key,
                          const ps_proxy_facts *facts)
{
    ps_proxy_t *p = ps_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (ps_type_name_normalize(facts->type_name, p->type_name) != PS_OK) {
        free(p);
        return NULL;
    }
    size_t key_len = strnlen(key, sizeof p->key - 1); /* checked by the store; bounded all the same */
    memcpy(p->key, key, key_len);
    p->type = type;
    p->elem_size = facts->elem_size;
    p->count = facts->count;
    p->size = facts->size;
    p->hash = facts->hash;
    p->pod = facts->pod;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    p->state = PROXY_UNRESOLVED;
    if (ps_live_set_add(&ps_live_proxies, p) != PS_OK) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->changed);
        free(p);
        return NULL;
    }
    ps_live_set_remove(&moved_proxies, p);
    ps_store_ref(store);
    p->store = store;
    return p;
}

static void facts_from_info(ps_proxy_facts *f, const ps_type *type, const ps_object_info *info)
{
    f->type_name = type->name;
    f->elem_size = info->elem_size;
    f->count = info->count;
    f->size = info->payload_len;
    f->hash = info->payload_hash;
    f->pod = info->flags == PS_OBJECT_POD;
}

ps_proxy_t *ps_proxy_array(ps_store *store, const ps_type *type, const void *obj, size_t count)
{
    return ps_proxy_tagged(store, type, obj, count, NULL, 0);
}

ps_proxy_t *ps_proxy_of_put(ps_store *store, const ps_type *type, const char *key, const ps_object_info *info)
{
    ps_proxy_facts facts;
    facts_from_info(&facts, type, info);
    return ps_proxy_make(store, type, key, &facts);
}

ps_proxy_t *ps_proxy_tagged(ps_store *store, const ps_type *type, const void *obj, size_t count,
                            const char *const tags[], size_t ntags)
{
    char key[PS_KEY_MAX];
    ps_object_info info;
    if (ps_store_put_tagged_object(store, type, obj, count, tags, ntags, key, &info) != PS_OK)
        return NULL;
    ps_proxy_t *p = ps_proxy_of_put(store, type, key, &info);
    if (!p) {
        /* Nobody can reach the object without the proxy. */
        ps_status code = ps_last_error_code();
        ps_store_evict_key(store, key);
        ps_error_set(code, "creating a proxy: out of memory");
    }
    return p;
}

ps_proxy_t *ps_proxy(ps_store *store, const ps_type *type, const void *obj)
{
    return ps_proxy_array(store, type, obj, 1);
}

ps_proxy_t *ps_proxy_from_key(ps_store *store, const char *key, const ps_type *type)
{
    if (ps_store_usable(store) != PS_OK || ps_key_check(key) != PS_OK || ps_type_validate(type) != PS_OK)
        return NULL;
    /* The facts a proxy answers come from the stored header, so the object
     * is read now; a missing key or another type fails here, not later. */
    ps_resolved *r;
    if (ps_store_resolve(store, key, type, &r, NULL) != PS_OK)
        return NULL;
    ps_proxy_facts facts;
    facts_from_info(&facts, type, &r->info);
    ps_proxy_t *p = ps_proxy_make(store, type, key, &facts);
    if (!p) {
        ps_resolved_release(r);
        return NULL;
    }
    p->resolved = r;
    p->state = PROXY_RESOLVED;
    return p;
}

/* ---------------------------------------------------------------- resolve */

/* Read the target into a shared entry; the proxy's lock is not held.  An
 * entry from the cache that is not the proxy's object may be stale (another
 * process or store replaced the object since it was cached): it is dropped
 * and the object read from the connector once more before giving up. */
static ps_status fetch(ps_proxy_t *p, long timeout_ms, ps_resolved **out)
{
    if (p->pending)
        return ps_future_fetch(p, timeout_ms, out);
    /* An update through this handle changes its facts under the lock. */
    pthread_mutex_lock(&p->lock);
    uint64_t want_hash = p->hash;
    size_t want_size = p->size;
    pthread_mutex_unlock(&p->lock);
    for (int attempt = 0;; attempt++) {
        ps_resolved *r;
        bool from_cache;
        ps_status st = ps_store_resolve(p->store, p->key, p->type, &r, &from_cache);
        if (st != PS_OK)
            return st;
        if (r->info.payload_hash == want_hash && r->info.payload_len == want_size) {
            *out = r;
            return PS_OK;
        }
        bool stale = from_cache && attempt == 0 && ps_cache_drop(&p->store->cache, r);
        ps_object_info found = r->info;
        ps_resolved_release(r);
        if (!stale)
            return ps_error_set(PS_ERR_BAD_DATA, "object '%s' changed since the proxy was made (payload hash "
                                "%016llx, %zu bytes; the proxy expects %016llx, %zu bytes)", p->key,
                                (unsigned long long)found.payload_hash, found.payload_len,
                                (unsigned long long)want_hash, want_size);
    }
}

/* Leave FETCHING with the outcome and wake whoever waits. */
static void finish_fetch(ps_proxy_t *p, ps_resolved *r)
{
    pthread_mutex_lock(&p->lock);
    p->resolved = r;
    p->state = r ? PROXY_RESOLVED : PROXY_UNRESOLVED;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

static void *resolve_checked(ps_proxy_t *p)
{
    return ps_proxy_resolve_within(p, PS_WAIT_DEFAULT);
}

void *ps_proxy_resolve_within(ps_proxy_t *p, long timeout_ms)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->state == PROXY_RESOLVED) {
            void *obj = p->resolved->obj;
            pthread_mutex_unlock(&p->lock);
            return obj;
        }
        if (p->state == PROXY_UNRESOLVED)
            break;
        pthread_cond_wait(&p->changed, &p->lock);
    }
    p->state = PROXY_FETCHING;
    pthread_mutex_unlock(&p->lock);

    ps_resolved *r = NULL;
    ps_status st = fetch(p, timeout_ms, &r);
    /* Read obj before finish_fetch hands r to the proxy (and to a thread
     * that may be waiting to free it). */
    void *obj = st == PS_OK ? r->obj : NULL;
    finish_fetch(p, st == PS_OK ? r : NULL);
    return obj;
}

void *ps_resolve(ps_proxy_t *proxy)
{
    if (ps_proxy_check(proxy, "ps_resolve") != PS_OK ||
        ps_ownership_check_resolve(proxy, false, "ps_resolve") != PS_OK)
        return NULL;
    return resolve_checked(proxy);
}

ps_status ps_proxy_check_type(const ps_proxy_t *proxy, const char *type_name, size_t elem_size, const char *fn)
{
    if (!type_name)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: no type name given", fn);
    char want[PS_TYPE_NAME_MAX + 1];
    ps_status st = ps_type_name_normalize(type_name, want);
    if (st != PS_OK)
        return st;
    if (strcmp(want, proxy->type_name) != 0 || elem_size != proxy->elem_size)
        return ps_error_set(PS_ERR_TYPE_MISMATCH, "proxy '%s' is a proxy of '%s' (element size %zu), resolved "
                            "as '%s' (element size %zu)", proxy->key, proxy->type_name, proxy->elem_size, want,
                            elem_size);
    return PS_OK;
}

void *ps_proxy_resolve_typed(ps_proxy_t *proxy, const char *type_name, size_t elem_size, const char *fn)
{
    if (ps_proxy_check_type(proxy, type_name, elem_size, fn) != PS_OK)
        return NULL;
    return resolve_checked(proxy);
}

void *ps_resolve_as(ps_proxy_t *proxy, const char *type_name, size_t elem_size)
{
    if (ps_proxy_check(proxy, "ps_resolve_as") != PS_OK ||
        ps_ownership_check_resolve(proxy, false, "ps_resolve_as") != PS_OK)
        return NULL;
    return ps_proxy_resolve_typed(proxy, type_name, elem_size, "ps_resolve_as");
}

bool ps_is_proxy(const void *x)
{
    return ps_live_set_contains(&ps_live_proxies, x);
}

void *ps_resolve_or(void *x, const char *type_name, size_t elem_size)
{
    if (!ps_live_set_contains(&ps_live_proxies, x))
        return x;
    return ps_resolve_as(x, type_name, elem_size);
}

static void prefetch_job(void *arg)
{
    ps_proxy_t *p = arg;
    ps_resolved *r = NULL;
    /* A failure is not kept: the proxy goes back to UNRESOLVED and the next
     * ps_resolve fetches again, reporting its own error. */
    if (fetch(p, PS_WAIT_DEFAULT, &r) != PS_OK)
        r = NULL;
    finish_fetch(p, r);
}

/* In a forked child, for a prefetch that was queued at the fork: nobody
 * will fetch, and no other thread exists to hold the proxy's lock, which is
 * made anew in case a parent thread held it at the fork. */
static void prefetch_cancelled_by_fork(void *arg)
{
    ps_proxy_t *p = arg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    p->state = PROXY_UNRESOLVED;
}

ps_status ps_resolve_async(ps_proxy_t *proxy)
{
    ps_status st = ps_proxy_check(proxy, "ps_resolve_async");
    if (st != PS_OK)
        return st;
    pthread_mutex_lock(&proxy->lock);
    bool start = proxy->state == PROXY_UNRESOLVED;
    if (start)
        proxy->state = PROXY_FETCHING;
    pthread_mutex_unlock(&proxy->lock);
    if (!start)
        return PS_OK;
    st = ps_prefetch_submit(prefetch_job, prefetch_cancelled_by_fork, proxy);
    if (st != PS_OK)
        finish_fetch(proxy, NULL);
    return st;
}

/* ---------------------------------------------------------------- release */

void ps_proxy_destroy(ps_proxy_t *proxy)
{
    pthread_mutex_lock(&proxy->lock);
    while (proxy->state == PROXY_FETCHING)
        pthread_cond_wait(&proxy->changed, &proxy->lock);
    pthread_mutex_unlock(&proxy->lock);
    ps_ownership_destroy(proxy);
    ps_resolved_release(proxy->resolved);
    ps_store_unref(proxy->store);
    pthread_mutex_destroy(&proxy->lock);
    pthread_cond_destroy(&proxy->changed);
    free(proxy);
}

void ps_proxy_free(ps_proxy_t *proxy)
{
    if (!proxy)
        return;
    if (ps_proxy_check(proxy, "ps_proxy_free") != PS_OK) {
        if (ps_last_error_code() == PS_ERR_INVALID_ARGUMENT)
            ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_proxy_free: %p is not a live proxy (freed twice?)",
                         (void *)proxy);
        return;
    }
    if (proxy->kind != PS_KIND_PLAIN) {
        ps_ownership_release(proxy);
        return;
    }
    if (!ps_live_set_remove(&ps_live_proxies, proxy)) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_proxy_free: %p is not a live proxy (freed twice?)",
                     (void *)proxy);
        return;
    }
    ps_proxy_destroy(proxy);
}

ps_status ps_proxy_evict(ps_proxy_t *proxy)
{
    ps_status st = ps_proxy_check(proxy, "ps_proxy_evict");
    if (st != PS_OK)
        return st;
    if (proxy->kind == PS_KIND_OWNED)
        return ps_owned_release(proxy);
    if (proxy->kind != PS_KIND_PLAIN)
        return ps_error_set(PS_ERR_STATE, "ps_proxy_evict: '%s' is a borrow: a borrow never evicts its "
                            "owner's target (release it with ps_borrow_release)", proxy->key);
    st = proxy->future ? ps_future_evict_key(proxy->store, proxy->key)
                       : ps_store_evict_key(proxy->store, proxy->key);
    /* The handle is released even if the evict failed; keep its error. */
    ps_saved_error saved;
    ps_error_save(&saved);
    ps_proxy_free(proxy);
    if (st != PS_OK)
        ps_error_restore(&saved);
    return st;
}

/* ------------------------------------------------------------------ facts */

const char *ps_proxy_type_name(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_type_name") == PS_OK ? proxy->type_name : NULL;
}

size_t ps_proxy_size(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_size") == PS_OK ? proxy->size : 0;
}

size_t ps_proxy_count(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_count") == PS_OK ? proxy->count : 0;
}

uint64_t ps_proxy_hash(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_hash") == PS_OK ? proxy->hash : 0;
}

const char *ps_proxy_key(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_key") == PS_OK ? proxy->key : NULL;
}

ps_store *ps_proxy_store(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_store") == PS_OK ? proxy->store : NULL;
}

bool ps_proxy_is_resolved(const ps_proxy_t *proxy)
{
    if (ps_proxy_check(proxy, "ps_proxy_is_resolved") != PS_OK)
        return false;
    ps_proxy_t *p = (ps_proxy_t *)proxy;
    pthread_mutex_lock(&p->lock);
    bool resolved = p->state == PROXY_RESOLVED;
    pthread_mutex_unlock(&p->lock);
    return resolved;
}

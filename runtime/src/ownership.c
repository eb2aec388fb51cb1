/*
 * ownership.c — owned proxies, shared and exclusive borrows, moves across
 * processes (docs/ownership.md).
 *
 * In one process the rules cost no store round trip: an owner counts its
 * live borrows under its own lock.  A borrow that leaves the process (it is
 * serialized, which moves it) becomes a *borrow record* in the store,
 * "psborrow.<id>", an empty object with an expiry that its holder renews
 * from the timer thread (every third of the lease); the owner remembers the
 * ids of its borrows that left and asks the store, in one batch, whether
 * their records still exist before it lets itself be released, moved,
 * updated or exclusively borrowed.  A holder that dies stops renewing, and
 * its record expires: on Redis the server deletes it, on shm and file the
 * expiry in its header makes it read as missing.
 *
 * Every move (an owner or a borrow serialized) also writes a *move token*
 * "psmove.<id>" that the descriptor names; deserializing claims the token
 * (an atomic remove that only one claimer wins), so a descriptor turns into
 * a live handle exactly once, in whichever process comes first.
 *
 * Locking: an owner's lock (its proxy lock) guards its borrow counts, its
 * list of borrows that left, and its private mutable copy; store I/O for
 * the remote check runs under it, so the check and the decision it allows
 * are one step.  A borrow made here points at its owner, which cannot be
 * released while the borrow lives.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "key.h"
#include "live_set.h"
#include "proxy.h"
#include "timer.h"

#define MOVE_PREFIX "psmove."
#define BORROW_PREFIX "psborrow."
#define ID_HEX 32

typedef struct remote_entry {
    char id[ID_HEX + 1];
    bool exclusive;
} remote_entry;

struct ps_owner_state {
    int shared;      /* live shared borrows made in this process */
    int exclusive;   /* 0 or 1 */
    remote_entry *remote; /* borrows that left this process */
    size_t nremote, cap;
    bool refresh;    /* an exclusive borrow elsewhere may have replaced the target */
};

/* A borrow that arrived in a descriptor: its record, renewed while alive. */
struct ps_remote_borrow {
    ps_timer renew;  /* first: the timer callback finds the borrow from it */
    ps_proxy_t *proxy;
    char id[ID_HEX + 1];
    unsigned lease_ms;
    bool lost;       /* a renewal found the record gone (guarded by proxy lock) */
};

static const char *kind_word(ps_proxy_kind kind)
{
    switch (kind) {
    case PS_KIND_OWNED: return "owned proxy";
    case PS_KIND_REF: return "shared borrow";
    case PS_KIND_REF_MUT: return "exclusive borrow";
    default: return "plain proxy";
    }
}

const char *ps_proxy_kind_name(ps_proxy_kind kind)
{
    switch (kind) {
    case PS_KIND_PLAIN: return "plain";
    case PS_KIND_OWNED: return "owned";
    case PS_KIND_REF: return "ref";
    case PS_KIND_REF_MUT: return "ref_mut";
    }
    return "unknown";
}

ps_proxy_kind ps_proxy_kind_of(const ps_proxy_t *proxy)
{
    return ps_proxy_check(proxy, "ps_proxy_kind_of") == PS_OK ? proxy->kind : PS_KIND_PLAIN;
}

static unsigned lease_of(const ps_store *store)
{
    unsigned ms = __atomic_load_n(&store->borrow_lease_ms, __ATOMIC_RELAXED);
    return ms ? ms : PS_STORE_DEFAULT_BORROW_LEASE_MS;
}

static void record_key(const char *id, char out[PS_KEY_MAX])
{
    snprintf(out, PS_KEY_MAX, BORROW_PREFIX "%s", id);
}

static void token_key(const char *id, char out[PS_KEY_MAX])
{
    snprintf(out, PS_KEY_MAX, MOVE_PREFIX "%s", id);
}

/* "3 shared borrows", "1 exclusive borrow" */
static void describe_borrows(int shared, int exclusive, char *out, size_t n)
{
    if (exclusive && shared)
        snprintf(out, n, "%d shared and %d exclusive borrow%s", shared, exclusive, exclusive > 1 ? "s" : "");
    else if (exclusive)
        snprintf(out, n, "%d exclusive borrow%s", exclusive, exclusive > 1 ? "s" : "");
    else
        snprintf(out, n, "%d shared borrow%s", shared, shared > 1 ? "s" : "");
}

/* ------------------------------------------------------------ the owner */

static ps_status need_kind(const ps_proxy_t *p, ps_proxy_kind want, const char *fn)
{
    if (p->kind == want)
        return PS_OK;
    return ps_error_set(PS_ERR_STATE, "%s: '%s' is a %s, not a%s %s", fn, p->key, kind_word(p->kind),
                        want == PS_KIND_OWNED || want == PS_KIND_REF_MUT ? "n" : "", kind_word(want));
}

/*
 * Bring the owner's list of borrows that left up to date (one batch exists
 * on their records; a missing record is a borrow released or expired) and
 * count what is still alive.  Lock held.  No remote borrows: no I/O.
 */
static ps_status remote_alive(ps_proxy_t *owner, int *shared, int *exclusive)
{
    struct ps_owner_state *o = owner->owner_state;
    *shared = *exclusive = 0;
    if (o->nremote == 0)
        return PS_OK;
    char (*keys)[PS_KEY_MAX] = ps_calloc(o->nremote, sizeof *keys);
    const char **names = ps_calloc(o->nremote, sizeof *names);
    bool *alive = ps_calloc(o->nremote, sizeof *alive);
    ps_status st = keys && names && alive ? PS_OK : PS_ERR_NO_MEMORY;
    for (size_t i = 0; st == PS_OK && i < o->nremote; i++) {
        record_key(o->remote[i].id, keys[i]);
        names[i] = keys[i];
    }
    if (st == PS_OK)
        st = ps_store_exists_keys(owner->store, o->nremote, names, alive);
    if (st == PS_OK) {
        size_t kept = 0;
        for (size_t i = 0; i < o->nremote; i++) {
            if (!alive[i])
                continue;
            if (o->remote[i].exclusive)
                (*exclusive)++;
            else
                (*shared)++;
            o->remote[kept++] = o->remote[i];
        }
        o->nremote = kept;
    } else {
        ps_error_wrap("checking the borrows of '%s' held by other processes", owner->key);
    }
    free(keys);
    free(names);
    free(alive);
    return st;
}

/* PS_OK if the owner has no live borrow anywhere; else PS_ERR_STATE naming
 * what it was about to do.  Lock held. */
static ps_status no_borrows(ps_proxy_t *owner, const char *fn, const char *doing)
{
    struct ps_owner_state *o = owner->owner_state;
    char what[96];
    if (o->shared || o->exclusive) {
        describe_borrows(o->shared, o->exclusive, what, sizeof what);
        return ps_error_set(PS_ERR_STATE, "%s: owned proxy '%s' %s while %s %s outstanding (release %s "
                            "first)", fn, owner->key, doing, what, o->shared + o->exclusive > 1 ? "are" : "is",
                            o->shared + o->exclusive > 1 ? "them" : "it");
    }
    int shared, exclusive;
    ps_status st = remote_alive(owner, &shared, &exclusive);
    if (st != PS_OK)
        return st;
    if (shared || exclusive) {
        describe_borrows(shared, exclusive, what, sizeof what);
        return ps_error_set(PS_ERR_STATE, "%s: owned proxy '%s' %s while %s in other processes %s "
                            "outstanding (they must release first, or their lease of %u ms run out)", fn,
                            owner->key, doing, what, shared + exclusive > 1 ? "are" : "is",
                            lease_of(owner->store));
    }
    return PS_OK;
}

static void free_mut_copy(ps_proxy_t *p)
{
    if (p->mut_obj) {
        ps_object_free(p->type, p->mut_obj);
        p->mut_obj = NULL;
    }
}

/* Wait until no resolve of p is in flight.  Lock held. */
static void wait_fetch(ps_proxy_t *p)
{
    while (p->state == PROXY_FETCHING)
        pthread_cond_wait(&p->changed, &p->lock);
}

/* Forget what the handle resolved (the stored object changed).  Lock held. */
static void drop_resolved(ps_proxy_t *p)
{
    wait_fetch(p);
    ps_resolved_release(p->resolved);
    p->resolved = NULL;
    p->state = PROXY_UNRESOLVED;
}

/* After an exclusive borrow in another process: read the stored object's
 * facts anew (one fetch, which also resolves the owner).  Lock held. */
static ps_status refresh_owner(ps_proxy_t *owner)
{
    struct ps_owner_state *o = owner->owner_state;
    if (!o->refresh)
        return PS_OK;
    drop_resolved(owner);
    ps_cache_remove(&owner->store->cache, owner->key);
    ps_resolved *r;
    ps_status st = ps_store_resolve(owner->store, owner->key, owner->type, &r, NULL);
    if (st != PS_OK)
        return st;
    ps_proxy_adopt_facts(owner, &r->info);
    owner->resolved = r;
    owner->state = PROXY_RESOLVED;
    o->refresh = false;
    return PS_OK;
}

static ps_proxy_t *make_kind(ps_store *store, const ps_type *type, const char *key, const ps_proxy_facts *facts,
                             ps_proxy_kind kind)
{
    ps_proxy_t *p = ps_proxy_make(store, type, key, facts);
    if (!p)
        return NULL;
    p->kind = kind;
    if (kind == PS_KIND_OWNED && !(p->owner_state = ps_calloc(1, sizeof *p->owner_state))) {
        ps_live_set_remove(&ps_live_proxies, p);
        ps_proxy_destroy(p);
        return NULL;
    }
    return p;
}

static void facts_of(const ps_proxy_t *p, ps_proxy_facts *f)
{
    *f = (ps_proxy_facts){p->type_name, p->elem_size, p->count, p->size, p->hash, p->pod};
}

static void facts_from_info(ps_proxy_facts *f, const char *type_name, const ps_object_info *info)
{
    *f = (ps_proxy_facts){type_name, info->elem_size, info->count, info->payload_len, info->payload_hash,
                          info->flags == PS_OBJECT_POD};
}

ps_proxy_t *ps_owned_array(ps_store *store, const ps_type *type, const void *obj, size_t count)
{
    ps_proxy_t *plain = ps_proxy_array(store, type, obj, count);
    if (!plain)
        return NULL;
    ps_proxy_t *owner = ps_into_owned(plain);
    if (!owner) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_proxy_evict(plain);
        ps_error_restore(&saved);
    }
    return owner;
}

ps_proxy_t *ps_owned(ps_store *store, const ps_type *type, const void *obj)
{
    return ps_owned_array(store, type, obj, 1);
}

ps_proxy_t *ps_into_owned(ps_proxy_t *proxy)
{
    if (ps_proxy_check(proxy, "ps_into_owned") != PS_OK || need_kind(proxy, PS_KIND_PLAIN, "ps_into_owned") != PS_OK)
        return NULL;
    pthread_mutex_lock(&proxy->lock);
    bool in_lifetime = proxy->in_lifetime;
    pthread_mutex_unlock(&proxy->lock);
    if (in_lifetime) {
        ps_error_set(PS_ERR_STATE, "ps_into_owned: '%s' belongs to a lifetime, which evicts it when it ends; "
                     "an owned proxy cannot also be in a lifetime", proxy->key);
        return NULL;
    }
    ps_proxy_facts facts;
    facts_of(proxy, &facts);
    ps_proxy_t *owner = make_kind(proxy->store, proxy->type, proxy->key, &facts, PS_KIND_OWNED);
    if (!owner)
        return NULL;
    if (!ps_live_set_remove(&ps_live_proxies, proxy)) { /* freed meanwhile by another thread */
        ps_live_set_remove(&ps_live_proxies, owner);
        ps_proxy_destroy(owner);
        ps_error_set(PS_ERR_STATE, "ps_into_owned: the proxy was released while being converted");
        return NULL;
    }
    /* The resolved target goes with the ownership. */
    pthread_mutex_lock(&proxy->lock);
    wait_fetch(proxy);
    owner->resolved = proxy->resolved;
    owner->state = proxy->state;
    proxy->resolved = NULL;
    proxy->state = PROXY_UNRESOLVED;
    pthread_mutex_unlock(&proxy->lock);
    ps_proxy_mark_moved(proxy);
    ps_proxy_destroy(proxy);
    ps_store_disown(owner->store, owner->key);
    return owner;
}

/* Remove a live owner from the live set and free it; lock not held. */
static void retire(ps_proxy_t *p)
{
    if (ps_live_set_remove(&ps_live_proxies, p))
        ps_proxy_destroy(p);
}

ps_status ps_owned_release(ps_proxy_t *owner)
{
    ps_status st = ps_proxy_check(owner, "ps_owned_release");
    if (st != PS_OK || (st = need_kind(owner, PS_KIND_OWNED, "ps_owned_release")) != PS_OK)
        return st;
    pthread_mutex_lock(&owner->lock);
    st = no_borrows(owner, "ps_owned_release", "cannot be released");
    if (st == PS_OK)
        st = ps_store_evict_key(owner->store, owner->key);
    pthread_mutex_unlock(&owner->lock);
    if (st == PS_OK)
        retire(owner);
    return st;
}

/* ------------------------------------------------------------- borrows */

static ps_proxy_t *borrow(ps_proxy_t *owner, bool exclusive, const char *fn)
{
    if (ps_proxy_check(owner, fn) != PS_OK || need_kind(owner, PS_KIND_OWNED, fn) != PS_OK)
        return NULL;
    struct ps_owner_state *o = owner->owner_state;
    pthread_mutex_lock(&owner->lock);
    ps_status st = PS_OK;
    char what[96];
    if (exclusive) {
        st = no_borrows(owner, fn, "cannot be borrowed exclusively");
    } else if (o->exclusive) {
        st = ps_error_set(PS_ERR_STATE, "%s: owned proxy '%s' cannot be borrowed (shared) while an exclusive "
                          "borrow is outstanding", fn, owner->key);
    } else if (o->nremote) {
        int shared, excl;
        bool any_exclusive = false;
        for (size_t i = 0; i < o->nremote; i++)
            any_exclusive |= o->remote[i].exclusive;
        if (any_exclusive && (st = remote_alive(owner, &shared, &excl)) == PS_OK && excl) {
            describe_borrows(0, excl, what, sizeof what);
            st = ps_error_set(PS_ERR_STATE, "%s: owned proxy '%s' cannot be borrowed (shared) while %s in "
                              "another process is outstanding", fn, owner->key, what);
        }
    }
    if (st == PS_OK)
        st = refresh_owner(owner);
    ps_proxy_t *b = NULL;
    if (st == PS_OK) {
        ps_proxy_facts facts;
        facts_of(owner, &facts);
        b = make_kind(owner->store, owner->type, owner->key, &facts, exclusive ? PS_KIND_REF_MUT : PS_KIND_REF);
    }
    if (b) {
        b->owner = owner;
        if (exclusive) {
            o->exclusive++;
            /* The owner's views end here: the borrow may replace the target. */
            drop_resolved(owner);
            free_mut_copy(owner);
        } else {
            o->shared++;
        }
    }
    pthread_mutex_unlock(&owner->lock);
    return b;
}

ps_proxy_t *ps_borrow(ps_proxy_t *owner)
{
    return borrow(owner, false, "ps_borrow");
}

ps_proxy_t *ps_borrow_mut(ps_proxy_t *owner)
{
    return borrow(owner, true, "ps_borrow_mut");
}

/* Give a borrow made here back to its owner. */
static void return_to_owner(ps_proxy_t *b)
{
    ps_proxy_t *owner = b->owner;
    pthread_mutex_lock(&owner->lock);
    if (b->kind == PS_KIND_REF_MUT)
        owner->owner_state->exclusive--;
    else
        owner->owner_state->shared--;
    pthread_mutex_unlock(&owner->lock);
}

static void renew_fire(ps_timer *t)
{
    struct ps_remote_borrow *rb = (struct ps_remote_borrow *)t;
    char key[PS_KEY_MAX];
    record_key(rb->id, key);
    ps_saved_error saved;
    ps_error_save(&saved); /* the timer thread's own errors are nobody's news */
    ps_status st = ps_store_set_expiry(rb->proxy->store, key, ps_unix_ms() + rb->lease_ms);
    ps_error_restore(&saved);
    if (st == PS_ERR_NOT_FOUND) {
        pthread_mutex_lock(&rb->proxy->lock);
        rb->lost = true;
        pthread_mutex_unlock(&rb->proxy->lock);
        return;
    }
    /* A failed renewal (server briefly away) is retried at the next tick;
     * the lease has two more ticks of slack. */
    ps_timer_arm(t, ps_timer_now_ns() + (uint64_t)rb->lease_ms * 1000000u / 3);
}

static ps_status release_remote(ps_proxy_t *b, const char *fn)
{
    struct ps_remote_borrow *rb = b->remote;
    ps_timer_cancel(&rb->renew);
    char key[PS_KEY_MAX];
    record_key(rb->id, key);
    ps_status st = ps_store_evict_key(b->store, key);
    if (st != PS_OK) {
        /* Keep the borrow (and its renewal) so the caller can retry. */
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_timer_arm(&rb->renew, ps_timer_now_ns() + (uint64_t)rb->lease_ms * 1000000u / 3);
        ps_error_restore(&saved);
        return ps_error_wrap("%s: releasing the borrow record of '%s'", fn, b->key);
    }
    pthread_mutex_lock(&b->lock);
    bool lost = rb->lost;
    pthread_mutex_unlock(&b->lock);
    retire(b);
    if (lost)
        return ps_error_set(PS_ERR_STATE, "%s: the borrow's lease had run out before its release (the "
                            "process was stalled longer than the lease): its owner may have been released "
                            "meanwhile", fn);
    return PS_OK;
}

ps_status ps_borrow_release(ps_proxy_t *b)
{
    ps_status st = ps_proxy_check(b, "ps_borrow_release");
    if (st != PS_OK)
        return st;
    if (b->kind != PS_KIND_REF && b->kind != PS_KIND_REF_MUT)
        return ps_error_set(PS_ERR_STATE, "ps_borrow_release: '%s' is a %s, not a borrow", b->key,
                            kind_word(b->kind));
    if (b->remote)
        return release_remote(b, "ps_borrow_release");
    if (!ps_live_set_remove(&ps_live_proxies, b))
        return ps_error_set(PS_ERR_STATE, "ps_borrow_release: the borrow was released twice at once");
    return_to_owner(b);
    ps_proxy_destroy(b);
    return PS_OK;
}

ps_status ps_ownership_release(ps_proxy_t *p)
{
    if (p->kind == PS_KIND_OWNED)
        return ps_owned_release(p);
    return ps_borrow_release(p);
}

ps_proxy_t *ps_owned_clone(ps_proxy_t *proxy)
{
    if (ps_proxy_check(proxy, "ps_owned_clone") != PS_OK ||
        ps_ownership_check_resolve(proxy, true, "ps_owned_clone") != PS_OK)
        return NULL;
    char key[PS_KEY_MAX];
    ps_object_info info;
    if (ps_store_copy_object(proxy->store, proxy->key, key, &info) != PS_OK)
        return NULL;
    ps_proxy_facts facts;
    facts_from_info(&facts, proxy->type_name, &info);
    ps_store_disown(proxy->store, key);
    ps_proxy_t *owner = make_kind(proxy->store, proxy->type, key, &facts, PS_KIND_OWNED);
    if (!owner) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_store_evict_key(proxy->store, key);
        ps_error_restore(&saved);
    }
    return owner;
}

/* ------------------------------------------------------------- resolves */

ps_status ps_ownership_check_resolve(ps_proxy_t *p, bool const_view, const char *fn)
{
    if (p->kind == PS_KIND_REF && !const_view)
        return ps_error_set(PS_ERR_STATE, "%s: '%s' is a shared borrow: its target is read-only, resolve it "
                            "with PS_RESOLVE_REF (ps_resolve_ref)", fn, p->key);
    if (p->kind != PS_KIND_OWNED)
        return PS_OK;
    pthread_mutex_lock(&p->lock);
    ps_status st = PS_OK;
    if (p->owner_state->exclusive)
        st = ps_error_set(PS_ERR_STATE, "%s: owned proxy '%s' is exclusively borrowed: only the borrow may "
                          "use the target until it is released", fn, p->key);
    else
        st = refresh_owner(p);
    pthread_mutex_unlock(&p->lock);
    return st;
}

const void *ps_resolve_ref(ps_proxy_t *proxy, const char *type_name, size_t elem_size)
{
    if (ps_proxy_check(proxy, "ps_resolve_ref") != PS_OK ||
        ps_ownership_check_resolve(proxy, true, "ps_resolve_ref") != PS_OK)
        return NULL;
    return ps_proxy_resolve_typed(proxy, type_name, elem_size, "ps_resolve_ref");
}

void *ps_resolve_mut(ps_proxy_t *proxy, const char *type_name, size_t elem_size)
{
    const char *fn = "ps_resolve_mut";
    if (ps_proxy_check(proxy, fn) != PS_OK || ps_proxy_check_type(proxy, type_name, elem_size, fn) != PS_OK)
        return NULL;
    if (proxy->kind != PS_KIND_OWNED && proxy->kind != PS_KIND_REF_MUT) {
        ps_error_set(PS_ERR_STATE, "%s: '%s' is a %s; only an owned proxy without borrows or an exclusive "
                     "borrow may be resolved for writing", fn, proxy->key, kind_word(proxy->kind));
        return NULL;
    }
    pthread_mutex_lock(&proxy->lock);
    ps_status st = proxy->kind == PS_KIND_OWNED ? no_borrows(proxy, fn, "cannot be resolved for writing")
                                               : PS_OK;
    if (st == PS_OK && proxy->kind == PS_KIND_OWNED)
        st = refresh_owner(proxy);
    if (st == PS_OK && !proxy->mut_obj) {
        ps_object_info info;
        void *obj;
        if ((st = ps_store_read_private(proxy->store, proxy->key, proxy->type, &obj, &info)) == PS_OK) {
            proxy->mut_obj = obj;
            ps_proxy_adopt_facts(proxy, &info);
        }
    }
    void *obj = st == PS_OK ? proxy->mut_obj : NULL;
    pthread_mutex_unlock(&proxy->lock);
    return obj;
}

ps_status ps_proxy_update(ps_proxy_t *proxy)
{
    const char *fn = "ps_proxy_update";
    ps_status st = ps_proxy_check(proxy, fn);
    if (st != PS_OK)
        return st;
    if (proxy->kind == PS_KIND_REF)
        return ps_error_set(PS_ERR_STATE, "%s: '%s' is a shared borrow: a shared borrow never writes its "
                            "target (take an exclusive borrow with ps_borrow_mut)", fn, proxy->key);
    if (proxy->kind == PS_KIND_PLAIN)
        return ps_error_set(PS_ERR_STATE, "%s: '%s' is a plain proxy: updates go through an owned proxy or an "
                            "exclusive borrow", fn, proxy->key);
    if (!proxy->type)
        return ps_error_set(PS_ERR_STATE, "%s: '%s' was deserialized without its type descriptor, which an "
                            "update needs to write the object", fn, proxy->key);
    pthread_mutex_lock(&proxy->lock);
    if (proxy->kind == PS_KIND_OWNED)
        st = no_borrows(proxy, fn, "cannot be updated");
    if (st == PS_OK && !proxy->mut_obj)
        st = ps_error_set(PS_ERR_STATE, "%s: '%s' was never resolved with PS_RESOLVE_MUT: there is no "
                          "modified target to write back", fn, proxy->key);
    ps_object_info info;
    if (st == PS_OK)
        st = ps_store_put_object(proxy->store, proxy->key, proxy->type, proxy->mut_obj, proxy->count, NULL,
                                 &info);
    if (st == PS_OK) {
        ps_store_disown(proxy->store, proxy->key);
        drop_resolved(proxy);
        ps_proxy_adopt_facts(proxy, &info);
    }
    pthread_mutex_unlock(&proxy->lock);
    /* A borrow made here tells its owner the new facts at once. */
    if (st == PS_OK && proxy->owner) {
        pthread_mutex_lock(&proxy->owner->lock);
        drop_resolved(proxy->owner);
        ps_proxy_adopt_facts(proxy->owner, &info);
        pthread_mutex_unlock(&proxy->owner->lock);
    }
    return st;
}

/* --------------------------------------------------------------- moves */

static ps_status new_id(char id[ID_HEX + 1])
{
    char key[PS_KEY_MAX];
    ps_status st = ps_key_generate(key);
    if (st == PS_OK) { /* a generated key is 32 hex digits */
        memcpy(id, key, ID_HEX);
        id[ID_HEX] = '\0';
    }
    return st;
}

/*
 * Before a descriptor of p is written: check the move is allowed, write
 * its move token (and, for a borrow leaving its owner's process, the
 * borrow record), and give the ids the descriptor carries.  move_id gets
 * the token id; for borrows, the record id is p's (remote) or is written
 * to borrow_id.
 */
ps_status ps_ownership_prepare_move(ps_proxy_t *p, ps_move *m)
{
    const char *fn = "ps_proxy_serialize";
    ps_status st = new_id(m->move_id);
    if (st != PS_OK)
        return st;
    char token[PS_KEY_MAX], record[PS_KEY_MAX];
    token_key(m->move_id, token);
    m->lease_ms = lease_of(p->store);
    if (p->kind == PS_KIND_OWNED) {
        pthread_mutex_lock(&p->lock);
        st = no_borrows(p, fn, "cannot move");
        if (st == PS_OK)
            st = ps_store_put_markers(p->store, 1, (const char *const[]){token}, NULL);
        pthread_mutex_unlock(&p->lock);
        m->borrow_id[0] = '\0';
        return st;
    }
    if (p->remote) { /* moving on: the record stays, its new holder renews it */
        snprintf(m->borrow_id, sizeof m->borrow_id, "%s", p->remote->id);
        m->lease_ms = p->remote->lease_ms;
        ps_timer_cancel(&p->remote->renew);
        st = ps_store_put_markers(p->store, 1, (const char *const[]){token}, NULL);
        if (st == PS_OK) { /* the receiver has a full lease to arrive in */
            record_key(m->borrow_id, record);
            st = ps_store_set_expiry(p->store, record, ps_unix_ms() + m->lease_ms);
        }
        if (st != PS_OK) {
            ps_saved_error saved;
            ps_error_save(&saved);
            ps_timer_arm(&p->remote->renew, ps_timer_now_ns());
            ps_error_restore(&saved);
        }
        return st;
    }
    if ((st = new_id(m->borrow_id)) != PS_OK)
        return st;
    record_key(m->borrow_id, record);
    const char *keys[2] = {record, token};
    uint64_t expiry[2] = {ps_unix_ms() + m->lease_ms, 0};
    return ps_store_put_markers(p->store, 2, keys, expiry);
}

/* After the descriptor was written (moved) or could not be (the move is
 * undone: its token removed, the handle kept). */
void ps_ownership_finish_move(ps_proxy_t *p, const ps_move *m, bool moved)
{
    char token[PS_KEY_MAX];
    token_key(m->move_id, token);
    if (!moved) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_store_evict_key(p->store, token);
        if (p->kind != PS_KIND_OWNED && !p->remote) {
            char record[PS_KEY_MAX];
            record_key(m->borrow_id, record);
            ps_store_evict_key(p->store, record);
        }
        if (p->remote)
            ps_timer_arm(&p->remote->renew, ps_timer_now_ns());
        ps_error_restore(&saved);
        return;
    }
    if (!ps_live_set_remove(&ps_live_proxies, p))
        return;
    if (p->owner) { /* a borrow leaving its owner's process: counted in the store from now on */
        ps_proxy_t *owner = p->owner;
        struct ps_owner_state *o = owner->owner_state;
        pthread_mutex_lock(&owner->lock);
        if (o->nremote == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 4;
            remote_entry *grown = realloc(o->remote, cap * sizeof *grown);
            if (grown) {
                o->remote = grown;
                o->cap = cap;
            }
        }
        if (o->nremote < o->cap) {
            remote_entry *e = &o->remote[o->nremote++];
            snprintf(e->id, sizeof e->id, "%s", m->borrow_id);
            e->exclusive = p->kind == PS_KIND_REF_MUT;
        }
        /* (Out of memory here loses track of the borrow: the owner could then
         * be released under it.  The record still exists; the holder's
         * resolve then fails with PS_ERR_NOT_FOUND rather than reading
         * freed data.) */
        if (p->kind == PS_KIND_REF_MUT) {
            o->exclusive--;
            o->refresh = true;
        } else {
            o->shared--;
        }
        pthread_mutex_unlock(&owner->lock);
    }
    ps_proxy_mark_moved(p);
    ps_proxy_destroy(p);
}

/* A handle made from a descriptor: claim its move token, and for a borrow
 * take over its record and start renewing it. */
ps_status ps_ownership_receive(ps_proxy_t *p, ps_proxy_kind kind, const ps_move *m)
{
    const char *fn = "ps_proxy_deserialize";
    char token[PS_KEY_MAX];
    token_key(m->move_id, token);
    bool claimed;
    ps_status st = ps_store_claim(p->store, token, &claimed);
    if (st != PS_OK)
        return st;
    if (!claimed)
        return ps_error_set(PS_ERR_STATE, "%s: this descriptor of %s '%s' was used already (an owned proxy or "
                            "a borrow moves once: deserialize each descriptor once)", fn, kind_word(kind), p->key);
    p->kind = kind;
    if (kind == PS_KIND_OWNED) {
        if (!(p->owner_state = ps_calloc(1, sizeof *p->owner_state)))
            return PS_ERR_NO_MEMORY;
        return PS_OK;
    }
    struct ps_remote_borrow *rb = ps_calloc(1, sizeof *rb);
    if (!rb)
        return PS_ERR_NO_MEMORY;
    rb->renew.fire = renew_fire;
    rb->proxy = p;
    rb->lease_ms = m->lease_ms;
    snprintf(rb->id, sizeof rb->id, "%s", m->borrow_id);
    char record[PS_KEY_MAX];
    record_key(rb->id, record);
    st = ps_store_set_expiry(p->store, record, ps_unix_ms() + rb->lease_ms);
    if (st == PS_ERR_NOT_FOUND)
        st = ps_error_set(PS_ERR_STATE, "%s: the %s of '%s' expired before it was received (its lease is %u "
                          "ms); its owner may be gone", fn, kind_word(kind), p->key, rb->lease_ms);
    if (st == PS_OK)
        st = ps_timer_arm(&rb->renew, ps_timer_now_ns() + (uint64_t)rb->lease_ms * 1000000u / 3);
    if (st != PS_OK) {
        free(rb);
        return st;
    }
    p->remote = rb;
    return PS_OK;
}

/* ---------------------------------------------------------- destruction */

void ps_ownership_destroy(ps_proxy_t *p)
{
    if (p->remote) {
        ps_timer_cancel(&p->remote->renew);
        free(p->remote);
        p->remote = NULL;
    }
    if (p->owner_state) {
        free(p->owner_state->remote);
        free(p->owner_state);
        p->owner_state = NULL;
    }
    free_mut_copy(p);
}

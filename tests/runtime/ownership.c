/*
 * ownership.c — owned proxies, borrows, moves and lifetimes, on one
 * connector (built once per connector with PS_CONTRACT_KIND, like
 * contract.c).  Crossing real process boundaries is test_ownership_cross.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proxystore/proxystore.h>

#include "object.h"
#include "store.h"
#include "test_urls.h"

#ifndef PS_CONTRACT_KIND
#error "PS_CONTRACT_KIND must name a connector"
#endif
#define KIND PS_CONTRACT_KIND
#define N 1000
#define LEASE_MS 400

static ps_store *store;
static char *url;
static int64_t data[N];

static void open_store(void)
{
    url = ps_test_url_for(KIND);
    cr_assert_not_null(url, "no URL for connector %s", KIND);
    ps_store_options opts = {.cache_size = -1, .borrow_lease_ms = LEASE_MS};
    store = ps_store_open("owners", url, &opts);
    cr_assert_not_null(store, "open %s: %s", url, ps_last_error_message());
    for (int i = 0; i < N; i++)
        data[i] = i * 3;
}

static void close_store(void)
{
    ps_store_close(store);
    free(url);
}

TestSuite(ownership, .init = open_store, .fini = close_store, .timeout = 120);

static bool stored(const char *key)
{
    bool there = false;
    cr_assert_eq(ps_store_exists(store, key, &there), PS_OK, "%s", ps_last_error_message());
    return there;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An end that a timer thread brings about is waited for, not slept for: on a
 * loaded machine the timer may run late, and a test must not fail for that.
 * The deadline only bounds a real hang. */
#define EVENTUALLY(cond, what)                                                                     \
    do {                                                                                           \
        for (int tries_ = 0; !(cond) && tries_ < 1000; tries_++)                                   \
            sleep_ms(10);                                                                          \
        cr_assert((cond), "%s", what);                                                             \
    } while (0)

/* A refused call: PS_ERR_STATE with a message holding needle. */
#define REFUSED(call, needle)                                                                          \
    do {                                                                                               \
        cr_assert_eq((call), PS_ERR_STATE, "%s: %s", #call, ps_last_error_message());                  \
        cr_assert(strstr(ps_last_error_message(), (needle)), "'%s' lacks '%s'", ps_last_error_message(), \
                  (needle));                                                                           \
    } while (0)
#define REFUSED_NULL(call, needle)                                                                     \
    do {                                                                                               \
        cr_assert_null((call), "%s was allowed", #call);                                               \
        REFUSED(ps_last_error_code(), needle);                                                         \
    } while (0)

static ps_proxy_t *make_owner(char key[PS_KEY_MAX])
{
    ps_proxy_t *o = ps_owned_array(store, &ps_type_int64, data, N);
    cr_assert_not_null(o, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_kind_of(o), PS_KIND_OWNED);
    snprintf(key, PS_KEY_MAX, "%s", ps_proxy_key(o));
    return o;
}

/* ------------------------------------------------------------ owners */

Test(ownership, releasing_the_owner_evicts_its_target)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    cr_assert(stored(key));
    const int64_t *v = PS_RESOLVE(int64_t, o);
    cr_assert_not_null(v, "%s", ps_last_error_message());
    cr_assert_eq(v[N - 1], (N - 1) * 3);
    cr_assert_eq(ps_owned_release(o), PS_OK, "%s", ps_last_error_message());
    cr_assert_not(stored(key));
    cr_assert_null(ps_proxy_key(o));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT, "a released handle is refused, not read");
}

Test(ownership, proxy_free_and_evict_on_an_owner_release_it)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_free(o);
    cr_assert_not(stored(key), "ps_proxy_free on an owner evicts like ps_owned_release");
    o = make_owner(key);
    cr_assert_eq(ps_proxy_evict(o), PS_OK);
    cr_assert_not(stored(key));
}

Test(ownership, release_while_borrowed_fails_and_loses_nothing)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *a = ps_borrow(o), *b = ps_borrow(o);
    cr_assert(a && b, "%s", ps_last_error_message());
    REFUSED(ps_owned_release(o), "2 shared borrows are outstanding");
    cr_assert(stored(key), "a refused release evicts nothing");
    ps_proxy_free(o); /* the same rule through ps_proxy_free */
    cr_assert_eq(ps_last_error_code(), PS_ERR_STATE);
    cr_assert(stored(key));
    cr_assert_eq(ps_borrow_release(a), PS_OK);
    /* The refused release above kept the owner: */
    REFUSED(ps_owned_release(o), "1 shared borrow is outstanding"); // ps-check-ignore: ps-use-after-free
    cr_assert_eq(ps_borrow_release(b), PS_OK);
    cr_assert_eq(ps_owned_release(o), PS_OK, "%s", ps_last_error_message()); // ps-check-ignore: ps-use-after-free
    cr_assert_not(stored(key));
}

Test(ownership, plain_proxy_made_owned_is_gone)
{
    int64_t x = 42;
    ps_proxy_t *plain = ps_proxy(store, &ps_type_int64, &x);
    char key[PS_KEY_MAX];
    snprintf(key, sizeof key, "%s", ps_proxy_key(plain));
    ps_proxy_t *o = ps_into_owned(plain);
    cr_assert_not_null(o, "%s", ps_last_error_message());
    REFUSED_NULL(ps_resolve(plain), "moved");
    REFUSED_NULL(ps_into_owned(o), "not a plain proxy");
    cr_assert_eq(*PS_RESOLVE(int64_t, o), 42);
    cr_assert_eq(ps_owned_release(o), PS_OK);
    cr_assert_not(stored(key));
}

/* ------------------------------------------------------------ borrows */

Test(ownership, many_shared_or_one_exclusive)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *s1 = ps_borrow(o), *s2 = ps_borrow(o);
    cr_assert(s1 && s2);
    cr_assert_eq(ps_proxy_kind_of(s1), PS_KIND_REF);
    REFUSED_NULL(ps_borrow_mut(o), "cannot be borrowed exclusively while 2 shared borrows");
    ps_borrow_release(s1);
    ps_borrow_release(s2);

    ps_proxy_t *x = ps_borrow_mut(o);
    cr_assert_not_null(x, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_kind_of(x), PS_KIND_REF_MUT);
    REFUSED_NULL(ps_borrow(o), "while an exclusive borrow is outstanding");
    REFUSED_NULL(ps_borrow_mut(o), "1 exclusive borrow");
    REFUSED_NULL(PS_RESOLVE(int64_t, o), "exclusively borrowed");
    cr_assert_eq(ps_borrow_release(x), PS_OK);

    /* sequential exclusive borrows are fine */
    x = ps_borrow_mut(o);
    cr_assert_not_null(x);
    REFUSED_NULL(ps_borrow(x), "not an owned proxy");
    cr_assert_eq(ps_borrow_release(x), PS_OK);
    cr_assert_eq(ps_owned_release(o), PS_OK);
}

Test(ownership, a_shared_borrow_resolves_const_only)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *r = ps_borrow(o);
    REFUSED_NULL(PS_RESOLVE(int64_t, r), "PS_RESOLVE_REF");
    REFUSED_NULL(PS_RESOLVE_MUT(int64_t, r), "only an owned proxy without borrows or an exclusive borrow");
    const int64_t *v = PS_RESOLVE_REF(int64_t, r);
    cr_assert_not_null(v, "%s", ps_last_error_message());
    cr_assert_eq(v[10], 30);
    REFUSED(ps_proxy_update(r), "a shared borrow never writes its target");
    cr_assert_null(PS_RESOLVE_REF(double, r));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    REFUSED(ps_proxy_evict(r), "a borrow never evicts");
    cr_assert_eq(ps_borrow_release(r), PS_OK); // ps-check-ignore: ps-use-after-free (the evict was refused)
    REFUSED(ps_borrow_release(o), "not a borrow");
    cr_assert_eq(ps_owned_release(o), PS_OK);
}

Test(ownership, update_through_the_exclusive_borrow_replaces_the_target)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    const int64_t *before = PS_RESOLVE_REF(int64_t, o);
    cr_assert_eq(before[5], 15);
    ps_proxy_t *x = ps_borrow_mut(o);
    REFUSED(ps_proxy_update(x), "never resolved with PS_RESOLVE_MUT");
    int64_t *w = PS_RESOLVE_MUT(int64_t, x);
    cr_assert_not_null(w, "%s", ps_last_error_message());
    for (int i = 0; i < N; i++)
        w[i] = -i;
    cr_assert_eq(ps_proxy_update(x), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_borrow_release(x), PS_OK);

    /* the owner, a new borrow, and a fresh handle on the key see the new version */
    const int64_t *now = PS_RESOLVE_REF(int64_t, o);
    cr_assert_not_null(now, "%s", ps_last_error_message());
    cr_assert_eq(now[5], -5);
    ps_proxy_t *r = ps_borrow(o);
    cr_assert_eq(PS_RESOLVE_REF(int64_t, r)[7], -7);
    ps_borrow_release(r);
    size_t count;
    int64_t *copy = ps_store_get(store, key, &ps_type_int64, &count);
    cr_assert_not_null(copy);
    cr_assert_eq(count, N);
    cr_assert_eq(copy[9], -9);
    ps_object_free(&ps_type_int64, copy);
    ps_proxy_t *fresh = ps_proxy_from_key(store, key, &ps_type_int64);
    cr_assert_not_null(fresh, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_hash(fresh), ps_proxy_hash(o), "the owner answers the new version's facts");
    ps_proxy_free(fresh);
    cr_assert_eq(ps_owned_release(o), PS_OK);
}

Test(ownership, update_rules_on_the_owner)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    REFUSED(ps_proxy_update(o), "never resolved with PS_RESOLVE_MUT");
    int64_t *w = PS_RESOLVE_MUT(int64_t, o);
    cr_assert_not_null(w);
    w[0] = 777;
    ps_proxy_t *r = ps_borrow(o);
    REFUSED(ps_proxy_update(o), "cannot be updated while 1 shared borrow is outstanding");
    ps_borrow_release(r);
    cr_assert_eq(ps_proxy_update(o), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(PS_RESOLVE_REF(int64_t, o)[0], 777);

    int64_t x = 1;
    ps_proxy_t *plain = ps_proxy(store, &ps_type_int64, &x);
    REFUSED(ps_proxy_update(plain), "plain proxy");
    REFUSED_NULL(PS_RESOLVE_MUT(int64_t, plain), "plain proxy");
    ps_proxy_evict(plain);
    cr_assert_eq(ps_owned_release(o), PS_OK);
}

Test(ownership, clone_is_a_new_owner_of_a_copy)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *c = ps_owned_clone(o);
    cr_assert_not_null(c, "%s", ps_last_error_message());
    cr_assert_str_neq(ps_proxy_key(c), key);
    cr_assert_eq(ps_proxy_hash(c), ps_proxy_hash(o));
    char ckey[PS_KEY_MAX];
    snprintf(ckey, sizeof ckey, "%s", ps_proxy_key(c));
    int64_t *w = PS_RESOLVE_MUT(int64_t, c);
    w[1] = 99;
    cr_assert_eq(ps_proxy_update(c), PS_OK);
    cr_assert_eq(PS_RESOLVE_REF(int64_t, o)[1], 3, "the original is untouched");
    ps_proxy_t *r = ps_borrow(o);
    ps_proxy_t *c2 = ps_owned_clone(r); /* from a borrow too */
    cr_assert_not_null(c2);
    ps_borrow_release(r);
    cr_assert_eq(ps_owned_release(o), PS_OK);
    cr_assert(stored(ckey));
    cr_assert_eq(ps_owned_release(c), PS_OK);
    cr_assert_eq(ps_owned_release(c2), PS_OK);
    cr_assert_not(stored(ckey));
}

/* -------------------------------------------------------------- moves */

Test(ownership, serializing_an_owner_moves_it_once)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    char *desc = ps_proxy_serialize(o);
    cr_assert_not_null(desc, "%s", ps_last_error_message());
    cr_assert(strstr(desc, "psproxy/2 ") == desc && strstr(desc, " own=owned "), "%s", desc);
    REFUSED_NULL(ps_resolve(o), "moved");
    REFUSED_NULL(ps_borrow(o), "moved");
    REFUSED_NULL(ps_owned_clone(o), "moved");
    REFUSED_NULL(ps_proxy_serialize(o), "moved");
    REFUSED(ps_owned_release(o), "moved");
    cr_assert(stored(key), "a move evicts nothing");

    ps_proxy_t *back = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(back, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_kind_of(back), PS_KIND_OWNED);
    REFUSED_NULL(ps_proxy_deserialize(desc, &ps_type_int64), "was used already");
    cr_assert_eq(PS_RESOLVE_REF(int64_t, back)[2], 6);
    cr_assert_eq(ps_owned_release(back), PS_OK);
    cr_assert_not(stored(key));
    free(desc);
}

Test(ownership, an_owner_does_not_move_while_borrowed)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *r = ps_borrow(o);
    REFUSED_NULL(ps_proxy_serialize(o), "cannot move while 1 shared borrow");
    cr_assert_eq(*PS_RESOLVE_REF(int64_t, o), 0, "the owner is still valid");
    ps_borrow_release(r);
    char *desc = ps_proxy_serialize(o);
    cr_assert_not_null(desc);
    ps_proxy_t *back = ps_proxy_deserialize(desc, NULL);
    cr_assert_not_null(back, "%s", ps_last_error_message());
    cr_assert_eq(ps_owned_release(back), PS_OK);
    free(desc);
}

Test(ownership, a_moved_borrow_is_counted_in_the_store)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *r = ps_borrow(o);
    char *desc = ps_proxy_serialize(r);
    cr_assert_not_null(desc, "%s", ps_last_error_message());
    cr_assert(strstr(desc, " own=ref ") && strstr(desc, " borrow="), "%s", desc);
    REFUSED(ps_borrow_release(r), "moved");
    REFUSED(ps_owned_release(o), "1 shared borrow in other processes is outstanding");

    ps_proxy_t *got = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    REFUSED_NULL(ps_proxy_deserialize(desc, &ps_type_int64), "was used already");
    cr_assert_eq(PS_RESOLVE_REF(int64_t, got)[4], 12);
    REFUSED(ps_owned_release(o), "other processes");
    REFUSED_NULL(ps_borrow_mut(o), "other processes");
    ps_proxy_t *beside = ps_borrow(o);
    cr_assert_not_null(beside, "a shared borrow beside a moved shared one is fine: %s", ps_last_error_message());
    cr_assert_eq(ps_borrow_release(got), PS_OK, "%s", ps_last_error_message());
    REFUSED(ps_owned_release(o), "1 shared borrow is outstanding");
    cr_assert_eq(ps_borrow_release(beside), PS_OK);
    cr_assert_eq(ps_owned_release(o), PS_OK, "the store saw the release: %s", ps_last_error_message());
    free(desc);
}

Test(ownership, an_unclaimed_borrow_expires_after_its_lease)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *x = ps_borrow_mut(o);
    char *desc = ps_proxy_serialize(x); /* sent, never received */
    cr_assert_not_null(desc);
    REFUSED(ps_owned_release(o), "1 exclusive borrow in other processes");
    sleep_ms(LEASE_MS + 300);
    cr_assert_eq(ps_owned_release(o), PS_OK, "the lease ran out: %s", ps_last_error_message());
    REFUSED_NULL(ps_proxy_deserialize(desc, &ps_type_int64), "expired before it was received");
    free(desc);
}

Test(ownership, a_received_borrow_is_renewed_while_held)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    ps_proxy_t *r = ps_borrow(o);
    char *desc = ps_proxy_serialize(r);
    ps_proxy_t *got = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    sleep_ms(LEASE_MS * 3); /* three leases: only renewal keeps it */
    REFUSED(ps_owned_release(o), "other processes");
    /* moving it on keeps it counted */
    char *again = ps_proxy_serialize(got);
    cr_assert_not_null(again, "%s", ps_last_error_message());
    ps_proxy_t *third = ps_proxy_deserialize(again, &ps_type_int64);
    cr_assert_not_null(third, "%s", ps_last_error_message());
    REFUSED(ps_owned_release(o), "other processes");
    cr_assert_eq(ps_borrow_release(third), PS_OK);
    cr_assert_eq(ps_owned_release(o), PS_OK, "%s", ps_last_error_message());
    free(desc);
    free(again);
}

Test(ownership, a_moved_exclusive_borrow_updates_for_the_owner)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    cr_assert_eq(PS_RESOLVE_REF(int64_t, o)[3], 9);
    ps_proxy_t *x = ps_borrow_mut(o);
    char *desc = ps_proxy_serialize(x);
    ps_proxy_t *got = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    int64_t *w = PS_RESOLVE_MUT(int64_t, got);
    cr_assert_not_null(w, "%s", ps_last_error_message());
    w[3] = 1234;
    cr_assert_eq(ps_proxy_update(got), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_borrow_release(got), PS_OK);
    const int64_t *v = PS_RESOLVE_REF(int64_t, o);
    cr_assert_not_null(v, "%s", ps_last_error_message());
    cr_assert_eq(v[3], 1234, "the owner sees the version its borrow wrote");
    cr_assert_eq(ps_owned_release(o), PS_OK);
    free(desc);
}

Test(ownership, descriptors_of_owners_are_checked)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    char *desc = ps_proxy_serialize(o);
    char *bad = strdup(desc);
    char *own = strstr(bad, " own=owned");
    memcpy(own, " own=owner", 10);
    cr_assert_null(ps_proxy_deserialize(bad, &ps_type_int64));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DESCRIPTOR, "%s", ps_last_error_message());
    snprintf(bad, strlen(desc) + 1, "%s", desc);
    char *mv = strstr(bad, " move=") + 6;
    mv[0] = 'z';
    cr_assert_null(ps_proxy_deserialize(bad, &ps_type_int64));
    cr_assert(strstr(ps_last_error_message(), "32 hex digits"), "%s", ps_last_error_message());
    ps_proxy_t *back = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(back, "the damaged copies claimed nothing: %s", ps_last_error_message());
    ps_owned_release(back);
    free(bad);
    free(desc);
}

/* --------------------------------------------------------- lifetimes */

Test(ownership, a_scope_evicts_what_it_holds_once)
{
    ps_lifetime *lt = ps_lifetime_scope();
    int64_t x = 5;
    ps_proxy_t *a = ps_lifetime_proxy(lt, store, &ps_type_int64, &x);
    ps_proxy_t *b = ps_proxy(store, &ps_type_int64, &x);
    cr_assert(a && b, "%s", ps_last_error_message());
    cr_assert_eq(ps_lifetime_add_proxy(lt, b), PS_OK);
    char ka[PS_KEY_MAX], kb[PS_KEY_MAX];
    snprintf(ka, sizeof ka, "%s", ps_proxy_key(a));
    snprintf(kb, sizeof kb, "%s", ps_proxy_key(b));
    cr_assert_eq(ps_store_put_key(store, "by-key", &ps_type_int64, &x, 1), PS_OK);
    cr_assert_eq(ps_lifetime_add_key(lt, store, "by-key"), PS_OK);
    REFUSED_NULL(ps_into_owned(a), "belongs to a lifetime");
    cr_assert(stored(ka) && stored(kb) && stored("by-key"));
    cr_assert_not(ps_lifetime_done(lt));
    cr_assert_eq(ps_lifetime_close(lt), PS_OK);
    cr_assert(ps_lifetime_done(lt));
    cr_assert_not(stored(ka) || stored(kb) || stored("by-key"));
    cr_assert_eq(ps_lifetime_close(lt), PS_OK, "closing twice is harmless");
    REFUSED(ps_lifetime_add_key(lt, store, "later"), "has ended");
    REFUSED_NULL(ps_lifetime_proxy(lt, store, &ps_type_int64, &x), "has ended");
    REFUSED(ps_lifetime_extend(lt, 10), "no expiry");
    ps_proxy_free(a);
    ps_proxy_free(b);
    cr_assert_eq(ps_lifetime_free(lt), PS_OK);
    cr_assert_eq(ps_lifetime_free(lt), PS_ERR_INVALID_ARGUMENT, "a freed handle is refused, not read");
}

Test(ownership, owned_proxies_and_lifetimes_do_not_mix)
{
    ps_lifetime *lt = ps_lifetime_scope();
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    REFUSED(ps_lifetime_add_proxy(lt, o), "cannot also be in a lifetime");
    ps_proxy_t *r = ps_borrow(o);
    REFUSED(ps_lifetime_add_proxy(lt, r), "cannot also be in a lifetime");
    ps_borrow_release(r);
    ps_lifetime_free(lt);
    cr_assert(stored(key), "the refused add changed nothing");
    cr_assert_eq(ps_owned_release(o), PS_OK);
}

Test(ownership, a_lease_ends_by_itself_and_extend_rearms_it)
{
    ps_lifetime *lt = ps_lifetime_lease(300);
    int64_t x = 9;
    ps_proxy_t *a = ps_lifetime_proxy(lt, store, &ps_type_int64, &x);
    cr_assert_not_null(a, "%s", ps_last_error_message());
    char ka[PS_KEY_MAX];
    snprintf(ka, sizeof ka, "%s", ps_proxy_key(a));
    cr_assert_eq(ps_lifetime_extend(lt, 3000), PS_OK, "%s", ps_last_error_message());
    sleep_ms(600); /* past the first end, long before the extended one */
    cr_assert_not(ps_lifetime_done(lt), "extend re-armed the timer");
    cr_assert(stored(ka), "the object's own expiry moved too");
    cr_assert_eq(ps_lifetime_extend(lt, 100), PS_OK, "%s", ps_last_error_message());
    EVENTUALLY(ps_lifetime_done(lt), "the extended lease ends by itself");
    cr_assert_not(stored(ka));
    REFUSED(ps_lifetime_extend(lt, 100), "has ended");
    ps_proxy_free(a);
    ps_lifetime_free(lt);
}

Test(ownership, an_expiry_is_kept_by_the_store_itself)
{
    /* What a lease relies on when its process is gone: the connector, not
     * this process's timer, makes the object read as missing. */
    int64_t x = 1;
    cr_assert_eq(ps_store_put_key(store, "expiring", &ps_type_int64, &x, 1), PS_OK);
    cr_assert_eq(ps_store_set_expiry(store, "expiring", ps_unix_ms() + 150), PS_OK, "%s", ps_last_error_message());
    cr_assert(stored("expiring"));
    sleep_ms(300);
    cr_assert_not(stored("expiring"));
    cr_assert_null(ps_store_get(store, "expiring", &ps_type_int64, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert_eq(ps_store_set_expiry(store, "expiring", ps_unix_ms() + 1000), PS_ERR_NOT_FOUND);
    /* claim: exactly once */
    cr_assert_eq(ps_store_put_key(store, "token", &ps_type_int64, &x, 1), PS_OK);
    bool first = false, second = true;
    cr_assert_eq(ps_store_claim(store, "token", &first), PS_OK);
    cr_assert_eq(ps_store_claim(store, "token", &second), PS_OK);
    cr_assert(first && !second);
}

Test(ownership, the_static_lifetime_is_one_handle)
{
    ps_lifetime *s = ps_lifetime_static();
    cr_assert_not_null(s);
    cr_assert_eq(ps_lifetime_static(), s);
    REFUSED(ps_lifetime_free(s), "lasts until exit");
    int64_t x = 3;
    ps_proxy_t *p = ps_lifetime_proxy(s, store, &ps_type_int64, &x);
    cr_assert_not_null(p);
    ps_proxy_free(p);
}

typedef struct race {
    ps_lifetime *lt;
    int extended, refused;
} race;

static void *keep_extending(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 2000; i++) {
        ps_status st = ps_lifetime_extend(r->lt, 0);
        if (st == PS_OK)
            r->extended++;
        else if (st == PS_ERR_STATE)
            r->refused++;
        else
            cr_assert_fail("extend: %s", ps_last_error_message());
    }
    return NULL;
}

Test(ownership, extend_racing_the_expiry)
{
    race r = {ps_lifetime_lease(2), 0, 0};
    int64_t x = 4;
    ps_proxy_t *p = ps_lifetime_proxy(r.lt, store, &ps_type_int64, &x);
    cr_assert_not_null(p);
    pthread_t t;
    pthread_create(&t, NULL, keep_extending, &r);
    pthread_join(t, NULL);
    EVENTUALLY(ps_lifetime_done(r.lt), "a lease extended by 0 still ends");
    cr_assert_eq(r.extended + r.refused, 2000);
    bool there = true;
    ps_store_exists(store, ps_proxy_key(p), &there);
    cr_assert_not(there);
    ps_proxy_free(p);
    ps_lifetime_free(r.lt);
}

/* ------------------------------------------------------------ threads */

typedef struct worker {
    ps_proxy_t *owner;
    int shared_ok, exclusive_ok;
} worker;

static void *borrow_loop(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 300; i++) {
        if (i % 10 == 0) {
            ps_proxy_t *x = ps_borrow_mut(w->owner);
            if (!x) {
                cr_assert_eq(ps_last_error_code(), PS_ERR_STATE, "%s", ps_last_error_message());
                continue;
            }
            int64_t *v = PS_RESOLVE_MUT(int64_t, x);
            cr_assert_not_null(v, "%s", ps_last_error_message());
            v[0]++;
            cr_assert_eq(ps_proxy_update(x), PS_OK, "%s", ps_last_error_message());
            cr_assert_eq(ps_borrow_release(x), PS_OK);
            w->exclusive_ok++;
        } else {
            ps_proxy_t *r = ps_borrow(w->owner);
            if (!r) {
                cr_assert_eq(ps_last_error_code(), PS_ERR_STATE, "%s", ps_last_error_message());
                continue;
            }
            const int64_t *v = PS_RESOLVE_REF(int64_t, r);
            cr_assert_not_null(v, "%s", ps_last_error_message());
            cr_assert_eq(v[1], 3, "the rest of the target never changes");
            cr_assert_eq(ps_borrow_release(r), PS_OK);
            w->shared_ok++;
        }
    }
    return NULL;
}

Test(ownership, many_threads_borrow_one_owner)
{
    char key[PS_KEY_MAX];
    ps_proxy_t *o = make_owner(key);
    enum { T = 6 };
    worker w[T];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker){o, 0, 0};
        pthread_create(&t[i], NULL, borrow_loop, &w[i]);
    }
    int updates = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        updates += w[i].exclusive_ok;
    }
    cr_assert_gt(updates, 0);
    cr_assert_eq(PS_RESOLVE_REF(int64_t, o)[0], updates, "every update landed once");
    cr_assert_eq(ps_owned_release(o), PS_OK, "no borrow left behind: %s", ps_last_error_message());
}

Test(ownership, a_lease_that_expires_during_use)
{
    ps_lifetime *lt = ps_lifetime_lease(250);
    int64_t v[16];
    for (int i = 0; i < 16; i++)
        v[i] = 100 + i;
    ps_proxy_t *p = ps_lifetime_proxy(lt, store, &ps_type_int64, v);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    char key[PS_KEY_MAX];
    snprintf(key, sizeof key, "%s", ps_proxy_key(p));
    const int64_t *got = PS_RESOLVE(int64_t, p); /* resolved while the lease holds */
    cr_assert_not_null(got);
    EVENTUALLY(ps_lifetime_done(lt), "the lease ends while its target is in use");
    cr_assert_eq(got[0], 100, "a target resolved before the end stays readable through its handle");
    ps_proxy_t *late = ps_proxy_from_key(store, key, &ps_type_int64);
    cr_assert_null(late, "a handle made after the end finds nothing");
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND, "%s", ps_last_error_message());
    ps_proxy_free(p);
    ps_lifetime_free(lt);
}

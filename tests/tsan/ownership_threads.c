/*
 * ownership_threads.c — many threads borrow, resolve, update and release
 * one owner while a lease is extended against its own expiry; built with
 * ThreadSanitizer by scripts/tsan.sh (Criterion's runner does not run
 * under TSan, so this is a plain program).  Exit 0 only if every update
 * landed and the owner could be released at the end; TSan makes any data
 * race a failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <proxystore/proxystore.h>

#include "run_threads.h"

#define THREADS 4
#define ROUNDS 3000

static ps_proxy_t *owner;
static ps_lifetime *lease;
static int updates[THREADS];

static void *work(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 10 == 0) {
            ps_proxy_t *x = ps_borrow_mut(owner);
            if (x) {
                int64_t *v = PS_RESOLVE_MUT(int64_t, x);
                if (!v)
                    abort();
                v[0]++;
                if (ps_proxy_update(x) != PS_OK || ps_borrow_release(x) != PS_OK)
                    abort();
                updates[id]++;
            }
        } else {
            ps_proxy_t *r = ps_borrow(owner);
            if (r) {
                const int64_t *v = PS_RESOLVE_REF(int64_t, r);
                if (!v || v[1] != 7 || ps_borrow_release(r) != PS_OK)
                    abort();
            }
        }
        if (i % 100 == 0) {
            ps_status st = ps_lifetime_extend(lease, 1);
            if (st != PS_OK && st != PS_ERR_STATE)
                abort();
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "local://";
    ps_store *s = ps_store_open("tsan", url, NULL);
    if (!s)
        return 2;
    int64_t d[64] = {0, 7};
    owner = ps_owned_array(s, &ps_type_int64, d, 64);
    lease = ps_lifetime_lease(3);
    int64_t x = 1;
    ps_proxy_t *leased = ps_lifetime_proxy(lease, s, &ps_type_int64, &x);
    if (!owner || !lease || !leased)
        return 2;
    run_threads(work, THREADS);
    int total = 0;
    for (int i = 0; i < THREADS; i++)
        total += updates[i];
    const int64_t *v = PS_RESOLVE_REF(int64_t, owner);
    int ok = v && v[0] == total && total > 0;
    printf("%s: %d updates, owner holds %lld\n", url, total, v ? (long long)v[0] : -1LL);
    ps_proxy_free(leased);
    ps_lifetime_free(lease);
    ok = ok && ps_owned_release(owner) == PS_OK;
    ps_store_close(s);
    return ok ? 0 : 1;
}

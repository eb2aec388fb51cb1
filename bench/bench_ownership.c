/*
 * bench_ownership.c — what ownership costs, beside plain proxies measured in
 * the same run (bench/ownership.sh; figures in docs/benchmarks.md).
 *
 * Per connector:
 *   borrow        ps_borrow + ps_borrow_release of an owner, in-process
 *                 (the rules are counted in the owner's memory: no store I/O)
 *   mut borrow    ps_borrow_mut + ps_borrow_release
 *   plain proxy   ps_proxy + ps_proxy_free of an 8-byte object (the
 *                 reference: what making and dropping a handle costs today)
 *   scope x1000   ps_lifetime_scope, 1000 ps_lifetime_proxy, ps_lifetime_free
 *                 (evicts all), against 1000 ps_proxy + ps_proxy_evict
 *   moved borrow  a borrow serialized, deserialized (as another process
 *                 would) and released: the store operations a borrow that
 *                 crosses processes costs, in units of one exists (one round
 *                 trip on Redis) measured alongside.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxystore/proxystore.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ownership: %s: %s (%s)\n", what, ps_status_name(ps_last_error_code()),
            ps_last_error_message());
    exit(1);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over rounds of the per-operation time of fn run n times. */
#define ROUNDS 7
typedef void (*op_fn)(void *ctx, int n);
static double per_op(op_fn fn, void *ctx, int n)
{
    double t[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double start = now_ns();
        fn(ctx, n);
        t[r] = (now_ns() - start) / n;
    }
    qsort(t, ROUNDS, sizeof *t, cmp);
    return t[ROUNDS / 2];
}

typedef struct ctx {
    ps_store *store;
    ps_proxy_t *owner;
    char key[PS_KEY_MAX];
} ctx;

static void borrow_pairs(void *arg, int n)
{
    ctx *c = arg;
    for (int i = 0; i < n; i++) {
        ps_proxy_t *b = ps_borrow(c->owner);
        if (!b || ps_borrow_release(b) != PS_OK)
            die("borrow");
    }
}

static void mut_borrow_pairs(void *arg, int n)
{
    ctx *c = arg;
    for (int i = 0; i < n; i++) {
        ps_proxy_t *b = ps_borrow_mut(c->owner);
        if (!b || ps_borrow_release(b) != PS_OK)
            die("borrow_mut");
    }
}

static void plain_pairs(void *arg, int n)
{
    ctx *c = arg;
    int64_t x = 7;
    for (int i = 0; i < n; i++) {
        ps_proxy_t *p = ps_proxy(c->store, &ps_type_int64, &x);
        if (!p)
            die("ps_proxy");
        ps_proxy_free(p);
    }
}

static void handle_pairs(void *arg, int n)
{
    ctx *c = arg;
    for (int i = 0; i < n; i++) {
        ps_proxy_t *p = ps_proxy_from_key(c->store, c->key, &ps_type_int64);
        if (!p)
            die("ps_proxy_from_key");
        ps_proxy_free(p);
    }
}

static void scope_1000(void *arg, int n)
{
    ctx *c = arg;
    int64_t x = 7;
    for (int r = 0; r < n; r++) {
        ps_lifetime *lt = ps_lifetime_scope();
        for (int i = 0; i < 1000; i++) {
            ps_proxy_t *p = ps_lifetime_proxy(lt, c->store, &ps_type_int64, &x);
            if (!p)
                die("ps_lifetime_proxy");
            ps_proxy_free(p);
        }
        if (ps_lifetime_free(lt) != PS_OK)
            die("ps_lifetime_free");
    }
}

static void plain_1000(void *arg, int n)
{
    ctx *c = arg;
    int64_t x = 7;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < 1000; i++) {
            ps_proxy_t *p = ps_proxy(c->store, &ps_type_int64, &x);
            if (!p || ps_proxy_evict(p) != PS_OK)
                die("ps_proxy + evict");
        }
}

static void moved_borrows(void *arg, int n)
{
    ctx *c = arg;
    for (int i = 0; i < n; i++) {
        char *d = ps_proxy_serialize(ps_borrow(c->owner));
        ps_proxy_t *b = d ? ps_proxy_deserialize(d, &ps_type_int64) : NULL;
        if (!b || ps_borrow_release(b) != PS_OK)
            die("moved borrow");
        free(d);
    }
}

static void exists_ops(void *arg, int n)
{
    ctx *c = arg;
    for (int i = 0; i < n; i++) {
        bool there;
        if (ps_store_exists(c->store, c->key, &there) != PS_OK)
            die("exists");
    }
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const char *redis = getenv("PS_BENCH_REDIS_URL");
    char shm[64], file[128];
    snprintf(shm, sizeof shm, "shm://bench-own-%d", (int)getpid());
    snprintf(file, sizeof file, "file:///tmp/ps-bench-own-%d", (int)getpid());
    const char *urls[] = {"local://", shm, file, redis};
    const char *names[] = {"local", "shm", "file", "redis"};
    int nborrow = quick ? 20000 : 200000, nplain = quick ? 200 : 2000, nscope = quick ? 1 : 3;
    printf("| connector | borrow+release | mut borrow+release | plain ps_proxy+free | handle from key+free | "
           "scope of 1000 | 1000 ps_proxy+evict | moved borrow | one exists |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < 4; k++) {
        if (!urls[k]) {
            printf("| %s | (PS_BENCH_REDIS_URL not set) |\n", names[k]);
            continue;
        }
        ctx c = {0};
        if (!(c.store = ps_store_open(names[k], urls[k], NULL)))
            die(urls[k]);
        int64_t v[1024] = {0};
        if (!(c.owner = ps_owned_array(c.store, &ps_type_int64, v, 1024)))
            die("ps_owned_array");
        int64_t x = 1;
        if (ps_store_put_key(c.store, "bench-key", &ps_type_int64, &x, 1) != PS_OK)
            die("put");
        snprintf(c.key, sizeof c.key, "bench-key");
        int nio = k == 3 ? nplain / 4 : nplain;
        double borrow = per_op(borrow_pairs, &c, nborrow);
        double mut = per_op(mut_borrow_pairs, &c, nborrow);
        double plain = per_op(plain_pairs, &c, nio);
        double handle = per_op(handle_pairs, &c, nio);
        double scope = per_op(scope_1000, &c, nscope);
        double p1000 = per_op(plain_1000, &c, nscope);
        double moved = per_op(moved_borrows, &c, nio / 4 > 10 ? nio / 4 : 10);
        double exists = per_op(exists_ops, &c, nio);
        printf("| %s | %.0f ns | %.0f ns | %.1f µs | %.1f µs | %.2f ms | %.2f ms (x%.2f) | %.1f µs | %.1f µs "
               "(x%.1f) |\n",
               names[k], borrow, mut, plain / 1e3, handle / 1e3, scope / 1e6, p1000 / 1e6, scope / p1000,
               moved / 1e3, exists / 1e3, moved / exists);
        if (ps_owned_release(c.owner) != PS_OK)
            die("release");
        ps_store_evict(c.store, "bench-key");
        ps_store_close(c.store);
    }
    printf("\nmoved borrow: serialize (borrow record + move token, one batch put), deserialize (claim the token, "
           "renew the record), release (evict the record); '(xN)' is in units of one exists.\n");
    return 0;
}

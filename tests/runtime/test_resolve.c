/*
 * test_resolve.c — proxies: typed resolution, telling proxies from other
 * pointers, resolve-once under concurrency, background prefetch, and
 * refusing pointers that are not live proxies.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

struct matrix {
    int rows, cols;
    double cells[16];
};
struct mesh {
    int nodes, edges;
    double coords[16];
};
static PS_TYPE_POD_DEFINE(matrix_type, struct matrix);

static ps_store *store;
static void setup(void) { store = ps_store_open("resolve", "local://", NULL); cr_assert_not_null(store); }
static void teardown(void) { ps_store_close(store); }
TestSuite(resolve, .init = setup, .fini = teardown);

static struct matrix sample(void)
{
    struct matrix m = {4, 4, {0}};
    for (int i = 0; i < 16; i++)
        m.cells[i] = i / 4.0;
    return m;
}

Test(resolve, typed_resolve_checks_name_and_size)
{
    struct matrix m = sample();
    ps_proxy_t *p = ps_proxy(store, &matrix_type, &m);
    cr_assert_not_null(p);

    /* same size, other name */
    cr_assert_eq(sizeof(struct mesh), sizeof(struct matrix));
    cr_assert_null(PS_RESOLVE(struct mesh, p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    const char *msg = ps_last_error_message();
    cr_assert(strstr(msg, "'struct matrix'") && strstr(msg, "'struct mesh'"), "%s", msg);
    cr_assert_not(ps_proxy_is_resolved(p), "a mismatch fetches nothing");

    /* same name, other size */
    cr_assert_null(ps_resolve_as(p, "struct matrix", sizeof(struct matrix) + 8));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);

    /* whitespace in the name does not matter */
    struct matrix *got = ps_resolve_as(p, "struct   matrix ", sizeof(struct matrix));
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(memcmp(got, &m, sizeof m), 0);
    cr_assert_eq(PS_RESOLVE(struct matrix, p), got);
    cr_assert_null(PS_RESOLVE(double, p), "a resolved proxy still checks the type");
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_proxy_free(p);
}

Test(resolve, is_proxy_never_reads_through_the_pointer)
{
    struct matrix m = sample();
    ps_proxy_t *p = ps_proxy(store, &matrix_type, &m);
    cr_assert(ps_is_proxy(p));
    cr_assert_not(ps_is_proxy(NULL));
    cr_assert_not(ps_is_proxy(&m));
    void *heap = malloc(64);
    cr_assert_not(ps_is_proxy(heap));
    free(heap);
    /* addresses that would crash if read */
    cr_assert_not(ps_is_proxy((void *)(uintptr_t)1));
    cr_assert_not(ps_is_proxy((void *)(uintptr_t)0xdeadbeef));
    cr_assert_not(ps_is_proxy((void *)UINTPTR_MAX));
    /* ps-check-ignore: ps-unresolved-proxy -- an interior pointer on purpose */
    cr_assert_not(ps_is_proxy((const char *)p + 1), "an interior pointer is not the proxy");
    uint64_t x = 0x243F6A8885A308D3ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        cr_assert_not(ps_is_proxy((void *)(uintptr_t)x) && (void *)(uintptr_t)x != (void *)p);
    }
    ps_proxy_free(p);
    cr_assert_not(ps_is_proxy(p), "a freed proxy is no longer one");
}

Test(resolve, many_live_proxies)
{
    enum { N = 2000 };
    static ps_proxy_t *ps[N];
    int v = 1;
    for (int i = 0; i < N; i++) {
        ps[i] = ps_proxy(store, &ps_type_int32, &v);
        cr_assert_not_null(ps[i]);
    }
    for (int i = 0; i < N; i += 2)
        ps_proxy_free(ps[i]);
    for (int i = 0; i < N; i++)
        cr_assert_eq(ps_is_proxy(ps[i]), i % 2 == 1, "proxy %d", i);
    for (int i = 1; i < N; i += 2)
        ps_proxy_evict(ps[i]);
    for (int i = 0; i < N; i++)
        cr_assert_not(ps_is_proxy(ps[i]));
}

Test(resolve, resolve_or)
{
    struct matrix m = sample();
    ps_proxy_t *p = ps_proxy(store, &matrix_type, &m);
    struct matrix *direct = &m;
    cr_assert_eq(PS_RESOLVE_OR(struct matrix, direct), &m, "a T * passes through untouched");
    struct matrix *via = PS_RESOLVE_OR(struct matrix, p);
    cr_assert_not_null(via);
    cr_assert_neq(via, &m);
    cr_assert_eq(memcmp(via, &m, sizeof m), 0);
    cr_assert_null(PS_RESOLVE_OR(struct mesh, p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    cr_assert_null(PS_RESOLVE_OR(struct matrix, NULL));
    ps_proxy_free(p);
}

Test(resolve, non_proxies_are_refused)
{
    struct matrix m = sample();
    void *fake = &m;
    cr_assert_null(ps_resolve(fake));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "not a live proxy"), "%s", ps_last_error_message());
    cr_assert_null(ps_resolve(NULL));
    cr_assert_null(ps_resolve_as(fake, "struct matrix", sizeof m));
    cr_assert_eq(ps_resolve_async(fake), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_proxy_evict(fake), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(ps_proxy_key(fake));
    cr_assert_null(ps_proxy_type_name(fake));
    cr_assert_eq(ps_proxy_size(fake), 0);
    cr_assert_eq(ps_proxy_count(fake), 0);
    cr_assert_eq(ps_proxy_hash(fake), 0);
    cr_assert_null(ps_proxy_store(fake));
    cr_assert_not(ps_proxy_is_resolved(fake));
    ps_proxy_free(fake);
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    ps_proxy_free(NULL);
}

Test(resolve, double_free_is_reported)
{
    int v = 3;
    ps_proxy_t *p = ps_proxy(store, &ps_type_int32, &v);
    ps_proxy_free(p);
    ps_proxy_free(p); // ps-check-ignore: ps-double-free (the runtime's detection is under test)
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "freed twice"), "%s", ps_last_error_message());
}

Test(resolve, a_changed_object_is_detected)
{
    int32_t before[4] = {1, 2, 3, 4}, after[4] = {1, 2, 3, 5};
    cr_assert_eq(ps_store_put_key(store, "mutable", &ps_type_int32, before, 4), PS_OK);
    ps_proxy_t *p = ps_proxy_from_key(store, "mutable", &ps_type_int32);
    char *desc = ps_proxy_serialize(p);
    ps_proxy_free(p);
    cr_assert_eq(ps_store_put_key(store, "mutable", &ps_type_int32, after, 4), PS_OK);
    p = ps_proxy_deserialize(desc, &ps_type_int32);
    cr_assert_not_null(p);
    cr_assert_null(ps_resolve(p), "the descriptor's hash does not match the stored object");
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "changed since the proxy was made"), "%s", ps_last_error_message());
    ps_proxy_free(p);
    free(desc);
}

Test(resolve, facts_without_resolving)
{
    double v[10] = {0};
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_double, v, 10);
    cr_assert_str_eq(ps_proxy_type_name(p), "double");
    cr_assert_eq(ps_proxy_count(p), 10);
    cr_assert_eq(ps_proxy_size(p), 80);
    cr_assert_eq(strlen(ps_proxy_key(p)), 32);
    cr_assert_not(ps_proxy_is_resolved(p));
    ps_metrics m;
    ps_store_metrics(store, &m);
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, 0, "asking facts fetched nothing");
    ps_proxy_free(p);
}

/* ----------------------------------------------------------- concurrency */

typedef struct {
    ps_proxy_t *p;
    void *got;
} race_arg;

static void *resolve_it(void *arg)
{
    race_arg *a = arg;
    a->got = ps_resolve(a->p);
    return NULL;
}

Test(resolve, concurrent_resolves_fetch_once)
{
    enum { T = 8 };
    static double big[1 << 16];
    for (int round = 0; round < 20; round++) {
        ps_proxy_t *p = ps_proxy_array(store, &ps_type_double, big, 1 << 16);
        pthread_t t[T];
        race_arg args[T];
        for (int i = 0; i < T; i++) {
            args[i] = (race_arg){p, NULL};
            pthread_create(&t[i], NULL, resolve_it, &args[i]);
        }
        for (int i = 0; i < T; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < T; i++)
            cr_assert_eq(args[i].got, args[0].got, "every thread sees the same object");
        cr_assert_not_null(args[0].got);
        ps_proxy_evict(p);
    }
    ps_metrics m;
    ps_store_metrics(store, &m);
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, 20, "one fetch per proxy");
}

Test(resolve, async_prefetch)
{
    enum { N = 64 };
    ps_proxy_t *ps[N];
    int32_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = i;
    for (int i = 0; i < N; i++) {
        v[0] = i;
        ps[i] = ps_proxy_array(store, &ps_type_int32, v, 1000);
        cr_assert_eq(ps_resolve_async(ps[i]), PS_OK);
    }
    for (int i = 0; i < N; i++) {
        int32_t *got = PS_RESOLVE(int32_t, ps[i]);
        cr_assert_not_null(got, "%s", ps_last_error_message());
        cr_assert_eq(got[0], i);
        cr_assert_eq(got[999], 999);
        cr_assert(ps_proxy_is_resolved(ps[i]));
        cr_assert_eq(ps_resolve_async(ps[i]), PS_OK, "nothing to do once resolved");
        ps_proxy_free(ps[i]);
    }
}

Test(resolve, async_then_free_without_resolving)
{
    static double big[1 << 18];
    for (int i = 0; i < 50; i++) {
        ps_proxy_t *p = ps_proxy_array(store, &ps_type_double, big, 1 << 18);
        cr_assert_eq(ps_resolve_async(p), PS_OK);
        if (i % 2)
            ps_proxy_evict(p); /* waits for the prefetch, then evicts */
        else
            ps_proxy_free(p);
    }
}

Test(resolve, failed_prefetch_is_retried_by_resolve)
{
    int v = 9;
    cr_assert_eq(ps_store_put_key(store, "late", &ps_type_int32, &v, 1), PS_OK);
    ps_proxy_t *p = ps_proxy_from_key(store, "late", &ps_type_int32);
    char *desc = ps_proxy_serialize(p);
    ps_proxy_free(p);
    cr_assert_eq(ps_store_evict(store, "late"), PS_OK);

    p = ps_proxy_deserialize(desc, &ps_type_int32);
    cr_assert_eq(ps_resolve_async(p), PS_OK);
    cr_assert_null(ps_resolve(p), "the object is gone");
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND, "%s", ps_last_error_message());
    cr_assert_eq(ps_store_put_key(store, "late", &ps_type_int32, &v, 1), PS_OK);
    int *got = ps_resolve(p);
    cr_assert_not_null(got, "a later resolve tries again: %s", ps_last_error_message());
    cr_assert_eq(*got, 9);
    ps_proxy_free(p);
    free(desc);
}

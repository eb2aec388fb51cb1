/*
 * test_metrics.c — per-store operation metrics: counts, bytes, time, errors,
 * batches counted per object, cache hits and misses.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <proxystore/proxystore.h>

static ps_store *store;
static void setup(void) { store = ps_store_open("metrics", "local://", NULL); cr_assert_not_null(store); }
static void teardown(void) { ps_store_close(store); }
TestSuite(metrics, .init = setup, .fini = teardown);

static ps_metrics snapshot(void)
{
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(store, &m), PS_OK);
    return m;
}

Test(metrics, start_at_zero)
{
    ps_metrics m = snapshot();
    ps_metrics zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(memcmp(&m, &zero, sizeof m), 0);
}

Test(metrics, single_operations)
{
    char key[PS_KEY_MAX];
    double v[100] = {0};
    cr_assert_eq(ps_store_put(store, &ps_type_double, v, 100, key), PS_OK);
    ps_object_free(&ps_type_double, ps_store_get(store, key, &ps_type_double, NULL));
    ps_object_free(&ps_type_double, ps_store_get(store, key, &ps_type_double, NULL));
    bool e;
    ps_store_exists(store, key, &e);
    ps_store_evict(store, key);
    ps_metrics m = snapshot();
    cr_assert_eq(m.op[PS_OP_PUT].count, 1);
    cr_assert_eq(m.op[PS_OP_PUT].bytes, 800, "payload bytes, not header");
    cr_assert_eq(m.op[PS_OP_GET].count, 2);
    cr_assert_eq(m.op[PS_OP_GET].bytes, 1600);
    cr_assert_eq(m.op[PS_OP_EXISTS].count, 1);
    cr_assert_eq(m.op[PS_OP_EVICT].count, 1);
    cr_assert_eq(m.op[PS_OP_GET].calls, 2, "one call each");
    for (int op = 0; op < PS_OP_COUNT_; op++)
        cr_assert_eq(m.op[op].errors, 0, "%s", ps_op_name(op));
}

Test(metrics, errors_are_counted)
{
    cr_assert_null(ps_store_get(store, "absent", &ps_type_bytes, NULL));
    cr_assert_null(ps_store_get(store, "../bad", &ps_type_bytes, NULL));
    int x = 1;
    cr_assert_eq(ps_store_put(store, NULL, &x, 1, (char[PS_KEY_MAX]){0}), PS_ERR_INVALID_ARGUMENT);
    ps_metrics m = snapshot();
    cr_assert_eq(m.op[PS_OP_GET].count, 2);
    cr_assert_eq(m.op[PS_OP_GET].errors, 2);
    cr_assert_eq(m.op[PS_OP_GET].bytes, 0);
    cr_assert_eq(m.op[PS_OP_PUT].count, 1);
    cr_assert_eq(m.op[PS_OP_PUT].errors, 1);
}

Test(metrics, batches_count_each_object)
{
    int32_t a = 1, b = 2, c = 3;
    const void *objs[] = {&a, &b, &c};
    char keys[3][PS_KEY_MAX];
    cr_assert_eq(ps_store_put_batch(store, &ps_type_int32, 3, objs, NULL, keys), PS_OK);
    const char *ask[] = {keys[0], keys[1], keys[2], "missing"};
    void *got[4];
    cr_assert_eq(ps_store_get_batch(store, &ps_type_int32, 4, ask, got, NULL), PS_OK);
    for (int i = 0; i < 3; i++)
        free(got[i]);
    bool e[4];
    ps_store_exists_batch(store, 4, ask, e);
    ps_store_evict_batch(store, 3, ask);
    ps_metrics m = snapshot();
    cr_assert_eq(m.op[PS_OP_PUT].count, 3);
    cr_assert_eq(m.op[PS_OP_PUT].bytes, 12);
    cr_assert_eq(m.op[PS_OP_GET].count, 4);
    cr_assert_eq(m.op[PS_OP_GET].errors, 0, "a missing key in a batch is not an error");
    cr_assert_eq(m.op[PS_OP_GET].bytes, 12);
    cr_assert_eq(m.op[PS_OP_EXISTS].count, 4);
    cr_assert_eq(m.op[PS_OP_EVICT].count, 3);
    for (int op = PS_OP_PUT; op <= PS_OP_EVICT; op++)
        cr_assert_eq(m.op[op].calls, 1, "one %s call for the batch", ps_op_name(op));
}

Test(metrics, resolve_and_cache)
{
    int32_t v[256] = {0};
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_int32, v, 256);
    ps_resolve(p);
    ps_resolve(p); /* already resolved: no second fetch */
    ps_proxy_t *q = ps_proxy_from_key(store, ps_proxy_key(p), &ps_type_int32);
    ps_metrics m = snapshot();
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, 2);
    cr_assert_eq(m.op[PS_OP_RESOLVE].bytes, 2048);
    cr_assert_eq(m.cache_misses, 1);
    cr_assert_eq(m.cache_hits, 1);
    cr_assert_eq(m.op[PS_OP_GET].count, 0, "resolves are counted apart from gets");
    ps_proxy_free(p);
    ps_proxy_free(q);
}

Test(metrics, time_is_nanoseconds)
{
    /* a 32 MB put takes well over a millisecond and well under a minute */
    size_t n = (size_t)32 << 20;
    unsigned char *big = calloc(1, n);
    char key[PS_KEY_MAX];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(ps_store_put(store, &ps_type_bytes, big, n, key), PS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t outside = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    ps_metrics m = snapshot();
    cr_assert_gt(m.op[PS_OP_PUT].total_ns, 100000);
    cr_assert_leq(m.op[PS_OP_PUT].total_ns, outside, "inside the call: %llu <= %llu",
                  (unsigned long long)m.op[PS_OP_PUT].total_ns, (unsigned long long)outside);
    free(big);
}

static void *put_many(void *arg)
{
    (void)arg;
    int x = 1;
    char key[PS_KEY_MAX];
    for (int i = 0; i < 500; i++)
        ps_store_put(store, &ps_type_int32, &x, 1, key);
    return NULL;
}

Test(metrics, exact_under_concurrency)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, put_many, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    ps_metrics m = snapshot();
    cr_assert_eq(m.op[PS_OP_PUT].count, 4000);
    cr_assert_eq(m.op[PS_OP_PUT].bytes, 16000);
}

Test(metrics, names_and_bad_arguments)
{
    cr_assert_str_eq(ps_op_name(PS_OP_PUT), "put");
    cr_assert_str_eq(ps_op_name(PS_OP_GET), "get");
    cr_assert_str_eq(ps_op_name(PS_OP_EXISTS), "exists");
    cr_assert_str_eq(ps_op_name(PS_OP_EVICT), "evict");
    cr_assert_str_eq(ps_op_name(PS_OP_RESOLVE), "resolve");
    cr_assert_str_eq(ps_op_name((ps_op)99), "unknown");
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(NULL, &m), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_store_metrics(store, NULL), PS_ERR_INVALID_ARGUMENT);
}

/*
 * contract.c — what every connector must do, checked through the public API.
 *
 * Compiled once per connector with PS_CONTRACT_KIND set to "local", "shm",
 * "file" or "redis" (tests/CMakeLists.txt); each test opens a fresh store on
 * a fresh URL from ps_test_url_for().
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <proxystore/proxystore.h>

#include "test_record.h"
#include "test_urls.h"

#ifndef PS_CONTRACT_KIND
#error "PS_CONTRACT_KIND must name a connector"
#endif
#define KIND PS_CONTRACT_KIND

static ps_store *store;
static char *url;

/* Objects put before a close are there after a reopen on these connectors;
 * local and shm stores take their objects with them. */
static bool persistent(void)
{
    return strcmp(KIND, "file") == 0 || strcmp(KIND, "redis") == 0;
}

static void open_store(void)
{
    url = ps_test_url_for(KIND);
    cr_assert_not_null(url, "no URL for connector %s", KIND);
    store = ps_store_open("contract", url, NULL);
    cr_assert_not_null(store, "open %s: %s", url, ps_last_error_message());
}

static void close_store(void)
{
    ps_store_close(store);
    store = NULL;
    free(url);
    url = NULL;
}

TestSuite(contract, .init = open_store, .fini = close_store, .timeout = 120);

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void *patterned(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    fill(p, n, seed);
    return p;
}

/* ------------------------------------------------------------- basic ops */

Test(contract, put_get_exists_evict)
{
    double values[1000];
    for (int i = 0; i < 1000; i++)
        values[i] = i * 0.5 - 7;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(store, &ps_type_double, values, 1000, key), PS_OK, "%s",
                 ps_last_error_message());
    cr_assert_eq(strlen(key), 32, "generated keys are 128 random bits in hex: '%s'", key);

    size_t count = 0;
    double *got = ps_store_get(store, key, &ps_type_double, &count);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(count, 1000);
    cr_assert_arr_eq(got, values, sizeof values);
    cr_assert_eq((uintptr_t)got % _Alignof(double), 0);
    ps_object_free(&ps_type_double, got);

    bool exists = false;
    cr_assert_eq(ps_store_exists(store, key, &exists), PS_OK);
    cr_assert(exists);
    cr_assert_eq(ps_store_evict(store, key), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_store_exists(store, key, &exists), PS_OK);
    cr_assert_not(exists);
    cr_assert_null(ps_store_get(store, key, &ps_type_double, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
}

Test(contract, keys_are_unique)
{
    char a[PS_KEY_MAX], b[PS_KEY_MAX];
    int x = 1;
    cr_assert_eq(ps_store_put(store, &ps_type_int32, &x, 1, a), PS_OK);
    cr_assert_eq(ps_store_put(store, &ps_type_int32, &x, 1, b), PS_OK);
    cr_assert_str_neq(a, b);
}

Test(contract, put_key_and_overwrite)
{
    int64_t first[3] = {1, 2, 3}, second[5] = {9, 8, 7, 6, 5};
    cr_assert_eq(ps_store_put_key(store, "user:obj-1.v_2", &ps_type_int64, first, 3), PS_OK, "%s",
                 ps_last_error_message());
    size_t count;
    int64_t *got = ps_store_get(store, "user:obj-1.v_2", &ps_type_int64, &count);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(count, 3);
    cr_assert_arr_eq(got, first, sizeof first);
    ps_object_free(&ps_type_int64, got);

    cr_assert_eq(ps_store_put_key(store, "user:obj-1.v_2", &ps_type_int64, second, 5), PS_OK);
    got = ps_store_get(store, "user:obj-1.v_2", &ps_type_int64, &count);
    cr_assert_not_null(got);
    cr_assert_eq(count, 5);
    cr_assert_arr_eq(got, second, sizeof second);
    ps_object_free(&ps_type_int64, got);
    cr_assert_eq(ps_store_evict(store, "user:obj-1.v_2"), PS_OK);
}

Test(contract, bad_keys_refused)
{
    int x = 5;
    const char *bad[] = {"../../etc/passwd", "a/b", "..", ".hidden", "", "sp ace", "nul\x01", "a*b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(ps_store_put_key(store, bad[i], &ps_type_int32, &x, 1), PS_ERR_INVALID_ARGUMENT,
                     "key '%s' accepted", bad[i]);
        cr_assert_eq(ps_store_get(store, bad[i], &ps_type_int32, NULL), NULL);
        cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
        bool e;
        cr_assert_eq(ps_store_exists(store, bad[i], &e), PS_ERR_INVALID_ARGUMENT);
        cr_assert_eq(ps_store_evict(store, bad[i]), PS_ERR_INVALID_ARGUMENT);
    }
    ps_store_put_key(store, "../../etc/passwd", &ps_type_int32, &x, 1);
    cr_assert(strstr(ps_last_error_message(), "../../etc/passwd"), "message names the key: %s",
              ps_last_error_message());
    char longest[PS_KEY_MAX];
    memset(longest, 'k', PS_KEY_MAX - 1);
    longest[PS_KEY_MAX - 1] = '\0';
    cr_assert_eq(ps_store_put_key(store, longest, &ps_type_int32, &x, 1), PS_OK, "a %d-byte key: %s",
                 PS_KEY_MAX - 1, ps_last_error_message());
    int *got = ps_store_get(store, longest, &ps_type_int32, NULL);
    cr_assert_not_null(got);
    cr_assert_eq(*got, 5);
    ps_object_free(&ps_type_int32, got);
    ps_store_evict(store, longest);
}

Test(contract, missing_keys)
{
    cr_assert_null(ps_store_get(store, "never-put", &ps_type_bytes, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert(strstr(ps_last_error_message(), "never-put"), "message names the key: %s",
              ps_last_error_message());
    bool exists = true;
    cr_assert_eq(ps_store_exists(store, "never-put", &exists), PS_OK);
    cr_assert_not(exists);
    cr_assert_eq(ps_store_evict(store, "never-put"), PS_OK, "evicting a missing key is not an error");
    cr_assert_null(ps_proxy_from_key(store, "never-put", &ps_type_bytes));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
}

struct point {
    double x, y;
};
static PS_TYPE_POD_DEFINE(point_type, struct point);

Test(contract, type_mismatch)
{
    double d[4] = {1, 2, 3, 4};
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(store, &ps_type_double, d, 4, key), PS_OK);
    /* same element size, another name */
    cr_assert_null(ps_store_get(store, key, &ps_type_int64, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    cr_assert(strstr(ps_last_error_message(), "double") && strstr(ps_last_error_message(), "int64_t"), "%s",
              ps_last_error_message());
    cr_assert_null(ps_store_get(store, key, &ps_type_float, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    cr_assert_null(ps_store_get(store, key, &point_type, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    cr_assert_null(ps_proxy_from_key(store, key, &ps_type_int64));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    /* a descriptor spelled with other whitespace is the same type */
    const ps_type spaced = {"  double ", sizeof(double), _Alignof(double), PS_TYPE_POD, NULL, NULL, NULL};
    double *got = ps_store_get(store, key, &spaced, NULL);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    ps_object_free(&spaced, got);
}

/* ----------------------------------------------------------- custom types */

static void record_init(struct ps_test_record *r, const char *label, size_t n)
{
    r->label = strdup(label);
    r->nvalues = n;
    r->values = malloc(n * sizeof *r->values + 1);
    for (size_t i = 0; i < n; i++)
        r->values[i] = (double)(i * i) - 3;
}

static void record_assert_equal(const struct ps_test_record *a, const struct ps_test_record *b)
{
    cr_assert_str_eq(a->label, b->label);
    cr_assert_eq(a->nvalues, b->nvalues);
    cr_assert_arr_eq(a->values, b->values, a->nvalues * sizeof *a->values);
}

Test(contract, custom_type)
{
    struct ps_test_record r;
    record_init(&r, "temperatures", 300);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(store, &ps_test_record_type, &r, 1, key), PS_OK, "%s", ps_last_error_message());
    size_t count = 0;
    struct ps_test_record *got = ps_store_get(store, key, &ps_test_record_type, &count);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(count, 1);
    record_assert_equal(&r, got);
    ps_object_free(&ps_test_record_type, got);
    /* a custom object is no plain data */
    cr_assert_null(ps_store_get(store, key, &ps_type_bytes, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    /* custom types are stored one object at a time */
    cr_assert_eq(ps_store_put(store, &ps_test_record_type, &r, 2, key), PS_ERR_INVALID_ARGUMENT);
    free(r.label);
    free(r.values);
}

/* --------------------------------------------------------------- batches */

Test(contract, batches)
{
    enum { N = 40 };
    void *objs[N];
    size_t counts[N];
    for (int i = 0; i < N; i++) {
        counts[i] = (size_t)(i * 37 % 500);
        objs[i] = patterned(counts[i], (unsigned)i);
    }
    char keys[N][PS_KEY_MAX];
    cr_assert_eq(ps_store_put_batch(store, &ps_type_bytes, N, (const void *const *)objs, counts, keys), PS_OK,
                 "%s", ps_last_error_message());

    /* every other slot asks for a key that is not there */
    const char *ask[2 * N];
    for (int i = 0; i < N; i++) {
        ask[2 * i] = keys[i];
        ask[2 * i + 1] = "missing-key";
    }
    void *got[2 * N];
    size_t got_counts[2 * N];
    cr_assert_eq(ps_store_get_batch(store, &ps_type_bytes, 2 * N, ask, got, got_counts), PS_OK, "%s",
                 ps_last_error_message());
    for (int i = 0; i < N; i++) {
        cr_assert_not_null(got[2 * i], "object %d", i);
        cr_assert_eq(got_counts[2 * i], counts[i]);
        cr_assert_arr_eq(got[2 * i], objs[i], counts[i]);
        cr_assert_null(got[2 * i + 1], "a missing key gives NULL");
        ps_object_free(&ps_type_bytes, got[2 * i]);
    }

    bool exists[2 * N];
    cr_assert_eq(ps_store_exists_batch(store, 2 * N, ask, exists), PS_OK);
    for (int i = 0; i < 2 * N; i++)
        cr_assert_eq(exists[i], i % 2 == 0);

    const char *evict[N / 2];
    for (int i = 0; i < N / 2; i++)
        evict[i] = keys[i];
    cr_assert_eq(ps_store_evict_batch(store, N / 2, evict), PS_OK);
    cr_assert_eq(ps_store_exists_batch(store, 2 * N, ask, exists), PS_OK);
    for (int i = 0; i < N; i++)
        cr_assert_eq(exists[2 * i], i >= N / 2, "object %d", i);

    /* one bad key fails the whole batch before anything is read */
    const char *with_bad[] = {keys[N - 1], "../x"};
    cr_assert_eq(ps_store_get_batch(store, &ps_type_bytes, 2, with_bad, got, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(got[0]);
    /* a type mismatch fails it too, with nothing to free */
    cr_assert_eq(ps_store_get_batch(store, &ps_type_int32, 1, with_bad, got, NULL), PS_ERR_TYPE_MISMATCH);
    cr_assert_null(got[0]);
    for (int i = 0; i < N; i++)
        free(objs[i]);
}

Test(contract, custom_batch)
{
    struct ps_test_record a, b;
    record_init(&a, "a", 3);
    record_init(&b, "bee", 1000);
    const void *objs[] = {&a, &b};
    char keys[2][PS_KEY_MAX];
    cr_assert_eq(ps_store_put_batch(store, &ps_test_record_type, 2, objs, NULL, keys), PS_OK, "%s",
                 ps_last_error_message());
    const char *ask[] = {keys[0], keys[1]};
    void *got[2];
    cr_assert_eq(ps_store_get_batch(store, &ps_test_record_type, 2, ask, got, NULL), PS_OK);
    record_assert_equal(&a, got[0]);
    record_assert_equal(&b, got[1]);
    ps_object_free(&ps_test_record_type, got[0]);
    ps_object_free(&ps_test_record_type, got[1]);
    free(a.label), free(a.values), free(b.label), free(b.values);
}

/* ---------------------------------------------------------- large objects */

static void round_trip_large(ps_store *s, size_t n)
{
    unsigned char *big = patterned(n, 77);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_bytes, big, n, key), PS_OK, "%s", ps_last_error_message());
    size_t count = 0;
    unsigned char *got = ps_store_get(s, key, &ps_type_bytes, &count);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(count, n);
    cr_assert(memcmp(got, big, n) == 0, "bytes differ");
    ps_object_free(&ps_type_bytes, got);

    ps_proxy_t *p = ps_proxy_from_key(s, key, &ps_type_bytes);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_size(p), n);
    cr_assert_eq(ps_proxy_hash(p), XXH3_64bits(big, n));
    const unsigned char *resolved = ps_resolve(p);
    cr_assert_not_null(resolved);
    cr_assert(memcmp(resolved, big, n) == 0, "resolved bytes differ");
    ps_proxy_free(p);
    cr_assert_eq(ps_store_evict(s, key), PS_OK);
    bool exists = true;
    cr_assert_eq(ps_store_exists(s, key, &exists), PS_OK);
    cr_assert_not(exists);
    free(big);
}

Test(contract, large_64mb, .timeout = 240)
{
    round_trip_large(store, (size_t)64 << 20);
}

/* Objects spanning several chunks (Redis splits objects over its chunk size;
 * the other connectors get the same object at their defaults). */
Test(contract, chunked)
{
    char *chunked_url = strcmp(KIND, "redis") == 0 ? ps_test_url_with(KIND, "chunk=1M") : ps_test_url_for(KIND);
    cr_assert_not_null(chunked_url);
    ps_store *s = ps_store_open("contract-chunked", chunked_url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    size_t sizes[] = {((size_t)1 << 20) - 64, (size_t)1 << 20, ((size_t)1 << 20) + 1,
                      ((size_t)7 << 20) / 2};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        round_trip_large(s, sizes[i]);
    ps_store_close(s);
    free(chunked_url);
}

/* ------------------------------------------------------------ concurrency */

enum { THREADS = 8, ROUNDS = 60 };

typedef struct worker_arg {
    int id;
    const char *shared_key;
    const unsigned char *shared;
    size_t shared_len;
    int failures;
    char failure[256];
} worker_arg;

static void *worker(void *argp)
{
    worker_arg *a = argp;
#define FAIL(...) do { a->failures++; snprintf(a->failure, sizeof a->failure, __VA_ARGS__); return NULL; } while (0)
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = (size_t)((a->id * 7919 + r * 104729) % 70000);
        unsigned char *data = patterned(n, (unsigned)(a->id * 1000 + r));
        char key[PS_KEY_MAX];
        if (ps_store_put(store, &ps_type_bytes, data, n, key) != PS_OK)
            FAIL("put: %s", ps_last_error_message());
        size_t count;
        unsigned char *got = ps_store_get(store, key, &ps_type_bytes, &count);
        if (!got || count != n || memcmp(got, data, n) != 0)
            FAIL("get of own object %s: %s", key, got ? "bytes differ" : ps_last_error_message());
        ps_object_free(&ps_type_bytes, got);

        unsigned char *shared = ps_store_get(store, a->shared_key, &ps_type_bytes, &count);
        if (!shared || count != a->shared_len || memcmp(shared, a->shared, count) != 0)
            FAIL("get of the shared object: %s", shared ? "bytes differ" : ps_last_error_message());
        ps_object_free(&ps_type_bytes, shared);

        ps_proxy_t *p = ps_proxy_from_key(store, a->shared_key, &ps_type_bytes);
        if (!p || memcmp(ps_resolve(p), a->shared, a->shared_len) != 0) {
            if (p)
                ps_proxy_free(p);
            FAIL("resolve of the shared object: %s", ps_last_error_message());
        }
        ps_proxy_free(p);

        bool exists = false;
        if (ps_store_exists(store, key, &exists) != PS_OK || !exists)
            FAIL("exists after put");
        if (ps_store_evict(store, key) != PS_OK)
            FAIL("evict: %s", ps_last_error_message());
        if (ps_store_exists(store, key, &exists) != PS_OK || exists)
            FAIL("exists after evict");
        free(data);
    }
    return NULL;
#undef FAIL
}

Test(contract, eight_threads, .timeout = 240)
{
    size_t shared_len = 100000;
    unsigned char *shared = patterned(shared_len, 4242);
    cr_assert_eq(ps_store_put_key(store, "shared", &ps_type_bytes, shared, shared_len), PS_OK);
    pthread_t threads[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.id = i, .shared_key = "shared", .shared = shared, .shared_len = shared_len};
        cr_assert_eq(pthread_create(&threads[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(args[i].failures, 0, "thread %d: %s", i, args[i].failure);
    ps_metrics m;
    ps_store_metrics(store, &m);
    cr_assert_eq(m.op[PS_OP_PUT].count, 1 + THREADS * ROUNDS);
    cr_assert_eq(m.op[PS_OP_GET].count, 2 * THREADS * ROUNDS);
    cr_assert_eq(m.op[PS_OP_GET].errors, 0);
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, THREADS * ROUNDS);
    free(shared);
}

/* ---------------------------------------------------------------- proxies */

Test(contract, proxy_resolve)
{
    struct point pt = {1.5, -2.25};
    ps_proxy_t *p = ps_proxy(store, &point_type, &pt);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    cr_assert(ps_is_proxy(p));
    cr_assert_not(ps_is_proxy(&pt));
    cr_assert_str_eq(ps_proxy_type_name(p), "struct point");
    cr_assert_eq(ps_proxy_size(p), sizeof pt);
    cr_assert_eq(ps_proxy_count(p), 1);
    cr_assert_eq(ps_proxy_hash(p), XXH3_64bits(&pt, sizeof pt));
    cr_assert_eq(ps_proxy_store(p), store);
    cr_assert_not(ps_proxy_is_resolved(p));

    struct point *got = PS_RESOLVE(struct point, p);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert(got->x == 1.5 && got->y == -2.25);
    cr_assert(ps_proxy_is_resolved(p));
    cr_assert_eq(ps_resolve(p), got, "resolved once, then the same object");
    cr_assert_eq(PS_RESOLVE_OR(struct point, p), got);
    cr_assert_eq(PS_RESOLVE_OR(struct point, &pt), &pt, "a plain pointer passes through");

    cr_assert_null(PS_RESOLVE(double, p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);

    bool exists;
    char key[PS_KEY_MAX];
    snprintf(key, sizeof key, "%s", ps_proxy_key(p));
    cr_assert_eq(ps_proxy_evict(p), PS_OK);
    cr_assert_not(ps_is_proxy(p));
    cr_assert_eq(ps_store_exists(store, key, &exists), PS_OK);
    cr_assert_not(exists);
}

Test(contract, proxy_array_and_async)
{
    enum { N = 200000 };
    int32_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++)
        v[i] = i * 3;
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_int32, v, N);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_count(p), N);
    cr_assert_eq(ps_resolve_async(p), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_resolve_async(p), PS_OK, "a second request changes nothing");
    int32_t *got = PS_RESOLVE(int32_t, p);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_arr_eq(got, v, N * sizeof *v);
    ps_proxy_free(p);

    /* freeing a proxy whose prefetch may still run waits for it */
    for (int i = 0; i < 20; i++) {
        ps_proxy_t *q = ps_proxy_array(store, &ps_type_int32, v, N);
        cr_assert_not_null(q);
        cr_assert_eq(ps_resolve_async(q), PS_OK);
        ps_proxy_free(q);
    }
    free(v);
}

Test(contract, proxy_descriptor_round_trip)
{
    int64_t v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (int64_t)i << 40;
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_int64, v, 64);
    cr_assert_not_null(p);
    char *desc = ps_proxy_serialize(p);
    cr_assert_not_null(desc, "%s", ps_last_error_message());
    cr_assert(strncmp(desc, "psproxy/1 ", 10) == 0, "%s", desc);

    ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    cr_assert_neq(q, p);
    cr_assert_eq(ps_proxy_store(q), store, "found by name in the registry");
    cr_assert_str_eq(ps_proxy_key(q), ps_proxy_key(p));
    cr_assert_eq(ps_proxy_hash(q), ps_proxy_hash(p));
    cr_assert_eq(ps_proxy_count(q), 64);
    int64_t *got = PS_RESOLVE(int64_t, q);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_arr_eq(got, v, sizeof v);

    /* raw bytes for plain data when the reader has no descriptor */
    ps_proxy_t *raw = ps_proxy_deserialize(desc, NULL);
    cr_assert_not_null(raw, "%s", ps_last_error_message());
    cr_assert_arr_eq(ps_resolve(raw), v, sizeof v);
    cr_assert_str_eq(ps_proxy_type_name(raw), "int64_t");

    cr_assert_null(ps_proxy_deserialize(desc, &ps_type_double));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_proxy_free(raw);
    ps_proxy_free(q);
    ps_proxy_free(p);
    free(desc);
}

Test(contract, custom_proxy_round_trip)
{
    struct ps_test_record r;
    record_init(&r, "proxied", 77);
    ps_proxy_t *p = ps_proxy(store, &ps_test_record_type, &r);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    char *desc = ps_proxy_serialize(p);
    cr_assert_not_null(desc);
    cr_assert_null(ps_proxy_deserialize(desc, NULL), "custom targets need their descriptor");
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_test_record_type);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    struct ps_test_record *got = PS_RESOLVE(struct ps_test_record, q);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    record_assert_equal(&r, got);
    ps_proxy_free(q);
    ps_proxy_free(p);
    free(desc);
    free(r.label);
    free(r.values);
}

/* ---------------------------------------------------------------- metrics */

Test(contract, metrics_counts)
{
    int32_t v[10] = {0};
    char k1[PS_KEY_MAX], k2[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(store, &ps_type_int32, v, 10, k1), PS_OK);
    cr_assert_eq(ps_store_put(store, &ps_type_int32, v, 5, k2), PS_OK);
    ps_object_free(&ps_type_int32, ps_store_get(store, k1, &ps_type_int32, NULL));
    cr_assert_null(ps_store_get(store, "absent", &ps_type_int32, NULL));
    bool e;
    ps_store_exists(store, k1, &e);
    ps_store_evict(store, k2);
    ps_proxy_t *p = ps_proxy_from_key(store, k1, &ps_type_int32);
    ps_proxy_t *q = ps_proxy_from_key(store, k1, &ps_type_int32);
    cr_assert(p && q);

    ps_metrics m;
    cr_assert_eq(ps_store_metrics(store, &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].count, 2);
    cr_assert_eq(m.op[PS_OP_PUT].bytes, 60);
    cr_assert_eq(m.op[PS_OP_PUT].errors, 0);
    cr_assert_eq(m.op[PS_OP_GET].count, 2);
    cr_assert_eq(m.op[PS_OP_GET].errors, 1);
    cr_assert_eq(m.op[PS_OP_GET].bytes, 40);
    cr_assert_eq(m.op[PS_OP_EXISTS].count, 1);
    cr_assert_eq(m.op[PS_OP_EVICT].count, 1);
    cr_assert_eq(m.op[PS_OP_RESOLVE].count, 2);
    cr_assert_eq(m.cache_misses, 1);
    cr_assert_eq(m.cache_hits, 1);
    cr_assert_gt(m.op[PS_OP_PUT].total_ns, 0);
    ps_proxy_free(p);
    ps_proxy_free(q);
}

/* ------------------------------------------------------- close and reopen */

Test(contract, close_then_reopen)
{
    int32_t v[4] = {4, 3, 2, 1};
    cr_assert_eq(ps_store_put_key(store, "kept", &ps_type_int32, v, 4), PS_OK);
    ps_proxy_t *p = ps_proxy_array(store, &ps_type_int32, v, 4);
    cr_assert_not_null(p);
    ps_store_close(store);
    cr_assert_null(ps_store_lookup("contract"), "the name is free once every opener closed");

    /* a live proxy keeps its store usable */
    int32_t *got = PS_RESOLVE(int32_t, p);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_arr_eq(got, v, sizeof v);
    ps_proxy_free(p);

    store = ps_store_open("contract", url, NULL);
    cr_assert_not_null(store, "reopen: %s", ps_last_error_message());
    got = ps_store_get(store, "kept", &ps_type_int32, NULL);
    if (persistent()) {
        cr_assert_not_null(got, "%s keeps objects across a reopen: %s", KIND, ps_last_error_message());
        cr_assert_arr_eq(got, v, sizeof v);
        ps_object_free(&ps_type_int32, got);
    } else {
        cr_assert_null(got, "%s objects go with the store", KIND);
        cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    }
    cr_assert_eq(ps_store_put_key(store, "kept", &ps_type_int32, v, 4), PS_OK);
    got = ps_store_get(store, "kept", &ps_type_int32, NULL);
    cr_assert_not_null(got);
    ps_object_free(&ps_type_int32, got);
    ps_store_evict(store, "kept");
}

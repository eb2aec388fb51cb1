/*
 * test_store_get.c — ps_store_get hands out the bytes a connector read into
 * memory of its own without copying them again (file, redis), and a copy
 * where the connector's memory is shared (shm mapping, local entry); every
 * result is the caller's private, writable object until ps_object_free.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "held_blob.h"
#include "test_urls.h"

enum { N = 300000 }; /* 2.4 MB of doubles: over every small-read path */

static void check_get(const char *kind, bool in_place)
{
    char *url = ps_test_url_for(kind);
    cr_assert_not_null(url);
    ps_store *s = ps_store_open("get-store", url, NULL);
    cr_assert_not_null(s, "%s: %s", url, ps_last_error_message());
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++)
        v[i] = (double)i * 0.5;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_double, v, N, key), PS_OK, "%s", ps_last_error_message());

    size_t count = 0;
    double *a = ps_store_get(s, key, &ps_type_double, &count);
    double *b = ps_store_get(s, key, &ps_type_double, NULL);
    cr_assert(a && b, "%s", ps_last_error_message());
    cr_assert_eq(count, N);
    cr_assert_neq(a, b, "two gets give two objects");
    cr_assert_eq((uintptr_t)a % _Alignof(double), 0);
    cr_assert(memcmp(a, v, N * sizeof *v) == 0, "%s: bytes differ", kind);
    /* Private and writable: writing one changes neither the other nor the
     * stored object. */
    a[0] = -1;
    a[N - 1] = -2;
    cr_assert_eq(b[0], 0.0);
    double *c = ps_store_get(s, key, &ps_type_double, NULL);
    cr_assert(c && c[0] == 0.0 && c[N - 1] == v[N - 1], "%s: a write reached the store", kind);

    /* In place (held: no second copy) exactly where the connector's buffer
     * is private; ps_object_free releases either kind. */
    cr_assert_eq(ps_held_blob_free(c), in_place, "%s: %s", kind,
                 in_place ? "the payload was copied again" : "a shared buffer was handed out");
    if (!in_place)
        ps_object_free(&ps_type_double, c);

    const char *keys[] = {key, "missing"};
    void *objs[2];
    size_t counts[2];
    cr_assert_eq(ps_store_get_batch(s, &ps_type_double, 2, keys, objs, counts), PS_OK, "%s",
                 ps_last_error_message());
    cr_assert_not_null(objs[0]);
    cr_assert_null(objs[1]);
    cr_assert(memcmp(objs[0], v, N * sizeof *v) == 0);

    ps_object_free(&ps_type_double, objs[0]);
    ps_object_free(&ps_type_double, a);
    ps_object_free(&ps_type_double, b);
    ps_store_evict(s, key);
    ps_store_close(s);
    free(v);
    free(url);
}

Test(store_get, file_hands_out_its_buffer) { check_get("file", true); }
Test(store_get, redis_hands_out_its_buffer) { check_get("redis", true); }
Test(store_get, shm_copies_out_of_the_shared_mapping) { check_get("shm", false); }
Test(store_get, local_copies_out_of_the_shared_entry) { check_get("local", false); }

/* A custom type's deserialize builds its own object: nothing is held. */
Test(store_get, freeing_a_plain_allocation_is_unchanged)
{
    void *p = malloc(16);
    cr_assert_not(ps_held_blob_free(p));
    ps_object_free(&ps_type_bytes, p);
    ps_object_free(&ps_type_bytes, NULL);
}

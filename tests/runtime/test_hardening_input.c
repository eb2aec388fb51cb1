/*
 * test_hardening_input.c — bad input of every kind gets a clear error and
 * loses nothing: NULL for every pointer argument of the public API, keys at
 * and over PS_KEY_MAX, zero-length objects, counts whose byte size overflows,
 * serializers failing inside a batch, stored objects corrupted byte by byte
 * or truncated, and randomly mutated descriptors and URLs (a bounded,
 * seeded mutation loop; the same inputs were fuzzed with libFuzzer).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"
#include "store.h"
#include "url.h"

/* A failed call must say what failed. */
static void assert_failed_with(ps_status code)
{
    cr_assert_eq(ps_last_error_code(), code, "expected %s, got %s: %s", ps_status_name(code),
                 ps_status_name(ps_last_error_code()), ps_last_error_message());
    cr_assert_gt(strlen(ps_last_error_message()), 10, "a message that explains: '%s'", ps_last_error_message());
}

#define REFUSED(call, code)                                                                        \
    do {                                                                                           \
        cr_assert_eq((call), (code), "%s gave %s: %s", #call, ps_status_name(ps_last_error_code()), \
                     ps_last_error_message());                                                     \
        assert_failed_with(code);                                                                  \
    } while (0)
#define REFUSED_NULL(call, code)                          \
    do {                                                  \
        cr_assert_null((call), "%s did not fail", #call); \
        assert_failed_with(code);                         \
    } while (0)

/* ------------------------------------------------------------ NULL args */

Test(null_arguments, every_public_function_refuses_null)
{
    const ps_status INVAL = PS_ERR_INVALID_ARGUMENT;
    ps_store *s = ps_store_open("null-args", "local://", NULL);
    cr_assert_not_null(s);
    double d = 1;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_double, &d, 1, key), PS_OK);
    ps_proxy_t *p = ps_proxy(s, &ps_type_double, &d);
    cr_assert_not_null(p);
    bool b;
    ps_metrics m;

    REFUSED(ps_buffer_append(NULL, "x", 1), INVAL);
    ps_buffer buf = {0};
    REFUSED(ps_buffer_append(&buf, NULL, 1), INVAL);
    cr_assert_eq(ps_buffer_append(&buf, NULL, 0), PS_OK, "zero bytes from nowhere is fine");
    free(buf.data);
    ps_object_free(NULL, NULL);
    ps_object_free(&ps_type_double, NULL);

    REFUSED_NULL(ps_store_open(NULL, "local://", NULL), INVAL);
    REFUSED_NULL(ps_store_open("null-args-2", NULL, NULL), PS_ERR_BAD_URL);
    cr_assert_null(ps_store_lookup(NULL));
    ps_store_close(NULL);
    REFUSED_NULL(ps_store_name(NULL), INVAL);
    REFUSED_NULL(ps_store_url(NULL), INVAL);

    char unused[PS_KEY_MAX];
    REFUSED(ps_store_put(NULL, &ps_type_double, &d, 1, unused), INVAL);
    REFUSED(ps_store_put(s, NULL, &d, 1, unused), INVAL);
    REFUSED(ps_store_put(s, &ps_type_double, NULL, 1, unused), INVAL);
    cr_assert_eq(unused[0], '\0', "a failed put reports no key");
    REFUSED(ps_store_put(s, &ps_type_double, &d, 1, NULL), INVAL);
    REFUSED(ps_store_put_key(NULL, "k", &ps_type_double, &d, 1), INVAL);
    REFUSED(ps_store_put_key(s, NULL, &ps_type_double, &d, 1), INVAL);
    REFUSED(ps_store_put_key(s, "k", NULL, &d, 1), INVAL);
    REFUSED(ps_store_put_key(s, "k", &ps_type_double, NULL, 1), INVAL);
    REFUSED_NULL(ps_store_get(NULL, key, &ps_type_double, NULL), INVAL);
    REFUSED_NULL(ps_store_get(s, NULL, &ps_type_double, NULL), INVAL);
    REFUSED_NULL(ps_store_get(s, key, NULL, NULL), INVAL);
    REFUSED(ps_store_exists(NULL, key, &b), INVAL);
    REFUSED(ps_store_exists(s, NULL, &b), INVAL);
    REFUSED(ps_store_exists(s, key, NULL), INVAL);
    REFUSED(ps_store_evict(NULL, key), INVAL);
    REFUSED(ps_store_evict(s, NULL), INVAL);

    const void *objs[2] = {&d, NULL};
    const char *keys[2] = {key, NULL};
    char keys_out[2][PS_KEY_MAX];
    void *got[2];
    bool there[2];
    REFUSED(ps_store_put_batch(NULL, &ps_type_double, 1, objs, NULL, keys_out), INVAL);
    REFUSED(ps_store_put_batch(s, NULL, 1, objs, NULL, keys_out), INVAL);
    REFUSED(ps_store_put_batch(s, &ps_type_double, 1, NULL, NULL, keys_out), INVAL);
    REFUSED(ps_store_put_batch(s, &ps_type_double, 1, objs, NULL, NULL), INVAL);
    REFUSED(ps_store_put_batch(s, &ps_type_double, 2, objs, NULL, keys_out), INVAL);
    cr_assert_eq(keys_out[0][0], '\0', "a failed batch reports no key");
    REFUSED(ps_store_get_batch(NULL, &ps_type_double, 1, keys, got, NULL), INVAL);
    REFUSED(ps_store_get_batch(s, NULL, 1, keys, got, NULL), INVAL);
    REFUSED(ps_store_get_batch(s, &ps_type_double, 1, NULL, got, NULL), INVAL);
    REFUSED(ps_store_get_batch(s, &ps_type_double, 1, keys, NULL, NULL), INVAL);
    REFUSED(ps_store_get_batch(s, &ps_type_double, 2, keys, got, NULL), INVAL);
    cr_assert(got[0] == NULL && got[1] == NULL, "a failed batch returns nothing");
    REFUSED(ps_store_exists_batch(NULL, 1, keys, there), INVAL);
    REFUSED(ps_store_exists_batch(s, 1, NULL, there), INVAL);
    REFUSED(ps_store_exists_batch(s, 1, keys, NULL), INVAL);
    REFUSED(ps_store_exists_batch(s, 2, keys, there), INVAL);
    REFUSED(ps_store_evict_batch(NULL, 1, keys), INVAL);
    REFUSED(ps_store_evict_batch(s, 1, NULL), INVAL);
    REFUSED(ps_store_evict_batch(s, 2, keys), INVAL);
    cr_assert_eq(ps_store_exists(s, key, &b), PS_OK);
    cr_assert(b, "a refused evict batch evicted nothing");
    REFUSED(ps_store_metrics(NULL, &m), INVAL);
    REFUSED(ps_store_metrics(s, NULL), INVAL);
    cr_assert_str_eq(ps_op_name((ps_op)-1), "unknown");
    cr_assert_str_eq(ps_op_name(PS_OP_COUNT_), "unknown");
    cr_assert_str_eq(ps_status_name((ps_status)1234), "PS_ERR_UNKNOWN");

    REFUSED_NULL(ps_proxy(NULL, &ps_type_double, &d), INVAL);
    REFUSED_NULL(ps_proxy(s, NULL, &d), INVAL);
    REFUSED_NULL(ps_proxy(s, &ps_type_double, NULL), INVAL);
    REFUSED_NULL(ps_proxy_array(s, &ps_type_double, NULL, 3), INVAL);
    REFUSED_NULL(ps_proxy_from_key(NULL, key, &ps_type_double), INVAL);
    REFUSED_NULL(ps_proxy_from_key(s, NULL, &ps_type_double), INVAL);
    REFUSED_NULL(ps_proxy_from_key(s, key, NULL), INVAL);
    REFUSED_NULL(ps_resolve(NULL), INVAL);
    REFUSED_NULL(ps_resolve_as(NULL, "double", sizeof(double)), INVAL);
    REFUSED_NULL(ps_resolve_as(p, NULL, sizeof(double)), INVAL);
    cr_assert_null(ps_resolve_or(NULL, "double", sizeof(double)), "NULL is not a proxy: returned as is");
    cr_assert_not(ps_is_proxy(NULL));
    REFUSED(ps_resolve_async(NULL), INVAL);
    ps_proxy_free(NULL);
    REFUSED(ps_proxy_evict(NULL), INVAL);
    REFUSED_NULL(ps_proxy_type_name(NULL), INVAL);
    cr_assert_eq(ps_proxy_size(NULL), 0);
    cr_assert_eq(ps_proxy_count(NULL), 0);
    cr_assert_eq(ps_proxy_hash(NULL), 0);
    REFUSED_NULL(ps_proxy_key(NULL), INVAL);
    REFUSED_NULL(ps_proxy_store(NULL), INVAL);
    cr_assert_not(ps_proxy_is_resolved(NULL));
    REFUSED_NULL(ps_proxy_serialize(NULL), INVAL);
    REFUSED_NULL(ps_proxy_deserialize(NULL, &ps_type_double), PS_ERR_BAD_DESCRIPTOR);

    /* nothing above lost the object or the proxy */
    double *back = ps_store_get(s, key, &ps_type_double, NULL);
    cr_assert(back && *back == 1);
    ps_object_free(&ps_type_double, back);
    cr_assert_eq(*(double *)ps_resolve(p), 1);
    ps_proxy_free(p);
    ps_store_close(s);
}

/* ----------------------------------------------- keys, sizes, overflow */

static const char *kinds[] = {"local", "shm", "file", "redis"};

Test(limits, keys_at_and_over_the_limit_on_every_connector, .timeout = 60)
{
    char at[PS_KEY_MAX], over[PS_KEY_MAX + 1];
    memset(at, 'k', sizeof at - 1);
    at[sizeof at - 1] = '\0'; /* PS_KEY_MAX - 1 bytes: the longest key */
    memset(over, 'k', sizeof over - 1);
    over[sizeof over - 1] = '\0';
    for (int k = 0; k < 4; k++) {
        char *url = ps_test_url_for(kinds[k]);
        cr_assert_not_null(url, "no URL for %s", kinds[k]);
        ps_store *s = ps_store_open("limits", url, NULL);
        cr_assert_not_null(s, "%s: %s", url, ps_last_error_message());
        int32_t v = 5;
        cr_assert_eq(ps_store_put_key(s, at, &ps_type_int32, &v, 1), PS_OK, "%s: %s", kinds[k],
                     ps_last_error_message());
        int32_t *got = ps_store_get(s, at, &ps_type_int32, NULL);
        cr_assert(got && *got == 5, "%s", kinds[k]);
        ps_object_free(&ps_type_int32, got);
        ps_proxy_t *p = ps_proxy_from_key(s, at, &ps_type_int32);
        char *desc = ps_proxy_serialize(p);
        ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_int32);
        cr_assert_not_null(q, "%s: a descriptor with the longest key: %s", kinds[k], ps_last_error_message());
        cr_assert_eq(*(int32_t *)ps_resolve(q), 5);
        ps_proxy_free(q);
        free(desc);
        cr_assert_eq(ps_proxy_evict(p), PS_OK);

        REFUSED(ps_store_put_key(s, over, &ps_type_int32, &v, 1), PS_ERR_INVALID_ARGUMENT);
        cr_assert(strstr(ps_last_error_message(), "longer than 127 bytes"), "%s", ps_last_error_message());
        REFUSED_NULL(ps_store_get(s, over, &ps_type_int32, NULL), PS_ERR_INVALID_ARGUMENT);
        bool there;
        REFUSED(ps_store_exists(s, over, &there), PS_ERR_INVALID_ARGUMENT);
        REFUSED(ps_store_evict(s, over), PS_ERR_INVALID_ARGUMENT);
        REFUSED_NULL(ps_proxy_from_key(s, over, &ps_type_int32), PS_ERR_INVALID_ARGUMENT);
        ps_store_close(s);
        free(url);
    }
}

static ps_status serialize_nothing(const void *obj, ps_buffer *out)
{
    (void)obj, (void)out;
    return PS_OK;
}
static ps_status deserialize_empty(const void *bytes, size_t len, void **out)
{
    (void)bytes;
    if (len != 0)
        return PS_ERR_SERIALIZE;
    *out = malloc(1);
    return PS_OK;
}
static const ps_type empty_custom = {"struct empty", 1, 1, 0, serialize_nothing, deserialize_empty, free};

Test(limits, zero_length_objects_on_every_connector, .timeout = 60)
{
    for (int k = 0; k < 4; k++) {
        char *url = ps_test_url_for(kinds[k]);
        ps_store *s = ps_store_open("zero", url, NULL);
        cr_assert_not_null(s, "%s: %s", url, ps_last_error_message());
        char key[PS_KEY_MAX];
        cr_assert_eq(ps_store_put(s, &ps_type_double, NULL, 0, key), PS_OK, "%s", ps_last_error_message());
        size_t count = 99;
        void *obj = ps_store_get(s, key, &ps_type_double, &count);
        cr_assert_not_null(obj, "%s: an empty array is an object: %s", kinds[k], ps_last_error_message());
        cr_assert_eq(count, 0);
        ps_object_free(&ps_type_double, obj);

        ps_proxy_t *p = ps_proxy_array(s, &ps_type_double, NULL, 0);
        cr_assert_not_null(p);
        cr_assert_eq(ps_proxy_size(p), 0);
        char *desc = ps_proxy_serialize(p);
        ps_proxy_t *q = ps_proxy_deserialize(desc, NULL);
        cr_assert_not_null(ps_resolve(q), "%s: %s", kinds[k], ps_last_error_message());
        ps_proxy_free(q);
        free(desc);
        cr_assert_eq(ps_proxy_evict(p), PS_OK);

        cr_assert_eq(ps_store_put(s, &empty_custom, &count, 1, key), PS_OK, "%s", ps_last_error_message());
        obj = ps_store_get(s, key, &empty_custom, NULL);
        cr_assert_not_null(obj, "%s: %s", kinds[k], ps_last_error_message());
        ps_object_free(&empty_custom, obj);
        ps_proxy_t *c = ps_proxy_from_key(s, key, &empty_custom);
        cr_assert_not_null(c, "%s", ps_last_error_message());
        cr_assert_eq(ps_proxy_evict(c), PS_OK);
        ps_store_close(s);
        free(url);
    }
}

Test(limits, counts_whose_byte_size_overflows)
{
    ps_store *s = ps_store_open("overflow", "local://", NULL);
    double d[2] = {1, 2};
    char key[PS_KEY_MAX];
    size_t huge = SIZE_MAX / sizeof(double) + 2;
    REFUSED(ps_store_put(s, &ps_type_double, d, huge, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "overflow"), "%s", ps_last_error_message());
    REFUSED(ps_store_put(s, &ps_type_double, d, SIZE_MAX, key), PS_ERR_INVALID_ARGUMENT);
    REFUSED_NULL(ps_proxy_array(s, &ps_type_double, d, huge), PS_ERR_INVALID_ARGUMENT);
    const void *objs[2] = {d, d};
    size_t counts[2] = {2, huge};
    char keys[2][PS_KEY_MAX];
    REFUSED(ps_store_put_batch(s, &ps_type_double, 2, objs, counts, keys), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "object 1 of the batch"), "%s", ps_last_error_message());
    ps_type wide = PS_TYPE_POD_INIT(double);
    wide.size = (size_t)UINT32_MAX + 1;
    REFUSED(ps_store_put(s, &wide, d, 1, key), PS_ERR_INVALID_ARGUMENT);
    ps_metrics m;
    ps_store_metrics(s, &m);
    cr_assert_eq(m.op[PS_OP_PUT].bytes, 0, "nothing was stored");
    ps_store_close(s);
}

/* ------------------------------------------- a serializer failing in a batch */

static int serialize_calls;
static ps_status serialize_third_fails(const void *obj, ps_buffer *out)
{
    if (++serialize_calls == 3)
        return PS_ERR_SERIALIZE;
    return ps_buffer_append(out, obj, sizeof(int));
}
static ps_status deserialize_int(const void *bytes, size_t len, void **out)
{
    if (len != sizeof(int))
        return PS_ERR_SERIALIZE;
    *out = malloc(sizeof(int));
    memcpy(*out, bytes, sizeof(int));
    return PS_OK;
}
static const ps_type flaky_type = {"struct flaky", sizeof(int), _Alignof(int), 0, serialize_third_fails,
                                   deserialize_int, free};

Test(hooks_in_batches, a_serializer_failing_midway_leaves_nothing_behind)
{
    for (int k = 0; k < 3; k++) {
        char *url = ps_test_url_for(kinds[k]);
        ps_store *s = ps_store_open("flaky", url, NULL);
        int v[4] = {1, 2, 3, 4};
        const void *objs[4] = {&v[0], &v[1], &v[2], &v[3]};
        char keys[4][PS_KEY_MAX];
        serialize_calls = 0;
        REFUSED(ps_store_put_batch(s, &flaky_type, 4, objs, NULL, keys), PS_ERR_SERIALIZE);
        cr_assert(strstr(ps_last_error_message(), "object 2 of the batch"), "%s", ps_last_error_message());
        for (int i = 0; i < 4; i++)
            cr_assert_eq(keys[i][0], '\0', "key %d reported", i);
        ps_metrics m;
        ps_store_metrics(s, &m);
        cr_assert_eq(m.op[PS_OP_PUT].errors, 4);
        ps_store_close(s);
        free(url);
    }
}

/* -------------------------------------------- corrupted objects on disk */

static char *object_path(const char *url, const char *key)
{
    char *path;
    cr_assert(asprintf(&path, "%s/%s", url + strlen("file://"), key) > 0);
    return path;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char *data = malloc(4096);
    *len = fread(data, 1, 4096, f);
    fclose(f);
    return data;
}

static void write_all(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Every way of reading key as double: none may crash, all must agree. */
static ps_status read_every_way(ps_store *s, const char *key, const char *desc)
{
    void *obj = ps_store_get(s, key, &ps_type_double, NULL);
    ps_status st = obj ? PS_OK : ps_last_error_code();
    ps_object_free(&ps_type_double, obj);

    const char *keys[] = {key};
    void *objs[1];
    ps_status batch = ps_store_get_batch(s, &ps_type_double, 1, keys, objs, NULL);
    ps_object_free(&ps_type_double, objs[0]);
    /* A batch reports a missing object (an expiry byte damaged into the
     * past reads as expired) as a NULL entry, not an error. */
    if (st == PS_ERR_NOT_FOUND)
        cr_assert(batch == PS_OK && objs[0] == NULL, "get_batch %s, get %s", ps_status_name(batch),
                  ps_status_name(st));
    else
        cr_assert_eq(batch, st, "get_batch %s, get %s", ps_status_name(batch), ps_status_name(st));

    ps_proxy_t *p = ps_proxy_from_key(s, key, &ps_type_double);
    cr_assert_eq(p ? PS_OK : ps_last_error_code(), st);
    ps_proxy_free(p);

    /* a proxy made before the damage resolves it, or says why not */
    ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_double);
    cr_assert_not_null(q);
    const double *v = ps_resolve(q);
    if (!v)
        cr_assert(ps_last_error_code() == PS_ERR_BAD_DATA || ps_last_error_code() == PS_ERR_TYPE_MISMATCH ||
                      ps_last_error_code() == PS_ERR_NOT_FOUND, /* damaged into an expiry in the past */
                  "%s: %s", ps_status_name(ps_last_error_code()), ps_last_error_message());
    ps_proxy_free(q);
    return st;
}

Test(corruption, every_header_byte_flipped_truncated_or_extended)
{
    char *url = ps_test_url_for("file");
    ps_store_options no_cache = {.cache_size = 0};
    ps_store *s = ps_store_open("corrupt-file", url, &no_cache);
    double values[3] = {1.5, 2.5, 3.5};
    cr_assert_eq(ps_store_put_key(s, "victim", &ps_type_double, values, 3), PS_OK);
    ps_proxy_t *p = ps_proxy_from_key(s, "victim", &ps_type_double);
    char *desc = ps_proxy_serialize(p);
    ps_proxy_free(p);
    char *path = object_path(url, "victim");
    size_t len;
    unsigned char *good = read_all(path, &len);
    cr_assert_eq(len, 64 + sizeof values);
    unsigned char *bad = malloc(len + 16);

    for (size_t i = 0; i < 64; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x5a;
        write_all(path, bad, len);
        ps_status st = read_every_way(s, "victim", desc);
        if (i >= 40)
            continue; /* the payload hash (checked by proxies) and the name (messages only) */
        cr_assert_neq(st, PS_OK, "a flipped byte %zu went unnoticed", i);
        /* a damaged type-name hash reads as another type; any other damage
         * (an element size included) breaks the header's own consistency */
        ps_status want = i >= 32 ? PS_ERR_TYPE_MISMATCH : PS_ERR_BAD_DATA;
        cr_assert_eq(st, want, "byte %zu: %s: %s", i, ps_status_name(st), ps_last_error_message());
    }

    for (size_t cut = 0; cut < len; cut++) {
        write_all(path, good, cut);
        cr_assert_eq(read_every_way(s, "victim", desc), PS_ERR_BAD_DATA, "cut at %zu", cut);
        cr_assert(strstr(ps_last_error_message(), "truncated"), "%s", ps_last_error_message());
    }

    memcpy(bad, good, len);
    memcpy(bad + len, "trailing bytes!", 16);
    write_all(path, bad, len + 16);
    cr_assert_eq(read_every_way(s, "victim", desc), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "inconsistent lengths"), "%s", ps_last_error_message());

    memcpy(bad, good, len);
    bad[4] = 3; /* format version 3 */
    write_all(path, bad, len);
    cr_assert_eq(read_every_way(s, "victim", desc), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "format version 3"), "%s", ps_last_error_message());

    memcpy(bad, good, len);
    memcpy(bad, "XXXX", 4);
    write_all(path, bad, len);
    cr_assert_eq(read_every_way(s, "victim", desc), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "not written by libproxystore"), "%s", ps_last_error_message());

    /* a flipped payload byte: the header cannot tell (no reader re-hashes),
     * so the object reads; the damage is the file system's to report */
    memcpy(bad, good, len);
    bad[len - 1] ^= 1;
    write_all(path, bad, len);
    cr_assert_eq(read_every_way(s, "victim", desc), PS_OK);

    /* and the good object reads again: nothing was cached or lost */
    write_all(path, good, len);
    cr_assert_eq(read_every_way(s, "victim", desc), PS_OK);
    free(bad);
    free(good);
    free(path);
    free(desc);
    ps_store_close(s);
    free(url);
}

/* --------------------------------------------- mutated descriptors, URLs */

static const char *const tokens[] = {
    " ", "=", "%", "%00", "%2", "%20", "psproxy/", "psproxy/1", "psproxy/2", " store=", " url=", " key=",
    " type=", " kind=", " elem=", " count=", " size=", " hash=", "pod", "custom", "local://", "shm://x",
    "18446744073709551616", "0", "-1", "..", "/", "\r\n", "\n", "\x01", "\xff", "ffffffffffffffff",
};

/* One random edit of text (at most cap-1 bytes) in place. */
static void mutate(char *text, size_t cap, unsigned *seed)
{
    size_t len = strlen(text);
    size_t at = len ? (size_t)rand_r(seed) % (len + 1) : 0;
    switch (rand_r(seed) % 5) {
    case 0: /* flip a byte */
        if (at < len)
            text[at] = (char)(text[at] ^ (1 << (rand_r(seed) % 8)));
        if (at < len && text[at] == '\0')
            text[at] = 'x';
        break;
    case 1: /* truncate */
        text[at] = '\0';
        break;
    case 2: /* delete a run */
        if (at < len) {
            size_t n = 1 + (size_t)rand_r(seed) % (len - at);
            memmove(text + at, text + at + n, len - at - n + 1);
        }
        break;
    default: { /* insert a token */
        const char *t = tokens[rand_r(seed) % (sizeof tokens / sizeof tokens[0])];
        size_t n = strlen(t);
        if (len + n < cap) {
            memmove(text + at + n, text + at, len - at + 1);
            memcpy(text + at, t, n);
        }
    }
    }
}

Test(mutation, descriptors_are_parsed_or_refused_never_crash, .timeout = 60)
{
    ps_store *s = ps_store_open("mut", "local://", NULL);
    double v[4] = {1, 2, 3, 4};
    ps_proxy_t *p = ps_proxy_array(s, &ps_type_double, v, 4);
    char *good = ps_proxy_serialize(p);
    unsigned seed = 20240611;
    int accepted = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        char text[1024];
        snprintf(text, sizeof text, "%s", good);
        int edits = 1 + rand_r(&seed) % 4;
        for (int e = 0; e < edits; e++)
            mutate(text, sizeof text, &seed);
        for (int t = 0; t < 2; t++) {
            ps_proxy_t *q = ps_proxy_deserialize(text, t ? &ps_type_double : NULL);
            if (!q) {
                refused++;
                cr_assert_neq(ps_last_error_code(), PS_OK, "%s", text);
                cr_assert_gt(strlen(ps_last_error_message()), 10, "%s", text);
                continue;
            }
            accepted++;
            char *again = ps_proxy_serialize(q);
            cr_assert_not_null(again);
            ps_proxy_t *r = ps_proxy_deserialize(again, t ? &ps_type_double : NULL);
            cr_assert_not_null(r, "what it writes it reads: %s (%s)", again, ps_last_error_message());
            ps_resolve(r); /* found, not found or changed: never a crash */
            ps_proxy_free(r);
            free(again);
            ps_proxy_free(q);
        }
    }
    cr_assert_gt(accepted, 100, "the mutations reached the accepting paths (%d)", accepted);
    cr_assert_gt(refused, 1000);
    free(good);
    ps_proxy_free(p);
    ps_store_close(s);
}

Test(mutation, urls_are_parsed_or_refused_never_crash)
{
    const char *seeds[] = {"redis://:pw@127.0.0.1:6379/2?prefix=p&chunk=64K", "file:///tmp/x%20y?sync=1",
                           "shm://name", "redis://[::1]:80/", "local://", "redis://user:pw@h"};
    unsigned seed = 77;
    for (int round = 0; round < 20000; round++) {
        char text[512];
        snprintf(text, sizeof text, "%s", seeds[round % 6]);
        int edits = 1 + rand_r(&seed) % 4;
        for (int e = 0; e < edits; e++)
            mutate(text, sizeof text, &seed);
        ps_url u;
        if (ps_url_parse(text, &u) != PS_OK) {
            cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL, "%s: %s", text, ps_last_error_message());
            continue;
        }
        cr_assert(u.scheme && u.host && u.path, "%s", text);
        size_t size;
        if (ps_url_param_size(&u, "chunk", 1, &size) != PS_OK)
            cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
        ps_url_free(&u);
    }
}

Test(urls, a_size_parameter_is_digits_and_a_suffix_only)
{
    const char *bad[] = {"redis://h?chunk=%20-1", "redis://h?chunk=+5", "redis://h?chunk=%205", "redis://h?chunk=-1",
                         "redis://h?chunk=", "redis://h?chunk=5KB", "redis://h?chunk=0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_url u;
        cr_assert_eq(ps_url_parse(bad[i], &u), PS_OK, "%s", bad[i]);
        size_t size = 0;
        cr_assert_eq(ps_url_param_size(&u, "chunk", 1, &size), PS_ERR_BAD_URL, "%s gave %zu", bad[i], size);
        ps_url_free(&u);
    }
    ps_url u;
    cr_assert_eq(ps_url_parse("redis://h?chunk=64K", &u), PS_OK);
    size_t size;
    cr_assert_eq(ps_url_param_size(&u, "chunk", 1, &size), PS_OK);
    cr_assert_eq(size, 65536);
    ps_url_free(&u);
}

Test(urls, nothing_may_follow_a_bracketed_host_but_a_port)
{
    ps_url u;
    cr_assert_eq(ps_url_parse("redis://[::1]junk:80", &u), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "after"), "%s", ps_last_error_message());
    cr_assert_eq(ps_url_parse("redis://[::1]junk", &u), PS_ERR_BAD_URL);
    cr_assert_eq(ps_url_parse("redis://[::1]:80", &u), PS_OK);
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 80);
    ps_url_free(&u);
    cr_assert_eq(ps_url_parse("redis://[::1]/2", &u), PS_OK);
    cr_assert_eq(u.port, -1);
    ps_url_free(&u);
}

Test(urls, a_parameter_given_twice_is_refused)
{
    ps_url u;
    cr_assert_eq(ps_url_parse("file:///tmp/x?sync=1&sync=0", &u), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "parameter 'sync' twice"), "%s", ps_last_error_message());
    cr_assert_null(ps_store_open("twice", "redis://127.0.0.1:1?prefix=a&prefix=b", NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL, "refused before any connection: %s", ps_last_error_message());
    cr_assert_eq(ps_url_parse("redis://h?prefix=a&chunk=1K", &u), PS_OK);
    ps_url_free(&u);
}

Test(corruption, a_damaged_type_name_never_puts_control_bytes_in_messages)
{
    ps_store *s = ps_store_open("damaged-name", "local://", NULL);
    int32_t v = 1;
    cr_assert_eq(ps_store_put_key(s, "named", &ps_type_int32, &v, 1), PS_OK);
    ps_blob blob;
    cr_assert_eq(s->conn->ops->get(s->conn, "named", &blob), PS_OK);
    unsigned char bytes[64 + sizeof v];
    memcpy(bytes, blob.data, sizeof bytes);
    ps_blob_release(&blob);
    memcpy(bytes + 48, "\x1b[2J\x07\x01\xfe", 7); /* a terminal escape, a bell, non-ASCII */
    bytes[32] ^= 1;                             /* and another type's name hash */
    ps_iov part = {bytes, sizeof bytes};
    cr_assert_eq(s->conn->ops->put(s->conn, "named", &part, 1), PS_OK);
    ps_cache_remove(&s->cache, "named");
    cr_assert_null(ps_store_get(s, "named", &ps_type_int32, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    for (const char *c = ps_last_error_message(); *c; c++)
        cr_assert((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f, "byte 0x%02x in '%s'", (unsigned char)*c,
                  ps_last_error_message());
    ps_store_close(s);
}

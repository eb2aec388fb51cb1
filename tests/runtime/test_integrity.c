/*
 * test_integrity.c — payloads corrupted at rest: caught on every read when
 * a store verifies (ps_store_options.verify), and always before a custom
 * type's deserialize hook would see them.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"

/* Flip one payload byte of the object file under key (the 64-byte object
 * header comes first). */
static void corrupt_file_object(const char *url, const char *key, size_t payload_offset)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", url + strlen("file://"), key);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0, "open %s", path);
    unsigned char b;
    off_t at = (off_t)(64 + payload_offset);
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static ps_store *open_file_store(const char *name, char **url_out, bool verify)
{
    *url_out = ps_test_url_for("file");
    ps_store_options o = {.cache_size = -1, .verify = verify};
    ps_store *s = ps_store_open(name, *url_out, &o);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    return s;
}

static void expect_corrupted(const char *what)
{
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA, "%s: %s: %s", what, ps_status_name(ps_last_error_code()),
                 ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "is corrupted"), "%s: %s", what, ps_last_error_message());
}

Test(integrity, a_verifying_store_refuses_a_corrupted_payload)
{
    char *url;
    ps_store *s = open_file_store("verifying", &url, true);
    double v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = i;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_double, v, 1000, key), PS_OK);
    double *ok = ps_store_get(s, key, &ps_type_double, NULL);
    cr_assert_not_null(ok, "an intact object reads: %s", ps_last_error_message());
    ps_object_free(&ps_type_double, ok);

    corrupt_file_object(url, key, 777);
    cr_assert_null(ps_store_get(s, key, &ps_type_double, NULL));
    expect_corrupted("ps_store_get");
    const char *keys[] = {key};
    void *objs[1];
    cr_assert_eq(ps_store_get_batch(s, &ps_type_double, 1, keys, objs, NULL), PS_ERR_BAD_DATA);
    expect_corrupted("ps_store_get_batch");
    cr_assert_null(ps_proxy_from_key(s, key, &ps_type_double));
    expect_corrupted("ps_proxy_from_key");
    ps_store_evict(s, key);
    ps_store_close(s);
    free(url);
}

Test(integrity, without_verify_plain_data_is_not_hashed_on_read)
{
    /* The documented trade-off: plain data is handed back as stored. */
    char *url;
    ps_store *s = open_file_store("trusting", &url, false);
    unsigned char bytes[256] = {0};
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_bytes, bytes, sizeof bytes, key), PS_OK);
    corrupt_file_object(url, key, 5);
    unsigned char *got = ps_store_get(s, key, &ps_type_bytes, NULL);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(got[5], 0x40);
    ps_object_free(&ps_type_bytes, got);
    ps_store_evict(s, key);
    ps_store_close(s);
    free(url);
}

/* A custom type whose deserialize hook counts its calls. */
static int hook_calls;

static ps_status counted_serialize(const void *obj, ps_buffer *out)
{
    return ps_buffer_append(out, obj, 64);
}

static ps_status counted_deserialize(const void *bytes, size_t len, void **obj_out)
{
    hook_calls++;
    void *copy = malloc(len);
    if (!copy)
        return PS_ERR_NO_MEMORY;
    memcpy(copy, bytes, len);
    *obj_out = copy;
    return PS_OK;
}

static const ps_type counted_type = {"struct counted", 64, 8, 0, counted_serialize, counted_deserialize, free};

Test(integrity, a_custom_hook_never_sees_unchecked_bytes)
{
    char *url;
    ps_store *s = open_file_store("custom-unverified", &url, false); /* no verify option */
    char obj[64];
    memset(obj, 'x', sizeof obj);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &counted_type, obj, 1, key), PS_OK, "%s", ps_last_error_message());
    void *got = ps_store_get(s, key, &counted_type, NULL);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    ps_object_free(&counted_type, got);
    cr_assert_eq(hook_calls, 1);

    corrupt_file_object(url, key, 10);
    cr_assert_null(ps_store_get(s, key, &counted_type, NULL));
    expect_corrupted("ps_store_get");
    cr_assert_null(ps_proxy_from_key(s, key, &counted_type));
    expect_corrupted("ps_proxy_from_key");
    cr_assert_eq(hook_calls, 1, "the hook saw corrupted bytes");
    ps_store_evict(s, key);
    ps_store_close(s);
    free(url);
}

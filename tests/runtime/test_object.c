/*
 * test_object.c — the stored object header, type descriptors and names,
 * buffers, and keys: what a reader accepts and what it refuses.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "connector.h"
#include "key.h"
#include "object.h"
#include "store.h"

static void le32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void le64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }

/* A well-formed object: header + n doubles. */
static unsigned char *make_object(size_t n, size_t *len_out)
{
    size_t len = PS_OBJECT_HEADER_SIZE + n * sizeof(double);
    unsigned char *buf = calloc(1, len);
    double *payload = (double *)(buf + PS_OBJECT_HEADER_SIZE);
    for (size_t i = 0; i < n; i++)
        payload[i] = (double)i;
    ps_object_info info;
    ps_object_info_init(&info, &ps_type_double, n, n * sizeof(double), XXH3_64bits(payload, n * sizeof(double)));
    ps_object_header_encode(&info, buf);
    *len_out = len;
    return buf;
}

static void assert_bad(const void *data, size_t len, const char *needle)
{
    ps_object_info info;
    cr_assert_eq(ps_object_header_decode(data, len, "k1", &info), PS_ERR_BAD_DATA, "accepted (%s)", needle);
    cr_assert(strstr(ps_last_error_message(), needle), "message '%s' lacks '%s'", ps_last_error_message(), needle);
    cr_assert(strstr(ps_last_error_message(), "k1"), "message names the key: %s", ps_last_error_message());
}

Test(header, layout_is_fixed)
{
    size_t len;
    unsigned char *obj = make_object(3, &len);
    cr_assert_eq(memcmp(obj, "PSOB", 4), 0);
    cr_assert_eq(obj[4], 2);   /* version, little-endian */
    cr_assert_eq(obj[6], 64);  /* header size */
    cr_assert_eq(obj[8], 1);   /* flags: POD */
    cr_assert_eq(obj[12], 8);  /* element size */
    cr_assert_eq(obj[16], 3);  /* count */
    cr_assert_eq(obj[24], 24); /* payload length */
    cr_assert_str_eq((const char *)obj + 48, "double");
    for (int i = 56; i < 64; i++)
        cr_assert_eq(obj[i], 0, "no expiry");
    cr_assert_eq(ps_object_expiry(obj, len), 0);
    ps_object_info info;
    cr_assert_eq(ps_object_header_decode(obj, len, "k", &info), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(info.count, 3);
    cr_assert_eq(info.elem_size, 8);
    cr_assert_eq(info.payload_len, 24);
    cr_assert_eq(info.payload_hash, XXH3_64bits(obj + 64, 24));
    cr_assert_eq(info.type_hash, ps_type_name_hash("double"));
    free(obj);
}

Test(header, long_type_names_are_truncated_in_the_header)
{
    ps_type t = PS_TYPE_POD_INIT(double);
    t.name = "struct a_rather_long_type_name_for_a_header";
    ps_object_info info;
    ps_object_info_init(&info, &t, 1, 8, 0);
    cr_assert_str_eq(info.type_name, "struct a");
    cr_assert(info.name_cut);
    cr_assert_eq(info.type_hash, ps_type_name_hash(t.name), "the hash covers the whole name");
}

Test(header, rejects_bad_data)
{
    size_t len;
    unsigned char *obj = make_object(4, &len);
    unsigned char *copy = malloc(len + 8);

    assert_bad(obj, 10, "truncated");
    assert_bad(obj, 0, "truncated");
    assert_bad(obj, len - 1, "truncated");

    memcpy(copy, obj, len);
    memset(copy + len, 0, 8);
    assert_bad(copy, len + 8, "inconsistent lengths");

    memcpy(copy, obj, len);
    copy[0] = 'X';
    assert_bad(copy, len, "bad magic");

    memcpy(copy, obj, len);
    copy[4] = 3;
    assert_bad(copy, len, "format version 3");

    memcpy(copy, obj, len);
    copy[4] = 0;
    assert_bad(copy, len, "format version 0");

    memcpy(copy, obj, len);
    copy[6] = 32;
    assert_bad(copy, len, "32-byte header");

    memcpy(copy, obj, len);
    le32(copy + 8, 4);
    assert_bad(copy, len, "unknown flags");

    memcpy(copy, obj, len);
    le32(copy + 12, 0);
    assert_bad(copy, len, "element size 0");

    memcpy(copy, obj, len);
    le64(copy + 16, 5); /* 5 doubles announced, 4 present */
    assert_bad(copy, len, "inconsistent lengths");

    memcpy(copy, obj, len);
    le64(copy + 16, UINT64_MAX / 4); /* count x size overflows */
    assert_bad(copy, len, "inconsistent lengths");

    memcpy(copy, obj, len);
    le64(copy + 24, 1000);
    assert_bad(copy, len, "truncated");

    memcpy(copy, obj, len);
    le32(copy + 8, 2); /* custom with count 4 */
    assert_bad(copy, len, "count 4");

    ps_object_info info;
    cr_assert_eq(ps_object_header_decode(NULL, 0, "k1", &info), PS_ERR_BAD_DATA);
    free(obj);
    free(copy);
}

/* Corrupt bytes under a key reach the caller as PS_ERR_BAD_DATA, never a
 * crash, through every read path. */
Test(header, corrupt_objects_through_the_store)
{
    ps_store *s = ps_store_open("corrupt", "local://", NULL);
    cr_assert_not_null(s);
    const char junk[] = "this is not an object written by the store, but it is long enough to fill a header";
    ps_iov part = {junk, sizeof junk};
    cr_assert_eq(s->conn->ops->put(s->conn, "junk", &part, 1), PS_OK);
    cr_assert_null(ps_store_get(s, "junk", &ps_type_bytes, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "bad magic"), "%s", ps_last_error_message());
    cr_assert_null(ps_proxy_from_key(s, "junk", &ps_type_bytes));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA);
    const char *keys[] = {"junk"};
    void *objs[1];
    cr_assert_eq(ps_store_get_batch(s, &ps_type_bytes, 1, keys, objs, NULL), PS_ERR_BAD_DATA);

    part.len = 3;
    cr_assert_eq(s->conn->ops->put(s->conn, "short", &part, 1), PS_OK);
    cr_assert_null(ps_store_get(s, "short", &ps_type_bytes, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA);
    ps_store_close(s);
}

Test(types, name_normalization)
{
    cr_assert(ps_type_names_equal("struct matrix", "struct   matrix"));
    cr_assert(ps_type_names_equal(" struct\tmatrix\n", "struct matrix"));
    cr_assert(ps_type_names_equal("double *", "double*"));
    cr_assert(ps_type_names_equal("double[ 4 ]", "double [4]"));
    cr_assert(ps_type_names_equal("unsigned  char", "unsigned char"));
    cr_assert_not(ps_type_names_equal("unsignedchar", "unsigned char"));
    cr_assert_not(ps_type_names_equal("struct matrix", "struct mesh"));
    cr_assert_not(ps_type_names_equal(NULL, "x"));
    char out[PS_TYPE_NAME_MAX + 1];
    cr_assert_eq(ps_type_name_normalize("  const  char  *  ", out), PS_OK);
    cr_assert_str_eq(out, "const char*");
    cr_assert_eq(ps_type_name_normalize("   ", out), PS_ERR_INVALID_ARGUMENT);
    char huge[400];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    cr_assert_eq(ps_type_name_normalize(huge, out), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "longer than"));
    /* Names already in normal form come back as they are; any other
     * spacing, tabs included, takes the full rules; bytes past ASCII are
     * never letters, whatever the locale. */
    const char *cases[][2] = {{"unsigned char", "unsigned char"}, {"struct a_b9", "struct a_b9"},
                              {"double *", "double*"},            {"a\tb", "a b"},
                              {"a  b", "a b"},                    {"a b ", "a b"},
                              {" a b", "a b"},                    {"x \xc3\xa9", "x\xc3\xa9"},
                              {"\xc3\xa9 x", "\xc3\xa9x"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(ps_type_name_normalize(cases[i][0], out), PS_OK, "case %zu", i);
        cr_assert_str_eq(out, cases[i][1], "case %zu", i);
    }
    huge[PS_TYPE_NAME_MAX] = '\0'; /* exactly the longest name: kept */
    cr_assert_eq(ps_type_name_normalize(huge, out), PS_OK);
    cr_assert_eq(strlen(out), PS_TYPE_NAME_MAX);
    huge[PS_TYPE_NAME_MAX] = 'x';
    huge[PS_TYPE_NAME_MAX + 1] = '\0'; /* one more: refused */
    cr_assert_eq(ps_type_name_normalize(huge, out), PS_ERR_INVALID_ARGUMENT);
    huge[PS_TYPE_NAME_MAX - 2] = ' '; /* a space, and one byte too many */
    cr_assert_eq(ps_type_name_normalize(huge, out), PS_ERR_INVALID_ARGUMENT);
    /* One buffer, its bytes changed between calls: each call sees them. */
    char name[32] = "double";
    cr_assert_eq(ps_type_name_normalize(name, out), PS_OK);
    cr_assert_str_eq(out, "double");
    strcpy(name, "long  double");
    cr_assert_eq(ps_type_name_normalize(name, out), PS_OK);
    cr_assert_str_eq(out, "long double");
    strcpy(name, "float");
    cr_assert_eq(ps_type_name_normalize(name, out), PS_OK);
    cr_assert_str_eq(out, "float");
    strcpy(name, " ");
    cr_assert_eq(ps_type_name_normalize(name, out), PS_ERR_INVALID_ARGUMENT);
}

static ps_status ser(const void *o, ps_buffer *b) { (void)o; return ps_buffer_append(b, "x", 1); }
static ps_status des(const void *p, size_t n, void **o) { (void)p, (void)n; *o = malloc(1); return PS_OK; }

Test(types, validation)
{
    cr_assert_eq(ps_type_validate(&ps_type_double), PS_OK);
    cr_assert_eq(ps_type_validate(NULL), PS_ERR_INVALID_ARGUMENT);
    ps_type t = PS_TYPE_POD_INIT(int);
    t.size = 0;
    cr_assert_eq(ps_type_validate(&t), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "element size 0"));
    t = (ps_type)PS_TYPE_POD_INIT(int);
    t.align = 3;
    cr_assert_eq(ps_type_validate(&t), PS_ERR_INVALID_ARGUMENT);
    t = (ps_type)PS_TYPE_POD_INIT(int);
    t.name = NULL;
    cr_assert_eq(ps_type_validate(&t), PS_ERR_INVALID_ARGUMENT);
    t = (ps_type)PS_TYPE_POD_INIT(int);
    t.flags = 0x80;
    cr_assert_eq(ps_type_validate(&t), PS_ERR_INVALID_ARGUMENT);
    t = (ps_type)PS_TYPE_POD_INIT(int);
    t.serialize = ser;
    cr_assert_eq(ps_type_validate(&t), PS_ERR_INVALID_ARGUMENT, "plain data with hooks");
    ps_type custom = {"struct c", 8, 8, 0, ser, des, NULL};
    cr_assert_eq(ps_type_validate(&custom), PS_ERR_INVALID_ARGUMENT, "custom without free_obj");
    cr_assert(strstr(ps_last_error_message(), "free_obj"));
    custom.free_obj = free;
    cr_assert_eq(ps_type_validate(&custom), PS_OK);

    /* the store refuses a bad descriptor before writing anything */
    ps_store *s = ps_store_open("types", "local://", NULL);
    int x = 1;
    char key[PS_KEY_MAX];
    t = (ps_type)PS_TYPE_POD_INIT(int);
    t.size = 0;
    cr_assert_eq(ps_store_put(s, &t, &x, 1, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_store_put(s, NULL, &x, 1, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_store_put(s, &ps_type_int32, NULL, 1, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, SIZE_MAX, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(ps_proxy(s, &t, &x));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    ps_store_close(s);
}

Test(types, builtin_descriptors)
{
    const ps_type *all[] = {&ps_type_bytes, &ps_type_char, &ps_type_int32, &ps_type_int64, &ps_type_double,
                            &ps_type_float};
    size_t sizes[] = {1, 1, 4, 8, 8, 4};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ps_type_validate(all[i]), PS_OK);
        cr_assert_eq(all[i]->size, sizes[i]);
        cr_assert(all[i]->flags & PS_TYPE_POD);
    }
    cr_assert_str_eq(ps_type_int32.name, "int32_t", "PS_RESOLVE(int32_t, p) spells it so");
}

Test(types, empty_pod_array)
{
    ps_store *s = ps_store_open("empty", "local://", NULL);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_double, NULL, 0, key), PS_OK, "%s", ps_last_error_message());
    size_t count = 99;
    void *got = ps_store_get(s, key, &ps_type_double, &count);
    cr_assert_not_null(got, "an empty array is an object: %s", ps_last_error_message());
    cr_assert_eq(count, 0);
    free(got);
    ps_store_close(s);
}

Test(buffer, append_grows)
{
    ps_buffer b = {0};
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(ps_buffer_append(&b, &i, sizeof i), PS_OK);
    cr_assert_eq(b.len, 10000 * sizeof(int));
    cr_assert_geq(b.cap, b.len);
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(((int *)b.data)[i], i);
    cr_assert_eq(ps_buffer_append(&b, NULL, 0), PS_OK);
    cr_assert_eq(ps_buffer_append(&b, NULL, 4), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_buffer_append(NULL, "x", 1), PS_ERR_INVALID_ARGUMENT);
    ps_buffer_free(&b);
    cr_assert_null(b.data);
}

static int freed;
static void count_free(void *p) { freed++; free(p); }

Test(object, free_uses_the_descriptor)
{
    ps_type custom = {"struct c", 8, 8, 0, ser, des, count_free};
    ps_object_free(&custom, malloc(4));
    cr_assert_eq(freed, 1);
    ps_object_free(&ps_type_double, malloc(8));
    ps_object_free(NULL, malloc(8));
    ps_object_free(&custom, NULL);
    cr_assert_eq(freed, 1);
}

Test(keys, validity)
{
    const char *good[] = {"a", "A-b_c.d:e", "0123456789abcdef", "x..y", "trailing."};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert(ps_key_valid(good[i]), "'%s'", good[i]);
    const char *bad[] = {"", ".", "..", ".x", "../../etc/passwd", "a/b", "a\\b", "a b", "a\nb", "ä", "a%2fb", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_not(ps_key_valid(bad[i]), "'%s'", bad[i] ? bad[i] : "(null)");
        cr_assert_eq(ps_key_check(bad[i]), PS_ERR_INVALID_ARGUMENT);
    }
    char k[PS_KEY_MAX + 1];
    memset(k, 'k', sizeof k);
    k[PS_KEY_MAX - 1] = '\0';
    cr_assert(ps_key_valid(k), "PS_KEY_MAX-1 bytes fit");
    k[PS_KEY_MAX - 1] = 'k';
    k[PS_KEY_MAX] = '\0';
    cr_assert_not(ps_key_valid(k), "PS_KEY_MAX bytes do not");
    cr_assert_eq(ps_key_check(k), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "longer than 127"), "%s", ps_last_error_message());
    ps_key_check("bad\x01key");
    cr_assert(strstr(ps_last_error_message(), "bad\\x01key"), "control bytes are escaped: %s",
              ps_last_error_message());
    ps_key_check(".hidden");
    cr_assert(strstr(ps_last_error_message(), "starts with '.'"));
}

Test(keys, generated)
{
    char a[PS_KEY_MAX], b[PS_KEY_MAX];
    cr_assert_eq(ps_key_generate(a), PS_OK);
    cr_assert_eq(ps_key_generate(b), PS_OK);
    cr_assert_eq(strlen(a), 32);
    cr_assert_eq(strspn(a, "0123456789abcdef"), 32);
    cr_assert_str_neq(a, b);
    cr_assert(ps_key_valid(a));
    /* Both digits of a byte take all 16 values: over 64 keys (1024 bytes) a
     * value missing from either place has odds below 1e-27. */
    unsigned seen[2] = {0, 0};
    for (int k = 0; k < 64; k++) {
        cr_assert_eq(ps_key_generate(a), PS_OK);
        for (int i = 0; i < 32; i++)
            seen[i & 1] |= 1u << (strchr("0123456789abcdef", a[i]) - "0123456789abcdef");
    }
    cr_assert_eq(seen[0], 0xffffu);
    cr_assert_eq(seen[1], 0xffffu);
}

Test(keys, a_forked_child_draws_its_own_keys)
{
    char first[PS_KEY_MAX], parent[PS_KEY_MAX], child[PS_KEY_MAX] = {0};
    cr_assert_eq(ps_key_generate(first), PS_OK); /* the parent now holds unspent random bytes */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char k[PS_KEY_MAX];
        ps_key_generate(k);
        ssize_t n = write(fds[1], k, sizeof k);
        _exit(n == (ssize_t)sizeof k ? 0 : 1);
    }
    cr_assert_eq(ps_key_generate(parent), PS_OK);
    cr_assert_eq(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    cr_assert_str_neq(parent, child, "parent and child must not hand out the same key");
    cr_assert_str_neq(first, child);
}

Test(header, expiry_is_recorded_at_offset_56)
{
    ps_type t = PS_TYPE_POD_INIT(double);
    ps_object_info info;
    ps_object_info_init(&info, &t, 1, 8, 0);
    info.expires_ms = 1234567890123ull;
    unsigned char h[64];
    ps_object_header_encode(&info, h);
    cr_assert_eq(ps_object_expiry(h, sizeof h), 1234567890123ull);
    cr_assert(ps_object_expired(h, sizeof h), "a 2009 expiry has passed");
    info.expires_ms = ps_unix_ms() + 60000;
    ps_object_header_encode(&info, h);
    cr_assert_not(ps_object_expired(h, sizeof h));
    unsigned char field[8];
    ps_object_expiry_encode(5, field);
    memcpy(h + PS_OBJECT_EXPIRY_OFFSET, field, 8);
    cr_assert_eq(ps_object_expiry(h, sizeof h), 5);
    cr_assert_eq(ps_object_expiry(h, 63), 0, "too short to be a header");
}

Test(header, version_1_headers_are_still_read)
{
    size_t len;
    unsigned char *obj = make_object(2, &len);
    obj[4] = 1;
    memcpy(obj + 48, "double\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16); /* a v1 name field, no expiry */
    ps_object_info info;
    cr_assert_eq(ps_object_header_decode(obj, len, "k", &info), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(info.expires_ms, 0);
    cr_assert_eq(ps_object_expiry(obj, len), 0, "version 1 has no expiry field");
    free(obj);
}

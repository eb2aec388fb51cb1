/*
 * test_descriptor.c — proxy descriptors: the text format, round trips, and
 * every way a descriptor can be wrong.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include <proxystore/proxystore.h>

static ps_store *store;
static ps_proxy_t *proxy;
static char *good; /* the descriptor of proxy */
static double values[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static void setup(void)
{
    store = ps_store_open("desc-store", "local://", NULL);
    cr_assert_not_null(store);
    proxy = ps_proxy_array(store, &ps_type_double, values, 8);
    cr_assert_not_null(proxy);
    good = ps_proxy_serialize(proxy);
    cr_assert_not_null(good);
}

static void teardown(void)
{
    free(good);
    ps_proxy_free(proxy);
    ps_store_close(store);
}

TestSuite(descriptor, .init = setup, .fini = teardown);

/* Deserializing text must fail with PS_ERR_BAD_DESCRIPTOR and a message
 * containing needle. */
static void assert_refused(const char *text, const char *needle)
{
    ps_proxy_t *p = ps_proxy_deserialize(text, &ps_type_double);
    cr_assert_null(p, "accepted: %s", text ? text : "(null)");
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DESCRIPTOR, "%s: %s", ps_status_name(ps_last_error_code()),
                 ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), needle), "message '%s' lacks '%s'", ps_last_error_message(),
              needle);
}

/* base with field name's value replaced by value (NULL: field removed). */
static char *edit(const char *base, const char *name, const char *value)
{
    char *out = calloc(1, strlen(base) + (value ? strlen(value) : 0) + 64);
    char pattern[32];
    snprintf(pattern, sizeof pattern, " %s=", name);
    const char *at = strstr(base, pattern);
    cr_assert_not_null(at, "field %s", name);
    const char *end = strchr(at + 1, ' ');
    if (!end)
        end = base + strlen(base);
    memcpy(out, base, (size_t)(at - base));
    if (value)
        sprintf(out + strlen(out), "%s%s", pattern, value);
    strcat(out, end);
    return out;
}

static char *with_field(const char *name, const char *value)
{
    return edit(good, name, value);
}

Test(descriptor, format)
{
    char expect[256];
    snprintf(expect, sizeof expect,
             "psproxy/1 store=desc-store url=local:// key=%s type=double kind=pod elem=8 count=8 size=64 "
             "hash=%016llx", ps_proxy_key(proxy), (unsigned long long)XXH3_64bits(values, sizeof values));
    cr_assert_str_eq(good, expect);
}

Test(descriptor, round_trip)
{
    ps_proxy_t *p = ps_proxy_deserialize(good, &ps_type_double);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    cr_assert_str_eq(ps_proxy_key(p), ps_proxy_key(proxy));
    cr_assert_eq(ps_proxy_hash(p), ps_proxy_hash(proxy));
    cr_assert_eq(ps_proxy_size(p), 64);
    cr_assert_eq(ps_proxy_count(p), 8);
    cr_assert_str_eq(ps_proxy_type_name(p), "double");
    cr_assert_eq(ps_proxy_store(p), store);
    cr_assert_arr_eq(PS_RESOLVE(double, p), values, sizeof values);
    char *again = ps_proxy_serialize(p);
    cr_assert_str_eq(again, good, "serialize is stable");
    free(again);
    ps_proxy_free(p);
}

Test(descriptor, trailing_newline_is_tolerated)
{
    char *line = malloc(strlen(good) + 3);
    sprintf(line, "%s\r\n", good);
    ps_proxy_t *p = ps_proxy_deserialize(line, &ps_type_double);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    ps_proxy_free(p);
    free(line);
}

Test(descriptor, not_a_descriptor)
{
    assert_refused(NULL, "no descriptor");
    assert_refused("", "not a proxy descriptor");
    assert_refused("hello world", "not a proxy descriptor");
    assert_refused("psproxy", "not a proxy descriptor");
    assert_refused("PSPROXY/1 store=x", "not a proxy descriptor");
}

Test(descriptor, versions)
{
    char *v2 = strdup(good);
    v2[8] = '3';
    assert_refused(v2, "version 3 is not supported");
    /* version 2 (ownership) needs its own fields; version 1 refuses them */
    v2[8] = '2';
    assert_refused(v2, "no field 'own'");
    char *v1_owned = NULL;
    cr_assert(asprintf(&v1_owned, "%s own=owned move=0123456789abcdef0123456789abcdef lease=100", good) > 0);
    assert_refused(v1_owned, "belongs to version 2");
    free(v1_owned);
    v2[8] = 'x';
    assert_refused(v2, "not a number");
    assert_refused("psproxy/ store=a", "not a number");
    assert_refused("psproxy/99999999999999999999 store=a", "not a number");
    assert_refused("psproxy/0", "version 0 is not supported");
    free(v2);
}

Test(descriptor, truncated)
{
    /* every prefix of a good descriptor is refused, none crashes */
    size_t n = strlen(good);
    char *prefix = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(prefix, good, i);
        prefix[i] = '\0';
        cr_assert_null(ps_proxy_deserialize(prefix, &ps_type_double), "prefix of %zu bytes accepted", i);
        cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DESCRIPTOR, "prefix %zu: %s", i, ps_last_error_message());
    }
    free(prefix);
    char *cut = strndup(good, (size_t)(strstr(good, " hash=") - good));
    assert_refused(cut, "no field 'hash' (truncated?)");
    free(cut);
}

Test(descriptor, each_missing_field)
{
    const char *fields[] = {"store", "url", "key", "type", "kind", "elem", "count", "size", "hash"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        char *d = with_field(fields[i], NULL);
        char needle[64];
        snprintf(needle, sizeof needle, "no field '%s'", fields[i]);
        assert_refused(d, needle);
        free(d);
    }
}

Test(descriptor, duplicate_unknown_and_malformed_fields)
{
    char *d = malloc(strlen(good) + 32);
    sprintf(d, "%s count=8", good);
    assert_refused(d, "field 'count' twice");
    sprintf(d, "%s color=red", good);
    assert_refused(d, "unknown field 'color'");
    sprintf(d, "%s  ", good);
    assert_refused(d, "empty field");
    sprintf(d, "%s novalue", good);
    assert_refused(d, "not name=value");
    free(d);
}

Test(descriptor, bad_values)
{
    struct {
        const char *field, *value, *needle;
    } cases[] = {
        {"hash", "123", "16 hex digits"},
        {"hash", "0123456789abcdeg", "16 hex digits"},
        {"hash", "0123456789abcdef0", "16 hex digits"},
        {"hash", "", "16 hex digits"},
        {"size", "-64", "not a decimal number"},
        {"size", "+64", "not a decimal number"},
        {"size", "6 4", "not name=value"},
        {"size", "", "is empty"},
        {"size", "99999999999999999999999", "too large"},
        {"count", "0x8", "not a decimal number"},
        {"count", "9", "disagree"},
        {"elem", "0", "out of range"},
        {"elem", "4294967296", "out of range"},
        {"kind", "blob", "not 'pod' or 'custom'"},
        {"key", "../../etc/passwd", "invalid key '../../etc/passwd'"},
        {"key", "a%2Fb", "invalid key 'a/b'"},
        {"key", "", "field 'key'"},
        {"store", ".x", "field 'store'"},
        {"url", "", "field 'url' is empty"},
        {"type", "%20%20", "field 'type'"},
        {"type", "bad%zzescape", "bad percent escape"},
        {"type", "nul%00byte", "bad percent escape"},
        {"type", "trail%4", "bad percent escape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *d = with_field(cases[i].field, cases[i].value);
        assert_refused(d, cases[i].needle);
        free(d);
    }
    char *d = with_field("type", "x\x01y");
    assert_refused(d, "control or non-ASCII byte");
    free(d);
}

Test(descriptor, huge_input)
{
    size_t n = 1 << 20;
    char *huge = malloc(n + 1);
    memcpy(huge, good, strlen(good));
    memset(huge + strlen(good), 'x', n - strlen(good));
    huge[n] = '\0';
    assert_refused(huge, "longer than 4096 bytes");
    free(huge);
}

Test(descriptor, type_must_match)
{
    cr_assert_null(ps_proxy_deserialize(good, &ps_type_int64), "same size, other name");
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    cr_assert(strstr(ps_last_error_message(), "'double'") && strstr(ps_last_error_message(), "'int64_t'"), "%s",
              ps_last_error_message());
    ps_type wide = PS_TYPE_POD_INIT(double);
    wide.size = 16;
    cr_assert_null(ps_proxy_deserialize(good, &wide), "same name, other size");
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_type spaced = PS_TYPE_POD_INIT(double);
    spaced.name = " double ";
    ps_proxy_t *p = ps_proxy_deserialize(good, &spaced);
    cr_assert_not_null(p, "whitespace does not matter: %s", ps_last_error_message());
    ps_proxy_free(p);
}

Test(descriptor, special_characters_are_escaped)
{
    ps_store *s = ps_store_open("esc", "local://", NULL);
    ps_type odd = PS_TYPE_POD_INIT(double);
    odd.name = "struct odd name%= x";
    ps_proxy_t *p = ps_proxy(s, &odd, &values[0]);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    char *d = ps_proxy_serialize(p);
    cr_assert(strstr(d, "type=struct%20odd%20name%25=x "), "%s", d);
    ps_proxy_t *q = ps_proxy_deserialize(d, &odd);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    cr_assert_str_eq(ps_proxy_type_name(q), "struct odd name%=x", "names are kept normalized");
    double *got = ps_resolve_as(q, "struct  odd name %= x", sizeof(double));
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert(*got == values[0]);
    ps_proxy_free(q);
    ps_proxy_free(p);
    free(d);
    ps_store_close(s);
}

Test(descriptor, store_name_clash)
{
    char *d = with_field("url", "file:///tmp/elsewhere");
    cr_assert_null(ps_proxy_deserialize(d, &ps_type_double));
    cr_assert_eq(ps_last_error_code(), PS_ERR_EXISTS);
    cr_assert(strstr(ps_last_error_message(), "desc-store"), "%s", ps_last_error_message());
    free(d);
}

Test(descriptor, unknown_scheme_in_url)
{
    char *d = with_field("store", "fresh");
    char *e = edit(d, "url", "ftp://x");
    free(d);
    cr_assert_null(ps_proxy_deserialize(e, &ps_type_double));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL, "%s", ps_last_error_message());
    cr_assert_null(ps_store_lookup("fresh"), "nothing is registered on failure");
    free(e);
}

Test(descriptor, store_recreated_from_url)
{
    /* a descriptor naming a store this process has not opened re-creates it
     * from the URL; the store then stays open (until exit or a close) */
    char *d = with_field("store", "from-elsewhere");
    cr_assert_null(ps_store_lookup("from-elsewhere"));
    ps_proxy_t *p = ps_proxy_deserialize(d, &ps_type_double);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    ps_store *s = ps_store_lookup("from-elsewhere");
    cr_assert_not_null(s);
    cr_assert_eq(ps_proxy_store(p), s);
    cr_assert_str_eq(ps_store_url(s), "local://");
    /* a new local:// store is empty: the key is not there */
    cr_assert_null(ps_resolve(p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    ps_proxy_free(p);
    cr_assert_eq(ps_store_lookup("from-elsewhere"), s, "still open after the proxy is gone");
    ps_store_close(s);
    cr_assert_null(ps_store_lookup("from-elsewhere"));
    free(d);
}

Test(descriptor, serialize_rejects_non_proxies)
{
    int x;
    cr_assert_null(ps_proxy_serialize(NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(ps_proxy_serialize((const ps_proxy_t *)&x));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
}

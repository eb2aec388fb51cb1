/*
 * test_url.c — connector URL parsing, good and bad.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static ps_url parse_ok(const char *text)
{
    ps_url u;
    cr_assert_eq(ps_url_parse(text, &u), PS_OK, "'%s': %s", text, ps_last_error_message());
    return u;
}

static void parse_bad(const char *text, const char *needle)
{
    ps_url u;
    cr_assert_eq(ps_url_parse(text, &u), PS_ERR_BAD_URL, "'%s' accepted", text ? text : "(null)");
    cr_assert(strstr(ps_last_error_message(), needle), "'%s': message '%s' lacks '%s'", text ? text : "(null)",
              ps_last_error_message(), needle);
    cr_assert_null(u.scheme, "nothing is left allocated");
}

Test(url, local)
{
    ps_url u = parse_ok("local://");
    cr_assert_str_eq(u.scheme, "local");
    cr_assert_str_eq(u.host, "");
    cr_assert_str_eq(u.path, "");
    cr_assert_eq(u.port, -1);
    cr_assert_null(u.user);
    cr_assert_null(u.password);
    cr_assert_eq(u.nparams, 0);
    ps_url_free(&u);
}

Test(url, shm_and_file)
{
    ps_url u = parse_ok("SHM://segment-1");
    cr_assert_str_eq(u.scheme, "shm", "schemes are lower-cased");
    cr_assert_str_eq(u.host, "segment-1");
    ps_url_free(&u);
    u = parse_ok("file:///var/tmp/my%20store");
    cr_assert_str_eq(u.host, "");
    cr_assert_str_eq(u.path, "/var/tmp/my store", "percent-decoded");
    ps_url_free(&u);
}

Test(url, redis_in_full)
{
    ps_url u = parse_ok("redis://:s%40cret@127.0.0.1:6390/2?prefix=app%3A1&chunk=64M");
    cr_assert_str_eq(u.scheme, "redis");
    cr_assert_null(u.user);
    cr_assert_str_eq(u.password, "s@cret");
    cr_assert_str_eq(u.host, "127.0.0.1");
    cr_assert_eq(u.port, 6390);
    cr_assert_str_eq(u.path, "/2");
    cr_assert_str_eq(ps_url_param_get(&u, "prefix"), "app:1");
    cr_assert_null(ps_url_param_get(&u, "db"));
    size_t chunk;
    cr_assert_eq(ps_url_param_size(&u, "chunk", 0, &chunk), PS_OK);
    cr_assert_eq(chunk, (size_t)64 << 20);
    size_t dflt;
    cr_assert_eq(ps_url_param_size(&u, "absent", 123, &dflt), PS_OK);
    cr_assert_eq(dflt, 123);
    ps_url_free(&u);

    u = parse_ok("redis://user:pw@[::1]:7000");
    cr_assert_str_eq(u.user, "user");
    cr_assert_str_eq(u.password, "pw");
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 7000);
    ps_url_free(&u);
}

Test(url, sizes)
{
    const struct {
        const char *v;
        size_t want;
    } ok[] = {{"0", 0}, {"4096", 4096}, {"64k", 65536}, {"1M", 1 << 20}, {"2G", (size_t)2 << 30}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char text[64];
        snprintf(text, sizeof text, "redis://h:1?chunk=%s", ok[i].v);
        ps_url u = parse_ok(text);
        size_t got;
        cr_assert_eq(ps_url_param_size(&u, "chunk", 0, &got), PS_OK, "%s", ok[i].v);
        cr_assert_eq(got, ok[i].want, "%s", ok[i].v);
        ps_url_free(&u);
    }
    const char *bad[] = {"", "-1", "1T", "12MB", "x", "99999999999999999999G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[64];
        snprintf(text, sizeof text, "redis://h:1?chunk=%s", bad[i]);
        ps_url u = parse_ok(text);
        size_t got;
        cr_assert_eq(ps_url_param_size(&u, "chunk", 0, &got), PS_ERR_BAD_URL, "'%s' accepted", bad[i]);
        cr_assert(strstr(ps_last_error_message(), "not a size"));
        ps_url_free(&u);
    }
}

Test(url, malformed)
{
    parse_bad(NULL, "no URL");
    parse_bad("", "no scheme");
    parse_bad("localhost:6379", "no scheme");
    parse_bad("://host", "no scheme");
    parse_bad("1redis://h", "malformed scheme");
    parse_bad("re dis://h", "malformed scheme");
    parse_bad("redis://h:", "empty port");
    parse_bad("redis://h:abc", "non-numeric port");
    parse_bad("redis://h:65536", "above 65535");
    parse_bad("redis://h:99999999999999999999", "above 65535");
    parse_bad("redis://[::1:80", "unclosed '['");
    parse_bad("redis://h#frag", "fragment");
    parse_bad("file:///a#b", "fragment");
    parse_bad("redis://h/?novalue", "not key=value");
    parse_bad("redis://h/?=v", "not key=value");
    parse_bad("file:///a%zz", "bad percent escape");
    parse_bad("file:///a%00b", "bad percent escape");
    parse_bad("file:///a%4", "bad percent escape");
    parse_bad("redis://:p%@h:1", "bad percent escape");
}

Test(url, free_is_idempotent)
{
    ps_url u = parse_ok("redis://h:1/0?a=b&c=d");
    cr_assert_eq(u.nparams, 2);
    ps_url_free(&u);
    ps_url_free(&u);
    ps_url_free(NULL);
    cr_assert_eq(u.port, -1);
}

/* A URL's text without its password: masked for messages, dropped for
 * descriptors. */
Test(url, without_password)
{
    struct {
        const char *in, *masked, *dropped;
    } cases[] = {
        {"redis://:pw@h:1/2?prefix=p", "redis://:***@h:1/2?prefix=p", "redis://h:1/2?prefix=p"},
        {"redis://user:pw@h:1", "redis://user:***@h:1", "redis://user@h:1"},
        {"redis://user@h:1", "redis://user@h:1", "redis://user@h:1"},
        {"redis://h:1?x=a:b@c", "redis://h:1?x=a:b@c", "redis://h:1?x=a:b@c"},
        {"redis://:p@ss@h", "redis://:***@h", "redis://h"},
        {"shm://name", "shm://name", "shm://name"},
        {"not a url", "not a url", "not a url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = ps_url_without_password(cases[i].in, PS_URL_PASSWORD_MASK);
        char *d = ps_url_without_password(cases[i].in, "");
        cr_assert_str_eq(m, cases[i].masked, "%s", cases[i].in);
        cr_assert_str_eq(d, cases[i].dropped, "%s", cases[i].in);
        cr_assert_eq(ps_url_has_password(cases[i].in), strcmp(cases[i].in, cases[i].masked) != 0);
        free(m);
        free(d);
    }
    cr_assert_null(ps_url_without_password(NULL, ""));
    ps_url u;
    cr_assert_eq(ps_url_parse("redis://:secret@h:1", &u), PS_OK);
    cr_assert_str_eq(u.password, "secret");
    cr_assert_null(strstr(u.text, "secret"), "url.text is for messages: %s", u.text);
    ps_url_free(&u);
}

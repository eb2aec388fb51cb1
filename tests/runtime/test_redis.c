/*
 * test_redis.c — the redis:// connector beyond the common contract: AUTH,
 * database selection, prefixes, chunking, dead and hung servers, malformed
 * URLs, batches, threads and forks.  Tests drive the connector's operations
 * table directly and look at the server with raw hiredis.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "connector.h"
#include "error.h"
#include "hash.h"
#include "object.h"
#include "redis_server.h"
#include "url.h"

/* ------------------------------------------------------ test tools */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The shared test server's URL with a prefix no other test uses. */
static char *test_url(const char *query)
{
    static int counter;
    const char *base = ps_test_redis_url();
    cr_assert_not_null(base, "no redis server for the tests");
    char *url;
    cr_assert_geq(asprintf(&url, "%s%sprefix=t%d-%d%s%s", base, strchr(base, '?') ? "&" : "?", (int)getpid(),
                           counter++, query ? "&" : "", query ? query : ""), 0);
    return url;
}

static char *server_url(const ps_test_redis *srv, const char *userinfo, const char *path, const char *query)
{
    char *url;
    cr_assert_geq(asprintf(&url, "redis://%s127.0.0.1:%d%s%s%s", userinfo ? userinfo : "", srv->port,
                           path ? path : "", query ? "?" : "", query ? query : ""), 0);
    return url;
}

static ps_connector *open_ok(const char *url)
{
    ps_connector *c = NULL;
    ps_status st = ps_connector_open(url, &c);
    cr_assert_eq(st, PS_OK, "open %s: %s %s", url, ps_status_name(st), ps_last_error_message());
    cr_assert_not_null(c);
    return c;
}

static ps_status open_status(const char *url)
{
    ps_connector *c = NULL;
    ps_status st = ps_connector_open(url, &c);
    if (st == PS_OK)
        c->ops->close(c);
    return st;
}

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
}

/* Put n patterned bytes as the store does: a 64-byte header part and the
 * payload part (or one part if n < 64). */
static ps_status put_pattern(ps_connector *c, const char *key, size_t n, unsigned seed)
{
    unsigned char *buf = malloc(n ? n : 1);
    cr_assert_not_null(buf);
    fill(buf, n, seed);
    ps_iov parts[2] = {{buf, n < 64 ? n : 64}, {buf + (n < 64 ? n : 64), n - (n < 64 ? n : 64)}};
    ps_status st = c->ops->put(c, key, parts, 2);
    free(buf);
    return st;
}

static void expect_blob(const ps_blob *b, size_t n, unsigned seed, const char *what)
{
    cr_assert_not_null(b->data, "%s: no data", what);
    cr_assert_not_null(b->release, "%s: no release", what);
    cr_assert_eq(b->len, n, "%s: %zu bytes, expected %zu", what, b->len, n);
    cr_assert_eq((uintptr_t)b->data % 64, 0, "%s: data not 64-byte aligned", what);
    unsigned char *want = malloc(n ? n : 1);
    fill(want, n, seed);
    cr_assert(memcmp(b->data, want, n) == 0, "%s: bytes differ", what);
    free(want);
}

static void get_and_check(ps_connector *c, const char *key, size_t n, unsigned seed)
{
    ps_blob b = {0};
    ps_status st = c->ops->get(c, key, &b);
    cr_assert_eq(st, PS_OK, "get %s: %s", key, ps_last_error_message());
    expect_blob(&b, n, seed, key);
    ps_blob_release(&b);
}

/* Raw hiredis on the server behind a URL (database and password honoured). */
static redisContext *raw_connect(const char *url_text)
{
    ps_url url;
    cr_assert_eq(ps_url_parse(url_text, &url), PS_OK);
    redisContext *r = redisConnect(url.host, url.port);
    cr_assert(r && !r->err, "raw connect to %s failed", url_text);
    if (url.password) {
        redisReply *a = redisCommand(r, "AUTH %s", url.password);
        cr_assert(a && a->type != REDIS_REPLY_ERROR);
        freeReplyObject(a);
    }
    int db = url.path[0] == '/' && url.path[1] ? atoi(url.path + 1) : 0;
    redisReply *s = redisCommand(r, "SELECT %d", db);
    cr_assert(s && s->type != REDIS_REPLY_ERROR);
    freeReplyObject(s);
    ps_url_free(&url);
    return r;
}

static long long raw_int(redisContext *r, const char *fmt, const char *arg)
{
    redisReply *x = redisCommand(r, fmt, arg);
    cr_assert(x && x->type == REDIS_REPLY_INTEGER, "raw %s %s: no integer", fmt, arg);
    long long v = x->integer;
    freeReplyObject(x);
    return v;
}

/* Keys on the server that start with pattern's literal prefix. */
static size_t raw_count(redisContext *r, const char *prefix)
{
    char match[300];
    snprintf(match, sizeof match, "%s*", prefix);
    size_t n = 0;
    char cursor[32] = "0";
    do {
        redisReply *x = redisCommand(r, "SCAN %s MATCH %s COUNT 1000", cursor, match);
        cr_assert(x && x->type == REDIS_REPLY_ARRAY && x->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", x->element[0]->str);
        n += x->element[1]->elements;
        freeReplyObject(x);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* The prefix= value of a URL. */
static const char *url_prefix(const char *url)
{
    static char buf[128];
    const char *p = strstr(url, "prefix=");
    cr_assert_not_null(p);
    snprintf(buf, sizeof buf, "%.*s", (int)strcspn(p + 7, "&"), p + 7);
    return buf;
}

/* A connector on the shared test server under a prefix of its own, and a
 * raw link to that server to look behind the connector's back. */
typedef struct watched {
    char *url;
    char prefix[128];
    ps_connector *c;
    redisContext *raw;
} watched;

static ps_connector *watched_open(watched *w, const char *query)
{
    w->url = test_url(query);
    snprintf(w->prefix, sizeof w->prefix, "%s", url_prefix(w->url));
    w->c = open_ok(w->url);
    w->raw = raw_connect(w->url);
    return w->c;
}

static void watched_close(watched *w)
{
    redisFree(w->raw);
    w->c->ops->close(w->c);
    free(w->url);
}

static void start_server(ps_test_redis *srv, const char *const extra[])
{
    cr_assert_eq(ps_test_redis_start(srv, extra), 0, "cannot start a private redis-server");
}

/* A private server and one connector on it, for tests that starve, kill,
 * stop or restart their server. */
typedef struct own_server {
    ps_test_redis srv;
    char *url;
    ps_connector *c;
} own_server;

static void own_server_open(own_server *o, const char *const extra[], const char *query)
{
    start_server(&o->srv, extra);
    o->url = server_url(&o->srv, NULL, NULL, query);
    o->c = open_ok(o->url);
}

static void own_server_close(own_server *o)
{
    o->c->ops->close(o->c);
    free(o->url);
    ps_test_redis_stop(&o->srv);
}

/* Opening url fails with want, and the message says why. */
static void open_fails(const char *url, ps_status want, const char *reason)
{
    cr_assert_eq(open_status(url), want, "%s", url);
    cr_assert(strstr(ps_last_error_message(), reason), "%s", ps_last_error_message());
}

/* ----------------------------------------------------- basic behaviour */

Test(redis, put_get_exists_evict_roundtrip)
{
    char *url = test_url(NULL);
    ps_connector *c = open_ok(url);
    const size_t sizes[] = {0, 1, 63, 64, 100, 4096, 20000, 1 << 20, (3 << 20) + 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%zu", i);
        cr_assert_eq(put_pattern(c, key, sizes[i], (unsigned)i), PS_OK, "%s", ps_last_error_message());
        get_and_check(c, key, sizes[i], (unsigned)i);
        bool e = false;
        cr_assert_eq(c->ops->exists(c, key, &e), PS_OK);
        cr_assert(e);
        cr_assert_eq(c->ops->evict(c, key), PS_OK);
        cr_assert_eq(c->ops->exists(c, key, &e), PS_OK);
        cr_assert(!e);
        ps_blob b = {0};
        cr_assert_eq(c->ops->get(c, key, &b), PS_ERR_NOT_FOUND);
        cr_assert_null(b.data);
        cr_assert(strstr(ps_last_error_message(), key), "message names the key: %s", ps_last_error_message());
    }
    cr_assert_eq(c->ops->evict(c, "never-there"), PS_OK, "evicting a missing key succeeds");
    c->ops->close(c);
    free(url);
}

Test(redis, put_overwrites_and_blob_outlives_overwrite)
{
    char *url = test_url(NULL);
    ps_connector *c = open_ok(url);
    cr_assert_eq(put_pattern(c, "k", 5000, 1), PS_OK);
    ps_blob old = {0};
    cr_assert_eq(c->ops->get(c, "k", &old), PS_OK);
    cr_assert_eq(put_pattern(c, "k", 7000, 2), PS_OK);
    get_and_check(c, "k", 7000, 2);
    expect_blob(&old, 5000, 1, "blob taken before the overwrite");
    ps_blob_release(&old);
    c->ops->evict(c, "k");
    c->ops->close(c);
    free(url);
}

Test(redis, keys_live_under_prefix_slash_key)
{
    watched w;
    ps_connector *c = watched_open(&w, NULL);
    char head[200];
    snprintf(head, sizeof head, "%s/abc:1.x-y", w.prefix);
    cr_assert_eq(put_pattern(c, "abc:1.x-y", 10, 3), PS_OK);
    cr_assert_eq(raw_int(w.raw, "EXISTS %s", head), 1);
    cr_assert_eq(raw_count(w.raw, w.prefix), 1);
    c->ops->evict(c, "abc:1.x-y");
    cr_assert_eq(raw_int(w.raw, "EXISTS %s", head), 0);
    watched_close(&w);
}

Test(redis, refuses_keys_it_cannot_hold)
{
    char *url = test_url(NULL);
    ps_connector *c = open_ok(url);
    const char *bad[] = {"a/b", "a#1", "", "../x", "sp ace", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(put_pattern(c, bad[i], 4, 0), PS_ERR_INVALID_ARGUMENT, "key '%s' accepted", bad[i]);
        ps_blob b;
        cr_assert_eq(c->ops->get(c, bad[i], &b), PS_ERR_INVALID_ARGUMENT);
        cr_assert_eq(c->ops->evict(c, bad[i]), PS_ERR_INVALID_ARGUMENT);
    }
    cr_assert_eq(c->ops->put(c, NULL, NULL, 0), PS_ERR_INVALID_ARGUMENT);
    c->ops->close(c);
    free(url);
}

Test(redis, foreign_or_damaged_values_are_bad_data)
{
    watched w;
    ps_connector *c = watched_open(&w, NULL);
    const char *p = w.prefix;
    redisReply *x = redisCommand(w.raw, "SET %s/plain hello", p);
    freeReplyObject(x);
    ps_blob b = {0};
    cr_assert_eq(c->ops->get(c, "plain", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "not a ProxyStore object"), "%s", ps_last_error_message());

    /* A frame claiming more bytes than follow. */
    unsigned char frame[20] = {'P', 'S', 'R', 'D', 1, 'W', 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    x = redisCommand(w.raw, "SET %s/short %b", p, frame, sizeof frame);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "short", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "truncated"), "%s", ps_last_error_message());

    /* A format version from the future. */
    frame[4] = 9;
    x = redisCommand(w.raw, "SET %s/newer %b", p, frame, sizeof frame);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "newer", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "newer"), "%s", ps_last_error_message());

    /* A value of another Redis type. */
    x = redisCommand(w.raw, "SADD %s/hash member", p);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "hash", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "not a ProxyStore object"), "%s", ps_last_error_message());

    const char *keys[] = {"plain", "short", "newer", "hash"};
    cr_assert_eq(c->ops->evict_batch(c, 4, keys), PS_OK);
    cr_assert_eq(raw_count(w.raw, p), 0);
    watched_close(&w);
}

/* A large plain put hashes its payload after sending it, and the hash
 * follows the object on Redis (kind 'H'); readers get the same bytes as
 * from a value whose header held the hash, and a damaged hash is caught by
 * a verifying store.  Small payloads keep the plain 'W' value. */
static bool list_len(const ps_list_entry *e, void *ctx)
{
    if (e->key && strcmp(e->key, "big") == 0)
        *(uint64_t *)ctx = e->len;
    return true;
}

Test(redis, large_puts_send_their_hash_after_the_payload)
{
    watched w;
    ps_connector *c = watched_open(&w, NULL);
    cr_assert_not_null(c->ops->put_hashing);
    const size_t sizes[] = {1000, ((size_t)4 << 20) + 1000};
    const char *keys[] = {"small", "big"};
    const char kinds[] = {'W', 'H'};
    unsigned char *payload = malloc(sizes[1]);
    cr_assert_not_null(payload);
    for (int i = 0; i < 2; i++) {
        fill(payload, sizes[i], 7 + (unsigned)i);
        ps_object_info info;
        ps_object_info_init(&info, &ps_type_bytes, sizes[i], sizes[i], 0);
        unsigned char header[PS_OBJECT_HEADER_SIZE];
        ps_object_header_encode(&info, header);
        uint64_t hash = 0;
        cr_assert_eq(c->ops->put_hashing(c, keys[i], header, payload, sizes[i], &hash), PS_OK, "%s",
                     ps_last_error_message());
        cr_assert_eq(hash, ps_payload_hash(payload, sizes[i]));
        ps_object_info back;
        cr_assert_eq(ps_object_header_decode(header, sizeof header + sizes[i], keys[i], &back), PS_OK);
        cr_assert_eq(back.payload_hash, hash, "the caller's header did not get the hash");

        redisReply *x = redisCommand(w.raw, "GETRANGE %s/%s 0 15", w.prefix, keys[i]);
        cr_assert(x && x->type == REDIS_REPLY_STRING && x->len == 16);
        cr_assert_eq(x->str[5], kinds[i], "%zu bytes stored as kind %c", sizes[i], x->str[5]);
        freeReplyObject(x);

        ps_blob b = {0};
        cr_assert_eq(c->ops->get(c, keys[i], &b), PS_OK, "%s", ps_last_error_message());
        cr_assert_eq(b.len, PS_OBJECT_HEADER_SIZE + sizes[i]);
        cr_assert(memcmp(b.data, header, PS_OBJECT_HEADER_SIZE) == 0, "the header read back differs");
        cr_assert(memcmp((const char *)b.data + PS_OBJECT_HEADER_SIZE, payload, sizes[i]) == 0);
        ps_blob_release(&b);
    }
    uint64_t listed = 0;
    cr_assert_eq(c->ops->list(c, list_len, &listed), PS_OK);
    cr_assert_eq(listed, PS_OBJECT_HEADER_SIZE + sizes[1], "list shows %llu bytes", (unsigned long long)listed);

    /* Through a store: the same object resolves, and with verify on a
     * damaged trailing hash is PS_ERR_BAD_DATA. */
    ps_store_options verify = {.cache_size = 0, .verify = true};
    ps_store *s = ps_store_open("hash-after", w.url, &verify);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    cr_assert_eq(ps_store_put_key(s, "via-store", &ps_type_bytes, payload, sizes[1]), PS_OK);
    size_t count = 0;
    void *got = ps_store_get(s, "via-store", &ps_type_bytes, &count);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(count, sizes[1]);
    cr_assert(memcmp(got, payload, sizes[1]) == 0);
    ps_object_free(&ps_type_bytes, got);
    char at[32]; /* the trailing hash: after the frame, the header and the payload */
    snprintf(at, sizeof at, "%zu", (size_t)16 + PS_OBJECT_HEADER_SIZE + sizes[1]);
    redisReply *x = redisCommand(w.raw, "SETRANGE %s/via-store %s %b", w.prefix, at, "XXXXXXXX", (size_t)8);
    freeReplyObject(x);
    cr_assert_null(ps_store_get(s, "via-store", &ps_type_bytes, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA, "%s", ps_last_error_message());

    /* A kind 'H' value cut short, and one too short to hold a header. */
    unsigned char frame[24] = {'P', 'S', 'R', 'D', 2, 'H', 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    x = redisCommand(w.raw, "SET %s/cut %b", w.prefix, frame, sizeof frame);
    freeReplyObject(x);
    ps_blob b = {0};
    cr_assert_eq(c->ops->get(c, "cut", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "truncated"), "%s", ps_last_error_message());
    frame[8] = 8;
    x = redisCommand(w.raw, "SET %s/tiny %b", w.prefix, frame, sizeof frame);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "tiny", &b), PS_ERR_BAD_DATA);
    /* Kind 'W' is version 1 only. */
    frame[5] = 'W';
    x = redisCommand(w.raw, "SET %s/mixed %b", w.prefix, frame, sizeof frame);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "mixed", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "not a ProxyStore object"), "%s", ps_last_error_message());

    const char *all[] = {"small", "big", "via-store", "cut", "tiny", "mixed"};
    cr_assert_eq(c->ops->evict_batch(c, 6, all), PS_OK);
    cr_assert_eq(raw_count(w.raw, w.prefix), 0);
    ps_store_close(s);
    free(payload);
    watched_close(&w);
}

/* ------------------------------------------------------------ AUTH, db */

Test(redis, auth_right_wrong_and_missing_password)
{
    ps_test_redis srv;
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    start_server(&srv, extra);

    char *good = server_url(&srv, ":s3cret@", NULL, "prefix=auth");
    ps_connector *c = open_ok(good);
    cr_assert_eq(put_pattern(c, "k", 100, 5), PS_OK, "%s", ps_last_error_message());
    get_and_check(c, "k", 100, 5);
    c->ops->close(c);

    char *acl = server_url(&srv, "default:s3cret@", NULL, "prefix=auth");
    c = open_ok(acl);
    get_and_check(c, "k", 100, 5);
    c->ops->close(c);

    char *wrong = server_url(&srv, ":nope@", NULL, NULL);
    open_fails(wrong, PS_ERR_SERVER, "refused the password");
    cr_assert_null(strstr(ps_last_error_message(), "nope"), "the password leaked into a message");

    char *none = server_url(&srv, NULL, NULL, NULL);
    open_fails(none, PS_ERR_SERVER, "requires a password");

    free(good);
    free(acl);
    free(wrong);
    free(none);
    ps_test_redis_stop(&srv);
}

Test(redis, database_selection)
{
    ps_test_redis srv;
    start_server(&srv, NULL);
    char *url3 = server_url(&srv, NULL, "/3", "prefix=db");
    char *url0 = server_url(&srv, NULL, "/0", "prefix=db");
    ps_connector *c = open_ok(url3);
    cr_assert_eq(put_pattern(c, "k", 10, 1), PS_OK);
    redisContext *r3 = raw_connect(url3), *r0 = raw_connect(url0);
    cr_assert_eq(raw_int(r3, "EXISTS %s", "db/k"), 1, "not in db 3");
    cr_assert_eq(raw_int(r0, "EXISTS %s", "db/k"), 0, "leaked into db 0");
    ps_connector *c0 = open_ok(url0);
    ps_blob b;
    cr_assert_eq(c0->ops->get(c0, "k", &b), PS_ERR_NOT_FOUND);
    c0->ops->close(c0);
    c->ops->close(c);

    char *far = server_url(&srv, NULL, "/999", NULL);
    open_fails(far, PS_ERR_SERVER, "database 999");
    redisFree(r3);
    redisFree(r0);
    free(url3);
    free(url0);
    free(far);
    ps_test_redis_stop(&srv);
}

Test(redis, prefixes_isolate_stores)
{
    char *ua = test_url(NULL), *ub = test_url(NULL);
    ps_connector *a = open_ok(ua), *b = open_ok(ub);
    cr_assert_eq(put_pattern(a, "same", 300, 1), PS_OK);
    cr_assert_eq(put_pattern(b, "same", 500, 2), PS_OK);
    get_and_check(a, "same", 300, 1);
    get_and_check(b, "same", 500, 2);
    cr_assert_eq(a->ops->evict(a, "same"), PS_OK);
    get_and_check(b, "same", 500, 2);
    bool e = true;
    cr_assert_eq(a->ops->exists(a, "same", &e), PS_OK);
    cr_assert(!e);
    b->ops->evict(b, "same");
    a->ops->close(a);
    b->ops->close(b);
    free(ua);
    free(ub);
}

Test(redis, close_deletes_nothing)
{
    char *url = test_url(NULL);
    redisContext *r = raw_connect(url);
    char foreign[64];
    snprintf(foreign, sizeof foreign, "foreign:%d", (int)getpid());
    redisReply *x = redisCommand(r, "SET %s untouched", foreign);
    freeReplyObject(x);

    ps_connector *c = open_ok(url);
    cr_assert_eq(put_pattern(c, "mine", 100, 1), PS_OK);
    c->ops->close(c);

    x = redisCommand(r, "GET %s", foreign);
    cr_assert(x && x->type == REDIS_REPLY_STRING && strcmp(x->str, "untouched") == 0, "foreign key lost");
    freeReplyObject(x);
    cr_assert_eq(raw_count(r, url_prefix(url)), 1, "close removed the store's own object");
    /* Objects outlive their producer: a new connector on the URL reads it. */
    c = open_ok(url);
    get_and_check(c, "mine", 100, 1);
    c->ops->evict(c, "mine");
    c->ops->close(c);
    x = redisCommand(r, "DEL %s", foreign);
    freeReplyObject(x);
    redisFree(r);
    free(url);
}

/* ------------------------------------------------------------ chunking */

static size_t chunk_count(size_t n, size_t chunk)
{
    return n <= chunk ? 0 : (n + chunk - 1) / chunk;
}

static char *raw_type(redisContext *r, const char *key)
{
    redisReply *x = redisCommand(r, "TYPE %s", key);
    cr_assert(x && x->type == REDIS_REPLY_STATUS);
    char *t = strdup(x->str);
    freeReplyObject(x);
    return t;
}

/* The layout of an object on the server: a string when whole; one hash
 * with the manifest and every chunk, no expiry, when chunked. */
static void expect_layout(redisContext *r, const char *prefix, const char *key, size_t n, size_t chunk)
{
    char head[256];
    snprintf(head, sizeof head, "%s/%s", prefix, key);
    cr_assert_eq(raw_count(r, prefix), 1, "size %zu: %zu keys under the prefix", n, raw_count(r, prefix));
    char *type = raw_type(r, head);
    if (n <= chunk) {
        cr_assert_str_eq(type, "string", "size %zu", n);
    } else {
        cr_assert_str_eq(type, "hash", "size %zu", n);
        cr_assert_eq(raw_int(r, "HLEN %s", head), (long long)chunk_count(n, chunk) + 1, "size %zu", n);
        cr_assert_eq(raw_int(r, "TTL %s", head), -1, "a published object must not expire");
    }
    free(type);
}

Test(redis, chunking_around_the_boundary)
{
    watched w;
    ps_connector *c = watched_open(&w, "chunk=1K");
    const char *p = w.prefix;
    const size_t sizes[] = {1023, 1024, 1025, 2048, 2049, 100 * 1024 + 7, (1 << 20) + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        cr_assert_eq(put_pattern(c, "obj", n, (unsigned)n), PS_OK, "put %zu: %s", n, ps_last_error_message());
        expect_layout(w.raw, p, "obj", n, 1024);
        get_and_check(c, "obj", n, (unsigned)n);
        bool e = false;
        cr_assert_eq(c->ops->exists(c, "obj", &e), PS_OK);
        cr_assert(e);
        cr_assert_eq(c->ops->evict(c, "obj"), PS_OK);
        cr_assert_eq(raw_count(w.raw, p), 0, "size %zu: evict left %zu keys", n, raw_count(w.raw, p));
    }
    watched_close(&w);
}

Test(redis, rewriting_a_chunked_object_removes_its_old_chunks)
{
    watched w;
    ps_connector *c = watched_open(&w, "chunk=1K");
    const char *p = w.prefix;
    cr_assert_eq(put_pattern(c, "k", 5000, 1), PS_OK);
    expect_layout(w.raw, p, "k", 5000, 1024);
    cr_assert_eq(put_pattern(c, "k", 3000, 2), PS_OK);
    expect_layout(w.raw, p, "k", 3000, 1024); /* chunked over chunked: old fields gone */
    get_and_check(c, "k", 3000, 2);
    cr_assert_eq(put_pattern(c, "k", 10, 3), PS_OK);
    expect_layout(w.raw, p, "k", 10, 1024); /* whole over chunked */
    get_and_check(c, "k", 10, 3);
    cr_assert_eq(put_pattern(c, "k", 4097, 4), PS_OK);
    expect_layout(w.raw, p, "k", 4097, 1024); /* chunked over whole */
    get_and_check(c, "k", 4097, 4);
    c->ops->evict(c, "k");
    cr_assert_eq(raw_count(w.raw, p), 0);
    watched_close(&w);
}

Test(redis, a_chunk_missing_is_an_error_not_garbage)
{
    watched w;
    ps_connector *c = watched_open(&w, "chunk=1K");
    cr_assert_eq(put_pattern(c, "k", 4000, 1), PS_OK);
    /* Remove one chunk behind the connector's back. */
    char head[200];
    snprintf(head, sizeof head, "%s/k", w.prefix);
    redisReply *x = redisCommand(w.raw, "HKEYS %s", head);
    cr_assert(x && x->type == REDIS_REPLY_ARRAY && x->elements == 5);
    int removed = 0;
    for (size_t i = 0; i < x->elements; i++) {
        size_t len = strlen(x->element[i]->str);
        if (len > 2 && strcmp(x->element[i]->str + len - 2, ".2") == 0) {
            redisReply *d = redisCommand(w.raw, "HDEL %s %s", head, x->element[i]->str);
            removed += d && d->type == REDIS_REPLY_INTEGER ? (int)d->integer : 0;
            freeReplyObject(d);
        }
    }
    freeReplyObject(x);
    cr_assert_eq(removed, 1);
    ps_blob b = {0};
    ps_status st = c->ops->get(c, "k", &b);
    /* The manifest did not change while chunks stayed missing: damage. */
    cr_assert_eq(st, PS_ERR_BAD_DATA, "%s", ps_status_name(st));
    cr_assert_null(b.data);
    c->ops->evict(c, "k");
    cr_assert_eq(raw_count(w.raw, w.prefix), 0);

    /* A hash that is not ours. */
    x = redisCommand(w.raw, "HSET %s/h f v", w.prefix);
    freeReplyObject(x);
    cr_assert_eq(c->ops->get(c, "h", &b), PS_ERR_BAD_DATA);
    cr_assert(strstr(ps_last_error_message(), "not a ProxyStore object"), "%s", ps_last_error_message());
    c->ops->evict(c, "h");
    watched_close(&w);
}

/* A chunk write that fails (the server is out of memory) leaves no head and
 * no chunks: a half-written object is never visible. */
Test(redis, failed_chunk_write_leaves_nothing)
{
    own_server o;
    const char *extra[] = {"--maxmemory", "4mb", "--maxmemory-policy", "noeviction", NULL};
    own_server_open(&o, extra, "prefix=oom&chunk=1M");
    ps_status st = put_pattern(o.c, "big", 16 << 20, 1);
    cr_assert_eq(st, PS_ERR_SERVER, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "OOM"), "%s", ps_last_error_message());
    bool e = true;
    cr_assert_eq(o.c->ops->exists(o.c, "big", &e), PS_OK);
    cr_assert(!e, "a head exists after a failed chunk write");
    redisContext *r = raw_connect(o.url);
    cr_assert_eq(raw_count(r, "oom"), 0, "chunks left behind");
    redisFree(r);
    own_server_close(&o);
}

/* Readers racing a writer that keeps rewriting a chunked object see one
 * whole version or an error, never a mix. */
typedef struct race {
    ps_connector *c;
    atomic_bool stop; /* written by the writer thread, polled by the reader */
    int versions;      /* read only after the join */
} race;

#define RACE_SIZE (6 * 1024 + 100)

static void *race_writer(void *arg)
{
    race *r = arg;
    unsigned char *buf = malloc(RACE_SIZE);
    for (int v = 1; v <= 60; v++) {
        memset(buf, v, RACE_SIZE);
        ps_iov part = {buf, RACE_SIZE};
        if (r->c->ops->put(r->c, "race", &part, 1) != PS_OK)
            break;
        r->versions = v;
    }
    free(buf);
    atomic_store(&r->stop, true);
    return NULL;
}

Test(redis, readers_never_see_a_mix_of_versions)
{
    char *url = test_url("chunk=1K");
    race r = {open_ok(url), false, 0};
    unsigned char zero = 0;
    ps_iov part = {&zero, 1};
    cr_assert_eq(r.c->ops->put(r.c, "race", &part, 1), PS_OK);
    pthread_t t;
    pthread_create(&t, NULL, race_writer, &r);
    int consistent = 0;
    while (!atomic_load(&r.stop)) {
        ps_blob b = {0};
        ps_status st = r.c->ops->get(r.c, "race", &b);
        if (st != PS_OK) {
            cr_assert_eq(st, PS_ERR_NOT_FOUND, "%s", ps_last_error_message());
            continue;
        }
        const unsigned char *d = b.data;
        for (size_t i = 1; i < b.len; i++)
            cr_assert_eq(d[i], d[0], "byte %zu mixes versions %d and %d", i, d[0], d[i]);
        consistent++;
        ps_blob_release(&b);
    }
    pthread_join(t, NULL);
    cr_assert_eq(r.versions, 60);
    cr_assert_gt(consistent, 0);
    r.c->ops->evict(r.c, "race");
    redisContext *raw = raw_connect(url);
    cr_assert_eq(raw_count(raw, url_prefix(url)), 0, "old generations left behind");
    redisFree(raw);
    r.c->ops->close(r.c);
    free(url);
}

/* ------------------------------------------------------ server failures */

Test(redis, killed_server_fails_cleanly_and_recovers)
{
    own_server o;
    own_server_open(&o, NULL, "prefix=kill&pool=4");
    ps_connector *c = o.c;
    cr_assert_eq(put_pattern(c, "before", 2000, 1), PS_OK);
    get_and_check(c, "before", 2000, 1);

    ps_test_redis_kill(&o.srv);
    char port[16];
    snprintf(port, sizeof port, ":%d", o.srv.port);
    double t0 = now_s();
    ps_status st = put_pattern(c, "during", 2000, 2);
    cr_assert_eq(st, PS_ERR_CONNECTION, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), port), "message names the server: %s", ps_last_error_message());
    ps_blob b = {0};
    cr_assert_eq(c->ops->get(c, "before", &b), PS_ERR_CONNECTION);
    bool e;
    cr_assert_eq(c->ops->exists(c, "before", &e), PS_ERR_CONNECTION);
    cr_assert_eq(c->ops->evict(c, "before"), PS_ERR_CONNECTION);
    const char *keys[] = {"a", "b"};
    ps_blob outs[2];
    cr_assert_eq(c->ops->get_batch(c, 2, keys, outs), PS_ERR_CONNECTION);
    cr_assert_lt(now_s() - t0, 5.0, "failing took too long");

    cr_assert_eq(ps_test_redis_restart(&o.srv), 0);
    /* The data died with the server (no persistence); the connector lives. */
    cr_assert_eq(c->ops->get(c, "before", &b), PS_ERR_NOT_FOUND, "%s", ps_last_error_message());
    cr_assert_eq(put_pattern(c, "after", 3000, 3), PS_OK, "%s", ps_last_error_message());
    get_and_check(c, "after", 3000, 3);
    own_server_close(&o);
}

/* Pooled connections that went stale while the server restarted are
 * replaced without the caller seeing an error. */
Test(redis, restart_between_operations_is_invisible)
{
    own_server o;
    own_server_open(&o, NULL, "prefix=restart");
    cr_assert_eq(put_pattern(o.c, "k", 10, 1), PS_OK);
    cr_assert_eq(ps_test_redis_restart(&o.srv), 0);
    cr_assert_eq(put_pattern(o.c, "k", 10, 2), PS_OK, "%s", ps_last_error_message());
    get_and_check(o.c, "k", 10, 2);
    own_server_close(&o);
}

Test(redis, hung_server_times_out)
{
    own_server o;
    own_server_open(&o, NULL, "prefix=hung&timeout=300");
    ps_connector *c = o.c;
    cr_assert_eq(put_pattern(c, "k", 100, 1), PS_OK);
    kill(o.srv.pid, SIGSTOP);
    double t0 = now_s();
    ps_blob b = {0};
    ps_status st = c->ops->get(c, "k", &b);
    double took = now_s() - t0;
    kill(o.srv.pid, SIGCONT);
    cr_assert_eq(st, PS_ERR_TIMEOUT, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "did not answer within 300 ms"), "%s", ps_last_error_message());
    cr_assert_lt(took, 3.0, "a hung server blocked for %.1f s", took);
    get_and_check(c, "k", 100, 1);
    own_server_close(&o);
}

Test(redis, no_server_at_open)
{
    ps_test_redis srv;
    start_server(&srv, NULL);
    int port = srv.port;
    ps_test_redis_stop(&srv); /* a port where nothing listens now */
    char url[64], needle[32];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    snprintf(needle, sizeof needle, "127.0.0.1:%d", port);
    double t0 = now_s();
    open_fails(url, PS_ERR_CONNECTION, "cannot connect");
    cr_assert_lt(now_s() - t0, 3.0);
    cr_assert(strstr(ps_last_error_message(), needle), "%s", ps_last_error_message());
}

Test(redis, malformed_urls)
{
    const char *bad[] = {
        "redis://127.0.0.1:99999",
        "redis://127.0.0.1:port",
        "redis://127.0.0.1:0",
        "redis://127.0.0.1:6390/abc",
        "redis://127.0.0.1:6390/-1",
        "redis://127.0.0.1:6390/1/2",
        "redis://127.0.0.1:6390/99999999999",
        "redis://127.0.0.1:6390?chunk=0",
        "redis://127.0.0.1:6390?chunk=abc",
        "redis://127.0.0.1:6390?chunk=100",
        "redis://127.0.0.1:6390?chunk=1G",
        "redis://127.0.0.1:6390?chunk=-5",
        "redis://127.0.0.1:6390?prefix=",
        "redis://127.0.0.1:6390?prefix=a%20b",
        "redis://127.0.0.1:6390?timeout=0",
        "redis://127.0.0.1:6390?timeout=soon",
        "redis://127.0.0.1:6390?pool=0",
        "redis://127.0.0.1:6390?pool=100000",
        "redis://127.0.0.1:6390?prefx=typo",
        "redis://someone@127.0.0.1:6390",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_status st = open_status(bad[i]);
        cr_assert_eq(st, PS_ERR_BAD_URL, "%s: %s (%s)", bad[i], ps_status_name(st), ps_last_error_message());
        cr_assert_gt(strlen(ps_last_error_message()), 10);
    }
    ps_url url;
    cr_assert_eq(ps_url_parse("shm://x", &url), PS_OK);
    ps_connector *c = NULL;
    cr_assert_eq(ps_redis_connector.open(&url, &c), PS_ERR_BAD_URL, "a non-redis URL");
    cr_assert_null(c);
    ps_url_free(&url);
}

/* --------------------------------------------------------------- batches */

Test(redis, batches_with_missing_keys)
{
    char *url = test_url("chunk=4K");
    ps_connector *c = open_ok(url);
    enum { N = 40 };
    char keys[N][16];
    const char *kp[N];
    unsigned char *bufs[N];
    ps_iov parts[N][2];
    const ps_iov *pp[N];
    size_t np[N], sizes[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "b%zu", i);
        kp[i] = keys[i];
        sizes[i] = i == 7 ? 20000 : i * 37; /* one chunked object, one empty */
        bufs[i] = malloc(sizes[i] + 1);
        fill(bufs[i], sizes[i], (unsigned)i);
        size_t h = sizes[i] < 16 ? sizes[i] : 16;
        parts[i][0] = (ps_iov){bufs[i], h};
        parts[i][1] = (ps_iov){bufs[i] + h, sizes[i] - h};
        pp[i] = parts[i];
        np[i] = 2;
    }
    /* Put the even ones only. */
    const char *even_keys[N / 2];
    const ps_iov *even_parts[N / 2];
    size_t even_np[N / 2];
    for (size_t i = 0; i < N / 2; i++) {
        even_keys[i] = kp[2 * i];
        even_parts[i] = pp[2 * i];
        even_np[i] = np[2 * i];
    }
    cr_assert_eq(c->ops->put_batch(c, N / 2, even_keys, even_parts, even_np), PS_OK, "%s",
                 ps_last_error_message());
    /* ... and the odd chunked one too. */
    cr_assert_eq(c->ops->put_batch(c, 1, &kp[7], &pp[7], &np[7]), PS_OK);

    ps_blob out[N];
    cr_assert_eq(c->ops->get_batch(c, N, kp, out), PS_OK, "%s", ps_last_error_message());
    bool ex[N];
    cr_assert_eq(c->ops->exists_batch(c, N, kp, ex), PS_OK);
    for (size_t i = 0; i < N; i++) {
        bool there = i % 2 == 0 || i == 7;
        cr_assert_eq(ex[i], there, "exists %zu", i);
        if (there) {
            expect_blob(&out[i], sizes[i], (unsigned)i, keys[i]);
        } else {
            cr_assert_null(out[i].data, "missing key %zu has data", i);
            cr_assert_null(out[i].release);
        }
        ps_blob_release(&out[i]);
    }
    cr_assert_eq(c->ops->evict_batch(c, N, kp), PS_OK);
    cr_assert_eq(c->ops->exists_batch(c, N, kp, ex), PS_OK);
    for (size_t i = 0; i < N; i++)
        cr_assert(!ex[i]);
    redisContext *r = raw_connect(url);
    cr_assert_eq(raw_count(r, url_prefix(url)), 0, "evict_batch left chunks");
    redisFree(r);
    cr_assert_eq(c->ops->get_batch(c, 0, NULL, NULL), PS_OK);
    for (size_t i = 0; i < N; i++)
        free(bufs[i]);
    c->ops->close(c);
    free(url);
}

/* Pipelining is what makes batches fast: 1000 small puts in one batch must
 * beat 1000 single puts by far (the benchmark measures the real ratio; this
 * bound only fails if batches stop being pipelined). */
Test(redis, batch_put_is_pipelined)
{
    char *url = test_url(NULL);
    ps_connector *c = open_ok(url);
    enum { N = 1000 };
    static char keys[N][16];
    static const char *kp[N];
    static ps_iov parts[N];
    static const ps_iov *pp[N];
    static size_t np[N];
    unsigned char payload[100];
    fill(payload, sizeof payload, 9);
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "s%zu", i);
        kp[i] = keys[i];
        parts[i] = (ps_iov){payload, sizeof payload};
        pp[i] = &parts[i];
        np[i] = 1;
    }
    /* Best of three each: the machine may be busy with other tests. */
    double single = 1e9, batch = 1e9;
    for (int round = 0; round < 3; round++) {
        double t0 = now_s();
        for (size_t i = 0; i < N; i++)
            cr_assert_eq(c->ops->put(c, kp[i], &parts[i], 1), PS_OK);
        double t1 = now_s();
        cr_assert_eq(c->ops->put_batch(c, N, kp, pp, np), PS_OK);
        double t2 = now_s();
        single = t1 - t0 < single ? t1 - t0 : single;
        batch = t2 - t1 < batch ? t2 - t1 : batch;
    }
    cr_assert_gt(single / batch, 4.0, "batch %.2f ms vs singles %.2f ms", batch * 1e3, single * 1e3);
    cr_assert_eq(c->ops->evict_batch(c, N, kp), PS_OK);
    c->ops->close(c);
    free(url);
}

/* ----------------------------------------------------- threads and forks */

typedef struct worker {
    ps_connector *c;
    int id;
    int errors;
    char message[256];
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int it = 0; it < 40 && !w->errors; it++) {
        char key[32];
        snprintf(key, sizeof key, "w%d-%d", w->id, it);
        size_t n = (size_t)(it % 5 == 0 ? 9000 : 100 + 50 * it); /* some chunked (chunk=4K) */
        unsigned seed = (unsigned)(w->id * 1000 + it);
        unsigned char *buf = malloc(n);
        fill(buf, n, seed);
        ps_iov part = {buf, n};
        ps_blob b = {0};
        bool e = false;
        if (w->c->ops->put(w->c, key, &part, 1) != PS_OK || w->c->ops->get(w->c, key, &b) != PS_OK ||
            b.len != n || memcmp(b.data, buf, n) != 0 || w->c->ops->exists(w->c, key, &e) != PS_OK || !e ||
            w->c->ops->evict(w->c, key) != PS_OK) {
            w->errors++;
            snprintf(w->message, sizeof w->message, "%s: %s", key, ps_last_error_message());
        }
        ps_blob_release(&b);
        free(buf);
    }
    return NULL;
}

Test(redis, eight_threads_share_one_connector)
{
    char *url = test_url("chunk=4K&pool=3"); /* fewer connections than threads: some wait */
    ps_connector *c = open_ok(url);
    worker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){c, i, 0, ""};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].errors, 0, "thread %d: %s", i, w[i].message);
    }
    redisContext *r = raw_connect(url);
    cr_assert_eq(raw_count(r, url_prefix(url)), 0);
    redisFree(r);
    c->ops->close(c);
    free(url);
}

static long long total_connections(redisContext *r)
{
    redisReply *x = redisCommand(r, "INFO stats");
    cr_assert(x && x->type == REDIS_REPLY_STRING);
    const char *p = strstr(x->str, "total_connections_received:");
    cr_assert_not_null(p);
    long long n = atoll(p + strlen("total_connections_received:"));
    freeReplyObject(x);
    return n;
}

/* A forked child opens its own connections: on its parent's sockets, the
 * two processes' replies would interleave. */
Test(redis, forked_child_uses_its_own_connections)
{
    own_server o;
    own_server_open(&o, NULL, "prefix=fork");
    ps_connector *c = o.c;
    redisContext *raw = raw_connect(o.url);
    cr_assert_eq(put_pattern(c, "p", 50000, 1), PS_OK);
    cr_assert_eq(put_pattern(c, "q", 30000, 2), PS_OK);
    long long before = total_connections(raw);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        unsigned char *want = malloc(30000);
        fill(want, 30000, 2);
        ps_blob b = {0};
        bool ok = c->ops->get(c, "q", &b) == PS_OK && b.len == 30000 && memcmp(b.data, want, 30000) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child could not read");
    cr_assert_eq(total_connections(raw), before + 1, "the child did not open a connection of its own");
    get_and_check(c, "p", 50000, 1);

    /* Both at once, many times: each must see only its own replies. */
    pid = fork();
    cr_assert_geq(pid, 0);
    const char *key = pid == 0 ? "q" : "p";
    size_t n = pid == 0 ? 30000 : 50000;
    unsigned seed = pid == 0 ? 2 : 1;
    unsigned char *want = malloc(n);
    fill(want, n, seed);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        ps_blob b = {0};
        if (c->ops->get(c, key, &b) != PS_OK || b.len != n || memcmp(b.data, want, n) != 0)
            bad++;
        ps_blob_release(&b);
    }
    free(want);
    if (pid == 0)
        _exit(bad ? 1 : 0);
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child saw wrong replies");
    cr_assert_eq(bad, 0, "the parent saw wrong replies");
    redisFree(raw);
    own_server_close(&o);
}

/* -------------------------------------------------------- the harness */

Test(redis_harness, start_restart_stop_leave_nothing)
{
    ps_test_redis srv;
    start_server(&srv, NULL);
    pid_t pid = srv.pid;
    int port = srv.port;
    char dir[sizeof srv.dir];
    snprintf(dir, sizeof dir, "%s", srv.dir);
    cr_assert_neq(port, 6379, "never the default port");
    cr_assert_neq(access(dir, F_OK), 0, "a running server needs no directory (a crash would leave it)");
    ps_test_redis_kill(&srv);
    cr_assert_eq(kill(pid, 0), -1, "killed server still there");
    cr_assert_eq(ps_test_redis_restart(&srv), 0);
    cr_assert_eq(srv.port, port, "restart moved the port");
    pid = srv.pid;
    ps_test_redis_stop(&srv);
    cr_assert_eq(kill(pid, 0), -1);
    cr_assert_eq(errno, ESRCH);
    cr_assert_neq(access(dir, F_OK), 0, "temporary directory left behind");
}

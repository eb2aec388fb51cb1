/*
 * test_redis_faults.c — the redis:// connector under states a server enters
 * on its own (LOADING after a restart), damaged data, and the rule that no
 * message ever carries a password.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "connector.h"
#include "error.h"
#include "fake_redis.h"
#include "proxystore/proxystore.h"
#include "redis_server.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static ps_status put_bytes(ps_connector *c, const char *key, const void *bytes, size_t n)
{
    ps_iov part = {bytes, n};
    return c->ops->put(c, key, &part, 1);
}

/* ------------------------------------------------------------ LOADING */

/* A stand-in server answering LOADING to its first `loading` commands, and
 * a connector opened on it (its status in *st). */
static ps_connector *fake_open(ps_fake_redis *f, long loading, int timeout_ms, ps_status *st)
{
    cr_assert_eq(ps_fake_redis_start(f, loading), 0);
    char url[96];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d?timeout=%d", f->port, timeout_ms);
    ps_connector *c = NULL;
    *st = ps_connector_open(url, &c);
    return c;
}

Test(redis_faults, loading_at_open_is_waited_out)
{
    ps_fake_redis f;
    ps_status st;
    ps_connector *c = fake_open(&f, 5, 3000, &st);
    cr_assert_eq(st, PS_OK, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert_gt(atomic_load(&f.commands), 5, "the open never asked past the LOADING replies");
    cr_assert_eq(put_bytes(c, "k", "abc", 3), PS_OK, "%s", ps_last_error_message());
    c->ops->close(c);
    ps_fake_redis_stop(&f);
}

Test(redis_faults, loading_between_operations_is_retried)
{
    ps_fake_redis f;
    ps_status st;
    ps_connector *c = fake_open(&f, 0, 3000, &st);
    cr_assert_eq(st, PS_OK, "%s", ps_last_error_message());
    atomic_store(&f.loading, 4); /* the server restarted and loads its data */
    cr_assert_eq(put_bytes(c, "k", "abc", 3), PS_OK, "%s", ps_last_error_message());
    atomic_store(&f.loading, 3);
    ps_blob b = {0};
    st = c->ops->get(c, "k", &b);
    cr_assert_eq(st, PS_ERR_NOT_FOUND, "a LOADING reply became %s: %s", ps_status_name(st),
                 ps_last_error_message());
    bool exists = true;
    atomic_store(&f.loading, 2);
    cr_assert_eq(c->ops->exists(c, "k", &exists), PS_OK, "%s", ps_last_error_message());
    cr_assert_not(exists);
    c->ops->close(c);
    ps_fake_redis_stop(&f);
}

Test(redis_faults, loading_when_a_new_connection_authenticates_is_retried)
{
    /* The server restarted: the pooled connection is gone, and the new
     * one's AUTH meets LOADING. */
    ps_fake_redis f;
    cr_assert_eq(ps_fake_redis_start(&f, 0), 0);
    char url[96];
    snprintf(url, sizeof url, "redis://:pw@127.0.0.1:%d?timeout=3000", f.port);
    ps_connector *c = NULL;
    cr_assert_eq(ps_connector_open(url, &c), PS_OK, "%s", ps_last_error_message());
    atomic_store(&f.loading, 3);
    atomic_store(&f.close_next, true);
    cr_assert_eq(put_bytes(c, "k", "abc", 3), PS_OK, "%s: %s", ps_status_name(ps_last_error_code()),
                 ps_last_error_message());
    c->ops->close(c);
    ps_fake_redis_stop(&f);
}

Test(redis_faults, loading_longer_than_the_timeout_is_a_timeout)
{
    ps_fake_redis f;
    ps_status st;
    double t0 = now_s();
    ps_connector *c = fake_open(&f, -1, 300, &st);
    double took = now_s() - t0;
    cr_assert_eq(st, PS_ERR_TIMEOUT, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "still loading"), "%s", ps_last_error_message());
    cr_assert_geq(took, 0.25, "gave up after %.2f s, before the timeout", took);
    cr_assert_lt(took, 3.0, "waited %.1f s for a 300 ms timeout", took);
    cr_assert_null(c);
    ps_fake_redis_stop(&f);
}

/* ---------------------------------------------------- damaged manifests */

Test(redis_faults, damaged_manifest_is_bad_data)
{
    const char *base = ps_test_redis_url();
    cr_assert_not_null(base);
    char url[256], prefix[64];
    snprintf(prefix, sizeof prefix, "dm%d", (int)getpid());
    snprintf(url, sizeof url, "%s?prefix=%s&chunk=1K", base, prefix);
    ps_connector *c = NULL;
    cr_assert_eq(ps_connector_open(url, &c), PS_OK, "%s", ps_last_error_message());
    unsigned char data[4000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    cr_assert_eq(put_bytes(c, "k", data, sizeof data), PS_OK, "%s", ps_last_error_message());

    /* Flip a bit of the generation the manifest names its chunks by. */
    int port = atoi(strrchr(base, ':') + 1);
    redisContext *raw = redisConnect("127.0.0.1", port);
    cr_assert(raw && !raw->err);
    redisReply *m = redisCommand(raw, "HGET %s/k m", prefix);
    cr_assert(m && m->type == REDIS_REPLY_STRING && m->len == 48);
    unsigned char damaged[48];
    memcpy(damaged, m->str, 48);
    freeReplyObject(m);
    damaged[33] ^= 0x10;
    redisReply *w = redisCommand(raw, "HSET %s/k m %b", prefix, damaged, (size_t)48);
    cr_assert(w && w->type == REDIS_REPLY_INTEGER);
    freeReplyObject(w);

    ps_blob b = {0};
    ps_status st = c->ops->get(c, "k", &b);
    cr_assert_eq(st, PS_ERR_BAD_DATA, "%s: %s", ps_status_name(st), ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "damaged manifest"), "%s", ps_last_error_message());
    cr_assert_null(b.data);
    cr_assert_eq(c->ops->evict(c, "k"), PS_OK);
    redisFree(raw);
    c->ops->close(c);
}

/* ------------------------------------------------ no password in messages */

#define SECRET "s3cr3tPW"

/* The thread's last error must be set and must not name the password. */
static void expect_clean_error(const char *what)
{
    const char *msg = ps_last_error_message();
    cr_assert(msg && msg[0], "%s: no error message", what);
    cr_assert_null(strstr(msg, SECRET), "%s: the message shows the password: %s", what, msg);
}

Test(redis_faults, no_message_carries_a_password)
{
    const char *base = ps_test_redis_url();
    cr_assert_not_null(base);
    int port = atoi(strrchr(base, ':') + 1);

    /* Every way a URL can be refused. */
    char bad[][160] = {
        "redis://:" SECRET "@127.0.0.1:99999",
        "redis://:" SECRET "@127.0.0.1:port",
        "redis://:" SECRET "@127.0.0.1:",
        "redis://:" SECRET "@127.0.0.1:0",
        "redis://:" SECRET "@127.0.0.1:6390/abc",
        "redis://:" SECRET "@127.0.0.1:6390/1/2",
        "redis://:" SECRET "@127.0.0.1:6390?chunk=abc",
        "redis://:" SECRET "@127.0.0.1:6390?chunk=1G",
        "redis://:" SECRET "@127.0.0.1:6390?prefix=",
        "redis://:" SECRET "@127.0.0.1:6390?timeout=soon",
        "redis://:" SECRET "@127.0.0.1:6390?pool=0",
        "redis://:" SECRET "@127.0.0.1:6390?prefx=typo",
        "redis://:" SECRET "@127.0.0.1:6390?a=1&a=2",
        "redis://:" SECRET "@127.0.0.1:6390?novalue",
        "redis://:" SECRET "@127.0.0.1:6390?a=%zz",
        "redis://:" SECRET "@127.0.0.1:6390#frag",
        "redis://:" SECRET "@[::1:6390",
        "redis://user:" SECRET "@h%zz:6390",
        "nosuch://:" SECRET "@127.0.0.1:6390",
        "redis://user:" SECRET "@127.0.0.1:6390?prefx=typo",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_connector *c = NULL;
        ps_status st = ps_connector_open(bad[i], &c);
        cr_assert_eq(st, PS_ERR_BAD_URL, "%s: %s", bad[i], ps_status_name(st));
        expect_clean_error(bad[i]);
        cr_assert_null(ps_store_open("pw-bad", bad[i], NULL));
        expect_clean_error(bad[i]);
    }

    /* A server that is not there, and one that refuses the password. */
    char url[160];
    snprintf(url, sizeof url, "redis://:" SECRET "@127.0.0.1:1");
    cr_assert_null(ps_store_open("pw-dead", url, NULL));
    expect_clean_error("no server");
    ps_test_redis srv;
    const char *extra[] = {"--requirepass", "other", NULL};
    cr_assert_eq(ps_test_redis_start(&srv, extra), 0);
    snprintf(url, sizeof url, "redis://:" SECRET "@127.0.0.1:%d", srv.port);
    cr_assert_null(ps_store_open("pw-wrong", url, NULL));
    expect_clean_error("wrong password");
    snprintf(url, sizeof url, "redis://admin:" SECRET "@127.0.0.1:%d", srv.port);
    cr_assert_null(ps_store_open("pw-wrong", url, NULL));
    expect_clean_error("wrong user and password");
    ps_test_redis_stop(&srv);

    /* A server without a password given one. */
    snprintf(url, sizeof url, "redis://:" SECRET "@127.0.0.1:%d?prefix=pw%d", port, (int)getpid());
    ps_store *s = ps_store_open("pw-open", url, NULL);
    if (!s)
        expect_clean_error("password to a server without one");

    /* A name open with one URL, opened with another. */
    char url2[160];
    snprintf(url2, sizeof url2, "redis://:" SECRET "@127.0.0.1:%d?prefix=pw-other", port);
    ps_store *a = ps_store_open("pw-clash", "local://", NULL);
    cr_assert_not_null(a);
    cr_assert_null(ps_store_open("pw-clash", url2, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_EXISTS);
    expect_clean_error("clash");
    ps_store_close(a);
    if (s)
        ps_store_close(s);
}

/* ------------------------------------------- a batch cut off half-way */

/* A loopback forwarder to a real server that closes everything, and stops
 * listening, once the client has sent cut_after bytes: the server has run
 * the commands that arrived whole, the client sees a broken link, and no
 * cleanup can reach the server afterwards. */
typedef struct cut_proxy {
    int listen_fd, port, target_port;
    size_t cut_after;
    pthread_t thread;
} cut_proxy;

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void *cut_proxy_main(void *arg)
{
    cut_proxy *p = arg;
    int client = accept(p->listen_fd, NULL, NULL);
    close(p->listen_fd); /* later connections are refused */
    int server = connect_loopback(p->target_port);
    size_t sent = 0;
    char buf[16384];
    for (;;) {
        struct pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (poll(fds, 2, 5000) <= 0)
            break;
        if (fds[0].revents) {
            size_t room = p->cut_after - sent < sizeof buf ? p->cut_after - sent : sizeof buf;
            ssize_t n = read(client, buf, room);
            if (n <= 0 || write(server, buf, (size_t)n) != n)
                break;
            sent += (size_t)n;
            if (sent >= p->cut_after)
                break;
        }
        if (fds[1].revents) {
            ssize_t n = read(server, buf, sizeof buf);
            if (n <= 0 || write(client, buf, (size_t)n) != n)
                break;
        }
    }
    usleep(100 * 1000); /* let the server run what it has */
    close(client);
    close(server);
    return NULL;
}

static void cut_proxy_start(cut_proxy *p, int target_port, size_t cut_after)
{
    p->target_port = target_port;
    p->cut_after = cut_after;
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    cr_assert_eq(bind(p->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(p->listen_fd, 4), 0);
    cr_assert_eq(getsockname(p->listen_fd, (struct sockaddr *)&a, &alen), 0);
    p->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&p->thread, NULL, cut_proxy_main, p), 0);
}

/* Keys under prefix that would stay forever (no expiry); all keys in *total. */
static size_t lasting_keys(redisContext *raw, const char *prefix, size_t *total)
{
    size_t lasting = 0;
    *total = 0;
    char cursor[32] = "0";
    do {
        redisReply *x = redisCommand(raw, "SCAN %s MATCH %s/* COUNT 1000", cursor, prefix);
        cr_assert(x && x->type == REDIS_REPLY_ARRAY && x->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", x->element[0]->str);
        for (size_t i = 0; i < x->element[1]->elements; i++) {
            redisReply *t = redisCommand(raw, "PTTL %s", x->element[1]->element[i]->str);
            cr_assert(t && t->type == REDIS_REPLY_INTEGER);
            lasting += t->integer == -1;
            (*total)++;
            freeReplyObject(t);
        }
        freeReplyObject(x);
    } while (strcmp(cursor, "0") != 0);
    return lasting;
}

/* Cut a batch of N objects after half its bytes; when some_written, part
 * of it must have reached the server (chunked objects' temporary hashes),
 * else the server may hold none of it (a transaction never executed). */
static void batch_cut_leaves_nothing_lasting(const char *query, size_t object_size, bool some_written)
{
    const char *base = ps_test_redis_url();
    cr_assert_not_null(base);
    int port = atoi(strrchr(base, ':') + 1);
    enum { N = 16 };
    cut_proxy proxy;
    cut_proxy_start(&proxy, port, (N / 2) * object_size);
    char url[256], prefix[64];
    snprintf(prefix, sizeof prefix, "cut%d-%zu", (int)getpid(), object_size);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d?prefix=%s&timeout=2000%s", proxy.port, prefix, query);
    ps_connector *c = NULL;
    cr_assert_eq(ps_connector_open(url, &c), PS_OK, "%s", ps_last_error_message());

    unsigned char *payload = calloc(1, object_size);
    char keys[N][16];
    const char *kp[N];
    ps_iov parts[N];
    const ps_iov *pp[N];
    size_t np[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "b%zu", i);
        kp[i] = keys[i];
        parts[i] = (ps_iov){payload, object_size};
        pp[i] = &parts[i];
        np[i] = 1;
    }
    ps_status st = c->ops->put_batch(c, N, kp, pp, np);
    cr_assert_neq(st, PS_OK, "the batch went through a cut link");
    pthread_join(proxy.thread, NULL);

    redisContext *raw = redisConnect("127.0.0.1", port);
    cr_assert(raw && !raw->err);
    size_t total;
    size_t lasting = lasting_keys(raw, prefix, &total);
    if (some_written)
        cr_assert_gt(total, 0, "the server holds none of the batch: the cut came too early to test anything");
    cr_assert_eq(lasting, 0, "%zu of the %zu keys a failed batch left would stay forever", lasting, total);
    for (size_t i = 0; i < N; i++) {
        redisReply *d = redisCommand(raw, "UNLINK %s/%s", prefix, keys[i]);
        freeReplyObject(d);
    }
    char pattern[80];
    snprintf(pattern, sizeof pattern, "%s/*", prefix);
    redisReply *d = redisCommand(raw, "EVAL %s 0 %s", "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do "
                                 "redis.call('UNLINK', k) end", pattern);
    freeReplyObject(d);
    redisFree(raw);
    free(payload);
    c->ops->close(c);
}

Test(redis_faults, batch_of_whole_objects_cut_off_leaves_nothing_lasting)
{
    batch_cut_leaves_nothing_lasting("", 20000, false);
}

Test(redis_faults, batch_of_chunked_objects_cut_off_leaves_nothing_lasting)
{
    batch_cut_leaves_nothing_lasting("&chunk=4K", 20000, true);
}

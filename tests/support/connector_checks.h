/*
 * connector_checks.h — Criterion checks that the file:// and shm:// suites
 * run on their connectors through the ops table.
 *
 * Header-only: ps_test_support is also linked into programs that are not
 * test runners and so must not carry Criterion.  Include it after
 * <criterion/criterion.h>.  Each check leaves the connector open; what is
 * left on disk or in /dev/shm afterwards is for the suite to count.
 */
#ifndef PS_TEST_CONNECTOR_CHECKS_H
#define PS_TEST_CONNECTOR_CHECKS_H

#include <criterion/criterion.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "connector.h"

/* Open a connector of ops from a URL text, asserting it opens. */
static inline ps_connector *ps_check_open(const ps_connector_ops *ops, const char *text)
{
    ps_url url;
    cr_assert_eq(ps_url_parse(text, &url), PS_OK, "%s", ps_last_error_message());
    ps_connector *c = NULL;
    ps_status st = ops->open(&url, &c);
    ps_url_free(&url);
    cr_assert_eq(st, PS_OK, "open %s: %s", text, ps_last_error_message());
    cr_assert_not_null(c);
    return c;
}

/* How opening a connector of ops from text ends (closed again at once). */
static inline ps_status ps_check_open_status(const ps_connector_ops *ops, const char *text)
{
    ps_url url;
    ps_status st = ps_url_parse(text, &url);
    if (st != PS_OK)
        return st;
    ps_connector *c = NULL;
    st = ops->open(&url, &c);
    ps_url_free(&url);
    if (c)
        ops->close(c);
    return st;
}

static inline void ps_check_put(ps_connector *c, const char *key, const void *data, size_t len)
{
    ps_iov part = {data, len};
    cr_assert_eq(c->ops->put(c, key, &part, 1), PS_OK, "put %s: %s", key, ps_last_error_message());
}

/* ------------------------------------------------- overwrite atomicity */

enum { PS_CHECK_SMALL = 256 * 1024, PS_CHECK_LARGE = 1024 * 1024 };

typedef struct ps_check_hammer {
    ps_connector *conn;
    atomic_bool stop;
    atomic_long reads, torn, missing;
} ps_check_hammer;

/* Every blob must be all 'A' with SMALL bytes or all 'B' with LARGE bytes. */
static inline void *ps_check_hammer_reader(void *arg)
{
    ps_check_hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        ps_blob blob;
        ps_status st = h->conn->ops->get(h->conn, "hot", &blob);
        if (st == PS_ERR_NOT_FOUND) {
            atomic_fetch_add(&h->missing, 1);
            continue;
        }
        if (st != PS_OK) {
            atomic_fetch_add(&h->torn, 1);
            continue;
        }
        const unsigned char *p = blob.data;
        unsigned char want = blob.len == PS_CHECK_SMALL ? 'A' : blob.len == PS_CHECK_LARGE ? 'B' : 0;
        bool ok = want != 0;
        for (size_t i = 0; ok && i < blob.len; i += 4093)
            ok = p[i] == want;
        ok = ok && p[blob.len - 1] == want;
        if (!ok)
            atomic_fetch_add(&h->torn, 1);
        ps_blob_release(&blob);
        atomic_fetch_add(&h->reads, 1);
    }
    return NULL;
}

/* Two threads read "hot" while it is overwritten `overwrites` times with
 * objects of two sizes: no reader may see a partial or mixed object, nor
 * the key missing. */
static inline void ps_check_overwrites_are_atomic(ps_connector *c, int overwrites)
{
    unsigned char *a = malloc(PS_CHECK_SMALL), *b = malloc(PS_CHECK_LARGE);
    memset(a, 'A', PS_CHECK_SMALL);
    memset(b, 'B', PS_CHECK_LARGE);
    ps_check_put(c, "hot", a, PS_CHECK_SMALL);
    ps_check_hammer h = {.conn = c};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, ps_check_hammer_reader, &h);
    for (int i = 0; i < overwrites; i++)
        ps_check_put(c, "hot", i % 2 ? a : b, i % 2 ? PS_CHECK_SMALL : PS_CHECK_LARGE);
    atomic_store(&h.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_log_info("%ld reads during %d overwrites", atomic_load(&h.reads), overwrites);
    cr_assert_gt(atomic_load(&h.reads), 0);
    cr_assert_eq(atomic_load(&h.torn), 0, "a reader saw a partial or mixed object");
    cr_assert_eq(atomic_load(&h.missing), 0, "an overwrite must never hide the key");
    free(a);
    free(b);
}

/* ------------------------------------------------------------ bad keys */

/* Every operation refuses each of the n keys in bad, and a key one byte
 * over PS_KEY_MAX; if message_names_key, the message quotes the key. */
static inline void ps_check_keys_refused(ps_connector *c, const char *const bad[], size_t n,
                                         bool message_names_key)
{
    for (size_t i = 0; i < n; i++) {
        ps_blob blob;
        bool exists = true;
        cr_assert_eq(c->ops->put(c, bad[i], &(ps_iov){"x", 1}, 1), PS_ERR_INVALID_ARGUMENT, "put '%s'", bad[i]);
        cr_assert_eq(c->ops->get(c, bad[i], &blob), PS_ERR_INVALID_ARGUMENT, "get '%s'", bad[i]);
        cr_assert_eq(c->ops->exists(c, bad[i], &exists), PS_ERR_INVALID_ARGUMENT, "exists '%s'", bad[i]);
        cr_assert_not(exists);
        cr_assert_eq(c->ops->evict(c, bad[i]), PS_ERR_INVALID_ARGUMENT, "evict '%s'", bad[i]);
        cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
        if (message_names_key && *bad[i])
            cr_assert(strstr(ps_last_error_message(), bad[i]), "message names the key: %s",
                      ps_last_error_message());
    }
    char longkey[PS_KEY_MAX + 1];
    memset(longkey, 'k', PS_KEY_MAX);
    longkey[PS_KEY_MAX] = '\0';
    cr_assert_eq(c->ops->put(c, longkey, &(ps_iov){"x", 1}, 1), PS_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------ planted entries */

/* Something that is not an object (a directory, a FIFO) planted under key:
 * get fails at once with PS_ERR_IO, its message containing message_part
 * (NULL: not checked), and exists says there is no object. */
static inline void ps_check_planted_entry_is_no_object(ps_connector *c, const char *key, const char *message_part)
{
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, key, &blob), PS_ERR_IO);
    if (message_part)
        cr_assert(strstr(ps_last_error_message(), message_part), "%s", ps_last_error_message());
    bool exists = true;
    cr_assert_eq(c->ops->exists(c, key, &exists), PS_OK);
    cr_assert_not(exists);
}

/* ------------------------------------------------------ a failed write */

/* A write that fails part-way (the file size limit of this test process:
 * EFBIG) is PS_ERR_IO, its message contains `message_part`, and the old
 * object under the key stays readable. */
static inline void ps_check_failed_write_keeps_old_object(ps_connector *c, const char *message_part)
{
    ps_check_put(c, "k", "old", 3);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {64 * 1024, 64 * 1024};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t len = 1 << 20;
    char *big = calloc(1, len);
    cr_assert_eq(c->ops->put(c, "k", &(ps_iov){big, len}, 1), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), message_part), "%s", ps_last_error_message());
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "k", &blob), PS_OK);
    cr_assert_eq(blob.len, 3);
    ps_blob_release(&blob);
    free(big);
}

/* --------------------------------------------------------- concurrency */

typedef struct ps_check_worker {
    ps_connector *conn;
    int id;
    int rounds;
    int failures;
} ps_check_worker;

static inline void *ps_check_worker_run(void *arg)
{
    ps_check_worker *w = arg;
    ps_connector *c = w->conn;
    for (int i = 0; i < w->rounds; i++) {
        char key[32];
        snprintf(key, sizeof key, "w%d-%d", w->id, i % 7);
        unsigned char buf[512];
        memset(buf, (unsigned char)(w->id * 31 + i), sizeof buf);
        ps_iov part = {buf, (size_t)(i % 5) * 100 + 1};
        if (c->ops->put(c, key, &part, 1) != PS_OK) {
            w->failures++;
            continue;
        }
        ps_blob blob;
        if (c->ops->get(c, key, &blob) != PS_OK || blob.len != part.len ||
            memcmp(blob.data, buf, blob.len) != 0)
            w->failures++;
        ps_blob_release(&blob);
        if (i % 3 == 0 && c->ops->evict(c, key) != PS_OK)
            w->failures++;
    }
    return NULL;
}

/* Eight threads each put, read back and evict keys of their own, `rounds`
 * times, on one connector: no operation fails or returns another's bytes. */
static inline void ps_check_eight_threads_share(ps_connector *c, int rounds)
{
    pthread_t t[8];
    ps_check_worker args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (ps_check_worker){c, i, rounds, 0};
        pthread_create(&t[i], NULL, ps_check_worker_run, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(args[i].failures, 0, "thread %d", i);
    }
}

#endif /* PS_TEST_CONNECTOR_CHECKS_H */

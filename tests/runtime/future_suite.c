/*
 * future_suite.c — futures on one connector, built once per connector with
 * PS_FUTURE_KIND (futures.cmake): set before and after consumers wait, in
 * this process and in exec'd ones (helper_future), failures reaching every
 * waiter, timeouts that leave the proxy usable, the once-only rule for one
 * handle, for two handles and for two producer processes racing.
 * local:// is in-process only, so there threads stand in for processes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/future.h>
#include <proxystore/proxystore.h>

#include "dir_entries.h"
#include "helper_future.h"
#include "test_urls.h"

#ifndef PS_FUTURE_KIND
#error "PS_FUTURE_KIND must name a connector"
#endif
#define KIND PS_FUTURE_KIND
#define HELPER PS_TEST_BINARY_DIR "/helper_future"

extern char **environ;

static ps_store *store;
static char *url;
static char store_name[64];

static bool cross_process(void) { return strcmp(KIND, "local") != 0; }

static void open_store(void)
{
    url = ps_test_url_for(KIND);
    cr_assert_not_null(url, "no URL for connector %s", KIND);
    snprintf(store_name, sizeof store_name, "fut-%s-%ld", KIND, (long)getpid());
    store = ps_store_open(store_name, url, NULL);
    cr_assert_not_null(store, "open %s: %s", url, ps_last_error_message());
}

static void close_store(void)
{
    ps_store_close(store);
    store = NULL;
    if (strncmp(url, "shm://", 6) == 0) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "ps-%.*s+", (int)strcspn(url + 6, "?"), url + 6);
        ps_test_remove_entries("/dev/shm", prefix);
    }
    free(url);
    url = NULL;
}

TestSuite(future, .init = open_store, .fini = close_store, .timeout = 120);

static int64_t *pattern(uint64_t seed, size_t count)
{
    int64_t *v = malloc((count ? count : 1) * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < count; i++)
        v[i] = hf_value(seed, i);
    return v;
}

static void set_pattern(ps_future *f, uint64_t seed, size_t count)
{
    int64_t *v = pattern(seed, count);
    cr_assert_eq(ps_future_set_array(f, v, count), PS_OK, "set: %s", ps_last_error_message());
    free(v);
}

static void expect_pattern(ps_proxy_t *p, uint64_t seed, size_t count)
{
    const int64_t *v = PS_RESOLVE(int64_t, p);
    cr_assert_not_null(v, "resolve: %s", ps_last_error_message());
    cr_assert_eq(ps_proxy_count(p), count);
    cr_assert_eq(ps_proxy_size(p), count * sizeof(int64_t));
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(v[i], hf_value(seed, i), "element %zu", i);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* ------------------------------------------------------- in this process */

Test(future, set_before_resolve)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    cr_assert_not_null(f, "%s", ps_last_error_message());
    ps_proxy_t *p = ps_future_proxy(f);
    cr_assert_not_null(p);
    bool done = true;
    cr_assert_eq(ps_proxy_done(p, &done), PS_OK);
    cr_assert_not(done, "nothing is set yet");
    cr_assert_eq(ps_proxy_size(p), 0, "facts are unknown before the set");
    set_pattern(f, 7, 1000);
    cr_assert_eq(ps_proxy_done(p, &done), PS_OK);
    cr_assert(done);
    expect_pattern(p, 7, 1000);
    cr_assert(ps_proxy_is_resolved(p));
    ps_proxy_free(p);
    cr_assert_eq(ps_future_evict(f), PS_OK);
    ps_future_free(f);
}

typedef struct delayed_set {
    ps_future *f;
    long delay_ms;
    uint64_t seed;
    size_t count;
    bool fail;
} delayed_set;

static void *set_later(void *arg)
{
    delayed_set *d = arg;
    struct timespec ts = {d->delay_ms / 1000, (d->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (d->fail) {
        ps_future_fail(d->f, PS_ERR_IO, "the simulation diverged");
    } else {
        int64_t *v = pattern(d->seed, d->count);
        ps_future_set_array(d->f, v, d->count);
        free(v);
    }
    return NULL;
}

typedef struct waiter {
    ps_proxy_t *p;
    long timeout_ms;
    ps_status st;
    char message[512];
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->st = ps_proxy_wait(w->p, w->timeout_ms);
    snprintf(w->message, sizeof w->message, "%s", w->st == PS_OK ? "" : ps_last_error_message());
    return NULL;
}

Test(future, waiters_wake_on_set)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    cr_assert_not_null(f);
    enum { N = 4 };
    waiter w[N];
    pthread_t t[N], setter;
    for (int i = 0; i < N; i++) {
        w[i] = (waiter){ps_future_proxy(f), 10000, PS_ERR_STATE, ""};
        cr_assert_not_null(w[i].p);
        pthread_create(&t[i], NULL, wait_thread, &w[i]);
    }
    delayed_set d = {f, 100, 11, 64, false};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_create(&setter, NULL, set_later, &d);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].st, PS_OK, "waiter %d: %s", i, w[i].message);
        expect_pattern(w[i].p, 11, 64);
        ps_proxy_free(w[i].p);
    }
    pthread_join(setter, NULL);
    cr_assert_lt(elapsed_ms(&start), 5000, "waiters woke at the set, not at their timeout");
    ps_future_evict(f);
    ps_future_free(f);
}

Test(future, failure_reaches_every_waiter)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    enum { N = 3 };
    waiter w[N];
    pthread_t t[N], setter;
    for (int i = 0; i < N; i++) {
        w[i] = (waiter){ps_future_proxy(f), 10000, PS_OK, ""};
        pthread_create(&t[i], NULL, wait_thread, &w[i]);
    }
    delayed_set d = {f, 50, 0, 0, true};
    pthread_create(&setter, NULL, set_later, &d);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].st, PS_ERR_IO, "waiter %d got %s", i, ps_status_name(w[i].st));
        cr_assert(strstr(w[i].message, "the simulation diverged"), "message: %s", w[i].message);
        /* ps_resolve fails the same way, every time. */
        cr_assert_null(ps_resolve(w[i].p));
        cr_assert_eq(ps_last_error_code(), PS_ERR_IO);
        ps_proxy_free(w[i].p);
    }
    pthread_join(setter, NULL);
    cr_assert_eq(ps_future_set(f, &(int64_t){1}), PS_ERR_STATE, "a set after a failure is refused");
    ps_future_evict(f);
    ps_future_free(f);
}

Test(future, timeout_then_resolve_later)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    ps_proxy_t *p = ps_future_proxy(f);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cr_assert_eq(ps_proxy_wait(p, 100), PS_ERR_TIMEOUT);
    long waited = elapsed_ms(&start);
    cr_assert_geq(waited, 90, "waited only %ld ms", waited);
    cr_assert_eq(ps_proxy_wait(p, 0), PS_ERR_TIMEOUT, "0 does not wait");
    /* The store's default applies to ps_resolve. */
    cr_assert_eq(ps_store_set_wait_timeout(store, 50), PS_OK);
    cr_assert_null(ps_resolve(p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TIMEOUT);
    cr_assert_eq(ps_store_set_wait_timeout(store, 0), PS_OK);
    set_pattern(f, 3, 5);
    cr_assert_eq(ps_proxy_wait(p, 0), PS_OK, "%s", ps_last_error_message());
    expect_pattern(p, 3, 5);
    ps_proxy_free(p);
    ps_future_evict(f);
    ps_future_free(f);
}

Test(future, set_once_per_handle_and_across_handles)
{
    ps_future *a = ps_future_new(store, &ps_type_int64, "shared-key");
    ps_future *b = ps_future_new(store, &ps_type_int64, "shared-key");
    cr_assert(a && b);
    set_pattern(a, 1, 4);
    cr_assert_eq(ps_future_set(a, &(int64_t){9}), PS_ERR_STATE);
    cr_assert(strstr(ps_last_error_message(), "set already"), "%s", ps_last_error_message());
    int64_t *other = pattern(2, 4);
    cr_assert_eq(ps_future_set_array(b, other, 4), PS_ERR_STATE);
    cr_assert(strstr(ps_last_error_message(), "already set"), "%s", ps_last_error_message());
    cr_assert_eq(ps_future_fail(b, PS_ERR_IO, "late"), PS_ERR_STATE);
    free(other);
    ps_proxy_t *p = ps_future_proxy(b);
    expect_pattern(p, 1, 4); /* the first value stays */
    ps_proxy_free(p);
    ps_future_evict(a);
    ps_future_free(a);
    ps_future_free(b);
}

typedef struct racer {
    ps_future *f;
    uint64_t seed;
    size_t count;
    ps_status st;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    int64_t *v = pattern(r->seed, r->count);
    r->st = ps_future_set_array(r->f, v, r->count);
    free(v);
    return NULL;
}

Test(future, racing_threads_one_wins)
{
    enum { N = 6 };
    for (int round = 0; round < 5; round++) {
        char key[32];
        snprintf(key, sizeof key, "race-%d", round);
        racer r[N];
        pthread_t t[N];
        /* Small values and large ones (redis writes those another way). */
        size_t count = round % 2 ? 20000 : 256;
        for (int i = 0; i < N; i++) {
            r[i] = (racer){ps_future_new(store, &ps_type_int64, key), (uint64_t)i + 100, count, PS_ERR_IO};
            cr_assert_not_null(r[i].f);
        }
        for (int i = 0; i < N; i++)
            pthread_create(&t[i], NULL, race, &r[i]);
        int wins = 0, winner = -1;
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (r[i].st == PS_OK)
                wins++, winner = i;
            else
                cr_assert_eq(r[i].st, PS_ERR_STATE, "racer %d: %s", i, ps_status_name(r[i].st));
        }
        cr_assert_eq(wins, 1);
        ps_proxy_t *p = ps_future_proxy(r[0].f);
        expect_pattern(p, r[winner].seed, count);
        ps_proxy_free(p);
        ps_future_evict(r[0].f);
        for (int i = 0; i < N; i++)
            ps_future_free(r[i].f);
    }
}

Test(future, descriptor_before_set)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    ps_proxy_t *p = ps_future_proxy(f);
    char *desc = ps_proxy_serialize(p);
    cr_assert_not_null(desc, "%s", ps_last_error_message());
    cr_assert(strstr(desc, " future=wait"), "%s", desc);
    ps_proxy_t *q = ps_proxy_deserialize(desc, &ps_type_int64);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    set_pattern(f, 5, 10);
    expect_pattern(q, 5, 10);
    /* Once resolved the descriptor carries the facts, checked as usual. */
    char *after = ps_proxy_serialize(q);
    cr_assert(strstr(after, " future=set") && strstr(after, " count=10 "), "%s", after);
    ps_proxy_t *r = ps_proxy_deserialize(after, &ps_type_int64);
    expect_pattern(r, 5, 10);
    cr_assert_eq(ps_proxy_evict(r), PS_OK);
    bool exists = true;
    cr_assert_eq(ps_store_exists(store, ps_future_key(f), &exists), PS_OK);
    cr_assert_not(exists);
    /* A descriptor with another future state is refused. */
    char *bad = strdup(desc);
    memcpy(strstr(bad, "future=wait") + 7, "what", 4);
    cr_assert_null(ps_proxy_deserialize(bad, &ps_type_int64));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DESCRIPTOR);
    free(bad);
    free(after);
    free(desc);
    ps_proxy_free(q);
    ps_proxy_free(p);
    ps_future_free(f);
}

Test(future, bad_input)
{
    cr_assert_null(ps_future_new(store, NULL, NULL));
    cr_assert_null(ps_future_new(store, &ps_type_int64, "../etc"));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    cr_assert_eq(ps_future_fail(f, PS_OK, "no"), PS_ERR_INVALID_ARGUMENT);
    ps_future_free(f);
    /* A released handle is refused, not read. */
    cr_assert_eq(ps_future_set(f, &(int64_t){1}), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "not a live future"), "%s", ps_last_error_message());
    cr_assert_null(ps_future_proxy(f));
    ps_future_free(f); /* twice: an error, no crash */
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    /* Another type than the future's: the consumer's resolve says so. */
    ps_future *g = ps_future_new(store, &ps_type_int64, NULL);
    ps_proxy_t *p = ps_future_proxy(g);
    cr_assert_null(PS_RESOLVE(double, p));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_proxy_free(p);
    ps_future_free(g);
}

/* ------------------------------------------------------ other processes */

typedef struct child {
    pid_t pid;
    int in;  /* its stdin, or -1 */
    int out; /* a memory file holding its stdout */
} child;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static child spawn(const char *const argv[])
{
    /* Helpers inherit our environment: they may re-create this store. */
    setenv("PS_TRUSTED_URLS", url, 1);
    child c = {0, -1, memfd_create("helper-out", MFD_CLOEXEC)};
    cr_assert_geq(c.out, 0);
    /* Close-on-exec: another helper must not inherit this one's stdin. */
    int in[2];
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, c.out, 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    /* The helper links Criterion through ps_test_support: it must not take
     * itself for one of our workers. */
    unsetenv("BXFI_MAP");
    int rc = posix_spawn(&c.pid, HELPER, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "spawn %s: %s", HELPER, strerror(rc));
    close(in[0]);
    c.in = in[1];
    return c;
}

/* Close its stdin, wait for it; its exit code, its output in buf. */
static int finish(child *c, char *buf, size_t size)
{
    if (c->in >= 0)
        close(c->in);
    int status;
    cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
    ssize_t n = pread(c->out, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(c->out);
    cr_assert(WIFEXITED(status), "helper died by signal %d: %s", WTERMSIG(status), buf);
    return WEXITSTATUS(status);
}

/* Wait (up to 20 s) until the child has written a whole line. */
static void await_line(const child *c)
{
    for (int i = 0; i < 4000; i++) {
        char buf[256];
        ssize_t n = pread(c->out, buf, sizeof buf - 1, 0);
        if (n > 0 && memchr(buf, '\n', (size_t)n))
            return;
        sleep_ms(5);
    }
    cr_assert_fail("helper %ld wrote nothing in 20 s", (long)c->pid);
}

static child spawn_waiter(const char *desc, long timeout_ms, uint64_t seed, size_t count)
{
    char t[32], s[32], n[32];
    snprintf(t, sizeof t, "%ld", timeout_ms);
    snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
    snprintf(n, sizeof n, "%zu", count);
    const char *argv[] = {HELPER, "wait", desc, t, s, n, NULL};
    return spawn(argv);
}


/* A future handed to other processes by its descriptor. */
typedef struct handed_out {
    ps_future *f;
    ps_proxy_t *p;
    char *desc;
} handed_out;

static handed_out hand_out(void)
{
    if (!cross_process())
        cr_skip_test("local:// is in-process");
    handed_out h = {ps_future_new(store, &ps_type_int64, NULL), NULL, NULL};
    cr_assert_not_null(h.f, "%s", ps_last_error_message());
    h.p = ps_future_proxy(h.f);
    h.desc = ps_proxy_serialize(h.p);
    cr_assert_not_null(h.desc, "%s", ps_last_error_message());
    return h;
}

static void take_back(handed_out *h)
{
    free(h->desc);
    ps_proxy_free(h->p);
    ps_future_evict(h->f);
    ps_future_free(h->f);
}

Test(future, processes_wait_then_set)
{
    handed_out h = hand_out();
    enum { N = 3 };
    child c[N];
    for (int i = 0; i < N; i++)
        c[i] = spawn_waiter(h.desc, 20000, 42, 100000);
    sleep_ms(300); /* let them block */
    set_pattern(h.f, 42, 100000);
    for (int i = 0; i < N; i++) {
        char out[1024];
        cr_assert_eq(finish(&c[i], out, sizeof out), HF_EXIT_OK, "consumer %d: %s", i, out);
    }
    take_back(&h);
}

Test(future, processes_after_set)
{
    handed_out h = hand_out();
    set_pattern(h.f, 8, 33);
    for (int i = 0; i < 2; i++) {
        child c = spawn_waiter(h.desc, 0, 8, 33); /* no waiting needed */
        char out[1024];
        cr_assert_eq(finish(&c, out, sizeof out), HF_EXIT_OK, "%s", out);
    }
    take_back(&h);
}

Test(future, processes_get_failure_and_timeout)
{
    handed_out h = hand_out();
    child late = spawn_waiter(h.desc, 200, 0, 0);
    char out[1024];
    cr_assert_eq(finish(&late, out, sizeof out), HF_EXIT_TIMEOUT, "%s", out);
    child c[2] = {spawn_waiter(h.desc, 20000, 0, 0), spawn_waiter(h.desc, 20000, 0, 0)};
    sleep_ms(200);
    cr_assert_eq(ps_future_fail(h.f, PS_ERR_SERIALIZE, "input deck unreadable"), PS_OK);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(finish(&c[i], out, sizeof out), HF_EXIT_FAILED, "%s", out);
        cr_assert(strstr(out, "PS_ERR_SERIALIZE") && strstr(out, "input deck unreadable"), "%s", out);
    }
    take_back(&h);
}

Test(future, producer_processes_race)
{
    if (!cross_process())
        cr_skip_test("local:// is in-process");
    for (int round = 0; round < 3; round++) {
        char key[32];
        snprintf(key, sizeof key, "xrace-%d", round);
        ps_future *f = ps_future_new(store, &ps_type_int64, key);
        ps_proxy_t *p = ps_future_proxy(f);
        /* Each producer opens the store under its own name on the same URL. */
        const char *a[] = {HELPER, "set", "producer-a", url, key, "1", "50", NULL};
        const char *b[] = {HELPER, "set", "producer-b", url, key, "2", "50", NULL};
        child pa = spawn(a), pb = spawn(b);
        cr_assert_eq(ps_proxy_wait(p, 20000), PS_OK, "%s", ps_last_error_message());
        const int64_t *v = PS_RESOLVE(int64_t, p);
        cr_assert_not_null(v);
        uint64_t seed = v[0] == hf_value(1, 0) ? 1 : 2;
        expect_pattern(p, seed, 50);
        /* Both have tried before either closes its store (a shm object
         * lasts while the store of its producer is open). */
        await_line(&pa);
        await_line(&pb);
        char oa[1024], ob[1024];
        int ra = finish(&pa, oa, sizeof oa), rb = finish(&pb, ob, sizeof ob);
        cr_assert((ra == HF_EXIT_OK && rb == HF_EXIT_REFUSED) || (ra == HF_EXIT_REFUSED && rb == HF_EXIT_OK),
                  "exactly one wins: a=%d (%s) b=%d (%s)", ra, oa, rb, ob);
        const char *loser = ra == HF_EXIT_OK ? ob : oa;
        cr_assert(strstr(loser, "PS_ERR_STATE") && strstr(loser, "already set"), "%s", loser);
        cr_assert_eq(seed, ra == HF_EXIT_OK ? 1u : 2u, "the value is the winner's");
        ps_proxy_free(p);
        ps_future_evict(f);
        ps_future_free(f);
    }
}

/* A value evicted with a plain ps_store_evict (not ps_future_evict) is gone
 * for later consumers too: on Redis its signal list stays behind, and must
 * not resolve to the old value. */
Test(future, plain_evict_leaves_nothing_to_resolve)
{
    ps_future *f = ps_future_new(store, &ps_type_int64, NULL);
    set_pattern(f, 4, 8);
    cr_assert_eq(ps_store_evict(store, ps_future_key(f)), PS_OK);
    ps_proxy_t *p = ps_future_proxy(f);
    ps_status st = ps_proxy_wait(p, 100);
    cr_assert(st == PS_ERR_TIMEOUT || st == PS_ERR_NOT_FOUND, "got %s", ps_status_name(st));
    ps_proxy_free(p);
    ps_future_evict(f);
    ps_future_free(f);
}

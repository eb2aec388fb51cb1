/*
 * test_hardening.c — lifetimes and consistency that a first real user ran
 * into: a store handle used after its last close, a slow connector open
 * holding up every other store, resolves racing puts and evicts of the same
 * key, a cache entry made stale by another writer, and custom hooks that
 * fail.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------- a handle after close */

Test(closed_handle, every_call_on_a_store_closed_and_gone_fails_cleanly)
{
    ps_store *s = ps_store_open("hard-closed", "local://", NULL);
    cr_assert_not_null(s);
    ps_store_close(s); /* no proxy holds it: the store object is gone */

    int32_t x = 1;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, key), PS_ERR_CLOSED);
    cr_assert(strstr(ps_last_error_message(), "not an open store"), "%s", ps_last_error_message());
    cr_assert_eq(ps_store_put_key(s, "k", &ps_type_int32, &x, 1), PS_ERR_CLOSED);
    cr_assert_null(ps_store_get(s, "k", &ps_type_int32, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
    bool there;
    cr_assert_eq(ps_store_exists(s, "k", &there), PS_ERR_CLOSED);
    cr_assert_eq(ps_store_evict(s, "k"), PS_ERR_CLOSED);
    const char *keys[] = {"k"};
    const void *objs[] = {&x};
    char keys_out[1][PS_KEY_MAX];
    void *got[1];
    cr_assert_eq(ps_store_put_batch(s, &ps_type_int32, 1, objs, NULL, keys_out), PS_ERR_CLOSED);
    cr_assert_eq(ps_store_get_batch(s, &ps_type_int32, 1, keys, got, NULL), PS_ERR_CLOSED);
    cr_assert_eq(ps_store_exists_batch(s, 1, keys, &there), PS_ERR_CLOSED);
    cr_assert_eq(ps_store_evict_batch(s, 1, keys), PS_ERR_CLOSED);
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(s, &m), PS_ERR_CLOSED);
    cr_assert_null(ps_store_name(s));
    cr_assert_null(ps_store_url(s));
    cr_assert_null(ps_proxy(s, &ps_type_int32, &x));
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
    cr_assert_null(ps_proxy_from_key(s, "k", &ps_type_int32));
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
    ps_store_close(s);
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
}

Test(closed_handle, a_closed_store_kept_by_a_proxy_still_answers_its_name)
{
    ps_store *s = ps_store_open("hard-kept", "local://", NULL);
    int32_t x = 9;
    ps_proxy_t *p = ps_proxy(s, &ps_type_int32, &x);
    cr_assert_not_null(p);
    ps_store_close(s);
    cr_assert_str_eq(ps_store_name(ps_proxy_store(p)), "hard-kept");
    cr_assert_str_eq(ps_store_url(ps_proxy_store(p)), "local://");
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(ps_proxy_store(p), &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].count, 1);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, key), PS_ERR_CLOSED);
    cr_assert(strstr(ps_last_error_message(), "'hard-kept' is closed"), "%s", ps_last_error_message());
    cr_assert_eq(*(int32_t *)ps_resolve(p), 9);
    ps_proxy_free(p);
}

/* --------------------------------- a slow open does not hold up others */

/* A TCP listener that completes handshakes (the kernel's backlog) but never
 * answers: a Redis connector opening against it waits for its PING reply
 * until its timeout. */
static int silent_listener(int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port_out = ntohs(a.sin_port);
    return fd;
}

static void *open_slow(void *url)
{
    ps_store *s = ps_store_open("hard-slow", url, NULL);
    if (s)
        ps_store_close(s);
    return (void *)(intptr_t)ps_last_error_code();
}

Test(registry_lock, a_store_opening_slowly_does_not_block_other_stores, .timeout = 30)
{
    int port;
    int fd = silent_listener(&port);
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d?timeout=1500&connect_timeout=1500", port);
    pthread_t t;
    uint64_t start = now_ms();
    pthread_create(&t, NULL, open_slow, url);
    usleep(150 * 1000); /* the slow open is waiting for its PING reply */

    uint64_t t0 = now_ms();
    ps_store *fast = ps_store_open("hard-fast", "local://", NULL);
    cr_assert_not_null(fast);
    cr_assert_null(ps_store_lookup("hard-slow"), "a store is registered only once open");
    ps_store_close(fast);
    uint64_t took = now_ms() - t0;

    void *code;
    pthread_join(t, &code);
    ps_status slow = (ps_status)(intptr_t)code;
    cr_assert(slow == PS_ERR_TIMEOUT || slow == PS_ERR_CONNECTION, "%s", ps_status_name(slow));
    cr_assert_geq(now_ms() - start, 1400, "the slow open did wait for its server");
    cr_assert_lt(took, 700, "opening a local store took %llu ms while another store was connecting",
                 (unsigned long long)took);
    close(fd);
}

static void *open_same(void *arg)
{
    const char *url = arg;
    ps_store *s = ps_store_open("hard-race", url, NULL);
    return s;
}

Test(registry_lock, racing_first_opens_of_one_name_give_one_store)
{
    for (int round = 0; round < 50; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, open_same, "local://");
        ps_store *s[4];
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], (void **)&s[i]);
            cr_assert_not_null(s[i], "%s", ps_last_error_message());
            cr_assert_eq(s[i], s[0], "two stores registered under one name");
        }
        for (int i = 0; i < 4; i++)
            ps_store_close(s[i]);
        cr_assert_null(ps_store_lookup("hard-race"));
    }
}

/* ---------------------------------------- resolves racing puts and evicts */

/* A custom type whose deserialize hook can be held: a resolve is then
 * parked between reading the connector and filling the cache. */
struct box {
    int value;
};
static sem_t gate_entered, gate_open;
static bool gate_armed;

static ps_status box_serialize(const void *obj, ps_buffer *out) { return ps_buffer_append(out, obj, sizeof(struct box)); }
static ps_status box_deserialize(const void *bytes, size_t len, void **out)
{
    if (len != sizeof(struct box))
        return PS_ERR_SERIALIZE;
    if (__atomic_exchange_n(&gate_armed, false, __ATOMIC_SEQ_CST)) {
        sem_post(&gate_entered);
        sem_wait(&gate_open);
    }
    struct box *b = malloc(sizeof *b);
    memcpy(b, bytes, sizeof *b);
    *out = b;
    return PS_OK;
}
static const ps_type box_type = {"struct box", sizeof(struct box), _Alignof(struct box), 0, box_serialize,
                                 box_deserialize, free};

typedef struct parked {
    ps_store *store;
    ps_proxy_t *proxy;
} parked;

static void *from_key_parked(void *arg)
{
    parked *pk = arg;
    pk->proxy = ps_proxy_from_key(pk->store, "boxed", &box_type);
    return NULL;
}

/* Open a local store holding version 1 under "boxed", start a
 * ps_proxy_from_key of it and hold that inside deserialize. */
static ps_store *park_resolve(const char *store_name, pthread_t *t, parked *pk)
{
    ps_store *s = ps_store_open(store_name, "local://", NULL);
    cr_assert_eq(ps_store_put_key(s, "boxed", &box_type, &(struct box){1}, 1), PS_OK);
    *pk = (parked){s, NULL};
    sem_init(&gate_entered, 0, 0);
    sem_init(&gate_open, 0, 0);
    gate_armed = true;
    pthread_create(t, NULL, from_key_parked, pk);
    sem_wait(&gate_entered);
    return s;
}

static void unpark_resolve(pthread_t t)
{
    sem_post(&gate_open);
    pthread_join(t, NULL);
    sem_destroy(&gate_entered);
    sem_destroy(&gate_open);
}

Test(cache_consistency, a_resolve_that_read_before_a_put_does_not_cache_the_old_object)
{
    pthread_t t;
    parked pk;
    ps_store *s = park_resolve("hard-put-race", &t, &pk);
    /* The parked resolve read version 1; version 2 is put meanwhile. */
    cr_assert_eq(ps_store_put_key(s, "boxed", &box_type, &(struct box){2}, 1), PS_OK);
    unpark_resolve(t);
    cr_assert_not_null(pk.proxy);
    cr_assert_eq(((struct box *)ps_resolve(pk.proxy))->value, 1, "it read before the put");

    ps_proxy_t *now = ps_proxy_from_key(s, "boxed", &box_type);
    cr_assert_not_null(now, "%s", ps_last_error_message());
    cr_assert_eq(((struct box *)ps_resolve(now))->value, 2, "a proxy made after the put sees the put");
    ps_proxy_free(now);
    ps_proxy_free(pk.proxy);
    ps_store_close(s);
}

Test(cache_consistency, a_resolve_that_read_before_an_evict_does_not_resurrect_the_key)
{
    pthread_t t;
    parked pk;
    ps_store *s = park_resolve("hard-evict-race", &t, &pk);
    cr_assert_eq(ps_store_evict(s, "boxed"), PS_OK);
    unpark_resolve(t);
    cr_assert_not_null(pk.proxy);

    cr_assert_null(ps_proxy_from_key(s, "boxed", &box_type), "an evicted key came back from the cache");
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    ps_proxy_free(pk.proxy);
    ps_store_close(s);
}

Test(cache_consistency, unrelated_traffic_does_not_stop_caching)
{
    ps_store *s = ps_store_open("hard-cache-busy", "local://", NULL);
    int32_t x = 5;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, key), PS_OK);
    ps_proxy_free(ps_proxy_from_key(s, key, &ps_type_int32));
    for (int i = 0; i < 100; i++) {
        char other[PS_KEY_MAX];
        cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, other), PS_OK);
        cr_assert_eq(ps_store_evict(s, other), PS_OK);
    }
    ps_proxy_free(ps_proxy_from_key(s, key, &ps_type_int32));
    ps_metrics m;
    ps_store_metrics(s, &m);
    cr_assert_eq(m.cache_hits, 1, "hits %llu", (unsigned long long)m.cache_hits);
    ps_store_close(s);
}

/* Another writer (here a second store on the same directory, as another
 * process would be) replaces an object this store has cached.  A proxy made
 * for the new object must get the new object, not a hash-mismatch error
 * from the stale cache entry. */
Test(cache_consistency, a_stale_cache_entry_does_not_fail_a_proxy_of_the_new_object)
{
    char *url = ps_test_url_for("file");
    cr_assert_not_null(url);
    ps_store *mine = ps_store_open("hard-mine", url, NULL);
    ps_store *theirs = ps_store_open("hard-theirs", url, NULL);
    cr_assert(mine && theirs, "%s", ps_last_error_message());
    int32_t v1[3] = {1, 1, 1}, v2[3] = {2, 2, 2};
    cr_assert_eq(ps_store_put_key(mine, "shared", &ps_type_int32, v1, 3), PS_OK);
    ps_proxy_t *old = ps_proxy_from_key(mine, "shared", &ps_type_int32); /* now cached in mine */
    cr_assert_not_null(old);

    cr_assert_eq(ps_store_put_key(theirs, "shared", &ps_type_int32, v2, 3), PS_OK);
    ps_proxy_t *fresh = ps_proxy_from_key(theirs, "shared", &ps_type_int32);
    char *desc = ps_proxy_serialize(fresh);
    /* the same descriptor as it would name "mine" */
    char *edited = calloc(1, strlen(desc) + 16);
    const char *at = strstr(desc, "store=hard-theirs");
    cr_assert_not_null(at);
    sprintf(edited, "%.*sstore=hard-mine%s", (int)(at - desc), desc, at + strlen("store=hard-theirs"));
    ps_proxy_t *p = ps_proxy_deserialize(edited, &ps_type_int32);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    int32_t *got = ps_resolve(p);
    cr_assert_not_null(got, "%s: %s", ps_status_name(ps_last_error_code()), ps_last_error_message());
    cr_assert_eq(got[0], 2);

    /* the proxy of the old version still holds what it resolved */
    cr_assert_eq(((int32_t *)ps_resolve(old))[0], 1);
    /* and a proxy of the old version that was never resolved is refused */
    char *old_desc = ps_proxy_serialize(old);
    ps_proxy_t *late = ps_proxy_deserialize(old_desc, &ps_type_int32);
    cr_assert_null(ps_resolve(late));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DATA);
    ps_proxy_free(late);
    free(old_desc);

    ps_proxy_free(p);
    ps_proxy_free(fresh);
    ps_proxy_free(old);
    free(edited);
    free(desc);
    ps_store_close(mine);
    ps_store_close(theirs);
    free(url);
}

/* ------------------------------------------------------- failing hooks */

static ps_status serialize_refuses(const void *obj, ps_buffer *out)
{
    (void)obj, (void)out;
    return PS_ERR_NO_MEMORY; /* without any library call that sets an error */
}
static ps_status deserialize_refuses(const void *bytes, size_t len, void **out)
{
    (void)bytes, (void)len, (void)out;
    return PS_ERR_NO_MEMORY;
}
static ps_status deserialize_gives_nothing(const void *bytes, size_t len, void **out)
{
    (void)bytes, (void)len;
    *out = NULL;
    return PS_OK;
}
static ps_status serialize_grows_past_memory(const void *obj, ps_buffer *out)
{
    (void)obj;
    return ps_buffer_append(out, out->data, SIZE_MAX - 8); /* fails inside the library */
}

static const ps_type refusing_put = {"struct refusing", 4, 4, 0, serialize_refuses, deserialize_refuses, free};
static const ps_type refusing_get = {"struct box", sizeof(struct box), _Alignof(struct box), 0, box_serialize,
                                     deserialize_refuses, free};
static const ps_type empty_get = {"struct box", sizeof(struct box), _Alignof(struct box), 0, box_serialize,
                                  deserialize_gives_nothing, free};
static const ps_type huge_put = {"struct huge", 4, 4, 0, serialize_grows_past_memory, deserialize_refuses, free};

Test(hooks, the_returned_status_is_the_recorded_code)
{
    ps_store *s = ps_store_open("hard-hooks", "local://", NULL);
    int x = 1;
    char key[PS_KEY_MAX];
    ps_status st = ps_store_put(s, &refusing_put, &x, 1, key);
    cr_assert_eq(st, PS_ERR_SERIALIZE);
    cr_assert_eq(ps_last_error_code(), st);
    cr_assert(strstr(ps_last_error_message(), "serializing a 'struct refusing' failed") &&
              strstr(ps_last_error_message(), "PS_ERR_NO_MEMORY"), "%s", ps_last_error_message());

    st = ps_store_put(s, &huge_put, &x, 1, key);
    cr_assert_eq(st, PS_ERR_NO_MEMORY, "the library's own error is kept");
    cr_assert_eq(ps_last_error_code(), st);
    cr_assert(strstr(ps_last_error_message(), "serializing a 'struct huge'"), "%s", ps_last_error_message());

    cr_assert_eq(ps_store_put(s, &box_type, &(struct box){3}, 1, key), PS_OK);
    const char *keys[] = {key};
    void *objs[1];
    st = ps_store_get_batch(s, &refusing_get, 1, keys, objs, NULL);
    cr_assert_eq(st, PS_ERR_SERIALIZE);
    cr_assert_eq(ps_last_error_code(), st);
    cr_assert_null(objs[0]);
    cr_assert_null(ps_store_get(s, key, &refusing_get, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_SERIALIZE);
    char get_message[512];
    snprintf(get_message, sizeof get_message, "%s", ps_last_error_message());
    cr_assert_null(ps_proxy_from_key(s, key, &refusing_get));
    cr_assert_eq(ps_last_error_code(), PS_ERR_SERIALIZE);
    cr_assert_str_eq(ps_last_error_message(), get_message, "get and resolve report a hook the same way");

    cr_assert_null(ps_store_get(s, key, &empty_get, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_SERIALIZE);
    cr_assert(strstr(ps_last_error_message(), "gave no object"), "%s", ps_last_error_message());
    ps_store_close(s);
}

Test(hooks, a_successful_custom_put_keeps_the_last_error)
{
    ps_store *s = ps_store_open("hard-keep-error", "local://", NULL);
    cr_assert_null(ps_store_get(s, "missing", &box_type, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &box_type, &(struct box){4}, 1, key), PS_OK);
    void *obj = ps_store_get(s, key, &box_type, NULL);
    cr_assert_not_null(obj);
    ps_object_free(&box_type, obj);
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND, "successful calls do not clear the error");
    cr_assert(strstr(ps_last_error_message(), "missing"), "%s", ps_last_error_message());
    ps_store_close(s);
}

/* ------------------------------------------- fork during a prefetch */

/* A custom type whose deserialize waits while `held` is set, counting the
 * fetches that reached it. */
static int held, holding;
static ps_status held_deserialize(const void *bytes, size_t len, void **out)
{
    __atomic_add_fetch(&holding, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&held, __ATOMIC_SEQ_CST))
        usleep(1000);
    return box_deserialize(bytes, len, out);
}
static const ps_type held_type = {"struct box", sizeof(struct box), _Alignof(struct box), 0, box_serialize,
                                  held_deserialize, free};

static void *release_held_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    __atomic_store_n(&held, 0, __ATOMIC_SEQ_CST);
    return NULL;
}

Test(fork, a_child_forked_during_prefetches_can_resolve_and_free_their_proxies, .timeout = 30)
{
    ps_store_options no_cache = {.cache_size = 0};
    ps_store *s = ps_store_open("hard-fork", "local://", &no_cache);
    ps_proxy_t *p[3];
    __atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 3; i++) {
        p[i] = ps_proxy(s, &held_type, &(struct box){10 + i});
        cr_assert_not_null(p[i]);
        cr_assert_eq(ps_resolve_async(p[i]), PS_OK);
    }
    while (__atomic_load_n(&holding, __ATOMIC_SEQ_CST) < 2)
        usleep(1000); /* both prefetch threads are inside a fetch, the third waits in the queue */
    pthread_t releaser;
    pthread_create(&releaser, NULL, release_held_later, NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        alarm(10); /* a proxy stuck fetching in a thread the child does not have hangs */
        int ok = 0;
        for (int i = 0; i < 3; i++) {
            struct box *b = ps_resolve(p[i]);
            ok += b && b->value == 10 + i;
            ps_proxy_free(p[i]);
        }
        _exit(ok == 3 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    pthread_join(releaser, NULL);
    cr_assert(WIFEXITED(status), "the child hung (signal %d)", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    cr_assert_eq(WEXITSTATUS(status), 0, "the child resolved wrong objects");
    for (int i = 0; i < 3; i++) {
        struct box *b = ps_resolve(p[i]);
        cr_assert(b && b->value == 10 + i, "the parent's prefetches went on");
        cr_assert_eq(ps_proxy_evict(p[i]), PS_OK);
    }
    ps_store_close(s);
}

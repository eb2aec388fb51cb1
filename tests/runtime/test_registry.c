/*
 * test_registry.c — the process-wide store registry: names, reference
 * counted opens, URL clashes, lifetime with live proxies.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

Test(registry, same_name_same_url_is_the_same_store)
{
    ps_store *a = ps_store_open("reg", "local://", NULL);
    cr_assert_not_null(a, "%s", ps_last_error_message());
    ps_store *b = ps_store_open("reg", "local://", NULL);
    cr_assert_eq(a, b);
    cr_assert_eq(ps_store_lookup("reg"), a);
    cr_assert_str_eq(ps_store_name(a), "reg");
    cr_assert_str_eq(ps_store_url(a), "local://");

    int x = 7;
    cr_assert_eq(ps_store_put_key(a, "seven", &ps_type_int32, &x, 1), PS_OK);
    ps_store_close(b);
    cr_assert_eq(ps_store_lookup("reg"), a, "one open is left");
    int *got = ps_store_get(a, "seven", &ps_type_int32, NULL);
    cr_assert_not_null(got, "the store still works: %s", ps_last_error_message());
    cr_assert_eq(*got, 7);
    ps_object_free(&ps_type_int32, got);
    ps_store_close(a);
    cr_assert_null(ps_store_lookup("reg"));
}

Test(registry, same_name_other_url_is_refused)
{
    ps_store *a = ps_store_open("clash", "local://", NULL);
    cr_assert_not_null(a);
    cr_assert_null(ps_store_open("clash", "file:///tmp/somewhere", NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_EXISTS);
    const char *msg = ps_last_error_message();
    cr_assert(strstr(msg, "clash") && strstr(msg, "local://") && strstr(msg, "file:///tmp/somewhere"), "%s", msg);
    ps_store_close(a);
    cr_assert_eq(ps_store_lookup("clash"), NULL);
}

Test(registry, names_are_independent)
{
    ps_store *a = ps_store_open("one", "local://", NULL);
    ps_store *b = ps_store_open("two", "local://", NULL);
    cr_assert(a && b && a != b);
    int x = 1;
    cr_assert_eq(ps_store_put_key(a, "k", &ps_type_int32, &x, 1), PS_OK);
    bool exists = true;
    cr_assert_eq(ps_store_exists(b, "k", &exists), PS_OK);
    cr_assert_not(exists, "each local:// store has its own objects");
    ps_store_close(a);
    ps_store_close(b);
}

/* Opening a store called name at url fails with code. */
static void assert_open_refused(const char *name, const char *url, ps_status code)
{
    cr_assert_null(ps_store_open(name, url, NULL), "%s at %s", name ? name : "NULL", url ? url : "NULL");
    cr_assert_eq(ps_last_error_code(), code);
}

Test(registry, bad_arguments)
{
    assert_open_refused(NULL, "local://", PS_ERR_INVALID_ARGUMENT);
    assert_open_refused("", "local://", PS_ERR_INVALID_ARGUMENT);
    assert_open_refused("has space", "local://", PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "has space"), "%s", ps_last_error_message());
    assert_open_refused("n", NULL, PS_ERR_BAD_URL);
    assert_open_refused("n", "nonsense", PS_ERR_BAD_URL);
    assert_open_refused("n", "gopher://host", PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "gopher"), "%s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "opening store 'n'"), "%s", ps_last_error_message());
    assert_open_refused("n", "local://host", PS_ERR_BAD_URL);
    assert_open_refused("n", "local://?x=1", PS_ERR_BAD_URL);
    cr_assert_null(ps_store_lookup("n"), "a failed open registers nothing");
    cr_assert_null(ps_store_lookup(NULL));
    ps_store_close(NULL);
    cr_assert_null(ps_store_name(NULL));
    cr_assert_null(ps_store_url(NULL));
}

Test(registry, closing_an_unknown_handle_is_reported)
{
    ps_store *a = ps_store_open("once", "local://", NULL);
    ps_proxy_t *keep = ps_proxy(a, &ps_type_int32, &(int){3}); /* keeps the object alive */
    ps_store_close(a);
    ps_store_close(a); /* once too often: refused, not dereferenced as open */
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
    ps_proxy_free(keep);
}

Test(registry, a_closed_store_refuses_operations)
{
    ps_store *a = ps_store_open("closing", "local://", NULL);
    int x = 5;
    ps_proxy_t *p = ps_proxy(a, &ps_type_int32, &x);
    cr_assert_not_null(p);
    ps_store_close(a); /* the proxy keeps the object alive, not the name */
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(a, &ps_type_int32, &x, 1, key), PS_ERR_CLOSED);
    cr_assert(strstr(ps_last_error_message(), "closing"), "%s", ps_last_error_message());
    cr_assert_null(ps_store_get(a, ps_proxy_key(p), &ps_type_int32, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_CLOSED);
    bool e;
    cr_assert_eq(ps_store_exists(a, "k", &e), PS_ERR_CLOSED);
    cr_assert_eq(ps_store_evict(a, "k"), PS_ERR_CLOSED);
    /* the proxy still resolves, and the name can be reused meanwhile */
    cr_assert_eq(*PS_RESOLVE(int32_t, p), 5);
    ps_store *b = ps_store_open("closing", "shm://registry-reuse", NULL);
    cr_assert_not_null(b, "the name is free: %s", ps_last_error_message());
    cr_assert_neq(b, a);
    ps_store_close(b);
    cr_assert_eq(ps_proxy_evict(p), PS_OK, "a proxy can evict from its closed store");
}

Test(registry, cache_size_option)
{
    ps_store_options none = {.cache_size = 0};
    ps_store *s = ps_store_open("nocache", "local://", &none);
    cr_assert_not_null(s);
    int x = 1;
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, key), PS_OK);
    for (int i = 0; i < 3; i++)
        ps_proxy_free(ps_proxy_from_key(s, key, &ps_type_int32));
    ps_metrics m;
    ps_store_metrics(s, &m);
    cr_assert_eq(m.cache_hits, 0, "cache_size 0 disables the cache");
    cr_assert_eq(m.cache_misses, 3);
    ps_store_close(s);

    ps_store_options dflt = {.cache_size = -1};
    s = ps_store_open("dfltcache", "local://", &dflt);
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &x, 1, key), PS_OK);
    for (int i = 0; i < 3; i++)
        ps_proxy_free(ps_proxy_from_key(s, key, &ps_type_int32));
    ps_store_metrics(s, &m);
    cr_assert_eq(m.cache_hits, 2);
    ps_store_close(s);
}

static void *open_close(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        ps_store *s = ps_store_open("shared", "local://", NULL);
        if (!s)
            return (void *)1;
        ps_store_close(s);
    }
    return NULL;
}

Test(registry, concurrent_opens_and_closes)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, open_close, NULL);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r);
    }
    cr_assert_null(ps_store_lookup("shared"));
}

/* A custom object's free_obj, counted in memory shared with the parent. */
static int *freed_at_exit;
static void counting_free(void *obj)
{
    __atomic_add_fetch(freed_at_exit, 1, __ATOMIC_SEQ_CST);
    free(obj);
}
static ps_status copy_serialize(const void *obj, ps_buffer *out) { return ps_buffer_append(out, obj, sizeof(int)); }
static ps_status copy_deserialize(const void *bytes, size_t len, void **out)
{
    if (len != sizeof(int))
        return PS_ERR_SERIALIZE;
    *out = malloc(sizeof(int));
    memcpy(*out, bytes, sizeof(int));
    return PS_OK;
}
static const ps_type counted_type = {"counted", sizeof(int), _Alignof(int), 0, copy_serialize, copy_deserialize,
                                     counting_free};

/* freed_at_exit in memory a forked child shares with this process. */
static void share_free_counter(void)
{
    freed_at_exit = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(freed_at_exit, MAP_FAILED);
}

static void assert_child_succeeded(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* In a child: open a store left open and resolve a proxy of 42, then free
 * the proxy; the store's cache keeps the object, which is returned.
 * Reading it after ps_proxy_free breaks the contract on purpose: the cache
 * still holding it is what is tested. */
static int *resolve_into_cache(ps_store **store_out)
{
    ps_store *s = ps_store_open("left-open", "local://", NULL);
    ps_proxy_t *p = ps_proxy(s, &counted_type, &(int){42});
    int *v = ps_resolve(p);
    ps_proxy_free(p);
    *store_out = s;
    return v; // ps-check-ignore: ps-dangling-target
}

Test(registry, stores_left_open_are_closed_at_exit)
{
    share_free_counter();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Open, resolve (the cache keeps the object), prefetch, and exit
         * without closing anything. */
        ps_store *s;
        int *v = resolve_into_cache(&s);
        ps_proxy_t *q = ps_proxy(s, &counted_type, &(int){43});
        ps_resolve_async(q);
        _exit(v && *v == 42 ? 0 : 3); /* _exit: no cleanup */
    }
    assert_child_succeeded(pid);
    cr_assert_eq(*freed_at_exit, 0, "_exit skips the exit hook");

    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ps_store *s;
        int *v = resolve_into_cache(&s);
        exit(v && *v == 42 ? 0 : 3); /* exit: the hook closes the store */
    }
    assert_child_succeeded(pid);
    cr_assert_eq(*freed_at_exit, 1, "the cached object was released at exit");
    munmap(freed_at_exit, sizeof(int));
}

Test(registry, a_forked_child_leaves_inherited_stores_alone)
{
    share_free_counter();
    ps_store *s = ps_store_open("inherited", "local://", NULL);
    ps_proxy_t *p = ps_proxy(s, &counted_type, &(int){7});
    cr_assert_not_null(ps_resolve(p));
    ps_proxy_free(p); /* the object stays in the parent's cache */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        exit(0); /* runs the exit hook in the child */
    assert_child_succeeded(pid);
    cr_assert_eq(*freed_at_exit, 0, "the child did not close the parent's store");
    ps_store_close(s);
    cr_assert_eq(*freed_at_exit, 1, "the parent's close did");
    munmap(freed_at_exit, sizeof(int));
}

/*
 * test_hardening_oom.c — every allocation failing in turn.
 *
 * This program replaces malloc and friends (forwarding to glibc's) with
 * versions that can fail the Nth allocation and that count live blocks.
 * A whole life cycle — open, put, proxy, resolve, prefetch, serialize,
 * deserialize, batches, free, close — is run once for each N until it
 * completes; every run must end without a crash and with as many live blocks
 * as before it: an error path that leaks shows up as a difference.
 *
 * Sanitizer builds bring their own allocator, so there this file only
 * says it was skipped; the plain build runs it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"

#if defined(__SANITIZE_ADDRESS__)
#define PS_OWN_ALLOCATOR 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PS_OWN_ALLOCATOR 0
#endif
#endif
#ifndef PS_OWN_ALLOCATOR
#define PS_OWN_ALLOCATOR 1
#endif

#if PS_OWN_ALLOCATOR

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static atomic_long countdown; /* > 0: the allocation that brings it to 0 fails */
static atomic_long live;      /* blocks handed out and not freed */

static bool fail_now(void)
{
    long left = atomic_load(&countdown);
    while (left > 0 && !atomic_compare_exchange_weak(&countdown, &left, left - 1))
        ;
    return left == 1;
}

void *malloc(size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __libc_malloc(size);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *realloc(void *old, size_t size)
{
    if (!old)
        return malloc(size);
    if (size == 0) {
        free(old);
        return NULL;
    }
    if (fail_now())
        return NULL;
    return __libc_realloc(old, size);
}

void free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (fail_now())
        return ENOMEM;
    void *p = __libc_memalign(align, size);
    if (!p)
        return ENOMEM;
    atomic_fetch_add(&live, 1);
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

void *memalign(size_t align, size_t size)
{
    return aligned_alloc(align, size);
}

/* --------------------------------------------------------- the life cycle */

static ps_status copy_serialize(const void *obj, ps_buffer *out) { return ps_buffer_append(out, obj, sizeof(int)); }
static ps_status copy_deserialize(const void *bytes, size_t len, void **out)
{
    if (len != sizeof(int))
        return PS_ERR_SERIALIZE;
    int *v = malloc(sizeof *v);
    if (!v)
        return PS_ERR_NO_MEMORY;
    memcpy(v, bytes, sizeof *v);
    *out = v;
    return PS_OK;
}
static const ps_type int_box = {"struct int_box", sizeof(int), _Alignof(int), 0, copy_serialize, copy_deserialize,
                                free};

/* Everything a program does with a store, each step skipped once an earlier
 * one failed, everything released at the end.  Returns whether every step
 * succeeded, and fills *failed_code with the first failure's code. */
static bool life_cycle(const char *url, ps_status *failed_code)
{
    bool ok = true;
#define STEP(cond)                                      \
    do {                                                \
        if (ok && !(cond)) {                            \
            ok = false;                                 \
            *failed_code = ps_last_error_code();        \
        }                                               \
    } while (0)
    double values[64];
    for (int i = 0; i < 64; i++)
        values[i] = i;
    int seven = 7;
    ps_store *s = ps_store_open("oom", url, NULL);
    STEP(s);
    char key[PS_KEY_MAX] = "";
    ps_proxy_t *p = NULL, *q = NULL, *c = NULL, *d = NULL;
    char *desc = NULL;
    void *copy = NULL;
    if (ok) {
        STEP(ps_store_put(s, &ps_type_double, values, 64, key) == PS_OK);
        STEP((copy = ps_store_get(s, key, &ps_type_double, NULL)) != NULL);
        STEP((p = ps_proxy_array(s, &ps_type_double, values, 64)) != NULL);
        STEP(ps_resolve(p) != NULL);
        STEP((desc = ps_proxy_serialize(p)) != NULL);
        STEP((q = ps_proxy_deserialize(desc, &ps_type_double)) != NULL);
        STEP(ps_resolve_async(q) == PS_OK);
        STEP(ps_resolve(q) != NULL);
        STEP((c = ps_proxy(s, &int_box, &seven)) != NULL);
        STEP(ps_resolve(c) != NULL);
        STEP((d = ps_proxy_from_key(s, key, &ps_type_double)) != NULL);
        const void *objs[3] = {values, values + 1, values + 2};
        char keys[3][PS_KEY_MAX];
        STEP(ps_store_put_batch(s, &ps_type_double, 3, objs, NULL, keys) == PS_OK);
        bool batch_stored = ok;
        const char *kp[3] = {keys[0], keys[1], keys[2]};
        void *got[3] = {NULL, NULL, NULL};
        STEP(ps_store_get_batch(s, &ps_type_double, 3, kp, got, NULL) == PS_OK);
        for (int i = 0; i < 3; i++)
            ps_object_free(&ps_type_double, got[i]);
        if (batch_stored)
            ps_store_evict_batch(s, 3, kp);
        if (key[0])
            ps_store_evict(s, key);
    }
    ps_object_free(&ps_type_double, copy);
    free(desc);
    if (p)
        ps_proxy_evict(p);
    ps_proxy_free(q);
    if (c)
        ps_proxy_evict(c);
    ps_proxy_free(d);
    ps_store_close(s);
    /* a store that ps_proxy_deserialize had to open closed with its proxy */
    if (ps_store_lookup("oom"))
        ok = false;
    return ok;
#undef STEP
}

static void every_allocation_fails_in_turn(const char *kind)
{
    char *url = ps_test_url_for(kind);
    cr_assert_not_null(url);
    ps_status code = PS_OK;
    /* first uses (the live-handle sets, the prefetch threads, this
     * thread's random block) allocate once for good */
    cr_assert(life_cycle(url, &code), "%s: %s", ps_status_name(code), ps_last_error_message());
    cr_assert(life_cycle(url, &code));
    long before = atomic_load(&live);
    int failures = 0;
    for (long n = 1;; n++) {
        cr_assert_lt(n, 5000, "the life cycle never completed");
        atomic_store(&countdown, n);
        code = PS_OK;
        bool ok = life_cycle(url, &code);
        bool reached = atomic_exchange(&countdown, 0) == 0; /* the nth allocation happened */
        long after = atomic_load(&live);
        cr_assert_eq(after, before, "%s: failing allocation %ld leaked %ld block(s) (first error %s: %s)", kind,
                     n, after - before, ps_status_name(code), ps_last_error_message());
        if (!reached) {
            cr_assert(ok, "%s: a run with no failed allocation failed: %s", kind, ps_last_error_message());
            break;
        }
        if (!ok) {
            failures++;
            cr_assert(code == PS_ERR_NO_MEMORY || code == PS_ERR_IO || code == PS_ERR_SERIALIZE,
                      "allocation %ld: %s: %s", n, ps_status_name(code), ps_last_error_message());
        }
    }
    cr_assert_gt(failures, 20, "allocations were failed and reported (%d)", failures);
    free(url);
}

Test(oom, every_allocation_failing_in_turn_local, .timeout = 120) { every_allocation_fails_in_turn("local"); }
Test(oom, every_allocation_failing_in_turn_shm, .timeout = 120) { every_allocation_fails_in_turn("shm"); }
Test(oom, every_allocation_failing_in_turn_file, .timeout = 120) { every_allocation_fails_in_turn("file"); }

#else

Test(oom, needs_the_plain_allocator)
{
    cr_skip_test("a sanitizer allocator is in place; the plain build runs the allocation-failure tests");
}

#endif

/*
 * test_executor.c — the executor on its threads backend: results byte for
 * byte by value and by proxy (shm and local), the proxy policy (threshold,
 * 0, callback), errors at submit and through the handle, a worker that
 * cannot resolve an argument, wait / test / waitany / waitall / map,
 * custom types, and a store left empty once every result is released.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proxystore/executor.h>

#include "dir_entries.h"
#include "executor_tasks.h"

static char store_name[64];
static char shm_prefix[80];

static ps_store *open_shm(void)
{
    static int n;
    snprintf(store_name, sizeof store_name, "t-exec-%ld-%d", (long)getpid(), n++);
    snprintf(shm_prefix, sizeof shm_prefix, "ps-%s+", store_name);
    char url[96];
    snprintf(url, sizeof url, "shm://%s", store_name);
    ps_store *s = ps_store_open(store_name, url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    return s;
}

/* Objects the shm store holds now. */
static int shm_objects(void)
{
    return ps_test_count_entries("/dev/shm", shm_prefix);
}

static void cleanup(void)
{
    if (*shm_prefix)
        ps_test_remove_entries("/dev/shm", shm_prefix);
}

static ps_executor *start(ps_store *store, size_t threshold, unsigned threads)
{
    ps_test_register_tasks();
    ps_executor_options o;
    ps_executor_options_init(&o);
    o.store = store;
    o.threshold = threshold;
    o.threads = threads;
    ps_executor *ex = ps_executor_threads(&o);
    cr_assert_not_null(ex, "%s", ps_last_error_message());
    return ex;
}

static uint64_t puts_of(ps_store *s)
{
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(s, &m), PS_OK);
    return m.op[PS_OP_PUT].count;
}

/* Submit echo on n patterned bytes; check the result byte for byte; say
 * whether it came back proxied. */
static bool echo_round_trip(ps_executor *ex, size_t n, unsigned seed)
{
    unsigned char *in = ps_test_pattern(n, seed);
    ps_value arg = {&ps_type_bytes, in, n, NULL};
    ps_task *t = ps_submit(ex, "echo", 1, &arg);
    cr_assert_not_null(t, "%s", ps_last_error_message());
    cr_assert_eq(ps_task_wait(t), PS_OK, "%s", ps_last_error_message());
    ps_result r;
    cr_assert_eq(ps_task_result(t, &r), PS_OK, "%s", ps_last_error_message());
    bool proxied = r.proxy != NULL;
    const unsigned char *out = r.data;
    size_t count = r.count;
    if (proxied) {
        cr_assert_eq(ps_proxy_kind_of(r.proxy), PS_KIND_OWNED);
        out = ps_resolve_ref(r.proxy, "unsigned char", 1);
        cr_assert_not_null(out, "%s", ps_last_error_message());
        count = ps_proxy_count(r.proxy);
    }
    cr_assert_eq(count, n);
    cr_assert(memcmp(out, in, n) == 0, "result differs from the argument (%zu bytes)", n);
    if (proxied)
        cr_assert_eq(ps_owned_release(r.proxy), PS_OK, "%s", ps_last_error_message());
    else
        ps_object_free(&ps_type_bytes, r.data);
    ps_task_free(t);
    free(in);
    return proxied;
}

Test(executor, by_value_below_the_default_threshold, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, PS_EXECUTOR_THRESHOLD_DEFAULT, 2);
    cr_assert_not(echo_round_trip(ex, 1000, 1));
    cr_assert_not(echo_round_trip(ex, PS_EXECUTOR_THRESHOLD_DEFAULT - 1, 2));
    cr_assert_eq(puts_of(s), 0, "nothing below 100 kB goes to the store");
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0);
    ps_store_close(s);
}

Test(executor, by_proxy_at_the_threshold_and_store_empty_after, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, PS_EXECUTOR_THRESHOLD_DEFAULT, 2);
    cr_assert(echo_round_trip(ex, PS_EXECUTOR_THRESHOLD_DEFAULT, 3));
    cr_assert(echo_round_trip(ex, 3u << 20, 4));
    cr_assert_eq(puts_of(s), 4, "argument and result of each task were proxied");
    cr_assert_eq(shm_objects(), 0, "arguments evicted when done, results on release");
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    ps_store_close(s);
}

Test(executor, threshold_zero_proxies_everything_on_local)
{
    ps_store *s = ps_store_open("t-exec-local", "local://", NULL);
    cr_assert_not_null(s);
    ps_executor *ex = start(s, 0, 3);
    cr_assert(echo_round_trip(ex, 1, 5));
    cr_assert(echo_round_trip(ex, 0, 6));
    cr_assert(echo_round_trip(ex, 4096, 7));
    ps_metrics m;
    cr_assert_eq(ps_store_metrics(s, &m), PS_OK);
    cr_assert_eq(m.op[PS_OP_PUT].count, 6);
    cr_assert_eq(m.op[PS_OP_EVICT].count, 6, "every argument and result was evicted");
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    ps_store_close(s);
}

Test(executor, no_store_passes_everything_by_value)
{
    ps_executor *ex = start(NULL, 0, 1);
    cr_assert_not(echo_round_trip(ex, 1u << 20, 8));
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

static int policy_calls;
static bool proxy_odd_sizes(const ps_type *type, const void *obj, size_t count, size_t bytes, void *ctx)
{
    (void)obj, (void)ctx;
    policy_calls++;
    cr_assert_eq(type->size * count, bytes);
    return bytes % 2 == 1;
}

Test(executor, callback_decides_per_object, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_test_register_tasks();
    ps_executor_options o;
    ps_executor_options_init(&o);
    o.store = s;
    o.proxy_if = proxy_odd_sizes;
    ps_executor *ex = ps_executor_threads(&o);
    cr_assert_not_null(ex);
    cr_assert(echo_round_trip(ex, 11, 9));
    cr_assert_not(echo_round_trip(ex, 1u << 20, 10));
    cr_assert_eq(policy_calls, 4, "asked for each argument and each result");
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0);
    ps_store_close(s);
}

Test(executor, two_arguments_one_proxied_one_not, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, 1000, 2);
    unsigned char *a = ps_test_pattern(5000, 11), *b = ps_test_pattern(10, 12);
    ps_value args[] = {{NULL, a, 5000, NULL}, {&ps_type_bytes, b, 10, NULL}};
    ps_task *t = ps_submit(ex, "concat", 2, args);
    cr_assert_not_null(t, "%s", ps_last_error_message());
    free(a); /* copied or proxied at submit: the caller may free at once */
    a = ps_test_pattern(5000, 11);
    ps_result r;
    cr_assert_eq(ps_task_wait(t), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_task_result(t, &r), PS_OK);
    cr_assert_not_null(r.proxy, "5010 bytes are above 1000");
    const unsigned char *out = ps_resolve_ref(r.proxy, "unsigned char", 1);
    cr_assert_not_null(out);
    cr_assert(memcmp(out, a, 5000) == 0 && memcmp(out + 5000, b, 10) == 0);
    cr_assert_eq(ps_task_result(t, &r), PS_ERR_STATE, "a result is taken once");
    ps_proxy_free(r.proxy); /* an owner: evicts */
    ps_task_free(t);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0);
    free(a);
    free(b);
    ps_store_close(s);
}

Test(executor, custom_type_by_value_and_by_proxy, .fini = cleanup)
{
    ps_store *s = open_shm();
    for (size_t threshold = 0; threshold <= 1000; threshold += 1000) {
        ps_executor *ex = start(s, threshold, 2);
        ps_test_text in = {"hello, proxies"};
        ps_value arg = {&ps_test_text_type, &in, 1, NULL};
        ps_task *t = ps_submit(ex, "shout", 1, &arg);
        cr_assert_not_null(t, "%s", ps_last_error_message());
        ps_result r;
        cr_assert_eq(ps_task_wait(t), PS_OK, "%s", ps_last_error_message());
        cr_assert_eq(ps_task_result(t, &r), PS_OK);
        const ps_test_text *out = r.data;
        if (threshold == 0) {
            cr_assert_not_null(r.proxy);
            out = ps_resolve_ref(r.proxy, "struct ps_test_text", sizeof(ps_test_text));
        } else {
            cr_assert_null(r.proxy);
        }
        cr_assert_not_null(out, "%s", ps_last_error_message());
        cr_assert_str_eq(out->chars, "HELLO, PROXIES");
        ps_task_free(t); /* the result is the caller's now, not freed here */
        if (r.proxy)
            cr_assert_eq(ps_owned_release(r.proxy), PS_OK);
        else
            ps_object_free(&ps_test_text_type, r.data);
        cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    }
    cr_assert_eq(shm_objects(), 0);
    ps_store_close(s);
}

Test(executor, bad_submissions_fail_at_submit)
{
    ps_executor *ex = start(NULL, 0, 1);
    int32_t v = 1;
    ps_value one = {&ps_type_int32, &v, 1, NULL};
    cr_assert_null(ps_submit(ex, "no-such-task", 1, &one));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert(strstr(ps_last_error_message(), "no-such-task"), "%s", ps_last_error_message());
    ps_value two[] = {one, one};
    cr_assert_null(ps_submit(ex, "sleep", 2, two));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "takes 1 argument, 2 given"), "%s", ps_last_error_message());
    ps_value wrong = {&ps_type_double, &v, 1, NULL};
    cr_assert_null(ps_submit(ex, "sleep", 1, &wrong));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH);
    ps_value none = {NULL, NULL, 1, NULL};
    cr_assert_null(ps_submit(ex, "sleep", 1, &none));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert_null(ps_submit(NULL, "sleep", 1, &one));
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

static ps_status other_echo(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)args, (void)nargs, (void)out, (void)user;
    return PS_OK;
}

Test(executor, registration_rules)
{
    ps_test_register_tasks();
    ps_test_register_tasks(); /* the same registrations again: fine */
    const ps_type *t[] = {&ps_type_bytes};
    cr_assert_eq(ps_task_register("echo", other_echo, 1, t, &ps_type_bytes, NULL), PS_ERR_EXISTS);
    cr_assert_eq(ps_task_register(NULL, other_echo, 1, t, &ps_type_bytes, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_task_register("x", NULL, 1, t, &ps_type_bytes, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_task_register("x", other_echo, 1, NULL, &ps_type_bytes, NULL), PS_ERR_INVALID_ARGUMENT);
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[99] = '\0';
    cr_assert_eq(ps_task_register(longname, other_echo, 1, t, &ps_type_bytes, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_task_register("x", other_echo, 1, t, &ps_type_bytes, NULL), PS_OK);
}

Test(executor, task_error_reaches_the_handle)
{
    ps_executor *ex = start(NULL, 0, 2);
    int32_t v = 42;
    ps_value arg = {&ps_type_int32, &v, 1, NULL};
    ps_task *t = ps_submit(ex, "fail", 1, &arg);
    cr_assert_not_null(t);
    cr_assert_eq(ps_task_wait(t), PS_ERR_SERVER);
    cr_assert(strstr(ps_last_error_message(), "task 'fail'") &&
              strstr(ps_last_error_message(), "asked to fail with 42"), "%s", ps_last_error_message());
    ps_result r;
    cr_assert_eq(ps_task_result(t, &r), PS_ERR_SERVER);
    bool done = false;
    cr_assert_eq(ps_task_test(t, &done), PS_ERR_SERVER);
    cr_assert(done);
    ps_task_free(t);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

static ps_status no_result(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)args, (void)nargs, (void)out, (void)user;
    return PS_OK;
}

static ps_status plain_failure(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)args, (void)nargs, (void)out, (void)user;
    return PS_ERR_IO;
}

Test(executor, tasks_that_break_the_rules_fail_cleanly)
{
    const ps_type *t[] = {&ps_type_int32};
    cr_assert_eq(ps_task_register("no-result", no_result, 1, t, &ps_test_text_type, NULL), PS_OK);
    cr_assert_eq(ps_task_register("plain-failure", plain_failure, 1, t, &ps_type_int32, NULL), PS_OK);
    ps_executor *ex = start(NULL, 0, 1);
    int32_t v = 1;
    ps_value arg = {&ps_type_int32, &v, 1, NULL};
    ps_task *a = ps_submit(ex, "no-result", 1, &arg);
    ps_task *b = ps_submit(ex, "plain-failure", 1, &arg);
    cr_assert_eq(ps_task_wait(a), PS_ERR_STATE);
    cr_assert(strstr(ps_last_error_message(), "no result"), "%s", ps_last_error_message());
    cr_assert_eq(ps_task_wait(b), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), "PS_ERR_IO"), "%s", ps_last_error_message());
    ps_task_free(a);
    ps_task_free(b);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

Test(executor, unresolvable_argument_fails_that_task_only, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, PS_EXECUTOR_THRESHOLD_DEFAULT, 1);
    unsigned char *in = ps_test_pattern(2000, 13);
    ps_proxy_t *gone = ps_proxy_array(s, &ps_type_bytes, in, 2000);
    cr_assert_not_null(gone);
    cr_assert_eq(ps_store_evict(s, ps_proxy_key(gone)), PS_OK);
    ps_value arg = {NULL, NULL, 0, gone};
    ps_task *t = ps_submit(ex, "echo", 1, &arg);
    cr_assert_not_null(t, "%s", ps_last_error_message());
    cr_assert_eq(ps_task_wait(t), PS_ERR_NOT_FOUND, "%s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "argument 0"), "%s", ps_last_error_message());
    ps_task_free(t);
    ps_proxy_free(gone);
    /* The worker goes on: the next task runs. */
    cr_assert_not(echo_round_trip(ex, 2000, 14));
    /* A plain proxy that resolves is passed through; the caller keeps it. */
    ps_proxy_t *kept = ps_proxy_array(s, &ps_type_bytes, in, 2000);
    arg.proxy = kept;
    t = ps_submit(ex, "reverse", 1, &arg);
    cr_assert_eq(ps_task_wait(t), PS_OK, "%s", ps_last_error_message());
    ps_result r;
    cr_assert_eq(ps_task_result(t, &r), PS_OK);
    cr_assert_null(r.proxy);
    cr_assert_eq(r.count, 2000);
    for (size_t i = 0; i < 2000; i++)
        cr_assert_eq(((unsigned char *)r.data)[i], in[1999 - i]);
    ps_object_free(&ps_type_bytes, r.data);
    ps_task_free(t);
    cr_assert_eq(shm_objects(), 1, "the caller's object stays");
    cr_assert_eq(ps_proxy_evict(kept), PS_OK);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0);
    free(in);
    ps_store_close(s);
}

Test(executor, owned_proxies_are_lent_borrows_refused)
{
    ps_store *s = ps_store_open("t-exec-owned", "local://", NULL);
    ps_executor *ex = start(s, PS_EXECUTOR_THRESHOLD_DEFAULT, 1);
    unsigned char b[4] = {1, 2, 3, 4};
    ps_proxy_t *owner = ps_owned_array(s, &ps_type_bytes, b, 4);
    ps_value arg = {NULL, NULL, 0, owner};
    ps_task *t = ps_submit(ex, "reverse", 1, &arg);
    cr_assert_not_null(t, "%s", ps_last_error_message());
    cr_assert_eq(ps_task_wait(t), PS_OK, "%s", ps_last_error_message());
    ps_result r;
    cr_assert_eq(ps_task_result(t, &r), PS_OK);
    cr_assert_eq(r.count, 4);
    cr_assert_eq(((unsigned char *)r.data)[0], 4);
    free(r.data);
    ps_task_free(t);
    cr_assert_eq(ps_proxy_kind_of(owner), PS_KIND_OWNED, "the owner stays the caller's");

    ps_proxy_t *borrow = ps_borrow(owner);
    arg.proxy = borrow;
    cr_assert_null(ps_submit(ex, "echo", 1, &arg));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_borrow_release(borrow), PS_OK);

    int32_t v = 3;
    ps_proxy_t *ints = ps_proxy_array(s, &ps_type_int32, &v, 1);
    arg.proxy = ints;
    cr_assert_null(ps_submit(ex, "echo", 1, &arg));
    cr_assert_eq(ps_last_error_code(), PS_ERR_TYPE_MISMATCH, "%s", ps_last_error_message());
    cr_assert_eq(ps_proxy_evict(ints), PS_OK);

    cr_assert_eq(ps_owned_release(owner), PS_OK);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    ps_store_close(s);
}

Test(executor, map_waitall_waitany_test, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, 4096, 4);
    enum { N = 24 };
    double *rows[N];
    ps_value args[N];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i + 1) * 100; /* 800 B .. 19 kB: both paths */
        rows[i] = malloc(n * sizeof(double));
        for (size_t k = 0; k < n; k++)
            rows[i][k] = (double)i + (double)k * 0.25;
        args[i] = (ps_value){&ps_type_double, rows[i], n, NULL};
    }
    ps_task *tasks[N];
    cr_assert_eq(ps_map(ex, "sum", N, 1, args, tasks), PS_OK, "%s", ps_last_error_message());
    for (int i = 0; i < N; i++)
        free(rows[i]);
    cr_assert_eq(ps_task_waitall(N, tasks), PS_OK, "%s", ps_last_error_message());
    for (int i = 0; i < N; i++) {
        bool done = false;
        cr_assert_eq(ps_task_test(tasks[i], &done), PS_OK);
        cr_assert(done);
        ps_result r;
        cr_assert_eq(ps_task_result(tasks[i], &r), PS_OK);
        size_t n = (size_t)(i + 1) * 100;
        double want = (double)i * (double)n + 0.25 * (double)(n * (n - 1) / 2);
        cr_assert_float_eq(*(double *)r.data, want, 1e-9);
        ps_object_free(&ps_type_double, r.data);
    }
    /* waitany finds them one by one as the caller clears entries. */
    for (int left = N; left > 0; left--) {
        size_t i = 99;
        cr_assert_eq(ps_task_waitany(N, tasks, &i), PS_OK);
        cr_assert_lt(i, (size_t)N);
        ps_task_free(tasks[i]);
        tasks[i] = NULL;
    }
    size_t i;
    cr_assert_eq(ps_task_waitany(N, tasks, &i), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0);
    ps_store_close(s);
}

Test(executor, waitany_returns_the_first_to_finish)
{
    ps_executor *ex = start(NULL, 0, 2);
    int32_t slow = 400, fast = 1;
    ps_value a = {NULL, &slow, 1, NULL}, b = {NULL, &fast, 1, NULL};
    ps_task *tasks[2] = {ps_submit(ex, "sleep", 1, &a), ps_submit(ex, "sleep", 1, &b)};
    size_t i = 9;
    cr_assert_eq(ps_task_waitany(2, tasks, &i), PS_OK);
    cr_assert_eq(i, 1);
    bool done = true;
    cr_assert_eq(ps_task_test(tasks[0], &done), PS_OK);
    cr_assert_not(done, "the 400 ms task is still running");
    ps_result r;
    cr_assert_eq(ps_task_result(tasks[0], &r), PS_ERR_STATE);
    cr_assert_eq(ps_task_waitall(2, tasks), PS_OK);
    ps_task_free(tasks[0]);
    ps_task_free(tasks[1]);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

Test(executor, map_failure_names_the_row_and_returns_nothing)
{
    ps_executor *ex = start(NULL, 0, 1);
    int32_t v = 5;
    ps_value args[3] = {{NULL, &v, 1, NULL}, {NULL, &v, 1, NULL}, {&ps_type_double, &v, 1, NULL}};
    ps_task *tasks[3] = {0};
    cr_assert_eq(ps_map(ex, "sleep", 3, 1, args, tasks), PS_ERR_TYPE_MISMATCH);
    cr_assert(strstr(ps_last_error_message(), "row 2"), "%s", ps_last_error_message());
    for (int i = 0; i < 3; i++)
        cr_assert_null(tasks[i]);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
}

Test(executor, freeing_running_tasks_and_shutdown_waits, .fini = cleanup)
{
    ps_store *s = open_shm();
    ps_executor *ex = start(s, 0, 2);
    int32_t ms = 50;
    ps_value arg = {NULL, &ms, 1, NULL};
    for (int i = 0; i < 6; i++) {
        ps_task *t = ps_submit(ex, "sleep", 1, &arg);
        cr_assert_not_null(t);
        ps_task_free(t); /* still running: released when it ends */
    }
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(shm_objects(), 0, "discarded results were released too");
    ps_store_close(s);
}

Test(executor, submit_after_shutdown_started_and_handles_outlive_it)
{
    ps_executor *ex = start(NULL, 0, 1);
    int32_t ms = 1;
    ps_value arg = {NULL, &ms, 1, NULL};
    ps_task *t = ps_submit(ex, "sleep", 1, &arg);
    cr_assert_eq(ps_executor_shutdown(ex), PS_OK);
    cr_assert_eq(ps_task_wait(t), PS_OK);
    ps_result r;
    cr_assert_eq(ps_task_result(t, &r), PS_OK);
    cr_assert_eq(*(int32_t *)r.data, 1);
    free(r.data);
    ps_task_free(t);
    cr_assert_eq(ps_executor_shutdown(NULL), PS_ERR_INVALID_ARGUMENT);
}

/*
 * proxystore/executor.h — run registered C functions as tasks, passing large
 * arguments and results by proxy automatically (docs/executor.md).
 *
 *     static ps_status scale(const ps_value args[], size_t nargs, ps_result *out, void *user);
 *     const ps_type *in[] = {&ps_type_double};
 *     ps_task_register("scale", scale, 1, in, &ps_type_double, NULL);
 *
 *     ps_executor_options opts;
 *     ps_executor_options_init(&opts);          threshold 100 kB
 *     opts.store = ps_store_open("tasks", "shm://tasks", NULL);
 *     ps_executor *ex = ps_executor_threads(&opts);
 *     ps_value arg = {&ps_type_double, values, n, NULL};
 *     ps_task *t = ps_submit(ex, "scale", 1, &arg);
 *     ps_result r;
 *     if (ps_task_wait(t) == PS_OK && ps_task_result(t, &r) == PS_OK) ...
 *     ps_task_free(t);
 *     ps_executor_shutdown(ex);
 *
 * Task handles follow MPI's requests: wait / test / waitany / waitall, an
 * explicit free, errors returned (and recorded as the thread's error).
 * The MPI backend is in proxystore/executor_mpi.h.
 */
#ifndef PROXYSTORE_EXECUTOR_H
#define PROXYSTORE_EXECUTOR_H

#include <proxystore/proxystore.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* An argument given to ps_submit or seen by a task: count elements of type
 * at data (count 1 for a custom type).  type NULL means the type the task
 * was registered with.  A submitter may pass a proxy instead (data NULL),
 * which the task resolves where it runs; the handle stays the submitter's:
 * a plain proxy, or an owned one (PROXY_OWNED), which is lent: do not
 * release it before the task is done (the task would fail to resolve it).
 * Borrows are refused (serializing one moves it). */
typedef struct ps_value {
    const ps_type *type;
    const void *data;
    size_t count;
    ps_proxy_t *proxy;
} ps_value;

/* A task's result.  The task sets data (malloc'd plain data, or an object
 * its type's free_obj releases) and count; the executor owns it from then
 * on.  The caller of ps_task_result gets exactly one of: data (by value,
 * the caller's to free with ps_object_free) or proxy (PROXY_OWNED: releasing
 * it evicts the result from the store). */
typedef struct ps_result {
    void *data;
    size_t count;
    ps_proxy_t *proxy;
} ps_result;

/* A task: PS_OK with *out set, or an error (ps_task_error records its
 * message).  args[i].data is read-only: a proxied argument may be mapped
 * shared memory. */
typedef ps_status (*ps_task_fn)(const ps_value args[], size_t nargs, ps_result *out, void *user);

/* Register fn under name (at most 63 bytes) with nargs arguments of the
 * given types and a result of result_type.  Every process of an MPI job
 * registers the same tasks.  Registering a name again with another function
 * or other types fails with PS_ERR_EXISTS; the same registration is a no-op. */
ps_status ps_task_register(const char *name, ps_task_fn fn, size_t nargs,
                           const ps_type *const arg_types[], const ps_type *result_type,
                           void *user);
/* For task functions: record code and a printf-style message as the task's
 * error and return code. */
ps_status ps_task_error(ps_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------- executors */

typedef struct ps_executor ps_executor;
typedef struct ps_task ps_task;

/* Whether to proxy one argument or result of bytes serialized bytes. */
typedef bool (*ps_proxy_policy)(const ps_type *type, const void *obj, size_t count,
                                size_t bytes, void *ctx);

#define PS_EXECUTOR_THRESHOLD_DEFAULT ((size_t)100000) /* 100 kB */

typedef struct ps_executor_options {
    /* Where proxied arguments and results are put; NULL passes everything by
     * value.  The store must stay open until the executor is shut down. */
    ps_store *store;
    /* Objects of at least this many bytes are proxied (0: all of them). */
    size_t threshold;
    /* If set, decides for every object instead of threshold. */
    ps_proxy_policy proxy_if;
    void *proxy_if_ctx;
    /* Threads backend: worker threads (0: 2). */
    unsigned threads;
} ps_executor_options;

/* The defaults: no store, threshold 100 kB, no callback, 2 threads. */
void ps_executor_options_init(ps_executor_options *opts);

/* An in-process pool of opts->threads worker threads. */
ps_executor *ps_executor_threads(const ps_executor_options *opts);

/* Run task with nargs arguments.  The arguments are copied or proxied before
 * it returns: the caller may free them at once.  An unknown task, a wrong
 * argument count, a type other than the registered one: NULL and an error. */
ps_task *ps_submit(ps_executor *ex, const char *task, size_t nargs, const ps_value args[]);
/* ntasks submissions of task: args holds ntasks rows of nargs values.  On
 * failure no handle is returned (those already submitted run and are
 * freed by themselves) and the error names the failing row. */
ps_status ps_map(ps_executor *ex, const char *task, size_t ntasks, size_t nargs,
                 const ps_value args[], ps_task *tasks_out[]);
/* Wait for every submitted task, stop the workers and free the executor.
 * Task handles stay valid (free them with ps_task_free). */
ps_status ps_executor_shutdown(ps_executor *ex);

/* ------------------------------------------------------------ task handles */

/* Wait until t is done: PS_OK, or the task's error (recorded as this
 * thread's error). */
ps_status ps_task_wait(ps_task *t);
/* *done tells whether t is done; when it is, the return is ps_task_wait's. */
ps_status ps_task_test(ps_task *t, bool *done);
/* Wait until one of the n handles is done (NULL entries are skipped; set an
 * entry to NULL after freeing it); *index names it and the return is its
 * status.  No non-NULL entry: PS_ERR_INVALID_ARGUMENT. */
ps_status ps_task_waitany(size_t n, ps_task *const tasks[], size_t *index);
/* Wait for all of them (NULLs skipped): PS_OK, or the first failure in
 * index order. */
ps_status ps_task_waitall(size_t n, ps_task *const tasks[]);
/* Move a done task's result out (once; then PS_ERR_STATE).  A failed task
 * returns its error; a task not done yet, PS_ERR_STATE. */
ps_status ps_task_result(ps_task *t, ps_result *out);
/* Release the handle and whatever result was not taken (an owned result
 * proxy is released, evicting it).  Freeing a task still running is
 * allowed: it is released when it ends. */
void ps_task_free(ps_task *t);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* PROXYSTORE_EXECUTOR_H */

/*
 * executor.c — what every executor backend shares: the task registry, the
 * proxy policy, packing a submission into a job, running a job on a worker
 * and finishing the task handle (docs/executor.md).
 *
 * Ownership of proxied arguments: the client puts each large argument into
 * the store as an owned proxy (ps_owned) and keeps the owner with the job;
 * the worker receives a plain descriptor of it, resolves, runs, and drops
 * its handle.  When the result comes back the client releases the owners,
 * which evicts the arguments.  A proxied result is put by the worker as a
 * plain object and turned into an owner (ps_into_owned) on the client, so
 * it reaches the caller as PROXY_OWNED and is evicted when released.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "executor_core.h"
#include "object.h"
#include "proxy.h"

/* ------------------------------------------------------------ registry */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_task_def **registry; /* registry_lock */
static size_t registry_len, registry_cap;

static const ps_task_def *find_def(const char *name)
{
    for (size_t i = 0; i < registry_len; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

static bool same_def(const ps_task_def *d, ps_task_fn fn, size_t nargs,
                     const ps_type *const arg_types[], const ps_type *result_type, void *user)
{
    if (d->fn != fn || d->nargs != nargs || d->result_type != result_type || d->user != user)
        return false;
    for (size_t i = 0; i < nargs; i++)
        if (d->arg_types[i] != arg_types[i])
            return false;
    return true;
}

ps_status ps_task_register(const char *name, ps_task_fn fn, size_t nargs,
                           const ps_type *const arg_types[], const ps_type *result_type,
                           void *user)
{
    if (!name || !fn || !result_type || (nargs && !arg_types))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_register: NULL %s",
                            !name ? "name" : !fn ? "function" : !result_type ? "result type"
                                                                             : "argument types");
    if (!*name || strlen(name) >= PS_TASK_NAME_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT,
                            "ps_task_register: a task name has 1 to %d bytes", PS_TASK_NAME_MAX - 1);
    if (ps_type_validate(result_type) != PS_OK)
        return ps_error_wrap("ps_task_register '%s': result type", name);
    for (size_t i = 0; i < nargs; i++)
        if (!arg_types[i] || ps_type_validate(arg_types[i]) != PS_OK)
            return arg_types[i] ? ps_error_wrap("ps_task_register '%s': argument %zu", name, i)
                                : ps_error_set(PS_ERR_INVALID_ARGUMENT,
                                               "ps_task_register '%s': argument %zu has no type",
                                               name, i);
    ps_status st = PS_OK;
    pthread_mutex_lock(&registry_lock);
    const ps_task_def *old = find_def(name);
    if (old) {
        if (!same_def(old, fn, nargs, arg_types, result_type, user))
            st = ps_error_set(PS_ERR_EXISTS, "ps_task_register: task '%s' is registered already "
                              "with another function or other types", name);
        goto out;
    }
    if (registry_len == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 16;
        ps_task_def **grown = realloc(registry, cap * sizeof *grown);
        if (!grown) {
            st = ps_error_set(PS_ERR_NO_MEMORY, "ps_task_register: out of memory");
            goto out;
        }
        registry = grown;
        registry_cap = cap;
    }
    ps_task_def *d = ps_calloc(1, sizeof *d);
    const ps_type **types = ps_calloc(nargs ? nargs : 1, sizeof *types);
    if (!d || !types) {
        free(d);
        free(types);
        st = PS_ERR_NO_MEMORY;
        goto out;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    d->fn = fn;
    d->nargs = nargs;
    for (size_t i = 0; i < nargs; i++)
        types[i] = arg_types[i];
    d->arg_types = types;
    d->result_type = result_type;
    d->user = user;
    registry[registry_len++] = d;
out:
    pthread_mutex_unlock(&registry_lock);
    return st;
}

const ps_task_def *ps_task_lookup(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    const ps_task_def *d = name ? find_def(name) : NULL;
    pthread_mutex_unlock(&registry_lock);
    if (!d)
        ps_error_set(PS_ERR_NOT_FOUND, "no task named '%s' is registered", name ? name : "(null)");
    return d;
}

/* Registered tasks live until exit; this frees them so leak checkers see
 * a clean exit. */
__attribute__((destructor)) static void registry_free(void)
{
    for (size_t i = 0; i < registry_len; i++) {
        free(registry[i]->arg_types);
        free(registry[i]);
    }
    free(registry);
    registry = NULL;
    registry_len = registry_cap = 0;
}

ps_status ps_task_error(ps_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (code == PS_OK)
        code = PS_ERR_STATE;
    return ps_error_set(code, "%s", msg);
}

/* -------------------------------------------------------------- policy */

void ps_executor_options_init(ps_executor_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->threshold = PS_EXECUTOR_THRESHOLD_DEFAULT;
    opts->threads = 2;
}

bool ps_exec_should_proxy(const ps_executor_options *opts, const ps_type *type,
                          const void *obj, size_t count, size_t bytes)
{
    if (!opts->store)
        return false;
    if (opts->proxy_if)
        return opts->proxy_if(type, obj, count, bytes, opts->proxy_if_ctx);
    return bytes >= opts->threshold;
}

ps_status ps_exec_serialize(const ps_type *type, const void *obj, size_t count, void **out,
                            size_t *len)
{
    if (type->flags & PS_TYPE_POD) {
        size_t n = count * type->size;
        void *copy = ps_malloc(n ? n : 1);
        if (!copy)
            return PS_ERR_NO_MEMORY;
        if (n)
            memcpy(copy, obj, n);
        *out = copy;
        *len = n;
        return PS_OK;
    }
    ps_buffer buf = {0};
    unsigned long mark = ps_error_mark();
    ps_status st = type->serialize(obj, &buf);
    if (st != PS_OK) {
        free(buf.data);
        return ps_error_since(mark) ? ps_error_wrap("serialize %s", type->name)
                                    : ps_error_set(PS_ERR_SERIALIZE, "serialize %s failed", type->name);
    }
    *out = buf.data;
    *len = buf.len;
    return PS_OK;
}

void ps_wire_value_clear(ps_wire_value *v, const ps_type *type)
{
    if (v->kind == PS_WIRE_OBJECT)
        ps_object_free(type, v->data);
    else
        free(v->data);
    memset(v, 0, sizeof *v);
}

/* A plain descriptor of an owner's target: the worker resolves the object
 * without taking the ownership (which stays with the client). */
static char *plain_descriptor(const ps_proxy_t *owner)
{
    ps_proxy_facts facts = {owner->type_name, owner->elem_size, owner->count,
                            owner->size, owner->hash, owner->pod};
    ps_proxy_t *plain = ps_proxy_make(owner->store, owner->type, owner->key, &facts);
    if (!plain)
        return NULL;
    char *desc = ps_proxy_serialize(plain);
    ps_proxy_free(plain);
    return desc;
}

/* ------------------------------------------------------------ executor */

struct ps_executor {
    const ps_exec_backend *backend;
    void *impl;
    ps_executor_options opts;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    size_t running; /* submitted, not yet complete (lock) */
    uint64_t next_id;
    bool shut;
};

ps_executor *ps_executor_new(const ps_exec_backend *backend, void *impl,
                             const ps_executor_options *opts)
{
    ps_executor *ex = ps_calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->backend = backend;
    ex->impl = impl;
    ex->opts = *opts;
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->idle, NULL);
    return ex;
}

const ps_executor_options *ps_executor_opts(const ps_executor *ex)
{
    return &ex->opts;
}

void ps_exec_job_free(ps_exec_job *job)
{
    if (!job)
        return;
    for (size_t i = 0; job->args && i < job->def->nargs; i++)
        ps_wire_value_clear(&job->args[i], job->def->arg_types[i]);
    for (size_t i = 0; job->owned_args && i < job->def->nargs; i++)
        if (job->owned_args[i] && ps_owned_release(job->owned_args[i]) != PS_OK)
            ps_proxy_free(job->owned_args[i]);
    free(job->args);
    free(job->owned_args);
    free(job->message);
    free(job);
}

/* Put args[i] on the wire as bytes or as a descriptor (proxying it first if
 * the policy says so; the owner goes to owned_out). */
static ps_status pack_arg(const ps_executor_options *opts, const ps_type *type,
                          const ps_value *arg, ps_wire_value *wire, ps_proxy_t **owned_out)
{
    if (arg->proxy) {
        /* A plain proxy is passed as its descriptor; an owner is lent (a
         * plain descriptor of its target, the owner stays the caller's and
         * must outlive the task).  Borrows would move: refused. */
        ps_proxy_kind kind = ps_proxy_kind_of(arg->proxy);
        if (ps_proxy_check(arg->proxy, "ps_submit") != PS_OK)
            return ps_last_error_code();
        if (kind != PS_KIND_PLAIN && kind != PS_KIND_OWNED)
            return ps_error_set(PS_ERR_INVALID_ARGUMENT, "a %s proxy cannot be passed (pass a "
                                "plain or an owned proxy, or the data)", ps_proxy_kind_name(kind));
        char norm[PS_TYPE_NAME_MAX + 1];
        if (ps_type_name_normalize(type->name, norm) != PS_OK)
            return ps_last_error_code();
        if (strcmp(arg->proxy->type_name, norm) != 0 || arg->proxy->elem_size != type->size)
            return ps_error_set(PS_ERR_TYPE_MISMATCH, "the proxy's target is a %s, the task "
                                "takes %s", arg->proxy->type_name, type->name);
        char *desc = kind == PS_KIND_OWNED ? plain_descriptor(arg->proxy) : ps_proxy_serialize(arg->proxy);
        if (!desc)
            return ps_last_error_code();
        *wire = (ps_wire_value){PS_WIRE_DESCRIPTOR, ps_proxy_count(arg->proxy), desc, strlen(desc) + 1};
        return PS_OK;
    }
    size_t count = type->flags & PS_TYPE_POD ? arg->count : 1;
    if (!arg->data && count)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no data and no proxy");
    void *bytes = NULL;
    size_t len = 0;
    ps_status st = ps_exec_serialize(type, arg->data, count, &bytes, &len);
    if (st != PS_OK)
        return st;
    if (!ps_exec_should_proxy(opts, type, arg->data, count, len)) {
        *wire = (ps_wire_value){PS_WIRE_BYTES, count, bytes, len};
        return PS_OK;
    }
    free(bytes);
    ps_proxy_t *owner = type->flags & PS_TYPE_POD ? ps_owned_array(opts->store, type, arg->data, count)
                                                  : ps_owned(opts->store, type, arg->data);
    if (!owner)
        return ps_last_error_code();
    char *desc = plain_descriptor(owner);
    if (!desc) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_owned_release(owner);
        return ps_error_restore(&saved);
    }
    *owned_out = owner;
    *wire = (ps_wire_value){PS_WIRE_DESCRIPTOR, count, desc, strlen(desc) + 1};
    return PS_OK;
}

static ps_exec_job *make_job(ps_executor *ex, const char *task, size_t nargs, const ps_value args[])
{
    const ps_task_def *def = ps_task_lookup(task);
    if (!def)
        return NULL;
    if (nargs != def->nargs) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "task '%s' takes %zu argument%s, %zu given",
                     def->name, def->nargs, def->nargs == 1 ? "" : "s", nargs);
        return NULL;
    }
    if (nargs && !args) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "task '%s': NULL arguments", def->name);
        return NULL;
    }
    for (size_t i = 0; i < nargs; i++) {
        const ps_type *want = def->arg_types[i];
        if (args[i].type && args[i].type != want && strcmp(args[i].type->name, want->name) != 0) {
            ps_error_set(PS_ERR_TYPE_MISMATCH, "task '%s' argument %zu: %s given, %s expected",
                         def->name, i, args[i].type->name, want->name);
            return NULL;
        }
    }
    ps_exec_job *job = ps_calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->def = def;
    job->args = ps_calloc(nargs ? nargs : 1, sizeof *job->args);
    job->owned_args = ps_calloc(nargs ? nargs : 1, sizeof *job->owned_args);
    if (!job->args || !job->owned_args)
        goto fail;
    for (size_t i = 0; i < nargs; i++)
        if (pack_arg(&ex->opts, def->arg_types[i], &args[i], &job->args[i], &job->owned_args[i]) != PS_OK) {
            ps_error_wrap("task '%s' argument %zu", def->name, i);
            goto fail;
        }
    job->task = ps_task_new(def);
    if (!job->task)
        goto fail;
    return job;
fail:;
    ps_saved_error saved;
    ps_error_save(&saved);
    ps_exec_job_free(job);
    ps_error_restore(&saved);
    return NULL;
}

/* A submission in progress counts as running, so shutdown waits for it. */
static void leave(ps_executor *ex)
{
    pthread_mutex_lock(&ex->lock);
    if (--ex->running == 0)
        pthread_cond_broadcast(&ex->idle);
    pthread_mutex_unlock(&ex->lock);
}

ps_task *ps_submit(ps_executor *ex, const char *task, size_t nargs, const ps_value args[])
{
    if (!ex) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_submit: NULL executor");
        return NULL;
    }
    pthread_mutex_lock(&ex->lock);
    bool shut = ex->shut;
    uint64_t id = ex->next_id++;
    if (!shut)
        ex->running++;
    pthread_mutex_unlock(&ex->lock);
    if (shut) {
        ps_error_set(PS_ERR_STATE, "ps_submit: the executor is shutting down");
        return NULL;
    }
    ps_exec_job *job = make_job(ex, task, nargs, args);
    if (!job) {
        ps_saved_error saved;
        ps_error_save(&saved);
        leave(ex);
        ps_error_restore(&saved);
        return NULL;
    }
    job->id = id;
    ps_task *t = job->task;
    if (ex->backend->submit(ex->impl, job) != PS_OK) {
        ps_saved_error saved;
        ps_error_save(&saved);
        job->task = NULL;
        ps_exec_job_free(job);
        ps_task_finish(t, saved.code, saved.message, NULL); /* never ran */
        ps_task_free(t);
        leave(ex);
        ps_error_restore(&saved);
        return NULL;
    }
    return t;
}

ps_status ps_map(ps_executor *ex, const char *task, size_t ntasks, size_t nargs,
                 const ps_value args[], ps_task *tasks_out[])
{
    if (!tasks_out || (ntasks && nargs && !args))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_map: NULL %s", tasks_out ? "args" : "tasks_out");
    for (size_t i = 0; i < ntasks; i++) {
        tasks_out[i] = ps_submit(ex, task, nargs, args + i * nargs);
        if (!tasks_out[i]) {
            ps_error_wrap("ps_map row %zu", i);
            for (size_t j = 0; j < i; j++) {
                ps_task_free(tasks_out[j]);
                tasks_out[j] = NULL;
            }
            return ps_last_error_code();
        }
    }
    return PS_OK;
}

/* Turn a wire result into what the caller receives. */
static ps_status unpack_result(const ps_task_def *def, ps_wire_value *w, ps_result *r)
{
    const ps_type *type = def->result_type;
    memset(r, 0, sizeof *r);
    r->count = w->count;
    switch (w->kind) {
    case PS_WIRE_OBJECT:
        r->data = w->data;
        w->data = NULL;
        return PS_OK;
    case PS_WIRE_BYTES:
        if (type->flags & PS_TYPE_POD) {
            r->data = w->data;
            w->data = NULL;
            if (!r->data)
                r->data = ps_malloc(1);
            return r->data ? PS_OK : PS_ERR_NO_MEMORY;
        } else {
            unsigned long mark = ps_error_mark();
            if (type->deserialize(w->data, w->len, &r->data) != PS_OK)
                return ps_error_since(mark) ? ps_error_wrap("deserialize the result")
                                            : ps_error_set(PS_ERR_SERIALIZE, "deserialize %s failed", type->name);
            return PS_OK;
        }
    case PS_WIRE_DESCRIPTOR: {
        ps_proxy_t *plain = ps_proxy_deserialize(w->data, type);
        if (!plain)
            return ps_error_wrap("the result's descriptor");
        r->proxy = ps_into_owned(plain);
        if (!r->proxy) {
            ps_saved_error saved;
            ps_error_save(&saved);
            ps_proxy_evict(plain);
            return ps_error_restore(&saved);
        }
        return PS_OK;
    }
    default:
        return ps_error_set(PS_ERR_BAD_DATA, "a result of unknown kind %d", (int)w->kind);
    }
}

void ps_exec_complete(ps_executor *ex, ps_exec_job *job, ps_exec_outcome *outcome)
{
    ps_task *t = job->task;
    ps_result r = {0};
    ps_status st = outcome->status;
    const char *msg = NULL;
    char *owned_msg = NULL;
    if (st == PS_OK) {
        st = unpack_result(job->def, &outcome->result, &r);
        if (st != PS_OK)
            msg = owned_msg = strdup(ps_last_error_message());
    } else {
        msg = outcome->result.kind == PS_WIRE_ERROR && outcome->result.data ? outcome->result.data : NULL;
    }
    /* Evict the arguments before the handle says done, so a caller who
     * waited finds the store as the task left it. */
    const ps_type *result_type = job->def->result_type;
    ps_exec_job_free(job);
    ps_task_finish(t, st, msg, &r);
    free(owned_msg);
    ps_wire_value_clear(&outcome->result, result_type); /* msg may point into it */
    leave(ex);
}

ps_status ps_executor_shutdown(ps_executor *ex)
{
    if (!ex)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_executor_shutdown: NULL executor");
    pthread_mutex_lock(&ex->lock);
    ex->shut = true;
    while (ex->running)
        pthread_cond_wait(&ex->idle, &ex->lock);
    pthread_mutex_unlock(&ex->lock);
    ps_status st = ex->backend->shutdown(ex->impl);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->idle);
    free(ex);
    return st;
}

/* -------------------------------------------------------------- worker */

static void fail(ps_exec_outcome *out, ps_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(ps_exec_outcome *out, ps_status st, const char *fmt, ...)
{
    char prefix[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    const char *why = ps_last_error_code() != PS_OK ? ps_last_error_message() : ps_status_name(st);
    size_t n = strlen(prefix) + strlen(why) + 3;
    char *msg = malloc(n);
    if (msg)
        snprintf(msg, n, "%s%s%s", prefix, *prefix ? ": " : "", why);
    out->status = st == PS_OK ? PS_ERR_STATE : st;
    out->result = (ps_wire_value){PS_WIRE_ERROR, 0, msg, msg ? n : 0};
}

/* A worker's view of one argument: data to hand to the task and what to
 * free afterwards. */
typedef struct arg_view {
    ps_proxy_t *proxy;
    void *object; /* a deserialized custom object */
} arg_view;

static ps_status open_arg(const ps_type *type, ps_wire_value *w, ps_value *v, arg_view *view)
{
    v->type = type;
    v->proxy = NULL;
    v->count = w->count;
    if (w->kind == PS_WIRE_DESCRIPTOR) {
        view->proxy = ps_proxy_deserialize(w->data, type);
        if (!view->proxy)
            return ps_last_error_code();
        v->data = ps_resolve_ref(view->proxy, type->name, type->size);
        v->count = ps_proxy_count(view->proxy);
        return v->data ? PS_OK : ps_last_error_code();
    }
    if (w->kind != PS_WIRE_BYTES)
        return ps_error_set(PS_ERR_BAD_DATA, "an argument of unknown kind %d", (int)w->kind);
    if (type->flags & PS_TYPE_POD) {
        if (w->len != w->count * type->size)
            return ps_error_set(PS_ERR_BAD_DATA, "%zu bytes for %zu elements of %zu", w->len,
                                w->count, type->size);
        v->data = w->data;
        return PS_OK;
    }
    unsigned long mark = ps_error_mark();
    if (type->deserialize(w->data, w->len, &view->object) != PS_OK)
        return ps_error_since(mark) ? ps_last_error_code()
                                    : ps_error_set(PS_ERR_SERIALIZE, "deserialize %s failed", type->name);
    v->data = view->object;
    return PS_OK;
}

static void close_arg(const ps_type *type, arg_view *view)
{
    if (view->proxy)
        ps_proxy_free(view->proxy);
    if (view->object)
        ps_object_free(type, view->object);
}

/* Put a task's result on the wire. */
static void pack_result(const ps_task_def *def, ps_result *res, const ps_executor_options *opts,
                        bool in_process, ps_exec_outcome *out)
{
    const ps_type *type = def->result_type;
    size_t count = type->flags & PS_TYPE_POD ? res->count : 1;
    size_t bytes = count * type->size;
    void *ser = NULL;
    if (!(type->flags & PS_TYPE_POD) || !in_process) {
        if (ps_exec_serialize(type, res->data, count, &ser, &bytes) != PS_OK) {
            fail(out, ps_last_error_code(), "the result");
            goto done;
        }
    }
    if (ps_exec_should_proxy(opts, type, res->data, count, bytes)) {
        ps_proxy_t *p = type->flags & PS_TYPE_POD ? ps_proxy_array(opts->store, type, res->data, count)
                                                  : ps_proxy(opts->store, type, res->data);
        char *desc = p ? ps_proxy_serialize(p) : NULL;
        if (!desc) {
            if (p)
                ps_proxy_evict(p);
            fail(out, ps_last_error_code(), "proxying the result");
            goto done;
        }
        ps_proxy_free(p);
        out->status = PS_OK;
        out->result = (ps_wire_value){PS_WIRE_DESCRIPTOR, count, desc, strlen(desc) + 1};
    } else if (ser) {
        out->status = PS_OK;
        out->result = (ps_wire_value){PS_WIRE_BYTES, count, ser, bytes};
        ser = NULL;
    } else {
        out->status = PS_OK;
        out->result = (ps_wire_value){PS_WIRE_OBJECT, count, res->data, bytes};
        res->data = NULL;
    }
done:
    free(ser);
    if (res->data)
        ps_object_free(type, res->data);
    res->data = NULL;
}

void ps_exec_run(const ps_task_def *def, ps_wire_value *args, const ps_executor_options *opts,
                 bool in_process, ps_exec_outcome *out)
{
    memset(out, 0, sizeof *out);
    size_t n = def->nargs;
    ps_value *values = calloc(n ? n : 1, sizeof *values);
    arg_view *views = calloc(n ? n : 1, sizeof *views);
    size_t opened = 0;
    if (!values || !views) {
        fail(out, PS_ERR_NO_MEMORY, "task '%s'", def->name);
        goto done;
    }
    for (; opened < n; opened++) {
        ps_error_clear();
        if (open_arg(def->arg_types[opened], &args[opened], &values[opened], &views[opened]) != PS_OK) {
            fail(out, ps_last_error_code(), "argument %zu", opened);
            opened++;
            goto done;
        }
    }
    ps_error_clear();
    ps_result res = {0};
    ps_status st = def->fn(values, n, &res, def->user);
    if (st != PS_OK) {
        if (res.data)
            ps_object_free(def->result_type, res.data);
        fail(out, st, "%s", "");
        goto done;
    }
    if (!res.data && (res.count || !(def->result_type->flags & PS_TYPE_POD))) {
        ps_error_clear();
        fail(out, PS_ERR_STATE, "the task returned PS_OK and no result");
        goto done;
    }
    pack_result(def, &res, opts, in_process, out);
done:
    for (size_t i = 0; i < opened; i++)
        close_arg(def->arg_types[i], &views[i]);
    free(values);
    free(views);
}

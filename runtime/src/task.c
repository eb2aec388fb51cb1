/*
 * task.c — the executor's task handles, in the shape of MPI's requests:
 * wait / test / waitany / waitall and an explicit free.
 *
 * Every handle completes under one process-wide lock and wakes one shared
 * condition variable, which is what lets ps_task_waitany sleep on any set
 * of handles from any executors.  Completion is rare next to the work a
 * task does, so the shared lock is not a bottleneck.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "executor_core.h"

struct ps_task {
    const ps_task_def *def;
    bool done;     /* task_lock */
    bool detached; /* freed by its owner while running (task_lock) */
    bool taken;    /* the result was moved out */
    ps_status status;
    char *message; /* the task's error, NULL when it succeeded */
    ps_result result;
};

static pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t task_done = PTHREAD_COND_INITIALIZER;

ps_task *ps_task_new(const ps_task_def *def)
{
    ps_task *t = ps_calloc(1, sizeof *t);
    if (t)
        t->def = def;
    return t;
}

static void release_result(ps_task *t)
{
    if (t->result.proxy)
        ps_proxy_free(t->result.proxy);
    if (t->result.data)
        ps_object_free(t->def->result_type, t->result.data);
    memset(&t->result, 0, sizeof t->result);
}

static void destroy(ps_task *t)
{
    release_result(t);
    free(t->message);
    free(t);
}

void ps_task_finish(ps_task *t, ps_status status, const char *message, ps_result *result)
{
    pthread_mutex_lock(&task_lock);
    t->status = status;
    t->message = status != PS_OK ? strdup(message ? message : ps_status_name(status)) : NULL;
    if (result) {
        t->result = *result;
        memset(result, 0, sizeof *result);
    }
    t->done = true;
    bool detached = t->detached;
    pthread_cond_broadcast(&task_done);
    pthread_mutex_unlock(&task_lock);
    if (detached)
        destroy(t);
}

/* The outcome of a done task, recorded as the thread's error (lock held). */
static ps_status report(const ps_task *t)
{
    if (t->status == PS_OK)
        return PS_OK;
    return ps_error_set(t->status, "task '%s': %s", t->def->name,
                        t->message ? t->message : ps_status_name(t->status));
}

ps_status ps_task_wait(ps_task *t)
{
    if (!t)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_wait: NULL task");
    pthread_mutex_lock(&task_lock);
    while (!t->done)
        pthread_cond_wait(&task_done, &task_lock);
    ps_status st = report(t);
    pthread_mutex_unlock(&task_lock);
    return st;
}

ps_status ps_task_test(ps_task *t, bool *done)
{
    if (!t || !done)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_test: NULL %s", t ? "done" : "task");
    pthread_mutex_lock(&task_lock);
    *done = t->done;
    ps_status st = t->done ? report(t) : PS_OK;
    pthread_mutex_unlock(&task_lock);
    return st;
}

ps_status ps_task_waitany(size_t n, ps_task *const tasks[], size_t *index)
{
    if (!tasks || !index)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_waitany: NULL %s",
                            tasks ? "index" : "tasks");
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = tasks[i] != NULL;
    if (!any)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_waitany: no task among %zu handles", n);
    pthread_mutex_lock(&task_lock);
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            if (tasks[i] && tasks[i]->done) {
                *index = i;
                ps_status st = report(tasks[i]);
                pthread_mutex_unlock(&task_lock);
                return st;
            }
        }
        pthread_cond_wait(&task_done, &task_lock);
    }
}

ps_status ps_task_waitall(size_t n, ps_task *const tasks[])
{
    if (!tasks && n)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_waitall: NULL tasks");
    ps_status first = PS_OK;
    ps_saved_error saved;
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            continue;
        ps_status st = ps_task_wait(tasks[i]);
        if (st != PS_OK && first == PS_OK) {
            first = st;
            ps_error_save(&saved);
        }
    }
    return first == PS_OK ? PS_OK : ps_error_restore(&saved);
}

ps_status ps_task_result(ps_task *t, ps_result *out)
{
    if (!t || !out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_task_result: NULL %s", t ? "out" : "task");
    pthread_mutex_lock(&task_lock);
    ps_status st;
    if (!t->done)
        st = ps_error_set(PS_ERR_STATE, "ps_task_result: task '%s' is still running "
                          "(wait for it first)", t->def->name);
    else if (t->status != PS_OK)
        st = report(t);
    else if (t->taken)
        st = ps_error_set(PS_ERR_STATE, "ps_task_result: the result of task '%s' was taken "
                          "already", t->def->name);
    else {
        *out = t->result;
        memset(&t->result, 0, sizeof t->result);
        t->taken = true;
        st = PS_OK;
    }
    pthread_mutex_unlock(&task_lock);
    return st;
}

void ps_task_free(ps_task *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&task_lock);
    bool done = t->done;
    if (!done)
        t->detached = true;
    pthread_mutex_unlock(&task_lock);
    if (done)
        destroy(t);
}

/*
 * executor_threads.c — the threads backend: one queue of jobs, a fixed pool
 * of worker threads taking them in order.  Arguments and results cross
 * between threads as they are (no message), so a result below the proxy
 * threshold reaches the caller without a copy.
 */
#include <pthread.h>
#include <stdlib.h>

#include "error.h"
#include "executor_core.h"

typedef struct threads_impl {
    ps_executor *ex;
    pthread_mutex_t lock;
    pthread_cond_t work;
    ps_exec_job *head, *tail; /* lock */
    bool stop;                /* lock */
    unsigned nthreads;
    pthread_t *threads;
} threads_impl;

static void *worker_main(void *arg)
{
    threads_impl *t = arg;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        while (!t->head && !t->stop)
            pthread_cond_wait(&t->work, &t->lock);
        ps_exec_job *job = t->head;
        if (job) {
            t->head = job->next;
            if (!t->head)
                t->tail = NULL;
        }
        pthread_mutex_unlock(&t->lock);
        if (!job)
            return NULL; /* stopping and nothing left */
        ps_exec_outcome outcome;
        ps_exec_run(job->def, job->args, ps_executor_opts(t->ex), true, &outcome);
        ps_exec_complete(t->ex, job, &outcome);
    }
}

static ps_status threads_submit(void *impl, ps_exec_job *job)
{
    threads_impl *t = impl;
    job->next = NULL;
    pthread_mutex_lock(&t->lock);
    if (t->tail)
        t->tail->next = job;
    else
        t->head = job;
    t->tail = job;
    pthread_cond_signal(&t->work);
    pthread_mutex_unlock(&t->lock);
    return PS_OK;
}

static void stop_and_free(threads_impl *t, unsigned started)
{
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(t->threads[i], NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->work);
    free(t->threads);
    free(t);
}

static ps_status threads_shutdown(void *impl)
{
    threads_impl *t = impl;
    stop_and_free(t, t->nthreads);
    return PS_OK;
}

static const ps_exec_backend threads_backend = {"threads", threads_submit, threads_shutdown};

ps_executor *ps_executor_threads(const ps_executor_options *opts)
{
    ps_executor_options defaults;
    if (!opts) {
        ps_executor_options_init(&defaults);
        opts = &defaults;
    }
    unsigned n = opts->threads ? opts->threads : 2;
    if (n > 1024) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_executor_threads: %u threads (at most 1024)", n);
        return NULL;
    }
    threads_impl *t = ps_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->threads = ps_calloc(n, sizeof *t->threads);
    if (!t->threads) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->work, NULL);
    t->nthreads = n;
    /* The threads read t->ex only for a job, and jobs come through the
     * executor, which exists by then. */
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&t->threads[i], NULL, worker_main, t);
        if (rc != 0) {
            stop_and_free(t, i);
            ps_error_set(PS_ERR_STATE, "ps_executor_threads: pthread_create failed (%d)", rc);
            return NULL;
        }
    }
    t->ex = ps_executor_new(&threads_backend, t, opts);
    if (!t->ex) {
        stop_and_free(t, n);
        return NULL;
    }
    return t->ex;
}

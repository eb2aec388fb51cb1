/* prefetch.c — the background resolve pool (see prefetch.h). */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct job {
    void (*run)(void *arg);
    void *arg;
    struct job *next;
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job *head, *tail;
    pthread_t threads[PS_PREFETCH_THREADS];
    int nthreads;
    bool stopping;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, {0}, 0, false};

static void *worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.lock);
        job *j = pool.head;
        if (!j)
            break; /* stopping, and the queue is drained */
        pool.head = j->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        j->run(j->arg);
        free(j);
        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* A child of fork() has none of its parent's threads: let it start its own. */
static void after_fork_in_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.nthreads = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

ps_status ps_prefetch_submit(void (*run)(void *arg), void *arg)
{
    pthread_once(&atfork_once, install_atfork);
    job *j = ps_malloc(sizeof *j);
    if (!j)
        return PS_ERR_NO_MEMORY;
    j->run = run;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.lock);
        free(j);
        return ps_error_set(PS_ERR_STATE, "the prefetch pool has shut down (the process is exiting)");
    }
    while (pool.nthreads < PS_PREFETCH_THREADS) {
        if (pthread_create(&pool.threads[pool.nthreads], NULL, worker, NULL) != 0)
            break;
        pool.nthreads++;
    }
    if (pool.nthreads == 0) {
        pthread_mutex_unlock(&pool.lock);
        free(j);
        return ps_error_set(PS_ERR_NO_MEMORY, "could not start a prefetch thread");
    }
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    return PS_OK;
}

void ps_prefetch_shutdown(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    int n = pool.nthreads;
    pool.nthreads = 0;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < n; i++)
        pthread_join(pool.threads[i], NULL);
}

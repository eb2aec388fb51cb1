/* prefetch.c — the background resolve pool (see prefetch.h). */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct job {
    void (*run)(void *arg);
    void (*cancel)(void *arg);
    void *arg;
    struct job *next;
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* a job was queued, or the pool stops or resumes */
    pthread_cond_t idle;  /* no job is running */
    job *head, *tail;
    pthread_t threads[PS_PREFETCH_THREADS];
    int nthreads;
    int running;          /* jobs being run right now */
    bool pausing;         /* a fork is waiting: start no job */
    bool stopping;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, {0},
          0, 0, false, false};

static void *worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while ((!pool.head || pool.pausing) && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.lock);
        job *j = pool.head;
        if (!j)
            break; /* stopping, and the queue is drained */
        pool.head = j->next;
        if (!pool.head)
            pool.tail = NULL;
        pool.running++;
        pthread_mutex_unlock(&pool.lock);
        /* Freed before the run: once run wakes whoever waits for the proxy,
         * nothing of the job is left (a caller counting blocks sees none). */
        void (*run)(void *) = j->run;
        void *arg = j->arg;
        free(j);
        run(arg);
        pthread_mutex_lock(&pool.lock);
        if (--pool.running == 0)
            pthread_cond_broadcast(&pool.idle);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/*
 * fork() copies only the calling thread.  A job running in a worker at that
 * moment would leave the child with its proxy forever "fetching" (and with
 * whatever lock the job held, a cache's or a connector's, locked by nobody).
 * So a fork waits for the running jobs to end and starts no new one until it
 * is done; the jobs still queued go on in the parent and are cancelled in the
 * child, where their proxies are left for the child to resolve itself.
 */
static bool self_is_worker(void)
{
    for (int i = 0; i < pool.nthreads; i++)
        if (pthread_equal(pool.threads[i], pthread_self()))
            return true;
    return false;
}

static void before_fork(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.pausing = true;
    int mine = self_is_worker() ? 1 : 0; /* a job's own hook forking */
    while (pool.running > mine)
        pthread_cond_wait(&pool.idle, &pool.lock);
}

static void after_fork_in_parent(void)
{
    pool.pausing = false;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
}

/* The child has none of its parent's threads: it starts its own on its
 * first submission. */
static void after_fork_in_child(void)
{
    job *j = pool.head;
    pool.head = pool.tail = NULL;
    pool.nthreads = 0;
    pool.running = 0;
    pool.pausing = false;
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.idle, NULL);
    while (j) {
        job *next = j->next;
        if (j->cancel)
            j->cancel(j->arg);
        free(j);
        j = next;
    }
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void)
{
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

ps_status ps_prefetch_submit(void (*run)(void *arg), void (*cancel)(void *arg), void *arg)
{
    pthread_once(&atfork_once, install_atfork);
    job *j = ps_malloc(sizeof *j);
    if (!j)
        return PS_ERR_NO_MEMORY;
    j->run = run;
    j->cancel = cancel;
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

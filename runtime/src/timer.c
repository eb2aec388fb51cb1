/* timer.c — the deadline thread (see timer.h). */
#include "timer.h"

#include <pthread.h>
#include <time.h>

#include "error.h"

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_changed; /* CLOCK_MONOTONIC; made in ensure_thread */
static ps_timer *timers;             /* sorted by due_ns */
static ps_timer *firing;             /* the callback running now */
static bool thread_running;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

uint64_t ps_timer_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void unlink_locked(ps_timer *t)
{
    for (ps_timer **pp = &timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    t->next = NULL;
    t->armed = false;
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&timer_lock);
    for (;;) {
        if (!timers) {
            pthread_cond_wait(&timer_changed, &timer_lock);
            continue;
        }
        uint64_t now = ps_timer_now_ns();
        ps_timer *t = timers;
        if (t->due_ns > now) {
            struct timespec until = {(time_t)(t->due_ns / 1000000000u), (long)(t->due_ns % 1000000000u)};
            pthread_cond_timedwait(&timer_changed, &timer_lock, &until);
            continue;
        }
        unlink_locked(t);
        firing = t;
        pthread_mutex_unlock(&timer_lock);
        t->fire(t);
        pthread_mutex_lock(&timer_lock);
        firing = NULL;
        pthread_cond_broadcast(&timer_changed);
    }
    return NULL;
}

/* The child of a fork has no timer thread; the parent's timers are not its. */
static void timer_fork_child(void)
{
    pthread_mutex_init(&timer_lock, NULL);
    timers = NULL;
    firing = NULL;
    thread_running = false;
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, timer_fork_child);
}

static ps_status ensure_thread_locked(void)
{
    if (thread_running)
        return PS_OK;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&timer_changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_t thread;
    pthread_attr_t tattr;
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &tattr, timer_main, NULL);
    pthread_attr_destroy(&tattr);
    if (rc != 0)
        return ps_error_set(PS_ERR_NO_MEMORY, "cannot start the timer thread (error %d)", rc);
    thread_running = true;
    return PS_OK;
}

ps_status ps_timer_arm(ps_timer *t, uint64_t due_ns)
{
    pthread_once(&fork_once, register_fork_handler);
    pthread_mutex_lock(&timer_lock);
    ps_status st = ensure_thread_locked();
    if (st == PS_OK) {
        if (t->armed)
            unlink_locked(t);
        t->due_ns = due_ns;
        ps_timer **pp = &timers;
        while (*pp && (*pp)->due_ns <= due_ns)
            pp = &(*pp)->next;
        t->next = *pp;
        *pp = t;
        t->armed = true;
        pthread_cond_broadcast(&timer_changed);
    }
    pthread_mutex_unlock(&timer_lock);
    return st;
}

void ps_timer_cancel(ps_timer *t)
{
    pthread_mutex_lock(&timer_lock);
    if (t->armed)
        unlink_locked(t);
    /* A callback that re-arms itself while we wait is unlinked again. */
    while (firing == t) {
        pthread_cond_wait(&timer_changed, &timer_lock);
        if (t->armed)
            unlink_locked(t);
    }
    pthread_mutex_unlock(&timer_lock);
}

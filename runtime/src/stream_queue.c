/*
 * stream_queue.c — the in-process broker, queue://NAME (stream_queue.h).
 *
 * A topic is an array of events under one lock.  Each group has one place
 * (the index of its next event) that its readers share; each reader outside
 * a group has its own.  Events every place has passed are freed; a
 * publisher waits while max_len events are held that the slowest place has
 * not passed (back-pressure: a slow consumer slows the producer instead of
 * growing the process), and a topic no reader has joined yet holds at most
 * max_len events the same way.  Within one process nobody dies without the
 * others, so there is nothing to re-deliver: an acknowledgement only evicts.
 */
#include "stream_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

typedef struct place {
    struct place *next;
    char *group; /* NULL: one reader's own */
    size_t at;   /* absolute index of the next event */
    int readers;
} place;

struct sq_topic {
    struct sq_topic *next;
    char *queue, *name;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char **descs, **metas; /* events [base, base + n) */
    size_t base, n, cap;
    place *places;
    bool ended;
};

struct sq_reader {
    sq_topic *topic;
    place *place;
};

static pthread_mutex_t topics_lock = PTHREAD_MUTEX_INITIALIZER;
static sq_topic *topics;

static void deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait on the topic's condition until deadline (NULL: no limit). */
static int wait_changed(sq_topic *t, const struct timespec *deadline)
{
    return deadline ? pthread_cond_timedwait(&t->changed, &t->lock, deadline)
                    : pthread_cond_wait(&t->changed, &t->lock);
}

ps_status sq_topic_open(const char *queue, const char *name, sq_topic **out)
{
    pthread_mutex_lock(&topics_lock);
    sq_topic *t = topics;
    while (t && (strcmp(t->queue, queue) != 0 || strcmp(t->name, name) != 0))
        t = t->next;
    ps_status st = PS_OK;
    if (!t) {
        t = ps_calloc(1, sizeof *t);
        if (t && (!(t->queue = ps_strdup(queue)) || !(t->name = ps_strdup(name)))) {
            free(t->queue);
            free(t);
            t = NULL;
        }
        if (t) {
            pthread_condattr_t attr;
            pthread_condattr_init(&attr);
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
            pthread_cond_init(&t->changed, &attr);
            pthread_condattr_destroy(&attr);
            pthread_mutex_init(&t->lock, NULL);
            t->next = topics;
            topics = t;
        } else {
            st = PS_ERR_NO_MEMORY;
        }
    }
    pthread_mutex_unlock(&topics_lock);
    *out = t;
    return st;
}

/* The slowest place (the first event some reader still needs). */
static size_t slowest(const sq_topic *t)
{
    size_t min = t->base + t->n;
    for (const place *p = t->places; p; p = p->next)
        if (p->at < min)
            min = p->at;
    return t->places ? min : t->base;
}

/* Free the events every place has passed. */
static void trim(sq_topic *t)
{
    size_t drop = slowest(t) - t->base;
    if (drop == 0)
        return;
    for (size_t i = 0; i < drop; i++) {
        free(t->descs[i]);
        free(t->metas[i]);
    }
    memmove(t->descs, t->descs + drop, (t->n - drop) * sizeof *t->descs);
    memmove(t->metas, t->metas + drop, (t->n - drop) * sizeof *t->metas);
    t->base += drop;
    t->n -= drop;
}

ps_status sq_publish(sq_topic *t, size_t n, char **descs, char **metas, size_t max_len, long timeout_ms)
{
    struct timespec deadline;
    deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&t->lock);
    ps_status st = PS_OK;
    while (t->base + t->n - slowest(t) + n > max_len && st == PS_OK)
        if (wait_changed(t, &deadline) == ETIMEDOUT)
            st = ps_error_set(PS_ERR_TIMEOUT, "queue topic '%s' holds %zu events its slowest consumer has not "
                              "taken (max_len %zu) and none was taken within %ld ms", t->name,
                              t->base + t->n - slowest(t), max_len, timeout_ms);
    if (st == PS_OK && t->n + n > t->cap) {
        size_t cap = (t->n + n) * 2;
        char **d = realloc(t->descs, cap * sizeof *d);
        if (d)
            t->descs = d;
        char **m = d ? realloc(t->metas, cap * sizeof *m) : NULL;
        if (m)
            t->metas = m;
        if (!d || !m)
            st = ps_error_set(PS_ERR_NO_MEMORY, "out of memory queueing %zu events", n);
        else
            t->cap = cap;
    }
    for (size_t i = 0; st == PS_OK && i < n; i++) {
        t->descs[t->n] = descs[i];
        t->metas[t->n++] = metas[i];
        descs[i] = metas[i] = NULL;
    }
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    return st;
}

void sq_end(sq_topic *t)
{
    pthread_mutex_lock(&t->lock);
    t->ended = true;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

ps_status sq_reader_open(sq_topic *t, const char *group, sq_reader **out)
{
    sq_reader *r = ps_calloc(1, sizeof *r);
    if (!r)
        return PS_ERR_NO_MEMORY;
    pthread_mutex_lock(&t->lock);
    place *p = t->places;
    while (group && p && !(p->group && strcmp(p->group, group) == 0))
        p = p->next;
    if (!group || !p) {
        p = ps_calloc(1, sizeof *p);
        if (p && group && !(p->group = ps_strdup(group))) {
            free(p);
            p = NULL;
        }
        if (p) {
            p->at = t->base;
            p->next = t->places;
            t->places = p;
        }
    }
    if (p)
        p->readers++;
    pthread_mutex_unlock(&t->lock);
    if (!p) {
        free(r);
        return PS_ERR_NO_MEMORY;
    }
    r->topic = t;
    r->place = p;
    *out = r;
    return PS_OK;
}

ps_status sq_next(sq_reader *r, long timeout_ms, char **desc, char **meta, bool *end)
{
    sq_topic *t = r->topic;
    struct timespec deadline;
    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    *desc = *meta = NULL;
    *end = false;
    pthread_mutex_lock(&t->lock);
    ps_status st = PS_OK;
    for (;;) {
        if (r->place->at < t->base + t->n) {
            size_t i = r->place->at - t->base;
            if (!(*desc = ps_strdup(t->descs[i])) || !(*meta = ps_strdup(t->metas[i]))) {
                free(*desc);
                *desc = NULL;
                st = PS_ERR_NO_MEMORY;
                break;
            }
            r->place->at++;
            trim(t);
            pthread_cond_broadcast(&t->changed); /* a publisher may wait for room */
            break;
        }
        if (t->ended) {
            *end = true;
            break;
        }
        if (timeout_ms == 0 || wait_changed(t, timeout_ms > 0 ? &deadline : NULL) == ETIMEDOUT) {
            st = ps_error_set(PS_ERR_TIMEOUT, "queue topic '%s': no item within %ld ms", t->name, timeout_ms);
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return st;
}

void sq_reader_close(sq_reader *r)
{
    if (!r)
        return;
    sq_topic *t = r->topic;
    pthread_mutex_lock(&t->lock);
    /* A group keeps its place (it still subscribes, as a Redis group does);
     * a reader's own place goes with it. */
    if (--r->place->readers == 0 && !r->place->group) {
        place **link = &t->places;
        while (*link != r->place)
            link = &(*link)->next;
        *link = r->place->next;
        free(r->place->group);
        free(r->place);
        trim(t);
        pthread_cond_broadcast(&t->changed);
    }
    pthread_mutex_unlock(&t->lock);
    free(r);
}

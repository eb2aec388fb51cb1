/*
 * executor_mpi.c — the executor's MPI backend (proxystore/executor_mpi.h).
 *
 * Ranks: 0 is the client; in the scheduler topology 1 is the scheduler;
 * the rest are workers, each running one task at a time.  Every message is
 * one MPI point-to-point message on a duplicate of the caller's
 * communicator, received after MPI_Probe (so its size need not be known):
 *
 *   TASK      client -> worker (direct), client -> scheduler -> worker
 *   RESULT    worker -> client (direct), worker -> scheduler -> client
 *   SHUTDOWN  client -> workers, or client -> scheduler -> workers
 *   BYE       the answer to SHUTDOWN, after which the sender is gone
 *
 * The client gives each worker one task at a time and queues the rest; its
 * receiver thread takes results, hands the finished worker the next task
 * and completes handles.  The scheduler does the same for its workers and
 * forwards results as they are, without decoding them.
 *
 * Task message:   u64 id, u32 nargs, u32 name length (with NUL), the name,
 *                 then per argument u32 kind, u32 0, u64 count, u64 length,
 *                 then each argument's bytes at a 64-byte aligned offset.
 * Result message: u64 id, u32 status, u32 kind, u64 count, u64 length, then
 *                 the bytes (result, descriptor or error message) at 64.
 * Ranks of one job share byte order and type sizes: fields are native.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "error.h"
#include "executor_core.h"
#include "proxystore/executor_mpi.h"

enum { TAG_TASK = 1, TAG_RESULT, TAG_SHUTDOWN, TAG_BYE };
#define ALIGN 64

static size_t align_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

/* ----------------------------------------------------------- messages */

typedef struct arg_header {
    uint32_t kind, zero;
    uint64_t count, len;
} arg_header;

typedef struct result_header {
    uint64_t id;
    uint32_t status, kind;
    uint64_t count, len;
} result_header;

static size_t task_header_size(size_t name_len, size_t nargs)
{
    return align_up(16 + align_up(name_len) + nargs * sizeof(arg_header));
}

static ps_status pack_task(ps_exec_job *job)
{
    const ps_task_def *def = job->def;
    size_t name_len = strlen(def->name) + 1;
    size_t total = task_header_size(name_len, def->nargs);
    for (size_t i = 0; i < def->nargs; i++)
        total += align_up(job->args[i].len);
    if (total > INT_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "task '%s': a %zu-byte message is more than "
                            "MPI sends at once (2 GiB): proxy the large arguments", def->name, total);
    unsigned char *m;
    if (posix_memalign((void **)&m, ALIGN, total ? total : 1) != 0)
        return ps_error_set(PS_ERR_NO_MEMORY, "task '%s': out of memory for its message", def->name);
    memset(m, 0, task_header_size(name_len, def->nargs));
    uint64_t id = job->id;
    uint32_t nargs = (uint32_t)def->nargs, nl = (uint32_t)name_len;
    memcpy(m, &id, 8);
    memcpy(m + 8, &nargs, 4);
    memcpy(m + 12, &nl, 4);
    memcpy(m + 16, def->name, name_len);
    unsigned char *h = m + 16 + align_up(name_len);
    size_t off = task_header_size(name_len, def->nargs);
    for (size_t i = 0; i < def->nargs; i++) {
        ps_wire_value *w = &job->args[i];
        arg_header ah = {(uint32_t)w->kind, 0, w->count, w->len};
        memcpy(h + i * sizeof ah, &ah, sizeof ah);
        if (w->len)
            memcpy(m + off, w->data, w->len);
        off += align_up(w->len);
        /* The message holds the bytes now; keep one copy. */
        ps_wire_value_clear(w, def->arg_types[i]);
    }
    job->message = m;
    job->message_len = total;
    return PS_OK;
}

/* Decode a task message into wire values pointing into it. */
static ps_status unpack_task(unsigned char *m, size_t len, uint64_t *id, const ps_task_def **def,
                             ps_wire_value **args)
{
    uint32_t nargs, nl;
    if (len < 16)
        return ps_error_set(PS_ERR_BAD_DATA, "a task message of %zu bytes", len);
    memcpy(id, m, 8);
    memcpy(&nargs, m + 8, 4);
    memcpy(&nl, m + 12, 4);
    if (nl == 0 || nl > PS_TASK_NAME_MAX || 16 + (size_t)nl > len || m[16 + nl - 1] != '\0')
        return ps_error_set(PS_ERR_BAD_DATA, "a task message with a bad name");
    *def = ps_task_lookup((const char *)m + 16);
    if (!*def)
        return ps_error_wrap("on this worker");
    if (nargs != (*def)->nargs)
        return ps_error_set(PS_ERR_BAD_DATA, "task '%s' takes %zu arguments, the message has %u",
                            (*def)->name, (*def)->nargs, nargs);
    size_t off = task_header_size(nl, nargs);
    if (off > len)
        return ps_error_set(PS_ERR_BAD_DATA, "a truncated task message");
    ps_wire_value *w = ps_calloc(nargs ? nargs : 1, sizeof *w);
    if (!w)
        return PS_ERR_NO_MEMORY;
    const unsigned char *h = m + 16 + align_up(nl);
    for (uint32_t i = 0; i < nargs; i++) {
        arg_header ah;
        memcpy(&ah, h + i * sizeof ah, sizeof ah);
        if (ah.len > len - off || (ah.kind == PS_WIRE_DESCRIPTOR && (ah.len == 0 || m[off + ah.len - 1]))) {
            free(w);
            return ps_error_set(PS_ERR_BAD_DATA, "task '%s': argument %u does not fit its message",
                                (*def)->name, i);
        }
        w[i] = (ps_wire_value){(ps_wire_kind)ah.kind, ah.count, m + off, ah.len};
        off += align_up(ah.len);
        if (off > len)
            off = len;
    }
    *args = w;
    return PS_OK;
}

static unsigned char *pack_result(uint64_t id, const ps_exec_outcome *o, size_t *len_out)
{
    size_t len = o->result.len;
    if (len > INT_MAX - ALIGN)
        return NULL;
    size_t total = ALIGN + len;
    unsigned char *m;
    if (posix_memalign((void **)&m, ALIGN, total) != 0)
        return NULL;
    memset(m, 0, ALIGN);
    result_header rh = {id, (uint32_t)o->status, (uint32_t)o->result.kind, o->result.count, len};
    memcpy(m, &rh, sizeof rh);
    if (len)
        memcpy(m + ALIGN, o->result.data, len);
    *len_out = total;
    return m;
}

/* MPI_Probe, but polite to a node with more busy threads than cores: a
 * blocking probe spins a core for as long as it waits, and every idle
 * worker, the scheduler and the client's receiver thread wait in one.
 * Spin for SPIN_NS (a reply that is on its way arrives at full speed), then
 * poll with short sleeps so the threads doing work get the cores. */
#define SPIN_NS 200000L
#define NAP_NS 20000L

/* The naps are short only with a small timer slack (Linux's default 50 us
 * would stretch each one): the waiting threads set it for themselves. */
#define NAP_SLACK_NS 1000L

static void probe_politely(MPI_Comm comm, int source, MPI_Status *st)
{
    struct timespec start, now, nap = {0, NAP_NS};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int flag = 0;
        MPI_Iprobe(source, MPI_ANY_TAG, comm, &flag, st);
        if (flag)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec);
        if (waited > SPIN_NS)
            nanosleep(&nap, NULL);
    }
}

/* Probe for any message, then receive it whole into an aligned buffer. */
static unsigned char *recv_any(MPI_Comm comm, int source, MPI_Status *st, size_t *len)
{
    probe_politely(comm, source, st);
    int n = 0;
    MPI_Get_count(st, MPI_BYTE, &n);
    unsigned char *m = NULL;
    if (posix_memalign((void **)&m, ALIGN, n ? (size_t)n : 1) != 0)
        m = NULL;
    MPI_Status got;
    if (m) {
        MPI_Recv(m, n, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, comm, &got);
    } else {
        /* Out of memory: take the message off the queue anyway. */
        unsigned char sink[ALIGN];
        MPI_Recv(n <= ALIGN ? sink : NULL, n <= ALIGN ? n : 0, MPI_BYTE, st->MPI_SOURCE,
                 st->MPI_TAG, comm, &got);
    }
    *len = (size_t)n;
    return m;
}

static void send_empty(MPI_Comm comm, int dest, int tag)
{
    MPI_Send(NULL, 0, MPI_BYTE, dest, tag, comm);
}

/* ------------------------------------------------------------- worker */

static void run_task_message(unsigned char *m, size_t len, const ps_executor_options *opts,
                             MPI_Comm comm, int reply_to)
{
    uint64_t id = 0;
    const ps_task_def *def = NULL;
    ps_wire_value *args = NULL;
    ps_exec_outcome o;
    memset(&o, 0, sizeof o);
    if (len >= 8)
        memcpy(&id, m, 8);
    ps_error_clear();
    if (!m) {
        o.status = ps_error_set(PS_ERR_NO_MEMORY, "worker rank: out of memory for a task message");
    } else if (unpack_task(m, len, &id, &def, &args) != PS_OK) {
        o.status = ps_last_error_code();
    } else {
        ps_exec_run(def, args, opts, false, &o);
    }
    if (o.status != PS_OK && o.result.kind != PS_WIRE_ERROR) {
        char *msg = strdup(ps_last_error_message());
        o.result = (ps_wire_value){PS_WIRE_ERROR, 0, msg, msg ? strlen(msg) + 1 : 0};
    }
    size_t rlen = 0;
    unsigned char *r = pack_result(id, &o, &rlen);
    if (!r) {
        /* Too big or no memory: report that instead of the result. */
        static const char too_big[] = "the worker could not send the result (more than 2 GiB, "
                                      "or out of memory): proxy it";
        ps_exec_outcome e = {PS_ERR_NO_MEMORY, {PS_WIRE_ERROR, 0, (void *)too_big, sizeof too_big}};
        r = pack_result(id, &e, &rlen);
    }
    if (r)
        MPI_Send(r, (int)rlen, MPI_BYTE, reply_to, TAG_RESULT, comm);
    free(r);
    free(args);
    if (def)
        ps_wire_value_clear(&o.result, def->result_type);
    else
        free(o.result.data);
}

static void serve_worker(MPI_Comm comm, const ps_executor_options *opts)
{
    for (;;) {
        MPI_Status st;
        size_t len = 0;
        unsigned char *m = recv_any(comm, MPI_ANY_SOURCE, &st, &len);
        if (st.MPI_TAG == TAG_SHUTDOWN) {
            free(m);
            send_empty(comm, st.MPI_SOURCE, TAG_BYE);
            return;
        }
        if (st.MPI_TAG == TAG_TASK)
            run_task_message(m, len, opts, comm, st.MPI_SOURCE);
        free(m);
    }
}

/* ---------------------------------------------------------- scheduler */

typedef struct held_msg {
    unsigned char *m;
    size_t len;
    struct held_msg *next;
} held_msg;

/* Answer a task message with an error result instead of running it. */
static void refuse_task(MPI_Comm comm, const unsigned char *m, size_t len, const char *why)
{
    uint64_t id = 0;
    if (m && len >= 8)
        memcpy(&id, m, 8);
    ps_exec_outcome o = {PS_ERR_NO_MEMORY, {PS_WIRE_ERROR, 0, (void *)why, strlen(why) + 1}};
    size_t rlen = 0;
    unsigned char *r = pack_result(id, &o, &rlen);
    if (r)
        MPI_Send(r, (int)rlen, MPI_BYTE, 0, TAG_RESULT, comm);
    free(r);
}

static void serve_scheduler(MPI_Comm comm, int size)
{
    int nworkers = size - 2, nidle = nworkers, byes = 0;
    int *idle = malloc((size_t)nworkers * sizeof *idle);
    for (int i = 0; idle && i < nworkers; i++)
        idle[i] = size - 1 - i;
    held_msg *head = NULL, *tail = NULL;
    for (;;) {
        MPI_Status st;
        size_t len = 0;
        unsigned char *m = recv_any(comm, MPI_ANY_SOURCE, &st, &len);
        switch (st.MPI_TAG) {
        case TAG_TASK:
            if (!idle || !m) {
                refuse_task(comm, m, len, "the scheduler is out of memory");
                free(m);
            } else if (nidle > 0) {
                MPI_Send(m, (int)len, MPI_BYTE, idle[--nidle], TAG_TASK, comm);
                free(m);
            } else {
                held_msg *h = malloc(sizeof *h);
                if (!h) {
                    refuse_task(comm, m, len, "the scheduler is out of memory");
                    free(m);
                    break;
                }
                *h = (held_msg){m, len, NULL};
                if (tail)
                    tail->next = h;
                else
                    head = h;
                tail = h;
            }
            break;
        case TAG_RESULT:
            /* Out of memory for it (m NULL), the result is lost and its
             * task never completes: the one case the scheduler cannot
             * report. */
            if (m)
                MPI_Send(m, (int)len, MPI_BYTE, 0, TAG_RESULT, comm);
            free(m);
            if (head) {
                held_msg *h = head;
                head = h->next;
                if (!head)
                    tail = NULL;
                MPI_Send(h->m, (int)h->len, MPI_BYTE, st.MPI_SOURCE, TAG_TASK, comm);
                free(h->m);
                free(h);
            } else if (idle) {
                idle[nidle++] = st.MPI_SOURCE;
            }
            break;
        case TAG_SHUTDOWN:
            free(m);
            for (int w = 2; w < size; w++)
                send_empty(comm, w, TAG_SHUTDOWN);
            break;
        case TAG_BYE:
            free(m);
            if (++byes == nworkers) {
                send_empty(comm, 0, TAG_BYE);
                free(idle);
                return;
            }
            break;
        default:
            free(m);
        }
    }
}

/* ------------------------------------------------------------- client */

typedef struct mpi_client {
    ps_executor *ex;
    MPI_Comm comm;
    int size;
    bool scheduler;
    pthread_mutex_t lock;
    ps_exec_job **busy;       /* direct: busy[rank], the job it runs (lock) */
    int *idle, nidle;         /* direct: idle workers (lock) */
    ps_exec_job *head, *tail; /* direct: queued; scheduler: sent (lock) */
    pthread_t receiver;
} mpi_client;

/* A packed task message taken off its job: once the job is visible to the
 * receiver thread it may complete and be freed before a send returns. */
typedef struct outgoing {
    void *m;
    size_t len;
} outgoing;

static outgoing detach_message(ps_exec_job *job)
{
    outgoing out = {job->message, job->message_len};
    job->message = NULL;
    return out;
}

static void send_task(mpi_client *c, outgoing out, int dest)
{
    MPI_Send(out.m, (int)out.len, MPI_BYTE, dest, TAG_TASK, c->comm);
    free(out.m);
}

static void push(mpi_client *c, ps_exec_job *job)
{
    job->next = NULL;
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
}

static ps_exec_job *take_by_id(mpi_client *c, uint64_t id)
{
    for (ps_exec_job **p = &c->head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        if ((*p)->id == id) {
            ps_exec_job *job = *p;
            *p = job->next;
            if (c->tail == job)
                c->tail = prev;
            return job;
        }
    }
    return NULL;
}

static ps_status client_submit(void *impl, ps_exec_job *job)
{
    mpi_client *c = impl;
    if (pack_task(job) != PS_OK)
        return ps_last_error_code();
    outgoing out = detach_message(job);
    pthread_mutex_lock(&c->lock);
    if (c->scheduler) {
        push(c, job);
        pthread_mutex_unlock(&c->lock);
        send_task(c, out, 1);
        return PS_OK;
    }
    if (c->nidle == 0) {
        job->message = out.m; /* sent when a worker is free */
        push(c, job);
        pthread_mutex_unlock(&c->lock);
        return PS_OK;
    }
    int w = c->idle[--c->nidle];
    c->busy[w] = job;
    pthread_mutex_unlock(&c->lock);
    send_task(c, out, w);
    return PS_OK;
}

/* The outcome a result message carries (its bytes moved into a new
 * buffer so the handle owns them). */
static void decode_result(const unsigned char *m, size_t len, const result_header *rh,
                          ps_exec_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->status = (ps_status)rh->status;
    if (rh->len > len - ALIGN) {
        o->status = ps_error_set(PS_ERR_BAD_DATA, "a truncated result message");
        char *msg = strdup(ps_last_error_message());
        o->result = (ps_wire_value){PS_WIRE_ERROR, 0, msg, msg ? strlen(msg) + 1 : 0};
        return;
    }
    void *data = malloc(rh->len ? rh->len : 1);
    if (!data) {
        o->status = PS_ERR_NO_MEMORY;
        o->result = (ps_wire_value){PS_WIRE_ERROR, 0, NULL, 0};
        return;
    }
    memcpy(data, m + ALIGN, rh->len);
    o->result = (ps_wire_value){(ps_wire_kind)rh->kind, rh->count, data, rh->len};
}

static void *client_receiver(void *arg)
{
    mpi_client *c = arg;
    prctl(PR_SET_TIMERSLACK, NAP_SLACK_NS, 0, 0, 0);
    int expected_byes = c->scheduler ? 1 : c->size - 1, byes = 0;
    while (byes < expected_byes) {
        MPI_Status st;
        size_t len = 0;
        unsigned char *m = recv_any(c->comm, MPI_ANY_SOURCE, &st, &len);
        if (st.MPI_TAG == TAG_BYE) {
            byes++;
            free(m);
            continue;
        }
        if (st.MPI_TAG != TAG_RESULT || !m || len < ALIGN) {
            free(m);
            continue;
        }
        result_header rh;
        memcpy(&rh, m, sizeof rh);
        ps_exec_job *job = NULL, *next = NULL;
        outgoing out = {NULL, 0};
        int w = st.MPI_SOURCE;
        pthread_mutex_lock(&c->lock);
        if (c->scheduler) {
            job = take_by_id(c, rh.id);
        } else {
            job = c->busy[w];
            c->busy[w] = NULL;
            next = c->head;
            if (next) {
                c->head = next->next;
                if (!c->head)
                    c->tail = NULL;
                c->busy[w] = next;
                out = detach_message(next);
            } else {
                c->idle[c->nidle++] = w;
            }
        }
        pthread_mutex_unlock(&c->lock);
        if (next)
            send_task(c, out, w);
        if (job) {
            ps_exec_outcome o;
            decode_result(m, len, &rh, &o);
            ps_exec_complete(c->ex, job, &o);
        }
        free(m);
    }
    return NULL;
}

static void client_free(mpi_client *c)
{
    pthread_mutex_destroy(&c->lock);
    free(c->busy);
    free(c->idle);
    free(c);
}

static ps_status client_shutdown(void *impl)
{
    mpi_client *c = impl;
    if (c->scheduler)
        send_empty(c->comm, 1, TAG_SHUTDOWN);
    else
        for (int w = 1; w < c->size; w++)
            send_empty(c->comm, w, TAG_SHUTDOWN);
    pthread_join(c->receiver, NULL);
    MPI_Comm_free(&c->comm);
    client_free(c);
    return PS_OK;
}

static const ps_exec_backend mpi_backend = {"mpi", client_submit, client_shutdown};

/* -------------------------------------------------------------- start */

ps_status ps_executor_mpi(MPI_Comm comm, ps_executor_topology topology,
                          const ps_executor_options *opts, ps_executor **client_out)
{
    if (!client_out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_executor_mpi: NULL client_out");
    *client_out = NULL;
    int init = 0, level = 0, size = 0, rank = 0;
    MPI_Initialized(&init);
    if (!init)
        return ps_error_set(PS_ERR_STATE, "ps_executor_mpi: MPI is not initialised");
    MPI_Query_thread(&level);
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    bool scheduler = topology == PS_EXECUTOR_SCHEDULER;
    if (topology != PS_EXECUTOR_DIRECT && !scheduler)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_executor_mpi: unknown topology %d", (int)topology);
    if (level < MPI_THREAD_MULTIPLE)
        return ps_error_set(PS_ERR_STATE, "ps_executor_mpi: MPI was initialised at thread level %d; "
                            "the executor needs MPI_THREAD_MULTIPLE", level);
    if (size < (scheduler ? 3 : 2))
        return ps_error_set(PS_ERR_STATE, "ps_executor_mpi: %d rank%s; the %s topology needs at "
                            "least %d", size, size == 1 ? "" : "s", scheduler ? "scheduler" : "direct",
                            scheduler ? 3 : 2);
    ps_executor_options defaults;
    if (!opts) {
        ps_executor_options_init(&defaults);
        opts = &defaults;
    }
    MPI_Comm dup;
    MPI_Comm_dup(comm, &dup);
    if (rank != 0) {
        /* This thread is the caller's: its timer slack is restored after. */
        int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
        prctl(PR_SET_TIMERSLACK, NAP_SLACK_NS, 0, 0, 0);
        if (scheduler && rank == 1)
            serve_scheduler(dup, size);
        else
            serve_worker(dup, opts);
        if (slack > 0)
            prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
        MPI_Comm_free(&dup);
        return PS_OK;
    }
    mpi_client *c = ps_calloc(1, sizeof *c);
    if (c) {
        c->busy = ps_calloc((size_t)size, sizeof *c->busy);
        c->idle = ps_calloc((size_t)size, sizeof *c->idle);
    }
    if (!c || !c->busy || !c->idle) {
        /* The workers are waiting: tell them to stop, then report. */
        if (c) {
            free(c->busy);
            free(c->idle);
            free(c);
        }
        ps_status st = PS_ERR_NO_MEMORY;
        for (int w = 1; w < (scheduler ? 2 : size); w++)
            send_empty(dup, w, TAG_SHUTDOWN);
        for (int w = 1; w < (scheduler ? 2 : size); w++) {
            MPI_Status s;
            MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_BYE, dup, &s);
        }
        MPI_Comm_free(&dup);
        return ps_error_set(st, "ps_executor_mpi: out of memory");
    }
    c->comm = dup;
    c->size = size;
    c->scheduler = scheduler;
    pthread_mutex_init(&c->lock, NULL);
    for (int w = size - 1; !scheduler && w >= 1; w--)
        c->idle[c->nidle++] = w;
    c->ex = ps_executor_new(&mpi_backend, c, opts);
    if (!c->ex || pthread_create(&c->receiver, NULL, client_receiver, c) != 0) {
        int peers = scheduler ? 1 : size - 1;
        for (int w = 1; w <= peers; w++)
            send_empty(dup, w, TAG_SHUTDOWN);
        for (int w = 1; w <= peers; w++) {
            MPI_Status s;
            MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_BYE, dup, &s);
        }
        free(c->ex); /* never used: nothing inside to release */
        MPI_Comm_free(&dup);
        client_free(c);
        return ps_error_set(PS_ERR_STATE, "ps_executor_mpi: cannot start the receiver thread");
    }
    *client_out = c->ex;
    return PS_OK;
}

/*
 * executor_core.h — what the executor's backends share (executor.c):
 * registered tasks, a submitted task in transit (a job), what running it
 * produced (an outcome), and the backend interface.
 *
 * A job carries its arguments "on the wire": each one either serialized
 * bytes or a plain proxy descriptor.  The threads backend hands jobs to its
 * threads as they are; the MPI backend packs them into one message
 * (executor_mpi.c).  Either way a worker runs a job with ps_exec_run, and
 * the client finishes the task handle with ps_exec_complete.
 */
#ifndef PS_EXECUTOR_CORE_H
#define PS_EXECUTOR_CORE_H

#include <stdint.h>

#include "proxystore/executor.h"

#define PS_TASK_NAME_MAX 64 /* bytes, including the NUL */

typedef struct ps_task_def {
    char name[PS_TASK_NAME_MAX];
    ps_task_fn fn;
    size_t nargs;
    const ps_type **arg_types;
    const ps_type *result_type;
    void *user;
} ps_task_def;

/* The registered task of that name, or NULL with PS_ERR_NOT_FOUND. */
const ps_task_def *ps_task_lookup(const char *name);

typedef enum ps_wire_kind {
    PS_WIRE_BYTES = 1,  /* serialized bytes: plain data as it is */
    PS_WIRE_DESCRIPTOR, /* a plain proxy descriptor (NUL-terminated text) */
    PS_WIRE_OBJECT,     /* results inside one process: the object itself */
    PS_WIRE_ERROR,      /* results: the task's error message */
} ps_wire_kind;

typedef struct ps_wire_value {
    ps_wire_kind kind;
    size_t count;
    void *data;  /* malloc'd (unless borrowed from a message buffer) */
    size_t len;  /* bytes at data */
} ps_wire_value;

void ps_wire_value_clear(ps_wire_value *v, const ps_type *type);

/* A task on its way to a worker. */
typedef struct ps_exec_job {
    uint64_t id;
    const ps_task_def *def;
    ps_task *task;
    ps_wire_value *args;        /* def->nargs */
    ps_proxy_t **owned_args;    /* the executor's owners of proxied args */
    void *message;              /* MPI: the packed task message */
    size_t message_len;
    struct ps_exec_job *next;   /* backends' queues */
} ps_exec_job;

/* What a task produced: its status and the result or error on the wire. */
typedef struct ps_exec_outcome {
    ps_status status;
    ps_wire_value result; /* PS_WIRE_ERROR: data is the message */
} ps_exec_outcome;

/* Task handles (task.c).  A new handle is pending; finishing it stores
 * the status, message and result (moved from *result) and wakes waiters. */
ps_task *ps_task_new(const ps_task_def *def);
void ps_task_finish(ps_task *t, ps_status status, const char *message, ps_result *result);

/* Whether opts' policy proxies an object of that many serialized bytes. */
bool ps_exec_should_proxy(const ps_executor_options *opts, const ps_type *type,
                          const void *obj, size_t count, size_t bytes);
/* Run job's task on its wire arguments (a worker: thread or rank).  Results
 * at or above the policy go into opts->store as a plain descriptor; others
 * stay as the object (in_process) or are serialized.  Never fails itself: a
 * failure is the outcome. */
void ps_exec_run(const ps_task_def *def, ps_wire_value *args, const ps_executor_options *opts,
                 bool in_process, ps_exec_outcome *out);
/* Serialize obj (count elements of type) into a malloc'd buffer. */
ps_status ps_exec_serialize(const ps_type *type, const void *obj, size_t count, void **out,
                            size_t *len);

/* A backend.  submit takes the job (it ends in ps_exec_complete); shutdown
 * runs once every task is done and frees impl. */
typedef struct ps_exec_backend {
    const char *name;
    ps_status (*submit)(void *impl, ps_exec_job *job);
    ps_status (*shutdown)(void *impl);
} ps_exec_backend;

ps_executor *ps_executor_new(const ps_exec_backend *backend, void *impl,
                             const ps_executor_options *opts);
/* The options an executor runs with (store, policy). */
const ps_executor_options *ps_executor_opts(const ps_executor *ex);
/* Finish job with outcome (consumed): the handle gets its result, the
 * executor's argument owners are released, the job is freed. */
void ps_exec_complete(ps_executor *ex, ps_exec_job *job, ps_exec_outcome *outcome);
/* Free a job that never ran (its owned arguments released). */
void ps_exec_job_free(ps_exec_job *job);

#endif /* PS_EXECUTOR_CORE_H */

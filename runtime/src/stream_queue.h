/*
 * stream_queue.h — the in-process broker of streams, queue://NAME
 * (stream.c, docs/streams.md).
 */
#ifndef PS_STREAM_QUEUE_H
#define PS_STREAM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "proxystore/proxystore.h"

typedef struct sq_topic sq_topic;
typedef struct sq_reader sq_reader;

/* Topic of the queue named queue, made on first use; it lives until exit. */
ps_status sq_topic_open(const char *queue, const char *topic, sq_topic **out);
/* Append n events (descs[i], metas[i] are taken over, and the arrays'
 * entries set to NULL).  Back-pressure: while the topic holds max_len
 * events that some reader has not passed, wait up to timeout_ms for the
 * readers (PS_ERR_TIMEOUT, nothing appended). */
ps_status sq_publish(sq_topic *t, size_t n, char **descs, char **metas, size_t max_len, long timeout_ms);
void sq_end(sq_topic *t);

/* A reader: in a group (shares the group's place: each event goes to one
 * reader of the group) or on its own (sees every event from the first one
 * still held). */
ps_status sq_reader_open(sq_topic *t, const char *group, sq_reader **out);
/* The next event (malloc'd copies), waiting up to timeout_ms (negative: no
 * limit): PS_OK, *end true once the topic ended and every event is passed;
 * PS_ERR_TIMEOUT. */
ps_status sq_next(sq_reader *r, long timeout_ms, char **desc, char **meta, bool *end);
void sq_reader_close(sq_reader *r);

#endif /* PS_STREAM_QUEUE_H */

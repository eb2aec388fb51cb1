/*
 * strpool.h — a thread-safe string intern pool.
 *
 * File names in findings point into one pool for the whole run, so
 * findings made by different worker threads compare file names by pointer
 * and outlive the translation units (and sinks) that produced them.
 */
#ifndef PS_CHECK_STRPOOL_H
#define PS_CHECK_STRPOOL_H

#include <stddef.h>

typedef struct ps_strpool ps_strpool;

ps_strpool *ps_strpool_new(void);
void ps_strpool_free(ps_strpool *pool);
/* The pool's copy of s (the same pointer for equal strings), or NULL when out of memory. */
const char *ps_strpool_intern(ps_strpool *pool, const char *s);

#endif /* PS_CHECK_STRPOOL_H */

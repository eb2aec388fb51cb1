/*
 * error.h — the runtime's one way to report an error.
 *
 * A failing function records a code and a message for the calling thread
 * with ps_error_set (or ps_error_errno, which appends strerror(errno)) and
 * returns the code it gets back:
 *
 *     if (fd < 0)
 *         return ps_error_errno(PS_ERR_IO, "open %s", path);
 *
 * Callers read it with ps_last_error_code()/ps_last_error_message().
 */
#ifndef PS_ERROR_H
#define PS_ERROR_H

#include <stdbool.h>

#include "proxystore/proxystore.h"

ps_status ps_error_set(ps_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
ps_status ps_error_errno(ps_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with context ("put key: <old message>"),
 * keeping the code; returns the code. */
ps_status ps_error_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_error_clear(void);
/* Whether an error was recorded on this thread since ps_error_mark() gave
 * mark: how a caller of a user's hook tells an error the library reported
 * inside the hook from a bare failing return, without clearing the error
 * the caller's own caller may still read. */
unsigned long ps_error_mark(void);
bool ps_error_since(unsigned long mark);

/* An error kept across cleanup calls that may record their own. */
typedef struct ps_saved_error {
    ps_status code;
    char message[512];
} ps_saved_error;
void ps_error_save(ps_saved_error *saved);
ps_status ps_error_restore(const ps_saved_error *saved);

/* Allocation helpers that record PS_ERR_NO_MEMORY on failure. */
void *ps_malloc(size_t size);
void *ps_calloc(size_t n, size_t size);
char *ps_strdup(const char *s);

#endif /* PS_ERROR_H */

/* error.c — per-thread last error (see error.h). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_ERROR_MSG_MAX 512

static _Thread_local ps_status last_code = PS_OK;
static _Thread_local char last_message[PS_ERROR_MSG_MAX];
static _Thread_local unsigned long recorded; /* errors recorded so far */
_Static_assert(sizeof(((ps_saved_error *)0)->message) == PS_ERROR_MSG_MAX, "saved errors hold a whole message");

/* Formatted into a scratch buffer first: an argument may be the current
 * message itself (re-reporting an error under another code). */
static void set_message(const char *fmt, va_list ap)
{
    char scratch[PS_ERROR_MSG_MAX];
    vsnprintf(scratch, sizeof scratch, fmt, ap);
    memcpy(last_message, scratch, sizeof last_message);
}

ps_status ps_error_set(ps_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    last_code = code;
    recorded++;
    return code;
}

ps_status ps_error_errno(ps_status code, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    size_t used = strlen(last_message);
    snprintf(last_message + used, sizeof last_message - used, ": %s", strerror(saved));
    last_code = code;
    recorded++;
    errno = saved;
    return code;
}

ps_status ps_error_wrap(const char *fmt, ...)
{
    char old[PS_ERROR_MSG_MAX];
    memcpy(old, last_message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    size_t used = strlen(last_message);
    snprintf(last_message + used, sizeof last_message - used, ": %s", old);
    return last_code;
}

void ps_error_clear(void)
{
    last_code = PS_OK;
    last_message[0] = '\0';
}

unsigned long ps_error_mark(void) { return recorded; }

bool ps_error_since(unsigned long mark) { return recorded != mark; }

void ps_error_save(ps_saved_error *saved)
{
    saved->code = last_code;
    memcpy(saved->message, last_message, sizeof saved->message);
}

ps_status ps_error_restore(const ps_saved_error *saved)
{
    last_code = saved->code;
    memcpy(last_message, saved->message, sizeof last_message);
    return last_code;
}

ps_status ps_last_error_code(void) { return last_code; }

const char *ps_last_error_message(void)
{
    return last_code == PS_OK && last_message[0] == '\0' ? "no error" : last_message;
}

const char *ps_status_name(ps_status status)
{
    switch (status) {
    case PS_OK: return "PS_OK";
    case PS_ERR_INVALID_ARGUMENT: return "PS_ERR_INVALID_ARGUMENT";
    case PS_ERR_NO_MEMORY: return "PS_ERR_NO_MEMORY";
    case PS_ERR_BAD_URL: return "PS_ERR_BAD_URL";
    case PS_ERR_NOT_FOUND: return "PS_ERR_NOT_FOUND";
    case PS_ERR_EXISTS: return "PS_ERR_EXISTS";
    case PS_ERR_BAD_DESCRIPTOR: return "PS_ERR_BAD_DESCRIPTOR";
    case PS_ERR_BAD_DATA: return "PS_ERR_BAD_DATA";
    case PS_ERR_TYPE_MISMATCH: return "PS_ERR_TYPE_MISMATCH";
    case PS_ERR_IO: return "PS_ERR_IO";
    case PS_ERR_CONNECTION: return "PS_ERR_CONNECTION";
    case PS_ERR_SERVER: return "PS_ERR_SERVER";
    case PS_ERR_SERIALIZE: return "PS_ERR_SERIALIZE";
    case PS_ERR_CLOSED: return "PS_ERR_CLOSED";
    case PS_ERR_TIMEOUT: return "PS_ERR_TIMEOUT";
    case PS_ERR_STATE: return "PS_ERR_STATE";
    }
    return "PS_ERR_UNKNOWN";
}

void *ps_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
    return p;
}

void *ps_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

char *ps_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory copying a string");
    return p;
}

/*
 * executor_tasks.c — the executor tests' tasks (executor_tasks.h).
 */
#include "executor_tasks.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ps_status text_serialize(const void *obj, ps_buffer *out)
{
    const ps_test_text *t = obj;
    return ps_buffer_append(out, t->chars, strlen(t->chars) + 1);
}

static ps_status text_deserialize(const void *bytes, size_t len, void **obj_out)
{
    if (len == 0 || ((const char *)bytes)[len - 1] != '\0')
        return PS_ERR_SERIALIZE;
    ps_test_text *t = malloc(sizeof *t);
    char *chars = malloc(len);
    if (!t || !chars) {
        free(t);
        free(chars);
        return PS_ERR_NO_MEMORY;
    }
    memcpy(chars, bytes, len);
    t->chars = chars;
    *obj_out = t;
    return PS_OK;
}

static void text_free(void *obj)
{
    ps_test_text *t = obj;
    free(t->chars);
    free(t);
}

const ps_type ps_test_text_type = {"struct ps_test_text", sizeof(ps_test_text), _Alignof(ps_test_text),
                                   0, text_serialize, text_deserialize, text_free};

unsigned char *ps_test_pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

static ps_status echo(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    out->data = malloc(args[0].count ? args[0].count : 1);
    if (!out->data)
        return ps_task_error(PS_ERR_NO_MEMORY, "echo: out of memory");
    memcpy(out->data, args[0].data, args[0].count);
    out->count = args[0].count;
    return PS_OK;
}

static ps_status reverse(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    ps_status st = echo(args, nargs, out, user);
    unsigned char *p = out->data;
    for (size_t i = 0, j = out->count; st == PS_OK && i + 1 < j; i++, j--) {
        unsigned char c = p[i];
        p[i] = p[j - 1];
        p[j - 1] = c;
    }
    return st;
}

static ps_status concat(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    size_t n = args[0].count + args[1].count;
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        return ps_task_error(PS_ERR_NO_MEMORY, "concat: out of memory");
    memcpy(p, args[0].data, args[0].count);
    memcpy(p + args[0].count, args[1].data, args[1].count);
    out->data = p;
    out->count = n;
    return PS_OK;
}

static ps_status sum(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const double *v = args[0].data;
    double *s = malloc(sizeof *s);
    if (!s)
        return ps_task_error(PS_ERR_NO_MEMORY, "sum: out of memory");
    *s = 0;
    for (size_t i = 0; i < args[0].count; i++)
        *s += v[i];
    out->data = s;
    out->count = 1;
    return PS_OK;
}

static ps_status shout(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    const ps_test_text *in = args[0].data;
    ps_test_text *t = malloc(sizeof *t);
    char *chars = t ? strdup(in->chars) : NULL;
    if (!chars) {
        free(t);
        return ps_task_error(PS_ERR_NO_MEMORY, "shout: out of memory");
    }
    for (char *c = chars; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    t->chars = chars;
    out->data = t;
    out->count = 1;
    return PS_OK;
}

static ps_status fail(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)out, (void)user;
    return ps_task_error(PS_ERR_SERVER, "asked to fail with %d", *(const int32_t *)args[0].data);
}

static ps_status sleep_ms(const ps_value args[], size_t nargs, ps_result *out, void *user)
{
    (void)nargs, (void)user;
    int32_t ms = *(const int32_t *)args[0].data;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    int32_t *r = malloc(sizeof *r);
    if (!r)
        return ps_task_error(PS_ERR_NO_MEMORY, "sleep: out of memory");
    *r = ms;
    out->data = r;
    out->count = 1;
    return PS_OK;
}

void ps_test_register_tasks(void)
{
    const ps_type *bytes1[] = {&ps_type_bytes};
    const ps_type *bytes2[] = {&ps_type_bytes, &ps_type_bytes};
    const ps_type *doubles[] = {&ps_type_double};
    const ps_type *text[] = {&ps_test_text_type};
    const ps_type *int32[] = {&ps_type_int32};
    ps_task_register("echo", echo, 1, bytes1, &ps_type_bytes, NULL);
    ps_task_register("reverse", reverse, 1, bytes1, &ps_type_bytes, NULL);
    ps_task_register("concat", concat, 2, bytes2, &ps_type_bytes, NULL);
    ps_task_register("sum", sum, 1, doubles, &ps_type_double, NULL);
    ps_task_register("shout", shout, 1, text, &ps_test_text_type, NULL);
    ps_task_register("fail", fail, 1, int32, &ps_type_int32, NULL);
    ps_task_register("sleep", sleep_ms, 1, int32, &ps_type_int32, NULL);
}

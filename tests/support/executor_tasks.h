/*
 * executor_tasks.h — the tasks the executor tests run, on threads and on
 * MPI ranks (the same registration on every rank), and the patterned bytes
 * they check results against.
 */
#ifndef PS_TEST_EXECUTOR_TASKS_H
#define PS_TEST_EXECUTOR_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include <proxystore/executor.h>

/* A custom type with a pointer inside: serialized by hooks. */
typedef struct ps_test_text {
    char *chars;
} ps_test_text;
PS_TYPE_DECLARE(ps_test_text_type, struct ps_test_text);

/* Registers, on the calling process:
 *   "echo"    (bytes)            -> bytes, the same bytes
 *   "reverse" (bytes)            -> bytes, reversed
 *   "concat"  (bytes, bytes)     -> bytes, the two joined
 *   "sum"     (double)           -> double, one element: the sum
 *   "shout"   (ps_test_text)     -> ps_test_text, upper-cased
 *   "fail"    (int32)            -> int32, fails with PS_ERR_SERVER and
 *                                   "asked to fail with N"
 *   "sleep"   (int32 ms)         -> int32, the same value after ms */
void ps_test_register_tasks(void);

/* n bytes of a pattern that depends on seed (malloc'd). */
unsigned char *ps_test_pattern(size_t n, unsigned seed);

#endif /* PS_TEST_EXECUTOR_TASKS_H */

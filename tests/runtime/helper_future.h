/*
 * helper_future.h — what future_suite.c and the program it runs
 * (helper_future) agree on: the value's pattern and the exit codes.
 *
 *   helper_future wait DESCRIPTOR TIMEOUT_MS SEED COUNT
 *       deserialize a future's proxy, ps_proxy_wait for it, check the
 *       int64 pattern; prints "ok" or "failed CODE MESSAGE" / "timeout".
 *   helper_future set STORE URL KEY SEED COUNT
 *   helper_future fail STORE URL KEY MESSAGE
 *       create a producer handle for KEY and set (or fail) it; prints
 *       "set", "fail" or "refused CODE MESSAGE", then keeps the store open
 *       until its stdin ends (a shm store's objects go with their producer).
 */
#ifndef PS_TEST_HELPER_FUTURE_H
#define PS_TEST_HELPER_FUTURE_H

#include <stddef.h>
#include <stdint.h>

enum {
    HF_EXIT_OK = 0,
    HF_EXIT_MISMATCH = 1,
    HF_EXIT_ERROR = 2,   /* usage, descriptor, store */
    HF_EXIT_REFUSED = 3, /* a set or fail refused (the future was set) */
    HF_EXIT_FAILED = 4,  /* the producer set a failure */
    HF_EXIT_TIMEOUT = 5,
};

static inline int64_t hf_value(uint64_t seed, size_t i)
{
    return (int64_t)(seed * 1000003u) + (int64_t)i;
}

#endif /* PS_TEST_HELPER_FUTURE_H */

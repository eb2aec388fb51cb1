/*
 * reject_cases.h — tables of inputs a parser must refuse (a configuration,
 * a baseline, a compile database, a command line), each with a piece of
 * the message it must give, so a test lists its cases and one loop checks
 * them all.
 */
#ifndef PS_TEST_REJECT_CASES_H
#define PS_TEST_REJECT_CASES_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

typedef struct reject_case {
    const char *input;
    const char *message; /* must appear in the error */
} reject_case;

/* Gives one input to the parser under test: -1 with a message in err when
 * it was refused, 0 when accepted.  It may check more on its own (what a
 * refusal leaves behind); arg is the test's. */
typedef int (*reject_attempt_fn)(const char *input, char *err, size_t errlen, void *arg);

static inline void expect_rejected(const reject_case *cases, size_t n, reject_attempt_fn attempt,
                                   void *arg)
{
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        cr_assert_eq(attempt(cases[i].input, err, sizeof err, arg), -1, "case %zu accepted: %s", i,
                     cases[i].input);
        cr_assert(strstr(err, cases[i].message), "case %zu: '%s' lacks '%s'", i, err,
                  cases[i].message);
    }
}

#define EXPECT_REJECTED(cases, attempt, arg)                                                       \
    expect_rejected((cases), sizeof(cases) / sizeof *(cases), (attempt), (arg))

#endif /* PS_TEST_REJECT_CASES_H */

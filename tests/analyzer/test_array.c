/*
 * test_array.c — ps_array_reserve, the one way the checker's lists grow.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

Test(array, grows_by_doubling_and_keeps_contents)
{
    size_t cap = 0;
    int *v = ps_array_reserve(NULL, &cap, 1, sizeof *v);
    cr_assert_not_null(v);
    cr_assert_eq(cap, 8, "the first block");
    for (int i = 0; i < 8; i++)
        v[i] = i * 3;
    cr_assert_eq(ps_array_reserve(v, &cap, 8, sizeof *v), v, "room enough: the same array");
    cr_assert_eq(cap, 8);
    v = ps_array_reserve(v, &cap, 9, sizeof *v);
    cr_assert_not_null(v);
    cr_assert_eq(cap, 16);
    v = ps_array_reserve(v, &cap, 100, sizeof *v);
    cr_assert_eq(cap, 128, "doubled as often as needed");
    for (int i = 0; i < 8; i++)
        cr_assert_eq(v[i], i * 3);
    free(v);
}

Test(array, impossible_sizes_fail_and_leave_the_array_alone)
{
    size_t cap = 0;
    double *v = ps_array_reserve(NULL, &cap, 4, sizeof *v);
    cr_assert_not_null(v);
    v[0] = 2.5;
    cr_assert_null(ps_array_reserve(v, &cap, SIZE_MAX / 4, sizeof *v), "more bytes than exist");
    cr_assert_null(ps_array_reserve(v, &cap, SIZE_MAX, 1), "a count that cannot double");
    cr_assert_eq(cap, 8);
    cr_assert_eq(v[0], 2.5);
    free(v);
}

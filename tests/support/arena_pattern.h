/* arena_pattern.h — the bytes of a test object, by seed, for the arena
 * tests and the reader program they exec (helper_arena.c). */
#ifndef PS_TEST_ARENA_PATTERN_H
#define PS_TEST_ARENA_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline unsigned char ps_pattern_byte(uint32_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
    return (unsigned char)*x;
}

static inline void ps_pattern_fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++)
        p[i] = ps_pattern_byte(&x);
}

static inline bool ps_pattern_check(const unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++)
        if (p[i] != ps_pattern_byte(&x))
            return false;
    return true;
}

#endif /* PS_TEST_ARENA_PATTERN_H */

/*
 * array.c — see array.h.  Doubling keeps appends amortized O(1); the first
 * block holds 8 elements, which most lists of one translation unit never
 * outgrow.
 */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

void *ps_array_reserve(void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return items;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (size && ncap > SIZE_MAX / size)
        return NULL;
    void *grown = realloc(items, ncap * size);
    if (!grown)
        return NULL;
    *cap = ncap;
    return grown;
}

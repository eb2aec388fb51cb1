/*
 * array.h — growing arrays.  The lists that can get long (jobs, a
 * translation unit's files and findings, the run's findings, directory
 * entries, parameters) double their room through this one function
 * rather than each doing its own arithmetic.
 */
#ifndef PS_CHECK_ARRAY_H
#define PS_CHECK_ARRAY_H

#include <stddef.h>

/*
 * Makes room for at least need elements of size bytes in items, an array
 * with room for *cap of them.  Returns items itself when it is big enough,
 * else the array moved to a block twice as large (or larger), with *cap
 * updated.  Returns NULL when out of memory, leaving items and *cap as they
 * were (items is still the caller's to free).  need must be at least 1.
 */
void *ps_array_reserve(void *items, size_t *cap, size_t need, size_t size);

#endif /* PS_CHECK_ARRAY_H */

/* hash_avx512.c — XXH3-64 compiled for AVX-512 (built with -mavx512f on
 * x86-64 only; called only after the CPU is known to have AVX-512F, see
 * hash.c).  XXH_INLINE_ALL keeps this copy private to this file. */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX512
#include <xxhash.h>

#include <stdint.h>

uint64_t ps_payload_hash_avx512(const void *data, size_t len);

uint64_t ps_payload_hash_avx512(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

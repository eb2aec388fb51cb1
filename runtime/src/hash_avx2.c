/* hash_avx2.c — XXH3-64 compiled for AVX2 (built with -mavx2 on x86-64
 * only; called only after the CPU is known to have AVX2, see hash.c).
 * XXH_INLINE_ALL keeps these copies private to this file, apart from the
 * shared library's. */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

#include <stdint.h>

uint64_t ps_payload_hash_avx2(const void *data, size_t len);

uint64_t ps_payload_hash_avx2(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

/* hash.c — XXH3-64 of payloads, AVX2 when the CPU has it (see hash.h). */
#include "hash.h"

#include <string.h>

#include <xxhash.h>

#ifdef PS_HAVE_AVX2_HASH
uint64_t ps_payload_hash_avx2(const void *data, size_t len); /* hash_avx2.c */
uint64_t ps_payload_copy_hash_avx2(void *dst, const void *src, size_t len);

/* Below this the vector setup costs more than it saves. */
#define AVX2_MIN_LEN 1024

uint64_t ps_payload_hash(const void *data, size_t len)
{
    /* __builtin_cpu_supports reads a table filled before main: cheap. */
    if (len >= AVX2_MIN_LEN && __builtin_cpu_supports("avx2"))
        return ps_payload_hash_avx2(data, len);
    return XXH3_64bits(data, len);
}

uint64_t ps_payload_copy_hash(void *dst, const void *src, size_t len)
{
    if (len >= AVX2_MIN_LEN && __builtin_cpu_supports("avx2"))
        return ps_payload_copy_hash_avx2(dst, src, len);
    memcpy(dst, src, len);
    return XXH3_64bits(dst, len);
}
#else
uint64_t ps_payload_hash(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

uint64_t ps_payload_copy_hash(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
    return XXH3_64bits(dst, len);
}
#endif

/* hash_avx2.c — XXH3-64 compiled for AVX2 (built with -mavx2 on x86-64
 * only; called only after the CPU is known to have AVX2, see hash.c).
 * XXH_INLINE_ALL keeps these copies private to this file, apart from the
 * shared library's. */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

uint64_t ps_payload_hash_avx2(const void *data, size_t len);
uint64_t ps_payload_copy_hash_avx2(void *dst, const void *src, size_t len);

uint64_t ps_payload_hash_avx2(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

/* Half a stripe of the source.  A source that is not 32-byte aligned is
 * loaded as 16-byte halves: a 32-byte load across a cache line costs more
 * than two loads, and with the destination 16 to 48 bytes ahead in the page
 * (malloc'd blocks start 16 bytes into a page, the arena's objects on
 * 64-byte boundaries) such loads made a copy and hash of 1 MiB 1.45x a
 * memcpy, against 1.10x with halves. */
static inline __m256i load_half_stripe(const unsigned char *src, int i, int split)
{
    if (split)
        return _mm256_loadu2_m128i((const __m128i *)(src + 32 * i + 16), (const __m128i *)(src + 32 * i));
    return _mm256_loadu_si256((const __m256i *)src + i);
}

/* XXH3_accumulate_512_avx2 of one 64-byte stripe, which also stores the
 * stripe at dst: the bytes are loaded once for both. */
static inline void copy_stripe(__m256i acc[2], unsigned char *dst, const unsigned char *src,
                               const unsigned char *secret, int split)
{
    for (int i = 0; i < 2; i++) {
        __m256i data = load_half_stripe(src, i, split);
        _mm256_storeu_si256((__m256i *)dst + i, data);
        __m256i key = _mm256_xor_si256(data, _mm256_loadu_si256((const __m256i *)secret + i));
        __m256i product = _mm256_mul_epu32(key, _mm256_shuffle_epi32(key, _MM_SHUFFLE(0, 3, 0, 1)));
        __m256i sum = _mm256_add_epi64(acc[i], _mm256_shuffle_epi32(data, _MM_SHUFFLE(1, 0, 3, 2)));
        acc[i] = _mm256_add_epi64(product, sum);
    }
}

/* The full 1 KiB blocks of XXH3's long loop, each followed by its scramble;
 * split is a constant at each call, so each copy of the loop has one load
 * width. */
static inline void copy_blocks(__m256i acc[2], unsigned char **d, const unsigned char **s, size_t nblocks,
                               int split)
{
    const unsigned char *secret = XXH3_kSecret;
    const size_t stripes_per_block = (sizeof XXH3_kSecret - XXH_STRIPE_LEN) / XXH_SECRET_CONSUME_RATE;
    const size_t block_len = XXH_STRIPE_LEN * stripes_per_block;
    for (size_t n = 0; n < nblocks; n++) {
        for (size_t k = 0; k < stripes_per_block; k++)
            copy_stripe(acc, *d + k * XXH_STRIPE_LEN, *s + k * XXH_STRIPE_LEN, secret + k * XXH_SECRET_CONSUME_RATE,
                        split);
        XXH3_scrambleAcc_avx2(acc, secret + sizeof XXH3_kSecret - XXH_STRIPE_LEN);
        *d += block_len;
        *s += block_len;
    }
}

/*
 * Copy len bytes and return XXH3_64bits of them, in one pass: XXH3's long
 * loop (xxhash.h, XXH3_hashLong_internal_loop with the default secret)
 * with a store beside each load.  Short inputs take XXH3's own paths after
 * a plain copy.
 */
uint64_t ps_payload_copy_hash_avx2(void *dst, const void *src, size_t len)
{
    if (len <= XXH3_MIDSIZE_MAX) {
        memcpy(dst, src, len);
        return XXH3_64bits(src, len);
    }
    const unsigned char *s = src, *secret = XXH3_kSecret;
    unsigned char *d = dst;
    const size_t secret_size = sizeof XXH3_kSecret;
    const size_t stripes_per_block = (secret_size - XXH_STRIPE_LEN) / XXH_SECRET_CONSUME_RATE;
    const size_t block_len = XXH_STRIPE_LEN * stripes_per_block;
    const size_t nblocks = (len - 1) / block_len;
    const int split = ((uintptr_t)s & 31) != 0;
    XXH_ALIGN(64) xxh_u64 init[XXH_ACC_NB] = XXH3_INIT_ACC;
    __m256i acc[2] = {_mm256_load_si256((const __m256i *)init), _mm256_load_si256((const __m256i *)init + 1)};
    if (split)
        copy_blocks(acc, &d, &s, nblocks, 1);
    else
        copy_blocks(acc, &d, &s, nblocks, 0);
    size_t rest = len - nblocks * block_len;
    size_t stripes = (rest - 1) / XXH_STRIPE_LEN;
    for (size_t k = 0; k < stripes; k++)
        copy_stripe(acc, d + k * XXH_STRIPE_LEN, s + k * XXH_STRIPE_LEN, secret + k * XXH_SECRET_CONSUME_RATE, split);
    size_t done = stripes * XXH_STRIPE_LEN;
    memcpy(d + done, s + done, rest - done);
    /* The last stripe ends at the last byte (it overlaps the ones before). */
    XXH3_accumulate_512_avx2(acc, s + rest - XXH_STRIPE_LEN,
                             secret + secret_size - XXH_STRIPE_LEN - XXH_SECRET_LASTACC_START);
    XXH_ALIGN(64) xxh_u64 out[XXH_ACC_NB];
    _mm256_store_si256((__m256i *)out, acc[0]);
    _mm256_store_si256((__m256i *)out + 1, acc[1]);
    return XXH3_mergeAccs(out, secret + XXH_SECRET_MERGEACCS_START, (xxh_u64)len * XXH_PRIME64_1);
}

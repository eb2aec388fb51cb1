/* The payload hash equals libxxhash's XXH3-64 at every length, whichever
 * implementation (SSE2, AVX2 or AVX-512) the CPU selects, so headers
 * written on one machine verify on another. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "hash.h"

#if defined(__x86_64__) && !defined(PS_HAVE_AVX2_HASH)
uint64_t ps_payload_hash_avx2(const void *data, size_t len);
uint64_t ps_payload_hash_avx512(const void *data, size_t len);
#endif

static unsigned char *pattern(size_t len)
{
    unsigned char *buf = malloc(len ? len : 1);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 131u + (i >> 7));
    return buf;
}

Test(hash, equals_xxh3_at_every_small_length)
{
    unsigned char *buf = pattern(4096);
    for (size_t len = 0; len <= 4096; len++)
        cr_assert_eq(ps_payload_hash(buf, len), XXH3_64bits(buf, len), "length %zu", len);
    free(buf);
}

Test(hash, equals_xxh3_on_large_and_unaligned_input)
{
    size_t sizes[] = {65536, 1u << 20, (1u << 20) + 13, 8u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *buf = pattern(sizes[i] + 1);
        cr_assert_eq(ps_payload_hash(buf, sizes[i]), XXH3_64bits(buf, sizes[i]), "size %zu", sizes[i]);
        cr_assert_eq(ps_payload_hash(buf + 1, sizes[i]), XXH3_64bits(buf + 1, sizes[i]),
                     "size %zu at an odd address", sizes[i]);
        free(buf);
    }
}

#if defined(__x86_64__)
/* Each vector build on its own, as far as this CPU runs it: ps_payload_hash
 * takes only the widest one the CPU has. */
Test(hash, each_vector_build_equals_xxh3)
{
    struct {
        const char *feature;
        uint64_t (*hash)(const void *, size_t);
    } builds[] = {{"avx2", ps_payload_hash_avx2}, {"avx512f", ps_payload_hash_avx512}};
    unsigned char *buf = pattern((1u << 20) + 64);
    const size_t sizes[] = {0, 1, 16, 17, 128, 129, 240, 241, 1023, 1024, 1025, 4096, 65536 + 7, 1u << 20};
    int tried = 0;
    for (size_t b = 0; b < sizeof builds / sizeof *builds; b++) {
        bool have = strcmp(builds[b].feature, "avx2") == 0 ? __builtin_cpu_supports("avx2")
                                                            : __builtin_cpu_supports("avx512f");
        if (!have)
            continue;
        tried++;
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (size_t off = 0; off < 64; off += 17)
                cr_assert_eq(builds[b].hash(buf + off, sizes[i]), XXH3_64bits(buf + off, sizes[i]),
                             "%s: size %zu offset %zu", builds[b].feature, sizes[i], off);
    }
    if (!tried)
        cr_log_warn("this CPU has neither AVX2 nor AVX-512F: only the baseline build ran");
    free(buf);
}
#endif

/* The copying form: the same hash, and the bytes copied whole (none past
 * the end), at every length around XXH3's block and stripe edges, from
 * sources 32-byte aligned (one 32-byte load per half stripe), 16-byte
 * aligned and odd (16-byte halves), to an odd and an aligned destination. */
Test(hash, copy_hash_copies_and_equals_xxh3)
{
    enum { MAX = 4096 + 300, ROOM = (MAX + 64 + 63) / 64 * 64 }; /* aligned_alloc wants a multiple */
    unsigned char *src = aligned_alloc(64, ROOM), *dst = malloc(MAX + 2);
    cr_assert_not_null(src);
    cr_assert_not_null(dst);
    for (size_t i = 0; i < ROOM; i++)
        src[i] = (unsigned char)(i * 131u + (i >> 7));
    const size_t offs[] = {0, 1, 16, 32};
    for (size_t len = 0; len <= MAX; len++) {
        for (size_t o = 0; o < sizeof offs / sizeof *offs; o++) {
            size_t off = offs[o], d = o & 1;
            memset(dst, 0xA5, MAX + 2);
            uint64_t h = ps_payload_copy_hash(dst + d, src + off, len);
            cr_assert_eq(h, XXH3_64bits(src + off, len), "length %zu offset %zu", len, off);
            cr_assert(memcmp(dst + d, src + off, len) == 0, "length %zu offset %zu: bytes differ", len, off);
            cr_assert_eq(dst[d + len], 0xA5, "length %zu: wrote past the end", len);
        }
    }
    size_t sizes[] = {65536, (1u << 20) + 13, 8u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *big = pattern(sizes[i]), *copy = malloc(sizes[i]);
        cr_assert_not_null(copy);
        cr_assert_eq(ps_payload_copy_hash(copy, big, sizes[i]), XXH3_64bits(big, sizes[i]), "size %zu", sizes[i]);
        cr_assert(memcmp(copy, big, sizes[i]) == 0, "size %zu: bytes differ", sizes[i]);
        free(big);
        free(copy);
    }
    free(src);
    free(dst);
}

Test(hash, depends_on_every_byte)
{
    unsigned char *buf = pattern(1u << 16);
    uint64_t before = ps_payload_hash(buf, 1u << 16);
    buf[40000] ^= 1;
    cr_assert_neq(ps_payload_hash(buf, 1u << 16), before);
    free(buf);
}

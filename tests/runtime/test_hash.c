/* The payload hash equals libxxhash's XXH3-64 at every length, whichever
 * implementation (SSE2 or AVX2) the CPU selects, so headers written on one
 * machine verify on another. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "hash.h"

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

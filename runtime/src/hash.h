/*
 * hash.h — the payload hash stored in every object header (XXH3-64).
 *
 * Every put hashes its whole payload, so on large objects the hash costs as
 * much as the copy.  Debian's libxxhash is built for the x86-64 baseline
 * (SSE2); where the CPU has AVX2 the same function, compiled for AVX2, runs
 * about three times faster on cached data.  XXH3's result does not depend
 * on the vector width, so both give the same value everywhere.
 */
#ifndef PS_HASH_H
#define PS_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t ps_payload_hash(const void *data, size_t len);

/* Copy len bytes from src to dst (not overlapping) and return their
 * ps_payload_hash.  With AVX2 the copy rides on the hash's pass over the
 * bytes (each is loaded once), so both cost about what either costs alone;
 * connectors that copy a payload themselves use it (shm's arena, under
 * the store's put_hashing). */
uint64_t ps_payload_copy_hash(void *dst, const void *src, size_t len);

#endif /* PS_HASH_H */

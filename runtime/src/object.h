/*
 * object.h — what the store writes under a key: a fixed 64-byte header, then
 * the payload.
 *
 * The header is 64 bytes so that a payload read into (or mapped at) a
 * 64-byte-aligned address is itself 64-byte aligned, and it is written as the
 * first part of a two-part gather list so a plain-data payload is never
 * copied into a joined buffer.  Fields are little-endian:
 *
 *   off size field
 *     0    4 magic "PSOB"
 *     4    2 format version (1)
 *     6    2 header size (64)
 *     8    4 flags: PS_OBJECT_POD or PS_OBJECT_CUSTOM
 *    12    4 element size (sizeof(T))
 *    16    8 element count (1 for custom types)
 *    24    8 payload length in bytes
 *    32    8 XXH3-64 of the normalized type name
 *    40    8 XXH3-64 of the payload
 *    48    8 type name, truncated, NUL-padded (for messages only)
 *    56    8 expiry: Unix time in milliseconds after which the object
 *              reads as missing; 0 for none (leases, borrow records)
 *
 * Version 1 headers (still read) had a 16-byte name at 48 and no expiry.
 * The expiry sits at a fixed offset so a connector can change it in place
 * (shm, file) without rewriting the object.
 * A type matches a stored object when its normalized name hashes to the
 * stored name hash and its element size and kind (POD or custom) agree.
 */
#ifndef PS_OBJECT_H
#define PS_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxystore/proxystore.h"

#define PS_OBJECT_HEADER_SIZE 64
#define PS_OBJECT_VERSION 2
#define PS_OBJECT_NAME_BYTES 16 /* the most any version holds */
#define PS_OBJECT_NAME_BYTES_V2 8
#define PS_OBJECT_EXPIRY_OFFSET 56
#define PS_OBJECT_HASH_OFFSET 40
/* Normalized type names are at most this long (bytes, without the NUL). */
#define PS_TYPE_NAME_MAX 255

enum {
    PS_OBJECT_POD = 1u << 0,
    PS_OBJECT_CUSTOM = 1u << 1,
};

/* The decoded header of one stored object. */
typedef struct ps_object_info {
    uint32_t flags;          /* PS_OBJECT_POD or PS_OBJECT_CUSTOM */
    size_t elem_size;
    size_t count;
    size_t payload_len;
    uint64_t type_hash;
    uint64_t payload_hash;
    char type_name[PS_OBJECT_NAME_BYTES + 1]; /* possibly truncated */
    bool name_cut;           /* type_name is a truncated prefix */
    uint64_t expires_ms;     /* Unix ms; 0: never */
} ps_object_info;

/* Unix time in milliseconds (the clock expiries are written in). */
uint64_t ps_unix_ms(void);
/* The expiry recorded in the header at data (len bytes of a stored object,
 * or at least its header): 0 for none, for a version 1 header, or for bytes
 * too short to hold a header. */
uint64_t ps_object_expiry(const void *data, size_t len);
/* Whether that expiry has passed. */
bool ps_object_expired(const void *data, size_t len);
/* The expiry field's 8 bytes as written at PS_OBJECT_EXPIRY_OFFSET. */
void ps_object_expiry_encode(uint64_t expires_ms, unsigned char out[8]);
/* Fill in the payload hash of an encoded header (for a writer that hashes
 * while it sends, connector.h's put_hashing). */
void ps_object_hash_set(unsigned char header[PS_OBJECT_HEADER_SIZE], uint64_t payload_hash);


/* Check a descriptor before use: a name, a size, hooks that fit its kind. */
ps_status ps_type_validate(const ps_type *type);

/* Collapse whitespace so "struct  matrix" == "struct matrix" and
 * "double *" == "double*"; out holds PS_TYPE_NAME_MAX + 1 bytes.
 * PS_ERR_INVALID_ARGUMENT for an empty or over-long name. */
ps_status ps_type_name_normalize(const char *name, char out[PS_TYPE_NAME_MAX + 1]);
/* Hash of the normalized name (0 if the name cannot be normalized). */
uint64_t ps_type_name_hash(const char *name);
/* Same type name after normalization. */
bool ps_type_names_equal(const char *a, const char *b);

/* The header facts of count objects of type whose payload is payload_len
 * bytes with the given hash. */
void ps_object_info_init(ps_object_info *info, const ps_type *type, size_t count,
                         size_t payload_len, uint64_t payload_hash);
void ps_object_header_encode(const ps_object_info *info, unsigned char out[PS_OBJECT_HEADER_SIZE]);
/* Decode and validate the header of the len bytes at data (a whole stored
 * object).  Bad magic, a newer version, inconsistent lengths or truncated
 * data: PS_ERR_BAD_DATA naming key. */
ps_status ps_object_header_decode(const void *data, size_t len, const char *key, ps_object_info *out);
/* PS_ERR_TYPE_MISMATCH unless the stored object is a type (name, element
 * size, kind).  A NULL type accepts any plain-data object as raw bytes. */
ps_status ps_object_check_type(const ps_object_info *info, const ps_type *type, const char *key);

/* Run a custom type's hooks.  Every caller reports a failing hook the same
 * way, and the status returned is the code recorded: an error the library
 * recorded inside the hook (ps_buffer_append out of memory, say) is kept with
 * context added; a hook that fails without one gives PS_ERR_SERIALIZE naming
 * the status it returned; a deserialize that succeeds without an object is
 * PS_ERR_SERIALIZE too.  ps_type_serialize appends to out. */
ps_status ps_type_serialize(const ps_type *type, const void *obj, ps_buffer *out);
ps_status ps_type_deserialize(const ps_type *type, const char *key, const void *bytes, size_t len,
                              void **obj_out);

/* Both checks a reader makes before touching a stored object's payload:
 * ps_object_header_decode, then ps_object_check_type. */
ps_status ps_object_read_header(const void *data, size_t len, const char *key, const ps_type *type,
                                ps_object_info *out);

/* Reserve room for n more bytes. */
ps_status ps_buffer_reserve(ps_buffer *buf, size_t n);
void ps_buffer_free(ps_buffer *buf);

/* A 64-byte-aligned allocation that free() releases; PS_ERR_NO_MEMORY set on
 * failure. */
void *ps_aligned_alloc(size_t align, size_t size);

#endif /* PS_OBJECT_H */

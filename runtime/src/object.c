/* object.c — object header, type descriptors, buffers (see object.h). */
#include "object.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xxhash.h>

#include "error.h"
#include "held_blob.h"

static const unsigned char object_magic[4] = {'P', 'S', 'O', 'B'};

const ps_type ps_type_bytes = PS_TYPE_POD_INIT(unsigned char);
const ps_type ps_type_char = PS_TYPE_POD_INIT(char);
const ps_type ps_type_int32 = PS_TYPE_POD_INIT(int32_t);
const ps_type ps_type_int64 = PS_TYPE_POD_INIT(int64_t);
const ps_type ps_type_double = PS_TYPE_POD_INIT(double);
const ps_type ps_type_float = PS_TYPE_POD_INIT(float);

/* ------------------------------------------------------------ type names */

/* ASCII classes, not <ctype.h>'s: a name must normalize alike in every
 * process whatever its locale; and the store's put normalizes on every
 * call, where a table look-up per byte is what it can afford. */
enum { NAME_SPACE = 1, NAME_IDENT = 2 };
static const unsigned char name_class[256] = {
    [' '] = NAME_SPACE, ['\t' ... '\r'] = NAME_SPACE, ['a' ... 'z'] = NAME_IDENT,
    ['A' ... 'Z'] = NAME_IDENT, ['0' ... '9'] = NAME_IDENT, ['_'] = NAME_IDENT,
};

static bool ident_char(char c)
{
    return name_class[(unsigned char)c] & NAME_IDENT;
}

static bool space_char(char c)
{
    return name_class[(unsigned char)c] & NAME_SPACE;
}

ps_status ps_type_name_normalize(const char *name, char out[PS_TYPE_NAME_MAX + 1])
{
    if (!name)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type descriptor has no name");
    /* Most names are their own normal form ("double", "unsigned char"):
     * no space but single ' 's between identifier characters.  A put
     * normalizes its type's name three times (validation, header, proxy),
     * so the last such name of the thread is remembered: the same pointer
     * to the same bytes needs no second look. */
    static __thread const char *normal_seen;
    static __thread char normal_copy[PS_TYPE_NAME_MAX + 1];
    if (name == normal_seen && strcmp(name, normal_copy) == 0) {
        strcpy(out, normal_copy);
        return PS_OK;
    }
    size_t len = 0;
    for (unsigned char c; (c = (unsigned char)name[len]) != '\0'; len++)
        if ((name_class[c] & NAME_SPACE) &&
            (c != ' ' || len == 0 || !ident_char(name[len - 1]) || !ident_char(name[len + 1])))
            break;
    if (!name[len] && len > 0 && len <= PS_TYPE_NAME_MAX) {
        memcpy(out, name, len + 1);
        memcpy(normal_copy, name, len + 1);
        normal_seen = name;
        return PS_OK;
    }
    size_t o = 0;
    bool pending_space = false;
    for (const char *p = name; *p; p++) {
        if (space_char(*p)) {
            pending_space = o > 0;
            continue;
        }
        /* A space survives only between two identifier characters, where it
         * separates words ("unsigned char"); next to punctuation it is noise
         * ("double *" and "double*" are the same type). */
        if (pending_space && ident_char(out[o - 1]) && ident_char(*p)) {
            if (o >= PS_TYPE_NAME_MAX)
                goto too_long;
            out[o++] = ' ';
        }
        pending_space = false;
        if (o >= PS_TYPE_NAME_MAX)
            goto too_long;
        out[o++] = *p;
    }
    out[o] = '\0';
    if (o == 0)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type descriptor has an empty name");
    return PS_OK;
too_long:
    out[0] = '\0';
    return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type name '%.40s...' is longer than %d bytes",
                        name, PS_TYPE_NAME_MAX);
}

uint64_t ps_type_name_hash(const char *name)
{
    char norm[PS_TYPE_NAME_MAX + 1];
    if (ps_type_name_normalize(name, norm) != PS_OK)
        return 0;
    return XXH3_64bits(norm, strlen(norm));
}

bool ps_type_names_equal(const char *a, const char *b)
{
    char na[PS_TYPE_NAME_MAX + 1], nb[PS_TYPE_NAME_MAX + 1];
    if (!a || !b || ps_type_name_normalize(a, na) != PS_OK || ps_type_name_normalize(b, nb) != PS_OK)
        return false;
    return strcmp(na, nb) == 0;
}

ps_status ps_type_validate(const ps_type *type)
{
    if (!type)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no type descriptor given");
    char norm[PS_TYPE_NAME_MAX + 1];
    if (ps_type_name_normalize(type->name, norm) != PS_OK)
        return ps_last_error_code();
    if (type->size == 0 || type->size > UINT32_MAX)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type '%s' has element size %zu (must be 1..%u)",
                            norm, type->size, UINT32_MAX);
    if (type->align & (type->align - 1))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type '%s' has alignment %zu, not a power of two",
                            norm, type->align);
    if (type->flags & ~(unsigned)PS_TYPE_POD)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "type '%s' has unknown flags 0x%x", norm, type->flags);
    bool hooks = type->serialize || type->deserialize || type->free_obj;
    if (type->flags & PS_TYPE_POD) {
        if (hooks)
            return ps_error_set(PS_ERR_INVALID_ARGUMENT,
                                "type '%s' is plain data (PS_TYPE_POD) but has serialize hooks", norm);
    } else if (!type->serialize || !type->deserialize || !type->free_obj) {
        return ps_error_set(PS_ERR_INVALID_ARGUMENT,
                            "type '%s' is not plain data, so it needs serialize, deserialize and "
                            "free_obj hooks", norm);
    }
    return PS_OK;
}

/* ----------------------------------------------------------------- hooks */

ps_status ps_type_serialize(const ps_type *type, const void *obj, ps_buffer *out)
{
    size_t before = out->len;
    unsigned long mark = ps_error_mark();
    ps_status st = type->serialize(obj, out);
    if (st == PS_OK && out->data && out->len >= before)
        return PS_OK;
    if (ps_error_since(mark) && ps_last_error_code() != PS_OK)
        return ps_error_wrap("serializing a '%s'", type->name);
    if (st != PS_OK)
        return ps_error_set(PS_ERR_SERIALIZE, "serializing a '%s' failed (its hook returned %s)", type->name,
                            ps_status_name(st));
    return ps_error_set(PS_ERR_SERIALIZE, "serializing a '%s' failed (its hook shrank the buffer it was "
                        "given)", type->name);
}

ps_status ps_type_deserialize(const ps_type *type, const char *key, const void *bytes, size_t len,
                              void **obj_out)
{
    void *obj = NULL;
    unsigned long mark = ps_error_mark();
    ps_status st = type->deserialize(bytes, len, &obj);
    *obj_out = NULL;
    if (st == PS_OK && obj) {
        *obj_out = obj;
        return PS_OK;
    }
    if (st == PS_OK)
        return ps_error_set(PS_ERR_SERIALIZE, "deserializing object '%s' as '%s' gave no object", key,
                            type->name);
    if (ps_error_since(mark) && ps_last_error_code() != PS_OK)
        return ps_error_wrap("deserializing object '%s' as '%s'", key, type->name);
    return ps_error_set(PS_ERR_SERIALIZE, "deserializing object '%s' as '%s' failed (its hook returned %s)",
                        key, type->name, ps_status_name(st));
}

/* ---------------------------------------------------------------- header */

static void put16(unsigned char *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

void ps_object_info_init(ps_object_info *info, const ps_type *type, size_t count,
                         size_t payload_len, uint64_t payload_hash)
{
    memset(info, 0, sizeof *info);
    info->flags = (type->flags & PS_TYPE_POD) ? PS_OBJECT_POD : PS_OBJECT_CUSTOM;
    info->elem_size = type->size;
    info->count = count;
    info->payload_len = payload_len;
    info->payload_hash = payload_hash;
    char norm[PS_TYPE_NAME_MAX + 1];
    if (ps_type_name_normalize(type->name, norm) == PS_OK) {
        info->type_hash = XXH3_64bits(norm, strlen(norm));
        size_t n = strlen(norm);
        memcpy(info->type_name, norm, n < PS_OBJECT_NAME_BYTES_V2 ? n : PS_OBJECT_NAME_BYTES_V2);
        info->name_cut = n > PS_OBJECT_NAME_BYTES_V2;
    }
}

void ps_object_header_encode(const ps_object_info *info, unsigned char out[PS_OBJECT_HEADER_SIZE])
{
    memset(out, 0, PS_OBJECT_HEADER_SIZE);
    memcpy(out, object_magic, sizeof object_magic);
    put16(out + 4, PS_OBJECT_VERSION);
    put16(out + 6, PS_OBJECT_HEADER_SIZE);
    put32(out + 8, info->flags);
    put32(out + 12, (uint32_t)info->elem_size);
    put64(out + 16, info->count);
    put64(out + 24, info->payload_len);
    put64(out + 32, info->type_hash);
    put64(out + PS_OBJECT_HASH_OFFSET, info->payload_hash);
    memcpy(out + 48, info->type_name, strnlen(info->type_name, PS_OBJECT_NAME_BYTES_V2));
    put64(out + PS_OBJECT_EXPIRY_OFFSET, info->expires_ms);
}

uint64_t ps_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ps_object_expiry(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!p || len < PS_OBJECT_HEADER_SIZE || memcmp(p, object_magic, sizeof object_magic) != 0 ||
        get16(p + 4) < 2)
        return 0;
    return get64(p + PS_OBJECT_EXPIRY_OFFSET);
}

bool ps_object_expired(const void *data, size_t len)
{
    uint64_t at = ps_object_expiry(data, len);
    return at != 0 && ps_unix_ms() >= at;
}

void ps_object_expiry_encode(uint64_t expires_ms, unsigned char out[8])
{
    put64(out, expires_ms);
}

void ps_object_hash_set(unsigned char header[PS_OBJECT_HEADER_SIZE], uint64_t payload_hash)
{
    put64(header + PS_OBJECT_HASH_OFFSET, payload_hash);
}

ps_status ps_object_header_decode(const void *data, size_t len, const char *key, ps_object_info *out)
{
    const unsigned char *p = data;
    memset(out, 0, sizeof *out);
    if (!p || len < PS_OBJECT_HEADER_SIZE)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' is truncated: %zu bytes, shorter than its "
                            "%d-byte header", key, len, PS_OBJECT_HEADER_SIZE);
    if (memcmp(p, object_magic, sizeof object_magic) != 0)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' was not written by libproxystore (bad magic)", key);
    uint16_t version = get16(p + 4);
    uint16_t header_size = get16(p + 6);
    if (version == 0 || version > PS_OBJECT_VERSION)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has format version %u; this library reads "
                            "version %d", key, version, PS_OBJECT_VERSION);
    if (header_size != PS_OBJECT_HEADER_SIZE)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has a %u-byte header; version %u headers "
                            "are %d bytes", key, header_size, version, PS_OBJECT_HEADER_SIZE);
    out->flags = get32(p + 8);
    out->elem_size = get32(p + 12);
    uint64_t count = get64(p + 16);
    uint64_t payload_len = get64(p + 24);
    out->type_hash = get64(p + 32);
    out->payload_hash = get64(p + 40);
    size_t name_bytes = version >= 2 ? PS_OBJECT_NAME_BYTES_V2 : PS_OBJECT_NAME_BYTES;
    memcpy(out->type_name, p + 48, name_bytes);
    out->type_name[name_bytes] = '\0';
    out->name_cut = strlen(out->type_name) == name_bytes;
    out->expires_ms = version >= 2 ? get64(p + PS_OBJECT_EXPIRY_OFFSET) : 0;
    /* The name is only ever shown in messages: damaged bytes must not put
     * control characters into them. */
    for (char *c = out->type_name; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';

    if (out->flags != PS_OBJECT_POD && out->flags != PS_OBJECT_CUSTOM)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has unknown flags 0x%x", key, out->flags);
    if (out->elem_size == 0)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has element size 0", key);
    size_t have = len - PS_OBJECT_HEADER_SIZE;
    if (payload_len > have)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' is truncated: its header announces %llu "
                            "payload bytes, %zu are present", key, (unsigned long long)payload_len, have);
    if (payload_len < have)
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has inconsistent lengths: its header announces "
                            "%llu payload bytes, %zu are present", key, (unsigned long long)payload_len, have);
    if (out->flags == PS_OBJECT_POD) {
        uint64_t expect;
        if (__builtin_mul_overflow(count, (uint64_t)out->elem_size, &expect) || expect != payload_len)
            return ps_error_set(PS_ERR_BAD_DATA, "object '%s' has inconsistent lengths: %llu elements of "
                                "%zu bytes in a %llu-byte payload", key, (unsigned long long)count,
                                out->elem_size, (unsigned long long)payload_len);
    } else if (count != 1) {
        return ps_error_set(PS_ERR_BAD_DATA, "object '%s' is a custom-serialized object with count %llu "
                            "(must be 1)", key, (unsigned long long)count);
    }
    out->count = (size_t)count;
    out->payload_len = (size_t)payload_len;
    return PS_OK;
}

ps_status ps_object_check_type(const ps_object_info *info, const ps_type *type, const char *key)
{
    const char *stored_kind = info->flags == PS_OBJECT_POD ? "plain data" : "custom-serialized";
    const char *ellipsis = info->name_cut ? "..." : "";
    if (!type) {
        if (info->flags == PS_OBJECT_POD)
            return PS_OK;
        return ps_error_set(PS_ERR_TYPE_MISMATCH, "object '%s' is a custom-serialized '%s%s': it needs "
                            "its type descriptor to be read", key, info->type_name, ellipsis);
    }
    char norm[PS_TYPE_NAME_MAX + 1];
    if (ps_type_name_normalize(type->name, norm) != PS_OK)
        return ps_last_error_code();
    bool pod = (type->flags & PS_TYPE_POD) != 0;
    if (XXH3_64bits(norm, strlen(norm)) != info->type_hash || type->size != info->elem_size ||
        pod != (info->flags == PS_OBJECT_POD))
        return ps_error_set(PS_ERR_TYPE_MISMATCH, "object '%s' is a %s '%s%s' (element size %zu), not a "
                            "%s '%s' (element size %zu)", key, stored_kind, info->type_name, ellipsis,
                            info->elem_size, pod ? "plain data" : "custom-serialized", norm, type->size);
    return PS_OK;
}

ps_status ps_object_read_header(const void *data, size_t len, const char *key, const ps_type *type,
                                ps_object_info *out)
{
    ps_status st = ps_object_header_decode(data, len, key, out);
    return st == PS_OK ? ps_object_check_type(out, type, key) : st;
}

/* ---------------------------------------------------------------- buffers */

ps_status ps_buffer_reserve(ps_buffer *buf, size_t n)
{
    if (!buf)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no buffer given");
    size_t need;
    if (__builtin_add_overflow(buf->len, n, &need))
        return ps_error_set(PS_ERR_NO_MEMORY, "buffer would exceed the address space");
    if (need <= buf->cap)
        return PS_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *data = realloc(buf->data, cap);
    if (!data)
        return ps_error_set(PS_ERR_NO_MEMORY, "out of memory growing a buffer to %zu bytes", cap);
    buf->data = data;
    buf->cap = cap;
    return PS_OK;
}

ps_status ps_buffer_append(ps_buffer *buf, const void *bytes, size_t len)
{
    if (len && !bytes)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_buffer_append: NULL bytes");
    ps_status st = ps_buffer_reserve(buf, len);
    if (st != PS_OK)
        return st;
    if (len)
        memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    return PS_OK;
}

void ps_buffer_free(ps_buffer *buf)
{
    if (buf) {
        free(buf->data);
        buf->data = NULL;
        buf->len = buf->cap = 0;
    }
}

/* Fresh memory costs a page fault per 4 KB page on first touch, which makes
 * copying a large object into it several times slower than the copy itself;
 * transparent huge pages fault 2 MB at a time.  Large blocks are therefore
 * 2 MB-aligned and offered to the kernel as huge-page candidates (a hint: it
 * does nothing where THP is disabled). */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_PAGE_MIN ((size_t)4 << 20)

void *ps_aligned_alloc(size_t align, size_t size)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    bool huge = size >= HUGE_PAGE_MIN && align < HUGE_PAGE;
    if (posix_memalign(&p, huge ? HUGE_PAGE : align, size ? size : 1) != 0) {
        ps_error_set(PS_ERR_NO_MEMORY, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    if (huge)
        madvise(p, size & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    return p;
}

void ps_object_free(const ps_type *type, void *obj)
{
    if (!obj)
        return;
    if (type && !(type->flags & PS_TYPE_POD) && type->free_obj)
        type->free_obj(obj);
    else if (!ps_held_blob_free(obj)) /* ps_store_get's objects held in place */
        free(obj);
}

/*
 * descriptor.c — a proxy as a small self-contained line of text, and back
 * (format in docs/descriptor.md):
 *
 *   psproxy/1 store=S url=U key=K type=T kind=pod elem=N count=N size=N hash=H
 *   psproxy/2 ... the same, and own=owned|ref|ref_mut move=ID [borrow=ID] lease=MS
 *
 * Version 2 is a descriptor of an owned proxy or a borrow: writing it moves
 * the handle (ownership.c), and reading it claims the move once.
 * Values are percent-encoded (no spaces, no control bytes); H is 16 hex
 * digits.  Every field is required exactly once, unknown fields are refused,
 * and the whole line is at most PS_DESCRIPTOR_MAX bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "key.h"
#include "proxy.h"
#include "live_set.h"
#include "url.h"

#define PS_DESCRIPTOR_MAX 4096
#define DESCRIPTOR_MAGIC "psproxy/"
#define DESCRIPTOR_VERSION 1
#define DESCRIPTOR_VERSION_OWNED 2

/* ------------------------------------------------------------- writing */

static bool plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._~:/-?&=@+,", c) != NULL;
}

static ps_status append_str(ps_buffer *b, const char *s)
{
    return ps_buffer_append(b, s, strlen(s));
}

static ps_status append_field(ps_buffer *b, const char *name, const char *value)
{
    char head[32];
    snprintf(head, sizeof head, " %s=", name);
    ps_status st = append_str(b, head);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p && st == PS_OK; p++) {
        if (plain_char(*p)) {
            st = ps_buffer_append(b, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            st = ps_buffer_append(b, esc, 3);
        }
    }
    return st;
}

static char *write_descriptor(const ps_proxy_t *proxy, const ps_move *m)
{
    ps_buffer b = {0};
    char numbers[160];
    snprintf(numbers, sizeof numbers, " kind=%s elem=%zu count=%zu size=%zu hash=%016llx",
             proxy->pod ? "pod" : "custom", proxy->elem_size, proxy->count, proxy->size,
             (unsigned long long)proxy->hash);
    char version[32];
    snprintf(version, sizeof version, "%s%d", DESCRIPTOR_MAGIC, m ? DESCRIPTOR_VERSION_OWNED : DESCRIPTOR_VERSION);
    char owned[160] = "";
    if (m) {
        int n = snprintf(owned, sizeof owned, " own=%s move=%s", ps_proxy_kind_name(proxy->kind), m->move_id);
        if (proxy->kind != PS_KIND_OWNED)
            n += snprintf(owned + n, sizeof owned - (size_t)n, " borrow=%s", m->borrow_id);
        snprintf(owned + n, sizeof owned - (size_t)n, " lease=%u", m->lease_ms);
    }
    if (append_str(&b, version) != PS_OK || append_field(&b, "store", proxy->store->name) != PS_OK ||
        append_field(&b, "url", proxy->store->url) != PS_OK || append_field(&b, "key", proxy->key) != PS_OK ||
        append_field(&b, "type", proxy->type_name) != PS_OK || append_str(&b, numbers) != PS_OK ||
        append_str(&b, owned) != PS_OK || ps_buffer_append(&b, "", 1) != PS_OK) {
        ps_buffer_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

char *ps_proxy_serialize(const ps_proxy_t *proxy)
{
    if (ps_proxy_check(proxy, "ps_proxy_serialize") != PS_OK)
        return NULL;
    if (proxy->kind == PS_KIND_PLAIN)
        return write_descriptor(proxy, NULL);
    /* An owned proxy or a borrow moves: the handle is gone once written. */
    ps_proxy_t *p = (ps_proxy_t *)proxy;
    ps_move m;
    if (ps_ownership_prepare_move(p, &m) != PS_OK)
        return NULL;
    char *desc = write_descriptor(p, &m);
    ps_ownership_finish_move(p, &m, desc != NULL);
    return desc;
}

/* ------------------------------------------------------------- reading */

enum field {
    F_STORE, F_URL, F_KEY, F_TYPE, F_KIND, F_ELEM, F_COUNT, F_SIZE, F_HASH,
    F_OWN, F_MOVE, F_BORROW, F_LEASE, /* version 2 only */
    F_COUNT_
};
#define F_V1_COUNT F_OWN
static const char *const field_names[F_COUNT_] = {"store", "url", "key", "type", "kind", "elem", "count",
                                                  "size", "hash", "own", "move", "borrow", "lease"};

typedef struct parsed {
    size_t version;
    ps_proxy_kind own;
    ps_move move;
    char *text[F_COUNT_]; /* decoded values */
    bool pod;
    size_t elem, count, size;
    uint64_t hash;
} parsed;

static void parsed_free(parsed *d)
{
    for (int i = 0; i < F_COUNT_; i++)
        free(d->text[i]);
}

static ps_status bad(const char *fmt, const char *arg)
{
    return ps_error_set(PS_ERR_BAD_DESCRIPTOR, fmt, arg);
}

/* Percent-decode value [s, s+len) of field name.  The raw text is printable
 * ASCII without spaces; escapes may stand for any byte but NUL. */
static ps_status decode(const char *name, const char *s, size_t len, char **out)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return bad("descriptor field '%s' holds a control or non-ASCII byte", name);
    ps_status st = ps_percent_decode(s, len, out);
    if (st == PS_ERR_BAD_URL)
        return bad("descriptor field '%s' has a bad percent escape", name);
    return st;
}

static ps_status parse_size(const char *name, const char *v, size_t *out)
{
    if (!*v)
        return bad("descriptor field '%s' is empty", name);
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return bad("descriptor field '%s' is not a decimal number", name);
        if (__builtin_mul_overflow(n, (size_t)10, &n) || __builtin_add_overflow(n, (size_t)(*p - '0'), &n))
            return bad("descriptor field '%s' is too large", name);
    }
    *out = n;
    return PS_OK;
}

static ps_status parse_fields(const char *line, size_t len, parsed *d)
{
    const char *p = line, *end = line + len;
    while (p < end) {
        if (*p != ' ')
            return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor fields must be separated by one space");
        p++;
        const char *tok_end = memchr(p, ' ', (size_t)(end - p));
        if (!tok_end)
            tok_end = end;
        if (tok_end == p)
            return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor has an empty field");
        const char *eq = memchr(p, '=', (size_t)(tok_end - p));
        if (!eq)
            return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor field '%.*s' is not name=value",
                                (int)(tok_end - p > 40 ? 40 : tok_end - p), p);
        int f = -1;
        for (int i = 0; i < F_COUNT_; i++)
            if ((size_t)(eq - p) == strlen(field_names[i]) && memcmp(p, field_names[i], (size_t)(eq - p)) == 0)
                f = i;
        if (f < 0)
            return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor has an unknown field '%.*s'",
                                (int)(eq - p > 40 ? 40 : eq - p), p);
        if (d->text[f])
            return bad("descriptor has field '%s' twice", field_names[f]);
        ps_status st = decode(field_names[f], eq + 1, (size_t)(tok_end - eq - 1), &d->text[f]);
        if (st != PS_OK)
            return st;
        p = tok_end;
    }
    for (int i = 0; i < F_V1_COUNT; i++)
        if (!d->text[i])
            return bad("descriptor has no field '%s' (truncated?)", field_names[i]);
    if (d->version == DESCRIPTOR_VERSION) {
        for (int i = F_V1_COUNT; i < F_COUNT_; i++)
            if (d->text[i])
                return bad("descriptor field '%s' belongs to version 2 descriptors", field_names[i]);
        return PS_OK;
    }
    for (int i = F_V1_COUNT; i < F_COUNT_; i++)
        if (!d->text[i] && i != F_BORROW)
            return bad("descriptor has no field '%s' (truncated?)", field_names[i]);
    return PS_OK;
}

/* A 32-hex-digit id of a move token or borrow record. */
static ps_status parse_id(const char *name, const char *v, char out[33])
{
    bool ok = strlen(v) == 32;
    for (size_t i = 0; ok && i < 32; i++)
        ok = ps_hex_digit((unsigned char)v[i]) >= 0;
    if (!ok)
        return bad("descriptor field '%s' must be 32 hex digits", name);
    memcpy(out, v, 33);
    return PS_OK;
}

static ps_status check_owned_values(parsed *d)
{
    const char *own = d->text[F_OWN];
    if (strcmp(own, "owned") == 0)
        d->own = PS_KIND_OWNED;
    else if (strcmp(own, "ref") == 0)
        d->own = PS_KIND_REF;
    else if (strcmp(own, "ref_mut") == 0)
        d->own = PS_KIND_REF_MUT;
    else
        return bad("descriptor field 'own' is '%.40s', not 'owned', 'ref' or 'ref_mut'", own);
    ps_status st = parse_id("move", d->text[F_MOVE], d->move.move_id);
    if (st != PS_OK)
        return st;
    if (d->own == PS_KIND_OWNED) {
        if (d->text[F_BORROW])
            return bad("descriptor of an %s has a 'borrow' field", "owned proxy");
        d->move.borrow_id[0] = '\0';
    } else if (!d->text[F_BORROW]) {
        return bad("descriptor has no field '%s' (truncated?)", "borrow");
    } else if ((st = parse_id("borrow", d->text[F_BORROW], d->move.borrow_id)) != PS_OK) {
        return st;
    }
    size_t lease = 0;
    if ((st = parse_size("lease", d->text[F_LEASE], &lease)) != PS_OK)
        return st;
    if (lease == 0 || lease > UINT32_MAX)
        return bad("descriptor field '%s' is out of range", "lease");
    d->move.lease_ms = (unsigned)lease;
    return PS_OK;
}

static ps_status check_values(parsed *d)
{
    if (ps_store_name_check(d->text[F_STORE]) != PS_OK)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor field 'store': %s", ps_last_error_message());
    if (!d->text[F_URL][0])
        return bad("descriptor field '%s' is empty", "url");
    if (ps_key_check(d->text[F_KEY]) != PS_OK)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor field 'key': %s", ps_last_error_message());
    char norm[PS_TYPE_NAME_MAX + 1];
    if (ps_type_name_normalize(d->text[F_TYPE], norm) != PS_OK)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor field 'type': %s", ps_last_error_message());
    if (strcmp(d->text[F_KIND], "pod") == 0)
        d->pod = true;
    else if (strcmp(d->text[F_KIND], "custom") != 0)
        return bad("descriptor field 'kind' is '%.40s', not 'pod' or 'custom'", d->text[F_KIND]);
    ps_status st;
    if ((st = parse_size("elem", d->text[F_ELEM], &d->elem)) != PS_OK ||
        (st = parse_size("count", d->text[F_COUNT], &d->count)) != PS_OK ||
        (st = parse_size("size", d->text[F_SIZE], &d->size)) != PS_OK)
        return st;
    if (d->elem == 0 || d->elem > UINT32_MAX)
        return bad("descriptor field '%s' is out of range", "elem");
    size_t expect;
    if (d->pod && (__builtin_mul_overflow(d->elem, d->count, &expect) || expect != d->size))
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor fields elem, count and size disagree (size must be elem x count)");
    if (!d->pod && d->count != 1)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor of a custom object has count other than 1");
    const char *h = d->text[F_HASH];
    if (strlen(h) != 16)
        return bad("descriptor field 'hash' must be 16 hex digits, not '%.40s'", h);
    uint64_t hash = 0;
    for (int i = 0; i < 16; i++) {
        int v = ps_hex_digit((unsigned char)h[i]);
        if (v < 0)
            return bad("descriptor field 'hash' must be 16 hex digits, not '%.40s'", h);
        hash = hash << 4 | (uint64_t)v;
    }
    d->hash = hash;
    return d->version == DESCRIPTOR_VERSION_OWNED ? check_owned_values(d) : PS_OK;
}

static ps_status parse(const char *desc, parsed *d)
{
    memset(d, 0, sizeof *d);
    if (!desc)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "no descriptor given");
    size_t len = strnlen(desc, PS_DESCRIPTOR_MAX + 1);
    if (len > PS_DESCRIPTOR_MAX)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor is longer than %d bytes", PS_DESCRIPTOR_MAX);
    /* A line read from a pipe or file keeps its newline; tolerate it. */
    if (len && desc[len - 1] == '\n')
        len--;
    if (len && desc[len - 1] == '\r')
        len--;
    size_t magic = strlen(DESCRIPTOR_MAGIC);
    if (len < magic || memcmp(desc, DESCRIPTOR_MAGIC, magic) != 0)
        return bad("not a proxy descriptor (it does not start with '%s')", DESCRIPTOR_MAGIC);
    const char *v = desc + magic, *end = desc + len;
    const char *v_end = memchr(v, ' ', (size_t)(end - v));
    if (!v_end)
        v_end = end;
    size_t version = 0;
    bool digits = v_end > v && v_end - v <= 9;
    for (const char *p = v; digits && p < v_end; p++) {
        digits = *p >= '0' && *p <= '9';
        version = version * 10 + (size_t)(*p - '0');
    }
    if (!digits)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor version '%.*s' is not a number",
                            (int)(v_end - v > 20 ? 20 : v_end - v), v);
    if (version != DESCRIPTOR_VERSION && version != DESCRIPTOR_VERSION_OWNED)
        return ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor version %zu is not supported (this library "
                            "reads versions %d and %d)", version, DESCRIPTOR_VERSION, DESCRIPTOR_VERSION_OWNED);
    d->version = version;
    ps_status st = parse_fields(v_end, (size_t)(end - v_end), d);
    return st == PS_OK ? check_values(d) : st;
}

ps_proxy_t *ps_proxy_deserialize(const char *descriptor, const ps_type *type)
{
    parsed d;
    ps_proxy_t *p = NULL;
    if (parse(descriptor, &d) != PS_OK)
        goto done;
    if (type) {
        if (ps_type_validate(type) != PS_OK)
            goto done;
        bool pod = (type->flags & PS_TYPE_POD) != 0;
        if (!ps_type_names_equal(type->name, d.text[F_TYPE]) || type->size != d.elem || pod != d.pod) {
            char norm[PS_TYPE_NAME_MAX + 1];
            ps_type_name_normalize(type->name, norm);
            ps_error_set(PS_ERR_TYPE_MISMATCH, "descriptor is a proxy of %s '%s' (element size %zu), not of "
                         "%s '%s' (element size %zu)", d.pod ? "plain-data" : "custom", d.text[F_TYPE],
                         d.elem, pod ? "plain-data" : "custom", norm, type->size);
            goto done;
        }
    } else if (!d.pod) {
        ps_error_set(PS_ERR_TYPE_MISMATCH, "descriptor is a proxy of custom-serialized '%s': give its type "
                     "descriptor to ps_proxy_deserialize", d.text[F_TYPE]);
        goto done;
    }
    ps_store *store = ps_store_attach(d.text[F_STORE], d.text[F_URL]);
    if (!store)
        goto done;
    ps_proxy_facts facts = {d.text[F_TYPE], d.elem, d.count, d.size, d.hash, d.pod};
    p = ps_proxy_make(store, type, d.text[F_KEY], &facts);
    ps_store_unref(store); /* the proxy holds its own reference */
    if (p && d.version == DESCRIPTOR_VERSION_OWNED && ps_ownership_receive(p, d.own, &d.move) != PS_OK) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_live_set_remove(&ps_live_proxies, p);
        p->kind = PS_KIND_PLAIN;
        ps_proxy_destroy(p);
        ps_error_restore(&saved);
        p = NULL;
    }
done:
    parsed_free(&d);
    return p;
}

/* test_record.c — the tests' custom-serialized record (see test_record.h). */
#include "test_record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ps_test_record_free(void *obj)
{
    struct ps_test_record *r = obj;
    if (r) {
        free(r->label);
        free(r->values);
        free(r);
    }
}

ps_status ps_test_record_serialize(const void *obj, ps_buffer *out)
{
    const struct ps_test_record *r = obj;
    uint64_t label_len = strlen(r->label), n = r->nvalues;
    ps_status st = ps_buffer_append(out, &label_len, sizeof label_len);
    if (st == PS_OK)
        st = ps_buffer_append(out, r->label, label_len);
    if (st == PS_OK)
        st = ps_buffer_append(out, &n, sizeof n);
    if (st == PS_OK)
        st = ps_buffer_append(out, r->values, n * sizeof *r->values);
    return st;
}

static ps_status record_deserialize(const void *bytes, size_t len, void **obj_out)
{
    const unsigned char *p = bytes;
    uint64_t llen, n;
    if (len < sizeof llen)
        return PS_ERR_SERIALIZE;
    memcpy(&llen, p, sizeof llen);
    if (llen > len - sizeof llen || len - sizeof llen - llen < sizeof n)
        return PS_ERR_SERIALIZE;
    memcpy(&n, p + sizeof llen + llen, sizeof n);
    size_t rest = len - sizeof llen - llen - sizeof n;
    if (n > rest / sizeof(double) || n * sizeof(double) != rest)
        return PS_ERR_SERIALIZE;
    struct ps_test_record *r = calloc(1, sizeof *r);
    if (!r)
        return PS_ERR_NO_MEMORY;
    r->label = malloc(llen + 1);
    r->values = malloc(n ? n * sizeof(double) : 1);
    if (!r->label || !r->values) {
        ps_test_record_free(r);
        return PS_ERR_NO_MEMORY;
    }
    memcpy(r->label, p + sizeof llen, llen);
    r->label[llen] = '\0';
    memcpy(r->values, p + sizeof llen + llen + sizeof n, n * sizeof(double));
    r->nvalues = n;
    *obj_out = r;
    return PS_OK;
}

const ps_type ps_test_record_type = {
    "struct ps_test_record", sizeof(struct ps_test_record), _Alignof(struct ps_test_record), 0,
    ps_test_record_serialize, record_deserialize, ps_test_record_free,
};

/*
 * test_record.h — the custom-serialized type the tests share: a record with
 * pointers (a label and an array of doubles), moved by its own serializer.
 *
 * Serialized layout (native byte order: writer and reader share a machine):
 *
 *     u64 label length | label bytes | u64 nvalues | nvalues doubles
 */
#ifndef PS_TEST_RECORD_H
#define PS_TEST_RECORD_H

#include <stddef.h>

#include <proxystore/proxystore.h>

struct ps_test_record {
    char *label;
    size_t nvalues;
    double *values;
};

extern const ps_type ps_test_record_type;

ps_status ps_test_record_serialize(const void *obj, ps_buffer *out);
/* Frees the record, its label and its values; NULL is fine. */
void ps_test_record_free(void *obj);

#endif /* PS_TEST_RECORD_H */

/*
 * descriptor.h — reading a proxy descriptor's fields without resolving it
 * or opening its store (for tools: ps-store inspect).
 */
#ifndef PS_DESCRIPTOR_H
#define PS_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxystore/proxystore.h"

typedef struct ps_descriptor_facts {
    char *store, *url, *key, *type; /* decoded, malloc'd */
    bool pod;
    size_t elem, count, size;
    uint64_t hash;
} ps_descriptor_facts;

/* Parse and check text as ps_proxy_deserialize does; PS_ERR_BAD_DESCRIPTOR
 * with the same messages. */
ps_status ps_descriptor_read(const char *text, ps_descriptor_facts *out);
void ps_descriptor_facts_free(ps_descriptor_facts *facts);

#endif /* PS_DESCRIPTOR_H */

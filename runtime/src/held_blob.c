/* held_blob.c — see held_blob.h. */
#include "held_blob.h"

#include <string.h>

#include "live_set.h"
#include "object.h"

static ps_live_set held = PS_LIVE_SET_INIT;

_Static_assert(sizeof(ps_blob) <= PS_OBJECT_HEADER_SIZE, "a blob fits in the header it replaces");

void *ps_held_blob_take(ps_blob *blob)
{
    if (!blob->private_copy || blob->len < PS_OBJECT_HEADER_SIZE)
        return NULL;
    unsigned char *header = (unsigned char *)blob->data;
    void *payload = header + PS_OBJECT_HEADER_SIZE;
    if (ps_live_set_add(&held, payload) != PS_OK)
        return NULL;
    memcpy(header, blob, sizeof *blob);
    memset(blob, 0, sizeof *blob);
    return payload;
}

bool ps_held_blob_free(void *obj)
{
    if (!obj || !ps_live_set_remove(&held, obj))
        return false;
    /* A copy: releasing may unmap the memory the record sits in. */
    ps_blob blob;
    memcpy(&blob, (unsigned char *)obj - PS_OBJECT_HEADER_SIZE, sizeof blob);
    ps_blob_release(&blob);
    return true;
}

/*
 * held_blob.h — objects that ps_store_get hands out in place: the payload
 * of a blob a connector read into memory of its own (ps_blob.private_copy)
 * is returned as it is, with no copy, and the blob is kept until
 * ps_object_free.
 *
 * The blob's bookkeeping lives in the 64-byte object header in front of the
 * payload (parsed already, and private), so nothing is allocated per
 * object; the payload addresses are recorded in a live set so that
 * ps_object_free tells them from objects it allocated.
 */
#ifndef PS_HELD_BLOB_H
#define PS_HELD_BLOB_H

#include <stdbool.h>

#include "connector.h"

/* The payload of blob (a private copy, its header already read) as an
 * object for the caller; NULL (blob untouched) if it cannot be held.  On
 * success the blob belongs to the object. */
void *ps_held_blob_take(ps_blob *blob);
/* If obj was handed out by ps_held_blob_take, release its blob and return
 * true; otherwise false (obj untouched). */
bool ps_held_blob_free(void *obj);

#endif /* PS_HELD_BLOB_H */

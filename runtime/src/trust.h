/*
 * trust.h — which stores a descriptor may make this process open.
 *
 * A descriptor comes from elsewhere, and resolving it opens the store its
 * URL names.  By default only URLs this process has opened itself (with
 * ps_store_open) or allowed (ps_trust_allow_url, PS_TRUSTED_URLS) are
 * accepted; descriptors never carry passwords, and a matching entry
 * supplies the credentials; a file:// store is only ever opened, never
 * created, from a descriptor.  docs/descriptor.md describes the policy.
 */
#ifndef PS_TRUST_H
#define PS_TRUST_H

#include "proxystore/proxystore.h"

/* Record a URL this process opened with ps_store_open (credentials kept
 * for descriptors of the same store). */
void ps_trust_note_opened(const char *url);

/* The URL to open for a descriptor naming desc_url (malloc'd: desc_url
 * with the credentials of the entry it matched), or NULL with
 * PS_ERR_BAD_DESCRIPTOR naming the refused URL (PS_ERR_NO_MEMORY when out
 * of memory). */
char *ps_trust_resolve_url(const char *desc_url);

#endif /* PS_TRUST_H */

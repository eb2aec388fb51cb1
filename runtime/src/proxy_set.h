/*
 * proxy_set.h — the process-wide set of live proxy addresses.
 *
 * ps_is_proxy and PROXY_OR code must tell a proxy from an arbitrary T *
 * without reading through the pointer, so proxies are recorded here at
 * creation and removed when freed; a lookup compares addresses only.  The
 * set also lets every proxy function refuse a pointer that is not (or no
 * longer) a proxy instead of crashing on it.
 */
#ifndef PS_PROXY_SET_H
#define PS_PROXY_SET_H

#include <stdbool.h>

#include "proxystore/proxystore.h"

ps_status ps_proxy_set_add(const void *p);
/* true if p was in the set (and is now removed). */
bool ps_proxy_set_remove(const void *p);
bool ps_proxy_set_contains(const void *p);

#endif /* PS_PROXY_SET_H */

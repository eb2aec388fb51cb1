/*
 * key.h — object keys: the one rule for user keys, and fresh random keys.
 *
 * A key is 1 to PS_KEY_MAX-1 bytes of [A-Za-z0-9._:-] and does not start
 * with '.'.  The rule keeps every key a safe file name and shm name part
 * (no '/', no "..", no hidden files) and a plain Redis key; connectors add
 * their own prefixes.
 */
#ifndef PS_KEY_H
#define PS_KEY_H

#include <stdbool.h>

#include "proxystore/proxystore.h"

/* Bytes in a generated key (32 hex digits for 128 random bits), plus NUL. */
#define PS_KEY_RANDOM_LEN 32

/* The rule itself. */
bool ps_key_valid(const char *key);
/* The rule with an error: PS_ERR_INVALID_ARGUMENT naming the key. */
ps_status ps_key_check(const char *key);
/* A fresh key of 128 random bits as lower-case hex (getrandom). */
ps_status ps_key_generate(char key_out[PS_KEY_MAX]);

#endif /* PS_KEY_H */

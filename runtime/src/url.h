/*
 * url.h — connector URLs, parsed once into their parts.
 *
 *   scheme://[user][:password@]host[:port][/path][?k=v&k=v]
 *
 * Components are percent-decoded.  local:// has only a scheme; shm://NAME
 * has host NAME; file:///dir has path "/dir"; redis://:pw@host:port/2?prefix=p
 * has password, host, port, path "/2" and a "prefix" parameter.
 */
#ifndef PS_URL_H
#define PS_URL_H

#include "proxystore/proxystore.h"

typedef struct ps_url_param {
    char *key;
    char *value;
} ps_url_param;

typedef struct ps_url {
    char *text;      /* the URL as given, password masked: for messages */
    char *scheme;    /* lower case */
    char *user;      /* NULL if absent */
    char *password;  /* NULL if absent */
    char *host;      /* "" if absent */
    int port;        /* -1 if absent */
    char *path;      /* "" if absent; starts with '/' otherwise */
    ps_url_param *params;
    size_t nparams;
} ps_url;

/* Parse text; on failure returns PS_ERR_BAD_URL with a message naming the
 * problem, and *out is left empty. */
ps_status ps_url_parse(const char *text, ps_url *out);
void ps_url_free(ps_url *url);
/* A malloc'd copy of a URL's text with its password replaced by mask:
 * PS_URL_PASSWORD_MASK in messages, "" to drop it (and its ':', and the
 * '@' when no user name is left).  The text need not be a valid URL.  NULL
 * only when out of memory (recorded). */
#define PS_URL_PASSWORD_MASK "***"
char *ps_url_without_password(const char *text, const char *mask);
bool ps_url_has_password(const char *text);
/* The value of query parameter key, or NULL. */
const char *ps_url_param_get(const ps_url *url, const char *key);
/* Parse a parameter as an unsigned size with an optional K/M/G suffix;
 * absent: *out = fallback.  Malformed: PS_ERR_BAD_URL. */
ps_status ps_url_param_size(const ps_url *url, const char *key, size_t fallback, size_t *out);

/* Percent-decoding as URLs and proxy descriptors use it: "%XX" is the byte
 * XX, anything else is itself.  A '%' without two hex digits, or "%00", is
 * PS_ERR_BAD_URL with no error recorded (each caller names the problem in
 * its own terms); PS_ERR_NO_MEMORY is recorded. */
ps_status ps_percent_decode(const char *s, size_t len, char **out);
/* The value of a hex digit, or -1. */
int ps_hex_digit(int c);

#endif /* PS_URL_H */

/* url.c — connector URL parsing (see url.h). */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int ps_hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ps_status ps_percent_decode(const char *s, size_t len, char **out)
{
    *out = NULL;
    char *o = ps_malloc(len + 1);
    if (!o)
        return PS_ERR_NO_MEMORY;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            o[n++] = s[i];
            continue;
        }
        int h = i + 2 < len ? ps_hex_digit((unsigned char)s[i + 1]) : -1;
        int l = h >= 0 ? ps_hex_digit((unsigned char)s[i + 2]) : -1;
        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
            free(o);
            return PS_ERR_BAD_URL;
        }
        o[n++] = (char)(h * 16 + l);
        i += 2;
    }
    o[n] = '\0';
    *out = o;
    return PS_OK;
}

/* A percent-decoded copy of [s, s+len); NULL with an error on a bad escape. */
static char *decode(const char *s, size_t len, const char *url, const char *what)
{
    char *out;
    if (ps_percent_decode(s, len, &out) == PS_ERR_BAD_URL)
        ps_error_set(PS_ERR_BAD_URL, "bad percent escape in the %s of URL '%s'", what, url);
    return out;
}

void ps_url_free(ps_url *url)
{
    if (!url)
        return;
    free(url->text);
    free(url->scheme);
    free(url->user);
    free(url->password);
    free(url->host);
    free(url->path);
    for (size_t i = 0; i < url->nparams; i++) {
        free(url->params[i].key);
        free(url->params[i].value);
    }
    free(url->params);
    memset(url, 0, sizeof *url);
    url->port = -1;
}

static ps_status parse_query(const char *q, const char *text, ps_url *out)
{
    size_t n = 1;
    for (const char *p = q; *p; p++)
        n += *p == '&';
    out->params = ps_calloc(n, sizeof *out->params);
    if (!out->params)
        return PS_ERR_NO_MEMORY;
    const char *p = q;
    while (*p) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (!eq || eq == p)
                return ps_error_set(PS_ERR_BAD_URL, "query parameter '%.*s' in URL '%s' is not key=value",
                                    (int)(end - p), p, text);
            ps_url_param *param = &out->params[out->nparams];
            param->key = decode(p, (size_t)(eq - p), text, "query");
            param->value = decode(eq + 1, (size_t)(end - eq - 1), text, "query");
            out->nparams++;
            if (!param->key || !param->value)
                return ps_last_error_code();
            /* Which of two values would a connector take?  Neither. */
            for (size_t i = 0; i + 1 < out->nparams; i++)
                if (strcmp(out->params[i].key, param->key) == 0)
                    return ps_error_set(PS_ERR_BAD_URL, "URL '%s' gives parameter '%s' twice", text,
                                        param->key);
        }
        p = *end ? end + 1 : end;
    }
    return PS_OK;
}

/* Where the password of text lies: [*pw, *pw + *len) between the ':' and
 * the last '@' of the authority; false if it has none. */
static bool password_span(const char *text, const char **pw, size_t *len)
{
    const char *sep = text ? strstr(text, "://") : NULL;
    if (!sep)
        return false;
    const char *auth = sep + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon)
        return false;
    *pw = colon + 1;
    *len = (size_t)(at - colon - 1);
    return true;
}

char *ps_url_without_password(const char *text, const char *mask)
{
    if (!text)
        return NULL;
    const char *pw;
    size_t len;
    if (!password_span(text, &pw, &len))
        return ps_strdup(text);
    /* "redis://:pw@h" -> "redis://h" or "redis://:***@h";
     * "redis://u:pw@h" -> "redis://u@h" or "redis://u:***@h". */
    size_t head = (size_t)(pw - text), tail_off = head + len;
    bool drop_userinfo = !*mask && head >= 1 && text[head - 2] == '/';
    if (!*mask)
        head -= 1, tail_off += drop_userinfo; /* drop the ':' (and the '@' with no user) */
    size_t total = head + strlen(mask) + strlen(text + tail_off) + 1;
    char *out = ps_malloc(total);
    if (out)
        snprintf(out, total, "%.*s%s%s", (int)head, text, mask, text + tail_off);
    return out;
}

bool ps_url_has_password(const char *text)
{
    const char *pw;
    size_t len;
    return password_span(text, &pw, &len);
}

static ps_status parse_into(const char *text, ps_url *out)
{
    /* Messages name the URL without its password (docs/connectors/redis.md);
     * url->text is for messages only. */
    out->text = ps_url_without_password(text, PS_URL_PASSWORD_MASK);
    if (!out->text)
        return PS_ERR_NO_MEMORY;
    const char *shown = out->text;
    const char *sep = strstr(text, "://");
    if (!sep || sep == text)
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has no scheme (expected e.g. local://, shm://NAME, "
                            "file:///dir, redis://host:port)", shown);
    for (const char *p = text; p < sep; p++)
        if (!isalpha((unsigned char)*p) && !(p > text && (isdigit((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')))
            return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has a malformed scheme", shown);
    out->scheme = ps_malloc((size_t)(sep - text) + 1);
    if (!out->scheme)
        return PS_ERR_NO_MEMORY;
    for (size_t i = 0; i < (size_t)(sep - text); i++)
        out->scheme[i] = (char)tolower((unsigned char)text[i]);
    out->scheme[sep - text] = '\0';

    const char *auth = sep + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    if (*auth_end == '#')
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has a fragment, which no connector uses", shown);

    /* userinfo@host:port */
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *hostport = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        const char *user_end = colon ? colon : at;
        if (user_end > auth && !(out->user = decode(auth, (size_t)(user_end - auth), shown, "user name")))
            return ps_last_error_code();
        if (colon && !(out->password = decode(colon + 1, (size_t)(at - colon - 1), shown, "password")))
            return ps_last_error_code();
        hostport = at + 1;
    }
    const char *host_end = auth_end;
    const char *colon = NULL;
    if (*hostport == '[') { /* [::1]:6379 */
        const char *close = memchr(hostport, ']', (size_t)(auth_end - hostport));
        if (!close)
            return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has an unclosed '[' in its host", shown);
        if (close + 1 < auth_end && close[1] != ':')
            return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has '%.*s' after its bracketed host, where only "
                                "':PORT' may follow", shown, (int)(auth_end - close - 1), close + 1);
        colon = close + 1 < auth_end ? close + 1 : NULL;
        if (!(out->host = decode(hostport + 1, (size_t)(close - hostport - 1), shown, "host")))
            return ps_last_error_code();
    } else {
        colon = memchr(hostport, ':', (size_t)(auth_end - hostport));
        host_end = colon ? colon : auth_end;
        if (!(out->host = decode(hostport, (size_t)(host_end - hostport), shown, "host")))
            return ps_last_error_code();
    }
    if (colon) {
        const char *ps = colon + 1;
        if (ps == auth_end)
            return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has an empty port", shown);
        long port = 0;
        for (const char *p = ps; p < auth_end; p++) {
            if (!isdigit((unsigned char)*p))
                return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has a non-numeric port", shown);
            port = port * 10 + (*p - '0');
            if (port > 65535)
                return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has a port above 65535", shown);
        }
        out->port = (int)port;
    }

    const char *path = auth_end;
    const char *query = strchr(path, '?');
    const char *path_end = query ? query : path + strlen(path);
    if (strchr(path, '#'))
        return ps_error_set(PS_ERR_BAD_URL, "URL '%s' has a fragment, which no connector uses", shown);
    if (!(out->path = decode(path, (size_t)(path_end - path), shown, "path")))
        return ps_last_error_code();
    if (query)
        return parse_query(query + 1, shown, out);
    return PS_OK;
}

ps_status ps_url_parse(const char *text, ps_url *out)
{
    memset(out, 0, sizeof *out);
    out->port = -1;
    if (!text)
        return ps_error_set(PS_ERR_BAD_URL, "no URL given");
    ps_status st = parse_into(text, out);
    if (st != PS_OK)
        ps_url_free(out);
    return st;
}

const char *ps_url_param_get(const ps_url *url, const char *key)
{
    for (size_t i = 0; i < url->nparams; i++)
        if (strcmp(url->params[i].key, key) == 0)
            return url->params[i].value;
    return NULL;
}

ps_status ps_url_param_size(const ps_url *url, const char *key, size_t fallback, size_t *out)
{
    const char *v = ps_url_param_get(url, key);
    if (!v) {
        *out = fallback;
        return PS_OK;
    }
    /* Digits first: strtoull would also take leading spaces, a sign, and
     * "-1" as its two's complement. */
    errno = 0;
    char *end;
    unsigned long long n = isdigit((unsigned char)*v) ? strtoull(v, &end, 10) : 0;
    if (!isdigit((unsigned char)*v) || errno)
        return ps_error_set(PS_ERR_BAD_URL, "parameter %s=%s in URL '%s' is not a size", key, v, url->text);
    unsigned long long mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: end = (char *)"x";
    }
    if (*end != '\0' || (mult > 1 && n > (unsigned long long)SIZE_MAX / mult))
        return ps_error_set(PS_ERR_BAD_URL, "parameter %s=%s in URL '%s' is not a size (e.g. 4096, 64K, 256M)",
                            key, v, url->text);
    *out = (size_t)(n * mult);
    return PS_OK;
}

/*
 * jsonfile.c — see jsonfile.h.  cJSON reports only where parsing stopped;
 * the line and column are computed from that offset.
 */
#include "jsonfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ps_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (cap - n - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (!buf || failed) {
        free(buf);
        errno = buf ? saved : ENOMEM;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Whether text ends inside a string or an unclosed object or array: cJSON
 * then points at where the unfinished value began, which misleads. */
static bool truncated(const char *text, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return in_string || depth > 0;
}

cJSON *ps_json_parse(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root)
        return root;
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    if (truncated(text, len))
        off = len;
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    size_t first = 0;
    while (first < len && (text[first] == ' ' || text[first] == '\t' || text[first] == '\n' ||
                           text[first] == '\r'))
        first++;
    if (first == len)
        snprintf(err, errlen, "%s: empty file, expected JSON", name);
    else if (off >= len)
        snprintf(err, errlen, "%s:%u:%u: invalid JSON: unexpected end of file", name, line, col);
    else
        snprintf(err, errlen, "%s:%u:%u: invalid JSON near '%.12s'", name, line, col, text + off);
    /* Cut the excerpt at a newline so the message stays on one line. */
    char *nl = strchr(err, '\n');
    if (nl) {
        *nl++ = '\'';
        *nl = '\0';
    }
    return NULL;
}

cJSON *ps_json_read_file(const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = ps_read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    cJSON *root = ps_json_parse(text, len, path, err, errlen);
    free(text);
    return root;
}

/*
 * suppress.c — finding the suppression marker and the rule ids after it
 *
 * The scan is line-based: a marker counts when a "//" or an unclosed "/\*"
 * outside string literals precedes it on the same line (or the line
 * continues a block comment with a leading '*').  That is enough for real
 * code and cheap enough to run on every finding.
 */
#include "suppress.h"

#include <string.h>

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

/* Whether position pos of line is inside a comment opened earlier on the
 * line.  String and character literals are skipped, so a marker quoted in
 * code (a test's input, a message) is not a suppression. */
static bool in_comment(const char *line, size_t pos)
{
    enum { CODE, STRING, CHAR, BLOCK } state = CODE;
    for (size_t i = 0; i < pos; i++) {
        char c = line[i], next = i + 1 < pos ? line[i + 1] : '\0';
        switch (state) {
        case CODE:
            if (c == '/' && next == '/')
                return true;
            if (c == '/' && next == '*') {
                state = BLOCK;
                i++;
            } else if (c == '"') {
                state = STRING;
            } else if (c == '\'') {
                state = CHAR;
            }
            break;
        case STRING:
        case CHAR:
            if (c == '\\')
                i++;
            else if (c == (state == STRING ? '"' : '\''))
                state = CODE;
            break;
        case BLOCK:
            if (c == '*' && next == '/') {
                state = CODE;
                i++;
            }
            break;
        }
    }
    if (state == BLOCK)
        return true;
    /* A block comment opened on an earlier line cannot be seen from here;
     * a line starting with '*' (the usual continuation) counts as inside. */
    if (state == CODE) {
        size_t i = 0;
        while (i < pos && (line[i] == ' ' || line[i] == '\t'))
            i++;
        return i < pos && line[i] == '*';
    }
    return false;
}

static const char *find_marker(const char *s, size_t len)
{
    size_t mlen = sizeof PS_SUPPRESS_MARKER - 1;
    for (size_t i = 0; i + mlen <= len; i++)
        if (s[i] == 'p' && memcmp(s + i, PS_SUPPRESS_MARKER, mlen) == 0)
            return s + i;
    return NULL;
}

size_t ps_suppress_scan(const char *line, size_t len, ps_suppress_fn fn, void *arg)
{
    size_t count = 0, mlen = sizeof PS_SUPPRESS_MARKER - 1;
    const char *end = line + len, *p = line;
    const char *m;
    while ((m = find_marker(p, (size_t)(end - p))) != NULL) {
        p = m + mlen;
        if (!in_comment(line, (size_t)(m - line)))
            continue;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end || *p != ':')
            continue;
        p++;
        for (;;) {
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            const char *id = p;
            while (p < end && is_id_char(*p))
                p++;
            if (p == id)
                break;
            if (fn)
                fn(id, (size_t)(p - id), (unsigned)(id - line) + 1, arg);
            count++;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            break;
        }
    }
    return count;
}

struct names_arg {
    const char *rule_id;
    size_t rule_len;
    bool found;
};

static void match_id(const char *id, size_t idlen, unsigned col, void *arg)
{
    struct names_arg *a = arg;
    (void)col;
    if (idlen == a->rule_len && memcmp(id, a->rule_id, idlen) == 0)
        a->found = true;
}

bool ps_suppress_line_names(const char *line, size_t len, const char *rule_id)
{
    struct names_arg a = {rule_id, strlen(rule_id), false};
    if (!line || !find_marker(line, len))
        return false;
    ps_suppress_scan(line, len, match_id, &a);
    return a.found;
}

/*
 * findings.c — merging, ordering and fingerprinting findings.
 *
 * The fingerprint leaves the line number out on purpose: an edit above a
 * finding moves it without changing what it is, and a baseline must keep
 * matching it.  Two identical findings in one file share a fingerprint and
 * are told apart by their occurrence number (1, 2, ... in line order).
 */
#include "findings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "paths.h"

int ps_findings_take(ps_findings *list, ps_finding **items, size_t n)
{
    if (n) {
        ps_finding **grown =
            ps_array_reserve(list->items, &list->cap, list->len + n, sizeof *grown);
        if (!grown) {
            for (size_t i = 0; i < n; i++)
                ps_finding_free(items[i]);
            free(items);
            return -1;
        }
        list->items = grown;
        memcpy(list->items + list->len, items, n * sizeof *items);
        list->len += n;
    }
    free(items);
    return 0;
}

static int strcmp_null(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (!a)
        return -1;
    if (!b)
        return 1;
    return strcmp(a, b);
}

static int compare(const void *pa, const void *pb)
{
    const ps_finding *a = *(ps_finding *const *)pa, *b = *(ps_finding *const *)pb;
    int c = strcmp_null(a->diag.loc.file, b->diag.loc.file);
    if (c)
        return c;
    if (a->diag.loc.line != b->diag.loc.line)
        return a->diag.loc.line < b->diag.loc.line ? -1 : 1;
    if (a->diag.loc.col != b->diag.loc.col)
        return a->diag.loc.col < b->diag.loc.col ? -1 : 1;
    if (a->diag.rule != b->diag.rule)
        return a->diag.rule < b->diag.rule ? -1 : 1;
    return strcmp(a->diag.message, b->diag.message);
}

char *ps_fingerprint_normalize_line(const char *line)
{
    if (!line)
        return strdup("");
    char *out = malloc(strlen(line) + 1), *o = out;
    if (!out)
        return NULL;
    bool pending_space = false;
    for (const char *p = line; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f') {
            pending_space = o != out;
            continue;
        }
        if (pending_space)
            *o++ = ' ';
        pending_space = false;
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL; /* a separator no text byte produces */
}

void ps_fingerprint(const char *rule_id, const char *relfile, const char *line_text,
                    const char *message, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    char *norm = ps_fingerprint_normalize_line(line_text);
    uint64_t h = 1469598103934665603ULL;
    h = fnv1a(h, rule_id);
    h = fnv1a(h, relfile);
    h = fnv1a(h, norm ? norm : "");
    h = fnv1a(h, message);
    free(norm);
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = hex[h & 15];
    out[16] = '\0';
}

void ps_findings_finish(ps_findings *list, const char *root)
{
    if (list->len > 1)
        qsort(list->items, list->len, sizeof *list->items, compare);
    size_t w = 0;
    for (size_t i = 0; i < list->len; i++) {
        if (w > 0 && compare(&list->items[w - 1], &list->items[i]) == 0) {
            ps_finding_free(list->items[i]);
            continue;
        }
        list->items[w++] = list->items[i];
    }
    list->len = w;
    for (size_t i = 0; i < list->len; i++) {
        ps_finding *f = list->items[i];
        const char *file = f->diag.loc.file ? f->diag.loc.file : "";
        ps_fingerprint(ps_rule_info_of(f->diag.rule)->id, ps_path_relative(file, root),
                       f->line_text, f->diag.message, f->fingerprint);
        /* Findings are sorted by file, so equal fingerprints in one file are
         * found by looking back within the file's run. */
        f->occurrence = 1;
        for (size_t j = i; j-- > 0;) {
            ps_finding *g = list->items[j];
            if (g->diag.loc.file != f->diag.loc.file &&
                strcmp_null(g->diag.loc.file, f->diag.loc.file) != 0)
                break;
            if (strcmp(g->fingerprint, f->fingerprint) == 0) {
                f->occurrence = g->occurrence + 1;
                break;
            }
        }
    }
}

void ps_findings_filter(ps_findings *list, int (*keep)(ps_finding *f, void *arg), void *arg)
{
    size_t w = 0;
    for (size_t i = 0; i < list->len; i++) {
        if (keep(list->items[i], arg))
            list->items[w++] = list->items[i];
        else
            ps_finding_free(list->items[i]);
    }
    list->len = w;
}

void ps_findings_clear(ps_findings *list)
{
    for (size_t i = 0; i < list->len; i++)
        ps_finding_free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->len = list->cap = 0;
}

/*
 * baseline.c — reading, applying and writing baselines.
 */
#include "baseline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "paths.h"

void ps_baseline_free(ps_baseline *bl)
{
    free(bl->entries);
    bl->entries = NULL;
    bl->len = 0;
}

static bool is_fingerprint(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 16;
}

int ps_baseline_parse(ps_baseline *bl, const char *text, size_t len, const char *name, char *err,
                      size_t errlen)
{
    memset(bl, 0, sizeof *bl);
    cJSON *root = ps_json_parse(text, len, name, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *findings = cJSON_GetObjectItemCaseSensitive(root, "findings");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(findings)) {
        snprintf(err, errlen, "%s: not a ps-check baseline (expected an object with a "
                              "\"findings\" array)", name);
        goto out;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        snprintf(err, errlen, "%s: unsupported baseline version (expected \"version\": 1)", name);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(findings), i = 0;
    bl->entries = calloc(n ? n : 1, sizeof *bl->entries);
    if (!bl->entries) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, findings)
    {
        const cJSON *fp = cJSON_GetObjectItemCaseSensitive(item, "fingerprint");
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(item, "count");
        i++;
        if (!cJSON_IsString(fp) || !is_fingerprint(fp->valuestring)) {
            snprintf(err, errlen, "%s: finding %zu: \"fingerprint\" must be 16 hex digits", name,
                     i);
            goto out;
        }
        double c = count ? count->valuedouble : 1;
        if ((count && !cJSON_IsNumber(count)) || c < 1 || c > 1e9 || c != (double)(unsigned)c) {
            snprintf(err, errlen, "%s: finding %zu: \"count\" must be a positive integer", name, i);
            goto out;
        }
        ps_baseline_entry *e = &bl->entries[bl->len++];
        memcpy(e->fingerprint, fp->valuestring, 17);
        e->count = (unsigned)c;
    }
    rc = 0;
out:
    if (rc != 0)
        ps_baseline_free(bl);
    cJSON_Delete(root);
    return rc;
}

int ps_baseline_load(ps_baseline *bl, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = ps_read_file(path, &len);
    if (!text) {
        memset(bl, 0, sizeof *bl);
        snprintf(err, errlen, "%s: cannot read baseline: %s", path, strerror(errno));
        return -1;
    }
    int rc = ps_baseline_parse(bl, text, len, path, err, errlen);
    free(text);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const ps_baseline_entry *)a)->fingerprint,
                  ((const ps_baseline_entry *)b)->fingerprint);
}

typedef struct apply_state {
    ps_baseline_entry *remaining; /* sorted copy whose counts are used up */
    size_t len, removed;
} apply_state;

static int not_in_baseline(ps_finding *f, void *arg)
{
    apply_state *st = arg;
    ps_baseline_entry key;
    memcpy(key.fingerprint, f->fingerprint, 17);
    ps_baseline_entry *e = bsearch(&key, st->remaining, st->len, sizeof key, cmp_entry);
    if (e && e->count > 0) {
        e->count--;
        st->removed++;
        return 0;
    }
    return 1;
}

size_t ps_baseline_apply(const ps_baseline *bl, ps_findings *list)
{
    if (!bl->len)
        return 0;
    apply_state st = {malloc(bl->len * sizeof *bl->entries), bl->len, 0};
    if (!st.remaining)
        return 0;
    memcpy(st.remaining, bl->entries, bl->len * sizeof *bl->entries);
    qsort(st.remaining, st.len, sizeof *st.remaining, cmp_entry);
    /* Equal fingerprints listed twice add up. */
    size_t w = 0;
    for (size_t i = 0; i < st.len; i++) {
        if (w && strcmp(st.remaining[w - 1].fingerprint, st.remaining[i].fingerprint) == 0)
            st.remaining[w - 1].count += st.remaining[i].count;
        else
            st.remaining[w++] = st.remaining[i];
    }
    st.len = w;
    ps_findings_filter(list, not_in_baseline, &st);
    free(st.remaining);
    return st.removed;
}

int ps_baseline_write(const ps_findings *list, const char *root, const char *path, char *err,
                      size_t errlen)
{
    cJSON **file_entries = NULL; /* this file's entries, to merge equal fingerprints */
    size_t nfile = 0;
    cJSON *doc = cJSON_CreateObject(), *arr = NULL;
    if (!doc || !cJSON_AddNumberToObject(doc, "version", 1) ||
        !cJSON_AddStringToObject(doc, "tool", "ps-check") ||
        !(arr = cJSON_AddArrayToObject(doc, "findings")))
        goto oom;
    if (list->len && !(file_entries = malloc(list->len * sizeof *file_entries)))
        goto oom;
    /* Findings are sorted by file, so equal fingerprints (which include the
     * file) sit in one run of the list. */
    for (size_t i = 0; i < list->len; i++) {
        const ps_finding *f = list->items[i];
        if (i > 0 && list->items[i - 1]->diag.loc.file != f->diag.loc.file)
            nfile = 0;
        cJSON *prev = NULL;
        for (size_t k = 0; k < nfile && !prev; k++) {
            const cJSON *fp = cJSON_GetObjectItemCaseSensitive(file_entries[k], "fingerprint");
            if (strcmp(fp->valuestring, f->fingerprint) == 0)
                prev = file_entries[k];
        }
        if (prev) {
            cJSON *count = cJSON_GetObjectItemCaseSensitive(prev, "count");
            cJSON_SetNumberValue(count, count->valuedouble + 1);
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        if (!e)
            goto oom;
        cJSON_AddItemToArray(arr, e);
        file_entries[nfile++] = e;
        const char *file = f->diag.loc.file ? ps_path_relative(f->diag.loc.file, root) : "";
        if (!cJSON_AddStringToObject(e, "rule", ps_rule_info_of(f->diag.rule)->id) ||
            !cJSON_AddStringToObject(e, "file", file) ||
            !cJSON_AddStringToObject(e, "fingerprint", f->fingerprint) ||
            !cJSON_AddStringToObject(e, "message", f->diag.message) ||
            !cJSON_AddNumberToObject(e, "count", 1))
            goto oom;
    }
    free(file_entries);
    file_entries = NULL;
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    doc = NULL;
    if (!text)
        goto oom;
    FILE *out = fopen(path, "w");
    if (!out) {
        snprintf(err, errlen, "%s: cannot write baseline: %s", path, strerror(errno));
        free(text);
        return -1;
    }
    fputs(text, out);
    fputc('\n', out);
    free(text);
    if (fclose(out) != 0) {
        snprintf(err, errlen, "%s: cannot write baseline: %s", path, strerror(errno));
        return -1;
    }
    return 0;
oom:
    free(file_entries);
    cJSON_Delete(doc);
    snprintf(err, errlen, "out of memory");
    return -1;
}

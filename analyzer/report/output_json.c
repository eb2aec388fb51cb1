/*
 * output_json.c — --format=json.  The schema (docs/cli.md) is versioned;
 * fields are only ever added to it.  Also the document tail the JSON
 * formats share (output.h).
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "output.h"
#include "paths.h"

/* "file", "line", "column" of a location (findings, notes, fix-its). */
static void add_position(cJSON *j, const ps_loc *loc, const ps_output_options *o)
{
    cJSON_AddStringToObject(j, "file", loc->file ? ps_path_relative(loc->file, o->root) : "");
    cJSON_AddNumberToObject(j, "line", loc->line);
    cJSON_AddNumberToObject(j, "column", loc->col);
}

static cJSON *finding_json(const ps_finding *f, const ps_output_options *o)
{
    const ps_diag *d = &f->diag;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "rule", ps_rule_info_of(d->rule)->id);
    cJSON_AddStringToObject(j, "severity", ps_severity_name(d->severity));
    add_position(j, &d->loc, o);
    cJSON_AddNumberToObject(j, "end_column", f->end_col);
    cJSON_AddStringToObject(j, "message", d->message);
    cJSON_AddStringToObject(j, "fingerprint", f->fingerprint);
    cJSON_AddNumberToObject(j, "occurrence", f->occurrence);
    if (f->line_text)
        cJSON_AddStringToObject(j, "source", f->line_text);
    cJSON *notes = cJSON_AddArrayToObject(j, "notes");
    for (size_t i = 0; notes && i < d->nnotes; i++) {
        cJSON *n = cJSON_CreateObject();
        if (!n)
            break;
        add_position(n, &d->notes[i].loc, o);
        cJSON_AddStringToObject(n, "message", d->notes[i].message);
        cJSON_AddItemToArray(notes, n);
    }
    cJSON *fixits = cJSON_AddArrayToObject(j, "fixits");
    for (size_t i = 0; fixits && i < d->nfixits; i++) {
        const ps_fixit *fx = &d->fixits[i];
        cJSON *x = cJSON_CreateObject();
        if (!x)
            break;
        add_position(x, &fx->begin, o);
        cJSON_AddNumberToObject(x, "end_line", fx->end.line);
        cJSON_AddNumberToObject(x, "end_column", fx->end.col);
        cJSON_AddStringToObject(x, "text", fx->text);
        cJSON_AddItemToArray(fixits, x);
    }
    return j;
}

int ps_output_json_document(FILE *out, cJSON *doc, cJSON *parent, const char *key,
                            const ps_findings *list, const ps_output_options *o,
                            ps_finding_json_fn finding)
{
    cJSON *arr = cJSON_AddArrayToObject(parent, key);
    for (size_t i = 0; arr && i < list->len; i++) {
        cJSON *f = finding(list->items[i], o);
        if (!f) {
            cJSON_Delete(doc);
            return -1;
        }
        cJSON_AddItemToArray(arr, f);
    }
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text)
        return -1;
    fputs(text, out);
    fputc('\n', out);
    free(text);
    return ferror(out) ? -1 : 0;
}

int ps_output_json(FILE *out, const ps_findings *list, const ps_output_options *o)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return -1;
    cJSON_AddNumberToObject(doc, "version", 1);
    cJSON *tool = cJSON_AddObjectToObject(doc, "tool");
    if (tool) {
        cJSON_AddStringToObject(tool, "name", "ps-check");
        cJSON_AddStringToObject(tool, "version", PS_CHECK_VERSION);
    }
    cJSON_AddStringToObject(doc, "root", o->root);
    cJSON *summary = cJSON_AddObjectToObject(doc, "summary");
    if (summary) {
        cJSON_AddNumberToObject(summary, "files", (double)o->files);
        cJSON_AddNumberToObject(summary, "files_failed", (double)o->files_failed);
        cJSON_AddNumberToObject(summary, "findings", (double)list->len);
        cJSON_AddNumberToObject(summary, "baselined", (double)o->baselined);
    }
    return ps_output_json_document(out, doc, doc, "findings", list, o, finding_json);
}

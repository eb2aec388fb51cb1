/*
 * output_sarif.c — --format=sarif: SARIF 2.1.0 in the shape GitHub code
 * scanning accepts (one run; every rule in tool.driver.rules so ruleIndex
 * is stable; repo-relative URIs against %SRCROOT%; a line-independent
 * partial fingerprint so alerts survive edits that move code).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "output.h"
#include "paths.h"

/* Where the project's documentation is published (CMake PS_CHECK_DOCS_URL,
 * e.g. https://host/org/repo/blob/main).  Empty: SARIF carries no links, only
 * the rule texts, rather than links that lead nowhere. */
#ifndef PS_CHECK_INFO_URI
#define PS_CHECK_INFO_URI ""
#endif
#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

const char *ps_sarif_level(ps_severity sev)
{
    switch (sev) {
    case PS_SEV_ERROR: return "error";
    case PS_SEV_WARNING: return "warning";
    case PS_SEV_NOTE: return "note";
    default: return "none";
    }
}

/* Percent-encodes everything but RFC 3986 unreserved characters and '/'. */
static char *uri_escape(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(path) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static char *file_uri(const char *abs_path, bool dir)
{
    char *esc = uri_escape(abs_path);
    if (!esc)
        return NULL;
    size_t n = strlen(esc);
    char *uri = malloc(n + 9);
    if (uri)
        sprintf(uri, "file://%s%s", esc, dir && (n == 0 || esc[n - 1] != '/') ? "/" : "");
    free(esc);
    return uri;
}

/* SARIF columns count characters (run.columnKind); ps-check's count bytes. */
static unsigned char_col(const char *line, unsigned byte_col)
{
    if (!line || byte_col <= 1)
        return byte_col;
    unsigned col = 1;
    size_t len = strlen(line);
    for (size_t i = 0; i + 1 < byte_col; i++) {
        if (i >= len)
            col++;
        else if (((unsigned char)line[i] & 0xC0) != 0x80)
            col++;
    }
    return col;
}

static void add_artifact(cJSON *parent, const char *file, const ps_output_options *o)
{
    cJSON *art = cJSON_AddObjectToObject(parent, "artifactLocation");
    if (!art || !file)
        return;
    if (ps_path_is_under(file, o->root)) {
        char *uri = uri_escape(ps_path_relative(file, o->root));
        if (uri)
            cJSON_AddStringToObject(art, "uri", uri);
        cJSON_AddStringToObject(art, "uriBaseId", "%SRCROOT%");
        free(uri);
    } else {
        char *uri = file_uri(file, false);
        if (uri)
            cJSON_AddStringToObject(art, "uri", uri);
        free(uri);
    }
}

static cJSON *physical_location(const char *file, unsigned line, unsigned col, unsigned end_col,
                                const char *text, const ps_output_options *o)
{
    cJSON *phys = cJSON_CreateObject();
    if (!phys)
        return NULL;
    add_artifact(phys, file, o);
    cJSON *region = cJSON_AddObjectToObject(phys, "region");
    if (region) {
        /* A file-level problem (it did not parse at all) points at its start. */
        unsigned l = line ? line : 1, c = line && col ? col : 1;
        unsigned e = line && end_col > col ? end_col : c + 1;
        cJSON_AddNumberToObject(region, "startLine", l);
        cJSON_AddNumberToObject(region, "startColumn", char_col(text, c));
        cJSON_AddNumberToObject(region, "endColumn", char_col(text, e));
    }
    return phys;
}

static char *rule_name(const char *id)
{
    char *name = malloc(strlen(id) + 1), *o = name;
    if (!name)
        return NULL;
    bool upper = true;
    for (const char *p = id; *p; p++) {
        if (*p == '-') {
            upper = true;
            continue;
        }
        *o++ = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
    }
    *o = '\0';
    return name;
}

/* parent[key] = [{}]: the new object, or NULL when out of memory. */
static cJSON *add_array_of_one(cJSON *parent, const char *key)
{
    cJSON *arr = cJSON_AddArrayToObject(parent, key);
    cJSON *item = arr ? cJSON_CreateObject() : NULL;
    if (item)
        cJSON_AddItemToArray(arr, item);
    return item;
}

static void add_text(cJSON *parent, const char *key, const char *text)
{
    cJSON *m = cJSON_AddObjectToObject(parent, key);
    if (m)
        cJSON_AddStringToObject(m, "text", text);
}

static cJSON *rules_json(void)
{
    cJSON *rules = cJSON_CreateArray();
    for (int r = 0; rules && r < PS_RULE_COUNT_; r++) {
        const ps_rule_info *info = ps_rule_info_of((ps_rule)r);
        cJSON *rule = cJSON_CreateObject();
        if (!rule)
            break;
        cJSON_AddItemToArray(rules, rule);
        cJSON_AddStringToObject(rule, "id", info->id);
        char *name = rule_name(info->id);
        if (name)
            cJSON_AddStringToObject(rule, "name", name);
        free(name);
        add_text(rule, "shortDescription", info->summary);
        add_text(rule, "fullDescription", info->description);
        char uri[256] = "";
        if (PS_CHECK_INFO_URI[0]) {
            snprintf(uri, sizeof uri, "%s/docs/rules/%s.md", PS_CHECK_INFO_URI, info->id);
            cJSON_AddStringToObject(rule, "helpUri", uri);
        }
        cJSON *help = cJSON_AddObjectToObject(rule, "help");
        if (help) {
            cJSON_AddStringToObject(help, "text", info->description);
            char md[1024];
            if (uri[0])
                snprintf(md, sizeof md, "%s\n\nSee [%s](%s).", info->description, info->id, uri);
            else
                snprintf(md, sizeof md, "%s\n\nSee docs/rules/%s.md.", info->description, info->id);
            cJSON_AddStringToObject(help, "markdown", md);
        }
        cJSON *conf = cJSON_AddObjectToObject(rule, "defaultConfiguration");
        if (conf) {
            cJSON_AddStringToObject(conf, "level", ps_sarif_level(info->default_severity));
            if (!info->enabled_by_default)
                cJSON_AddBoolToObject(conf, "enabled", 0);
        }
        cJSON *props = cJSON_AddObjectToObject(rule, "properties");
        cJSON *tags = props ? cJSON_AddArrayToObject(props, "tags") : NULL;
        if (tags) {
            cJSON_AddItemToArray(tags, cJSON_CreateString("correctness"));
            cJSON_AddItemToArray(tags, cJSON_CreateString("proxystore"));
        }
        if (props)
            cJSON_AddStringToObject(props, "problem.severity",
                                    info->default_severity == PS_SEV_ERROR     ? "error"
                                    : info->default_severity == PS_SEV_WARNING ? "warning"
                                                                               : "recommendation");
    }
    return rules;
}

static cJSON *fix_json(const ps_finding *f, const ps_fixit *fx, const ps_output_options *o)
{
    cJSON *fix = cJSON_CreateObject();
    if (!fix)
        return NULL;
    char desc[512];
    snprintf(desc, sizeof desc, "Replace with '%s'", fx->text);
    add_text(fix, "description", desc);
    cJSON *change = add_array_of_one(fix, "artifactChanges");
    if (!change)
        return fix;
    add_artifact(change, fx->begin.file, o);
    cJSON *repl = add_array_of_one(change, "replacements");
    if (!repl)
        return fix;
    const char *text = fx->begin.file == f->diag.loc.file && fx->begin.line == f->diag.loc.line
                           ? f->line_text
                           : NULL;
    const char *etext = fx->end.line == fx->begin.line ? text : NULL;
    cJSON *del = cJSON_AddObjectToObject(repl, "deletedRegion");
    if (del) {
        cJSON_AddNumberToObject(del, "startLine", fx->begin.line);
        cJSON_AddNumberToObject(del, "startColumn", char_col(text, fx->begin.col));
        cJSON_AddNumberToObject(del, "endLine", fx->end.line);
        cJSON_AddNumberToObject(del, "endColumn", char_col(etext, fx->end.col));
    }
    add_text(repl, "insertedContent", fx->text);
    return fix;
}

static cJSON *result_json(const ps_finding *f, const ps_output_options *o)
{
    const ps_diag *d = &f->diag;
    cJSON *res = cJSON_CreateObject();
    if (!res)
        return NULL;
    cJSON_AddStringToObject(res, "ruleId", ps_rule_info_of(d->rule)->id);
    cJSON_AddNumberToObject(res, "ruleIndex", d->rule);
    cJSON_AddStringToObject(res, "level", ps_sarif_level(d->severity));
    add_text(res, "message", d->message);
    cJSON *loc = add_array_of_one(res, "locations");
    cJSON *phys = loc ? physical_location(d->loc.file, d->loc.line, d->loc.col, f->end_col,
                                          f->line_text, o)
                      : NULL;
    if (phys)
        cJSON_AddItemToObject(loc, "physicalLocation", phys);
    if (d->nnotes) {
        cJSON *rel = cJSON_AddArrayToObject(res, "relatedLocations");
        for (size_t i = 0; rel && i < d->nnotes; i++) {
            const ps_note *n = &d->notes[i];
            cJSON *r = cJSON_CreateObject();
            if (!r)
                break;
            cJSON_AddItemToArray(rel, r);
            cJSON_AddNumberToObject(r, "id", (double)i + 1);
            const char *text = f->note_lines ? f->note_lines[i] : NULL;
            cJSON *phys = physical_location(n->loc.file, n->loc.line, n->loc.col, n->loc.col + 1,
                                            text, o);
            if (phys)
                cJSON_AddItemToObject(r, "physicalLocation", phys);
            add_text(r, "message", n->message);
        }
    }
    cJSON *pf = cJSON_AddObjectToObject(res, "partialFingerprints");
    if (pf) {
        char hash[32];
        snprintf(hash, sizeof hash, "%s:%u", f->fingerprint, f->occurrence);
        cJSON_AddStringToObject(pf, "primaryLocationLineHash", hash);
    }
    if (d->nfixits) {
        cJSON *fixes = cJSON_AddArrayToObject(res, "fixes");
        for (size_t i = 0; fixes && i < d->nfixits; i++) {
            cJSON *fx = fix_json(f, &d->fixits[i], o);
            if (fx)
                cJSON_AddItemToArray(fixes, fx);
        }
    }
    return res;
}

int ps_output_sarif(FILE *out, const ps_findings *list, const ps_output_options *o)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return -1;
    cJSON_AddStringToObject(doc, "$schema", SARIF_SCHEMA);
    cJSON_AddStringToObject(doc, "version", "2.1.0");
    cJSON *run = add_array_of_one(doc, "runs");
    if (!run) {
        cJSON_Delete(doc);
        return -1;
    }
    cJSON *tool = cJSON_AddObjectToObject(run, "tool");
    cJSON *driver = tool ? cJSON_AddObjectToObject(tool, "driver") : NULL;
    if (driver) {
        cJSON_AddStringToObject(driver, "name", "ps-check");
        cJSON_AddStringToObject(driver, "version", PS_CHECK_VERSION);
        cJSON_AddStringToObject(driver, "semanticVersion", PS_CHECK_VERSION);
        if (PS_CHECK_INFO_URI[0])
            cJSON_AddStringToObject(driver, "informationUri", PS_CHECK_INFO_URI);
        cJSON *rules = rules_json();
        if (rules)
            cJSON_AddItemToObject(driver, "rules", rules);
    }
    cJSON *bases = cJSON_AddObjectToObject(run, "originalUriBaseIds");
    cJSON *srcroot = bases ? cJSON_AddObjectToObject(bases, "%SRCROOT%") : NULL;
    char *root_uri = file_uri(o->root, true);
    if (srcroot && root_uri)
        cJSON_AddStringToObject(srcroot, "uri", root_uri);
    free(root_uri);
    cJSON *inv = add_array_of_one(run, "invocations");
    if (inv) {
        /* Usage errors never get this far: a run fails when a file did not parse. */
        cJSON_AddBoolToObject(inv, "executionSuccessful", o->files_failed == 0);
        cJSON *n = o->files_failed ? add_array_of_one(inv, "toolExecutionNotifications") : NULL;
        if (n) {
            char msg[128];
            snprintf(msg, sizeof msg, "%zu of %zu files could not be parsed", o->files_failed,
                     o->files);
            add_text(n, "message", msg);
            cJSON_AddStringToObject(n, "level", "error");
        }
    }
    cJSON_AddStringToObject(run, "columnKind", "unicodeCodePoints");
    return ps_output_json_document(out, doc, run, "results", list, o, result_json);
}

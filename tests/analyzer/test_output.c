/*
 * test_output.c — the three output formats.  SARIF is checked against
 * what the 2.1.0 schema requires and what GitHub code scanning reads.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static const char *const ROOT = "/repo";
static const char *const FILE_A = "/repo/src/a b.c";
static const char *const HEADER = "/repo/include/m.h";

/* Two findings: one with a note and a fix-it, one outside the tree. */
static void sample(ps_findings *list)
{
    memset(list, 0, sizeof *list);
    ps_finding **items = calloc(3, sizeof *items);
    ps_finding *f = ps_finding_new(PS_RULE_RESOLVE_MISMATCH, PS_SEV_ERROR, FILE_A, 7, 9,
                                   "resolving 'p' (PROXY(struct matrix)) into 'struct mesh *'");
    f->line_text = strdup("    m = ps_resolve(p);");
    f->end_col = 22; /* the call ps_resolve(p) */
    f->diag.notes = calloc(1, sizeof *f->diag.notes);
    f->diag.notes[0] = (ps_note){{HEADER, 3, 1}, strdup("'p' declared as PROXY(struct matrix) here")};
    f->diag.nnotes = 1;
    f->note_lines = calloc(1, sizeof *f->note_lines);
    f->note_lines[0] = strdup("PROXY(struct matrix) p;");
    f->diag.fixits = calloc(1, sizeof *f->diag.fixits);
    f->diag.fixits[0] = (ps_fixit){{FILE_A, 7, 9}, {FILE_A, 7, 22}, strdup("PS_RESOLVE(struct matrix, p)")};
    f->diag.nfixits = 1;
    items[0] = f;
    ps_finding *g = ps_finding_new(PS_RULE_LEAK, PS_SEV_WARNING, "/elsewhere/x.c", 2, 3, "leak");
    g->line_text = strdup("\tq = 1;");
    items[1] = g;
    ps_finding *h = ps_finding_new(PS_RULE_PARSE_ERROR, PS_SEV_ERROR, FILE_A, 0, 0,
                                   "cannot read file");
    items[2] = h;
    cr_assert_eq(ps_findings_take(list, items, 3), 0);
    ps_findings_finish(list, ROOT);
}

static char *render(int (*fn)(FILE *, const ps_findings *, const ps_output_options *),
                    const ps_findings *list, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ps_output_options o = {.root = ROOT, .cwd = ROOT, .color = color, .files = 2,
                           .files_failed = 1};
    cr_assert_eq(fn(out, list, &o), 0);
    fclose(out);
    return buf;
}

/* render() of a JSON format, parsed. */
static cJSON *render_doc(int (*fn)(FILE *, const ps_findings *, const ps_output_options *),
                         const ps_findings *list)
{
    char *text = render(fn, list, false);
    cJSON *doc = cJSON_Parse(text);
    cr_assert_not_null(doc, "%s", text);
    free(text);
    return doc;
}

Test(output_text, compiler_style_with_snippets_notes_and_fixits)
{
    ps_findings list;
    sample(&list);
    char *text = render(ps_output_text, &list, false);
    const char *expect =
        "/elsewhere/x.c:2:3: warning: leak [ps-leak]\n"
        "    2 | \tq = 1;\n"
        "      | \t ^\n"
        "src/a b.c: error: cannot read file [clang-parse-error]\n"
        "src/a b.c:7:9: error: resolving 'p' (PROXY(struct matrix)) into 'struct mesh *' "
        "[ps-resolve-mismatch]\n"
        "    7 |     m = ps_resolve(p);\n"
        "      |         ^~~~~~~~~~~~~\n"
        "      |         PS_RESOLVE(struct matrix, p)\n"
        "fix-it:\"src/a b.c\":{7:9-7:22}:\"PS_RESOLVE(struct matrix, p)\"\n"
        "include/m.h:3:1: note: 'p' declared as PROXY(struct matrix) here\n"
        "    3 | PROXY(struct matrix) p;\n"
        "      | ^\n"
        "1 warning and 2 errors generated.\n";
    cr_assert_str_eq(text, expect);
    free(text);
    text = render(ps_output_text, &list, true);
    cr_assert(strstr(text, "\033[1;35mwarning:"), "%s", text);
    free(text);
    ps_findings_clear(&list);
}

Test(output_json, schema)
{
    ps_findings list;
    sample(&list);
    cJSON *doc = render_doc(ps_output_json, &list);
    cr_assert_eq(cJSON_GetObjectItem(doc, "version")->valueint, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "tool"), "name")->valuestring,
                     "ps-check");
    cJSON *summary = cJSON_GetObjectItem(doc, "summary");
    cr_assert_eq(cJSON_GetObjectItem(summary, "findings")->valueint, 3);
    cr_assert_eq(cJSON_GetObjectItem(summary, "files_failed")->valueint, 1);
    cJSON *findings = cJSON_GetObjectItem(doc, "findings");
    cr_assert_eq(cJSON_GetArraySize(findings), 3);
    cJSON *f = cJSON_GetArrayItem(findings, 2);
    cr_assert_str_eq(cJSON_GetObjectItem(f, "rule")->valuestring, "ps-resolve-mismatch");
    cr_assert_str_eq(cJSON_GetObjectItem(f, "file")->valuestring, "src/a b.c");
    cr_assert_eq(cJSON_GetObjectItem(f, "line")->valueint, 7);
    cr_assert_eq(cJSON_GetObjectItem(f, "column")->valueint, 9);
    cr_assert_eq(strlen(cJSON_GetObjectItem(f, "fingerprint")->valuestring), 16);
    cJSON *note = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "notes"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(note, "file")->valuestring, "include/m.h");
    cJSON *fix = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "fixits"), 0);
    cr_assert_eq(cJSON_GetObjectItem(fix, "end_column")->valueint, 22);
    cJSON_Delete(doc);
    ps_findings_clear(&list);
}

static cJSON *get(cJSON *obj, const char *path)
{
    /* "a.b.0.c": object keys and array indices. */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && obj; tok = strtok(NULL, "."))
        obj = (*tok >= '0' && *tok <= '9') ? cJSON_GetArrayItem(obj, atoi(tok))
                                           : cJSON_GetObjectItemCaseSensitive(obj, tok);
    cr_assert_not_null(obj, "missing %s", path);
    return obj;
}

static const char *str(cJSON *obj, const char *path)
{
    cJSON *s = get(obj, path);
    cr_assert(cJSON_IsString(s), "%s is not a string", path);
    return s->valuestring;
}

static int num(cJSON *obj, const char *path)
{
    cJSON *n = get(obj, path);
    cr_assert(cJSON_IsNumber(n), "%s is not a number", path);
    return n->valueint;
}

Test(output_sarif, required_structure)
{
    ps_findings list;
    sample(&list);
    cJSON *doc = render_doc(ps_output_sarif, &list);
    cr_assert(strstr(str(doc, "$schema"), "sarif-2.1.0"));
    cr_assert_str_eq(str(doc, "version"), "2.1.0");
    cr_assert_eq(cJSON_GetArraySize(get(doc, "runs")), 1);
    cJSON *run = get(doc, "runs.0");

    cr_assert_str_eq(str(run, "tool.driver.name"), "ps-check");
    cr_assert_str_eq(str(run, "tool.driver.version"), PS_CHECK_VERSION);
    /* Links only when the build says where the docs are published. */
    if (PS_CHECK_INFO_URI[0])
        cr_assert(strncmp(str(run, "tool.driver.informationUri"), PS_CHECK_INFO_URI, strlen(PS_CHECK_INFO_URI)) == 0);
    else
        cr_assert_null(cJSON_GetObjectItem(get(run, "tool.driver"), "informationUri"));
    cJSON *rules = get(run, "tool.driver.rules");
    cr_assert_eq(cJSON_GetArraySize(rules), PS_RULE_COUNT_);
    for (int i = 0; i < PS_RULE_COUNT_; i++) {
        cJSON *rule = cJSON_GetArrayItem(rules, i);
        cr_assert_str_eq(str(rule, "id"), ps_rule_info_of((ps_rule)i)->id);
        cr_assert(str(rule, "name")[0]);
        cr_assert(str(rule, "shortDescription.text")[0]);
        cr_assert(str(rule, "fullDescription.text")[0]);
        if (PS_CHECK_INFO_URI[0])
            cr_assert(strstr(str(rule, "helpUri"), ps_rule_info_of((ps_rule)i)->id));
        else
            cr_assert_null(cJSON_GetObjectItem(rule, "helpUri"));
        cr_assert(strstr(str(rule, "help.markdown"), ps_rule_info_of((ps_rule)i)->id));
        const char *level = str(rule, "defaultConfiguration.level");
        cr_assert(!strcmp(level, "error") || !strcmp(level, "warning") || !strcmp(level, "note"));
    }
    cr_assert_str_eq(str(get(rules, "0"), "name"), "PsTargetMismatch");
    cr_assert_str_eq(str(run, "originalUriBaseIds.%SRCROOT%.uri"), "file:///repo/");
    cr_assert(cJSON_IsFalse(get(run, "invocations.0.executionSuccessful")));

    cJSON *results = get(run, "results");
    cr_assert_eq(cJSON_GetArraySize(results), 3);
    for (int i = 0; i < 3; i++) {
        cJSON *r = cJSON_GetArrayItem(results, i);
        const char *id = str(r, "ruleId");
        int index = num(r, "ruleIndex");
        cr_assert_str_eq(str(cJSON_GetArrayItem(rules, index), "id"), id,
                         "ruleIndex %d points at ruleId", index);
        cr_assert(str(r, "message.text")[0]);
        cr_assert(str(r, "level")[0]);
        cr_assert_geq(num(r, "locations.0.physicalLocation.region.startLine"), 1);
        cr_assert_geq(num(r, "locations.0.physicalLocation.region.startColumn"), 1);
        cr_assert_gt(num(r, "locations.0.physicalLocation.region.endColumn"),
                     num(r, "locations.0.physicalLocation.region.startColumn"));
        const char *hash = str(r, "partialFingerprints.primaryLocationLineHash");
        cr_assert_eq(strlen(hash), 18, "%s", hash);
    }
    /* Sorted: /elsewhere first, then a.c's file-level error, then the mismatch. */
    cJSON *outside = get(results, "0");
    cr_assert_str_eq(str(outside, "locations.0.physicalLocation.artifactLocation.uri"),
                     "file:///elsewhere/x.c");
    cr_assert_null(cJSON_GetObjectItem(get(outside, "locations.0.physicalLocation.artifactLocation"),
                                       "uriBaseId"));
    cr_assert_str_eq(str(outside, "level"), "warning");

    cJSON *r = get(results, "2");
    cr_assert_str_eq(str(r, "ruleId"), "ps-resolve-mismatch");
    cr_assert_eq(num(r, "ruleIndex"), PS_RULE_RESOLVE_MISMATCH);
    cr_assert_str_eq(str(r, "locations.0.physicalLocation.artifactLocation.uri"), "src/a%20b.c");
    cr_assert_str_eq(str(r, "locations.0.physicalLocation.artifactLocation.uriBaseId"), "%SRCROOT%");
    cr_assert_eq(num(r, "locations.0.physicalLocation.region.startLine"), 7);
    cr_assert_eq(num(r, "locations.0.physicalLocation.region.startColumn"), 9);
    cr_assert_eq(num(r, "locations.0.physicalLocation.region.endColumn"), 22);
    cr_assert_str_eq(str(r, "relatedLocations.0.physicalLocation.artifactLocation.uri"),
                     "include/m.h");
    cr_assert_str_eq(str(r, "relatedLocations.0.message.text"),
                     "'p' declared as PROXY(struct matrix) here");
    cr_assert_str_eq(str(r, "fixes.0.artifactChanges.0.replacements.0.insertedContent.text"),
                     "PS_RESOLVE(struct matrix, p)");
    cr_assert_eq(num(r, "fixes.0.artifactChanges.0.replacements.0.deletedRegion.startColumn"), 9);
    cr_assert(str(r, "fixes.0.description.text")[0]);
    cJSON_Delete(doc);
    ps_findings_clear(&list);
}

Test(output_sarif, columns_count_characters)
{
    ps_findings list = {0};
    ps_finding **items = calloc(1, sizeof *items);
    /* "é" is two bytes: byte column 8 is character column 7. */
    items[0] = ps_finding_new(PS_RULE_LEAK, PS_SEV_ERROR, FILE_A, 1, 8, "m");
    items[0]->line_text = strdup("/* é */ p;");
    items[0]->end_col = 9;
    cr_assert_eq(ps_findings_take(&list, items, 1), 0);
    ps_findings_finish(&list, ROOT);
    cJSON *doc = render_doc(ps_output_sarif, &list);
    cr_assert_eq(num(doc, "runs.0.results.0.locations.0.physicalLocation.region.startColumn"), 7);
    cr_assert_eq(num(doc, "runs.0.results.0.locations.0.physicalLocation.region.endColumn"), 8);
    cr_assert_str_eq(str(doc, "runs.0.columnKind"), "unicodeCodePoints");
    cJSON_Delete(doc);
    ps_findings_clear(&list);
}

Test(output_sarif, empty_run_is_successful)
{
    ps_findings list = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ps_output_options o = {.root = "/", .cwd = "/", .files = 1};
    cr_assert_eq(ps_output_sarif(out, &list, &o), 0);
    fclose(out);
    cJSON *doc = cJSON_Parse(buf);
    cr_assert_eq(cJSON_GetArraySize(get(doc, "runs.0.results")), 0);
    cr_assert(cJSON_IsTrue(get(doc, "runs.0.invocations.0.executionSuccessful")));
    cr_assert_str_eq(str(doc, "runs.0.originalUriBaseIds.%SRCROOT%.uri"), "file:///");
    cJSON_Delete(doc);
    free(buf);
}

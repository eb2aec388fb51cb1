/*
 * output.h — the output formats: compiler-style text, JSON, SARIF 2.1.0.
 * docs/cli.md documents the JSON schema and the SARIF mapping.
 */
#ifndef PS_CHECK_OUTPUT_H
#define PS_CHECK_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "findings.h"

typedef enum ps_format { PS_FORMAT_TEXT, PS_FORMAT_JSON, PS_FORMAT_SARIF } ps_format;

typedef struct ps_output_options {
    const char *root; /* the analyzed tree: JSON and SARIF paths are relative to it */
    const char *cwd;  /* text paths are relative to it */
    bool color;       /* ANSI colors in text */
    size_t files, files_failed, baselined;
} ps_output_options;

int ps_output_text(FILE *out, const ps_findings *list, const ps_output_options *o);
int ps_output_json(FILE *out, const ps_findings *list, const ps_output_options *o);
int ps_output_sarif(FILE *out, const ps_findings *list, const ps_output_options *o);

/* The SARIF rule level for a severity: "error", "warning", "note" or "none". */
const char *ps_sarif_level(ps_severity sev);

/* The tail both JSON formats share (output_json.c): adds parent[key], an
 * array holding finding()'s object for each finding, then prints doc to
 * out with a final newline and deletes it.  0, or -1 when out of memory or
 * when writing failed. */
struct cJSON;
typedef struct cJSON *(*ps_finding_json_fn)(const ps_finding *f, const ps_output_options *o);
int ps_output_json_document(FILE *out, struct cJSON *doc, struct cJSON *parent, const char *key,
                            const ps_findings *list, const ps_output_options *o,
                            ps_finding_json_fn finding);

#endif /* PS_CHECK_OUTPUT_H */

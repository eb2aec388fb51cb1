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
    bool success;     /* no usage error and every file parsed (SARIF executionSuccessful) */
} ps_output_options;

int ps_output_text(FILE *out, const ps_findings *list, const ps_output_options *o);
int ps_output_json(FILE *out, const ps_findings *list, const ps_output_options *o);
int ps_output_sarif(FILE *out, const ps_findings *list, const ps_output_options *o);

/* The SARIF rule level for a severity: "error", "warning", "note" or "none". */
const char *ps_sarif_level(ps_severity sev);

#endif /* PS_CHECK_OUTPUT_H */

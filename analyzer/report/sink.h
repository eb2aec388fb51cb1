/*
 * sink.h — the driver's side of the diagnostic sink (diag.h is the
 * checks' side).
 *
 * One sink per translation unit, so workers never share one; the driver
 * takes each sink's findings when the TU is done and merges them
 * (findings.h).  A finding owns its strings except loc.file, which points
 * into the run's string pool.
 */
#ifndef PS_CHECK_SINK_H
#define PS_CHECK_SINK_H

#include <clang-c/Index.h>
#include <stdbool.h>

#include "diag.h"
#include "strpool.h"

/* What the sink needs to know about the run; read-only while workers run. */
typedef struct ps_sink_config {
    ps_severity severity[PS_RULE_COUNT_]; /* effective; PS_SEV_OFF drops the rule */
    const char *root;                     /* the analyzed tree: absolute, no trailing '/' */
    ps_strpool *pool;
} ps_sink_config;

typedef struct ps_finding {
    ps_diag diag;         /* first: ps_diag_report hands out &finding->diag */
    unsigned end_col;     /* exclusive end of the primary range on diag.loc.line */
    char *line_text;      /* the source line at diag.loc, without newline; may be NULL */
    char **note_lines;    /* diag.nnotes entries, each may be NULL */
    char fingerprint[17]; /* filled by ps_findings_finish (findings.h) */
    unsigned occurrence;  /* 1-based among findings with the same fingerprint */
} ps_finding;

ps_diag_sink *ps_diag_sink_new(const ps_sink_config *config, CXTranslationUnit tu);
void ps_diag_sink_free(ps_diag_sink *sink);

/* Reports clang's own errors in the TU as clang-parse-error findings (they
 * bypass the tree, rule and suppression filters).  Returns their number. */
unsigned ps_diag_sink_add_clang_errors(ps_diag_sink *sink);

/* Reports that a file could not be parsed at all (no TU). */
void ps_diag_sink_add_failure(ps_diag_sink *sink, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Moves the findings out: *out gets a malloc'd array of n findings that the
 * caller frees with ps_finding_free and free().  The sink is left empty. */
size_t ps_diag_sink_take(ps_diag_sink *sink, ps_finding ***out);

void ps_finding_free(ps_finding *f);

/* A finding made without a TU (tests, baseline round trips). */
ps_finding *ps_finding_new(ps_rule rule, ps_severity sev, const char *file, unsigned line,
                           unsigned col, const char *message);

#endif /* PS_CHECK_SINK_H */

/*
 * findings.h — the run's findings: merged from every TU's sink, then put
 * in a stable order (file, line, column, rule, message), deduplicated
 * (a header included by several TUs yields the same finding in each) and
 * fingerprinted for baselines and SARIF.
 */
#ifndef PS_CHECK_FINDINGS_H
#define PS_CHECK_FINDINGS_H

#include <stddef.h>

#include "sink.h"

typedef struct ps_findings {
    ps_finding **items;
    size_t len, cap;
} ps_findings;

/* Takes ownership of n findings (and frees the array itself); 0 or -1 when
 * out of memory (the findings are then freed). */
int ps_findings_take(ps_findings *list, ps_finding **items, size_t n);
/* Sorts, drops duplicates and computes fingerprints and occurrences;
 * root makes file names repo-relative for the fingerprint. */
void ps_findings_finish(ps_findings *list, const char *root);
/* Removes (and frees) the findings for which keep() is false. */
void ps_findings_filter(ps_findings *list, int (*keep)(ps_finding *f, void *arg), void *arg);
void ps_findings_clear(ps_findings *list);

/* The text used by fingerprints: whitespace runs folded to one space and
 * trimmed, so re-indenting a line keeps its fingerprint.  malloc'd. */
char *ps_fingerprint_normalize_line(const char *line);
/* 16 hex digits of a 64-bit hash of rule, repo-relative file, normalized
 * line text and message.  out must hold 17 bytes. */
void ps_fingerprint(const char *rule_id, const char *relfile, const char *line_text,
                    const char *message, char out[17]);

#endif /* PS_CHECK_FINDINGS_H */

/*
 * baseline.h — the findings a code base already had when it adopted
 * ps-check, so CI fails only on new ones.
 *
 *   {
 *     "version": 1,
 *     "tool": "ps-check",
 *     "findings": [
 *       { "rule": "ps-leak", "file": "src/io.c", "fingerprint": "3f2a...",
 *         "message": "...", "count": 2 }
 *     ]
 *   }
 *
 * A finding matches an entry by fingerprint (rule, repo-relative file,
 * normalized source line, message: no line number, so edits elsewhere in
 * the file keep it matched); "count" findings with that fingerprint are
 * hidden, any more are reported.
 */
#ifndef PS_CHECK_BASELINE_H
#define PS_CHECK_BASELINE_H

#include <stddef.h>

#include "findings.h"

typedef struct ps_baseline_entry {
    char fingerprint[17];
    unsigned count;
} ps_baseline_entry;

typedef struct ps_baseline {
    ps_baseline_entry *entries;
    size_t len;
} ps_baseline;

/* 0, or -1 with err (unreadable, malformed JSON, wrong shape). */
int ps_baseline_load(ps_baseline *bl, const char *path, char *err, size_t errlen);
int ps_baseline_parse(ps_baseline *bl, const char *text, size_t len, const char *name, char *err,
                      size_t errlen);
void ps_baseline_free(ps_baseline *bl);

/* Removes the findings the baseline covers (list must be finished);
 * returns how many were removed. */
size_t ps_baseline_apply(const ps_baseline *bl, ps_findings *list);

/* Writes the findings (finished) as a baseline.  0, or -1 with err. */
int ps_baseline_write(const ps_findings *list, const char *root, const char *path, char *err,
                      size_t errlen);

#endif /* PS_CHECK_BASELINE_H */

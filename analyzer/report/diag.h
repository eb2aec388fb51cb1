/*
 * diag.h — the one place ps-check findings are made.
 *
 * Checks call ps_diag_report() at the cursor that is wrong; the sink turns
 * the cursor into a file/line/column at the macro expansion site, drops
 * findings in files outside the analyzed tree, in disabled rules or under
 * a suppression comment, applies configured severities, and keeps the rest
 * for the output formats (text, JSON, SARIF) and the baseline.
 */
#ifndef PS_CHECK_DIAG_H
#define PS_CHECK_DIAG_H

#include <clang-c/Index.h>
#include <stdbool.h>
#include <stddef.h>

#include "rules.h"

typedef struct ps_loc {
    const char *file;   /* absolute path; owned by the sink (interned) */
    unsigned line, col; /* 1-based; col counts bytes */
} ps_loc;

typedef struct ps_note {
    ps_loc loc;
    char *message;
} ps_note;

/* A fix-it: replace [begin, end) with text; begin == end inserts. */
typedef struct ps_fixit {
    ps_loc begin, end;
    char *text;
} ps_fixit;

typedef struct ps_diag {
    ps_rule rule;
    ps_severity severity;
    ps_loc loc;
    char *message;
    ps_note *notes;
    size_t nnotes;
    ps_fixit *fixits;
    size_t nfixits;
} ps_diag;

typedef struct ps_diag_sink ps_diag_sink;

/*
 * Report a finding of rule at cursor.  Returns the diagnostic so the caller
 * can attach notes and fix-its, or NULL when it was dropped (rule off,
 * suppressed, outside the analyzed tree, or a duplicate).  Both return
 * values need no cleanup by the caller.
 */
ps_diag *ps_diag_report(ps_diag_sink *sink, ps_rule rule, CXCursor at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
ps_diag *ps_diag_report_at(ps_diag_sink *sink, ps_rule rule, CXSourceLocation at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Attach a note at cursor (e.g. "'p' declared as PROXY(struct matrix) here"). */
void ps_diag_note(ps_diag_sink *sink, ps_diag *diag, CXCursor at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Attach a fix-it replacing extent with text (an empty extent inserts). */
void ps_diag_fixit(ps_diag_sink *sink, ps_diag *diag, CXSourceRange extent, const char *text);

#endif /* PS_CHECK_DIAG_H */

/*
 * checks.h — the rules that need no control flow, run over one parsed
 * translation unit.  They report through diag.h only.
 */
#ifndef PS_CHECK_CHECKS_H
#define PS_CHECK_CHECKS_H

#include <clang-c/Index.h>
#include <stdbool.h>

#include "diag.h"

typedef struct ps_check_options {
    bool strict; /* report unannotated ps_proxy_t * as ps-untyped-proxy */
} ps_check_options;

void ps_check_translation_unit(CXTranslationUnit tu, ps_diag_sink *sink,
                               const ps_check_options *opts);

struct ps_summary_table;

/* Function summaries across the files of one run (summary_table.h). */
typedef struct ps_unit_summaries {
    const struct ps_summary_table *external; /* other files' functions (sorted), or NULL */
    struct ps_summary_table *reads;    /* out: what this file looked up there, or NULL */
    struct ps_summary_table *exported; /* out: this file's functions, or NULL */
    bool reads_incomplete;             /* out: reads misses a lookup (out of memory) */
} ps_unit_summaries;

/* The same, reading and writing summaries across files (io may be NULL). */
void ps_check_translation_unit_with(CXTranslationUnit tu, ps_diag_sink *sink,
                                    const ps_check_options *opts, ps_unit_summaries *io);

#endif /* PS_CHECK_CHECKS_H */

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

#endif /* PS_CHECK_CHECKS_H */

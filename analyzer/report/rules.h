/*
 * rules.h — ps-check's rules: stable ids used in output, suppressions,
 * baselines and configuration (docs/rules/<id>.md documents each).
 */
#ifndef PS_CHECK_RULES_H
#define PS_CHECK_RULES_H

#include <stdbool.h>

typedef enum ps_rule {
    PS_RULE_TARGET_MISMATCH,   /* ps-target-mismatch */
    PS_RULE_UNRESOLVED_PROXY,  /* ps-unresolved-proxy */
    PS_RULE_OR_MISMATCH,       /* ps-or-mismatch */
    PS_RULE_UNRESOLVED_OR,     /* ps-unresolved-or */
    PS_RULE_RESOLVE_MISMATCH,  /* ps-resolve-mismatch */
    PS_RULE_CREATE_MISMATCH,   /* ps-create-mismatch */
    PS_RULE_ANNOTATION,        /* ps-annotation */
    PS_RULE_UNTYPED_PROXY,     /* ps-untyped-proxy: off unless --strict */
    PS_RULE_USE_AFTER_FREE,    /* ps-use-after-free (flow-sensitive) */
    PS_RULE_DOUBLE_FREE,       /* ps-double-free (flow-sensitive) */
    PS_RULE_LEAK,              /* ps-leak (flow-sensitive) */
    PS_RULE_DANGLING_TARGET,   /* ps-dangling-target (flow-sensitive) */
    PS_RULE_BORROW,            /* ps-borrow (flow-sensitive) */
    PS_RULE_PARSE_ERROR,       /* clang-parse-error: the file did not parse */
    PS_RULE_COUNT_
} ps_rule;

typedef enum ps_severity {
    PS_SEV_OFF,
    PS_SEV_NOTE,
    PS_SEV_WARNING,
    PS_SEV_ERROR,
} ps_severity;

typedef struct ps_rule_info {
    const char *id;            /* "ps-target-mismatch" */
    const char *summary;       /* one line, for SARIF shortDescription and --list-rules */
    const char *description;   /* a paragraph, for SARIF fullDescription */
    ps_severity default_severity;
    bool enabled_by_default;
} ps_rule_info;

const ps_rule_info *ps_rule_info_of(ps_rule rule);
/* The rule with that id, or -1. */
int ps_rule_from_id(const char *id);
const char *ps_severity_name(ps_severity sev); /* "error", "warning", "note" */

#endif /* PS_CHECK_RULES_H */

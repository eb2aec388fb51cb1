/*
 * config.h — the configuration file, .ps-check.json:
 *
 *   {
 *     "rules":  { "ps-leak": "off", "ps-or-mismatch": "warning" },
 *     "skip":   ["third_party", "build*", "*_generated.c"],
 *     "args":   ["-DPS_WITH_MPI", "-Iinclude"],
 *     "strict": false
 *   }
 *
 * Every key is optional; an unknown key, rule id or value is an error
 * (exit 2), so a typo never silently turns a rule back on.  docs/cli.md
 * documents the format.
 */
#ifndef PS_CHECK_CONFIG_H
#define PS_CHECK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "rules.h"

#define PS_CONFIG_FILE_NAME ".ps-check.json"

/* A rule's configured state: unset, or a severity (PS_SEV_OFF = off). */
typedef struct ps_rule_setting {
    bool set;
    bool on_default; /* "on": enabled at the rule's default severity */
    ps_severity severity;
} ps_rule_setting;

typedef struct ps_config {
    char *path; /* the file read, or NULL */
    char *dir;  /* its directory: skip patterns are relative to it */
    ps_rule_setting rules[PS_RULE_COUNT_];
    char **skip;
    size_t nskip;
    char **args;
    size_t nargs;
    int strict; /* -1 unset, 0, 1 */
} ps_config;

void ps_config_init(ps_config *cfg);
void ps_config_free(ps_config *cfg);

/* Parses configuration text; name is used in messages.  0, or -1 with err. */
int ps_config_parse(ps_config *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t errlen);
/* Reads path (its directory becomes cfg->dir).  0, or -1 with err. */
int ps_config_load(ps_config *cfg, const char *path, char *err, size_t errlen);
/* The nearest .ps-check.json in start_dir or above (malloc'd), or NULL. */
char *ps_config_find(const char *start_dir);
/* Whether an absolute path matches a skip pattern. */
bool ps_config_skips(const ps_config *cfg, const char *path);

#endif /* PS_CHECK_CONFIG_H */

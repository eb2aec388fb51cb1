/*
 * cli.h — ps-check's command line, parsed into a plain struct and nothing
 * else (no file system access), so it is testable on its own.
 */
#ifndef PS_CHECK_CLI_H
#define PS_CHECK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "output.h"

/* Exit codes: docs/cli.md and --help describe them. */
enum {
    PS_EXIT_CLEAN = 0,      /* no findings */
    PS_EXIT_FINDINGS = 1,   /* at least one finding */
    PS_EXIT_USAGE = 2,      /* bad option, configuration, baseline or compile database */
    PS_EXIT_UNPARSED = 3,   /* a file could not be parsed (wins over 1) */
};

typedef struct ps_rule_toggle {
    int rule;
    bool enable;
} ps_rule_toggle;

typedef enum ps_color { PS_COLOR_AUTO, PS_COLOR_ALWAYS, PS_COLOR_NEVER } ps_color;

typedef struct ps_cli {
    char **inputs;            /* files and directories, as given */
    size_t ninputs;
    char **parser_args;       /* everything after "--" */
    size_t nparser_args;
    ps_rule_toggle *toggles;  /* --enable/--disable in command-line order */
    size_t ntoggles;
    const char *build_dir;    /* -p */
    const char *config_path;  /* --config */
    const char *root;         /* --root */
    const char *output;       /* -o */
    const char *baseline;     /* --baseline */
    const char *write_baseline;
    unsigned jobs;            /* -j; 0 = one per CPU */
    bool strict;
    bool no_config;           /* --no-config */
    int progress;             /* -1 auto (stderr is a terminal), 0 off, 1 on */
    ps_format format;
    ps_color color;
    bool help, version, list_rules;
    bool print_commands;      /* --print-commands: show the parser commands, check nothing */
} ps_cli;

/* Parses argv[1..argc).  Returns 0, or -1 with a one-line message in err.
 * The struct points into argv; free it with ps_cli_free. */
int ps_cli_parse(int argc, char *const *argv, ps_cli *cli, char *err, size_t errlen);
void ps_cli_free(ps_cli *cli);
void ps_cli_help(FILE *out);

#endif /* PS_CHECK_CLI_H */

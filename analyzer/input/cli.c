/*
 * cli.c — option parsing.  Hand-written rather than getopt_long: "--"
 * must split inputs from parser arguments exactly where the user put it,
 * and every error needs its own message for exit code 2.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

void ps_cli_help(FILE *out)
{
    fputs(
        "usage: ps-check [options] FILE|DIR ... [-- PARSER_ARGS]\n"
        "       ps-check -p BUILD_DIR [options] [FILE|DIR ...] [-- PARSER_ARGS]\n"
        "\n"
        "Checks C sources that use ProxyStore proxies (PROXY(T), PROXY_OR(T), ...)\n"
        "and reports type, resolution, ownership and borrow mistakes.\n"
        "\n"
        "Input:\n"
        "  FILE|DIR              C files to check; directories are searched for *.c\n"
        "  -p BUILD_DIR          read BUILD_DIR/compile_commands.json; FILE|DIR then\n"
        "                        restrict the check to those entries\n"
        "  -- ARGS               pass ARGS to the parser (e.g. -- -Iinclude -DNDEBUG)\n"
        "  --root DIR            the analyzed tree (default: the current directory);\n"
        "                        findings in headers outside it are dropped\n"
        "\n"
        "Configuration:\n"
        "  --config FILE         read FILE instead of the nearest .ps-check.json\n"
        "  --no-config           read no configuration file\n"
        "  --enable RULE[,RULE]  turn rules on (at their default severity)\n"
        "  --disable RULE[,RULE] turn rules off\n"
        "  --strict              also report unannotated proxies (ps-untyped-proxy)\n"
        "  --list-rules          print the rules and their default severities\n"
        "\n"
        "Output:\n"
        "  --format=FMT          text (default), json or sarif\n"
        "  -o FILE               write the report to FILE instead of stdout\n"
        "  --color[=WHEN]        auto (default: when the output is a terminal), always, never\n"
        "  --baseline FILE       hide the findings recorded in FILE\n"
        "  --write-baseline FILE record the current findings in FILE and exit 0\n"
        "  --progress, --no-progress  a progress line on stderr (default: on a terminal)\n"
        "\n"
        "Execution:\n"
        "  -j N, --jobs=N        parse N files at once (default: one per CPU)\n"
        "  --print-commands      print the equivalent clang command for each file, check nothing\n"
        "  --help, --version\n"
        "\n"
        "Exit status:\n"
        "  0  no findings\n"
        "  1  findings were reported\n"
        "  2  usage error: bad option, configuration, baseline or compile database\n"
        "  3  at least one file could not be parsed (its errors are reported as\n"
        "     clang-parse-error, the other files are still checked; 3 wins over 1)\n"
        "\n"
        "Suppress a finding with a comment on its line or the line before:\n"
        "  // ps-check-ignore: ps-target-mismatch\n"
        "Documentation: docs/cli.md, docs/ci.md, docs/rules/.\n",
        out);
}

static int push(void *arrp, size_t *n, size_t size, const void *item)
{
    char **arr = arrp;
    char *grown = realloc(*arr, (*n + 1) * size);
    if (!grown)
        return -1;
    memcpy(grown + *n * size, item, size);
    *arr = grown;
    (*n)++;
    return 0;
}

static int add_toggles(ps_cli *cli, const char *list, bool enable, char *err, size_t errlen)
{
    const char *p = list;
    if (!*p) {
        snprintf(err, errlen, "%s needs a rule id", enable ? "--enable" : "--disable");
        return -1;
    }
    while (*p) {
        size_t len = strcspn(p, ",");
        char id[64];
        if (len == 0 || len >= sizeof id) {
            snprintf(err, errlen, "bad rule list '%s'", list);
            return -1;
        }
        memcpy(id, p, len);
        id[len] = '\0';
        int rule = ps_rule_from_id(id);
        if (rule < 0) {
            snprintf(err, errlen, "unknown rule '%s' (see --list-rules)", id);
            return -1;
        }
        ps_rule_toggle t = {rule, enable};
        if (push(&cli->toggles, &cli->ntoggles, sizeof t, &t) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int parse_jobs(const char *s, unsigned *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1024) {
        snprintf(err, errlen, "-j needs a number from 0 to 1024, not '%s'", s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* The option values, indexed by their enum. */
static const char *const color_names[] = {"auto", "always", "never"};
static const char *const format_names[] = {"text", "json", "sarif"};
_Static_assert(PS_COLOR_AUTO == 0 && PS_COLOR_ALWAYS == 1 && PS_COLOR_NEVER == 2,
               "color_names follows enum ps_color");
_Static_assert(PS_FORMAT_TEXT == 0 && PS_FORMAT_JSON == 1 && PS_FORMAT_SARIF == 2,
               "format_names follows enum ps_format");

/* The index of value in names (n of them), or -1. */
static int name_index(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* Matches "--name", "--name=value" and "--name value"; *value is NULL when
 * the option has no value and takes_value is false. */
static bool long_opt(const char *arg, const char *name, bool takes_value, int argc,
                     char *const *argv, int *i, const char **value, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] != '\0')
        return false;
    *value = NULL;
    if (takes_value) {
        if (*i + 1 < argc)
            *value = argv[++*i];
        else
            *missing = true;
    }
    return true;
}

/* Matches "-p VALUE" and "-pVALUE". */
static bool short_opt(const char *arg, char letter, int argc, char *const *argv, int *i,
                      const char **value, bool *missing)
{
    if (arg[0] != '-' || arg[1] != letter)
        return false;
    if (arg[2]) {
        *value = arg + 2;
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        *value = NULL;
        *missing = true;
    }
    return true;
}

/* The options whose value is stored as given (a path): the field the
 * option at argv[*i] sets, with its value in *value, or NULL when arg is
 * none of them. */
static const char **string_option(ps_cli *cli, const char *arg, int argc, char *const *argv,
                                  int *i, const char **value, bool *missing)
{
    const struct {
        const char *name; /* NULL: the option has only its short form */
        char letter;      /* 0: no short form */
        const char **field;
    } options[] = {
        {"--config", 0, &cli->config_path},
        {"--root", 0, &cli->root},
        {"--baseline", 0, &cli->baseline},
        {"--write-baseline", 0, &cli->write_baseline},
        {"--output", 'o', &cli->output},
        {NULL, 'p', &cli->build_dir},
    };
    for (size_t k = 0; k < sizeof options / sizeof *options; k++)
        if ((options[k].name && long_opt(arg, options[k].name, true, argc, argv, i, value,
                                         missing)) ||
            (options[k].letter && short_opt(arg, options[k].letter, argc, argv, i, value, missing)))
            return options[k].field;
    return NULL;
}

int ps_cli_parse(int argc, char *const *argv, ps_cli *cli, char *err, size_t errlen)
{
    memset(cli, 0, sizeof *cli);
    cli->progress = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, **field;
        bool missing = false;
        if (strcmp(a, "--") == 0) {
            for (int k = i + 1; k < argc; k++)
                if (push(&cli->parser_args, &cli->nparser_args, sizeof(char *), &argv[k]) != 0)
                    goto oom;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (push(&cli->inputs, &cli->ninputs, sizeof(char *), &argv[i]) != 0)
                goto oom;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli->help = true;
        } else if (strcmp(a, "--version") == 0) {
            cli->version = true;
        } else if (strcmp(a, "--print-commands") == 0) {
            cli->print_commands = true;
        } else if (strcmp(a, "--list-rules") == 0) {
            cli->list_rules = true;
        } else if (strcmp(a, "--strict") == 0) {
            cli->strict = true;
        } else if (strcmp(a, "--no-config") == 0) {
            cli->no_config = true;
        } else if (strcmp(a, "--progress") == 0) {
            cli->progress = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            cli->progress = 0;
        } else if (long_opt(a, "--color", false, argc, argv, &i, &v, &missing)) {
            /* A bare --color means always. */
            int c = v ? name_index(v, color_names, 3) : PS_COLOR_ALWAYS;
            if (c < 0) {
                snprintf(err, errlen, "--color takes auto, always or never, not '%s'", v);
                return -1;
            }
            cli->color = (ps_color)c;
        } else if (long_opt(a, "--format", true, argc, argv, &i, &v, &missing)) {
            if (missing)
                goto missing;
            int f = name_index(v, format_names, 3);
            if (f < 0) {
                snprintf(err, errlen, "--format takes text, json or sarif, not '%s'", v);
                return -1;
            }
            cli->format = (ps_format)f;
        } else if (long_opt(a, "--enable", true, argc, argv, &i, &v, &missing) ||
                   long_opt(a, "--disable", true, argc, argv, &i, &v, &missing)) {
            if (missing)
                goto missing;
            if (add_toggles(cli, v, a[2] == 'e', err, errlen) != 0)
                return -1;
        } else if (long_opt(a, "--jobs", true, argc, argv, &i, &v, &missing) ||
                   short_opt(a, 'j', argc, argv, &i, &v, &missing)) {
            if (missing)
                goto missing;
            if (parse_jobs(v, &cli->jobs, err, errlen) != 0)
                return -1;
        } else if ((field = string_option(cli, a, argc, argv, &i, &v, &missing))) {
            if (missing)
                goto missing;
            *field = v;
        } else {
            snprintf(err, errlen, "unknown option '%s' (see --help)", a);
            return -1;
        }
        if (v && !*v) {
            snprintf(err, errlen, "option '%s' needs a non-empty value", a);
            return -1;
        }
        continue;
    missing:
        snprintf(err, errlen, "option '%s' needs a value", a);
        return -1;
    }
    if (cli->help || cli->version || cli->list_rules)
        return 0;
    if (cli->ninputs == 0 && !cli->build_dir) {
        snprintf(err, errlen, "no input files (give FILE|DIR ... or -p BUILD_DIR; see --help)");
        return -1;
    }
    if (cli->baseline && cli->write_baseline) {
        snprintf(err, errlen, "--baseline and --write-baseline cannot be combined");
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

void ps_cli_free(ps_cli *cli)
{
    free(cli->inputs);
    free(cli->parser_args);
    free(cli->toggles);
    memset(cli, 0, sizeof *cli);
}

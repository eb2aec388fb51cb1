/*
 * main.c — ps-check: command line and configuration in, jobs through the
 * driver, findings out in the chosen format, and an exit code that tells
 * findings (1), usage errors (2) and unparsable sources (3) apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "cli.h"
#include "compdb.h"
#include "config.h"
#include "driver.h"
#include "install_paths.h"
#include "inputs.h"
#include "output.h"
#include "paths.h"

typedef struct run {
    ps_cli cli;
    ps_config config;
    ps_sink_config sink;
    ps_baseline baseline;
    ps_job_list jobs;
    ps_findings findings;
    ps_driver_stats stats;
    char *cwd, *root;
    char **input_paths; /* absolute */
    size_t ninputs;
    bool strict;
    FILE *out; /* -o, or NULL for stdout */
} run;

static int usage_error(const char *msg)
{
    fprintf(stderr, "ps-check: error: %s\n", msg);
    return PS_EXIT_USAGE;
}

static void list_rules(const run *r)
{
    for (int i = 0; i < PS_RULE_COUNT_; i++) {
        const ps_rule_info *info = ps_rule_info_of((ps_rule)i);
        ps_severity sev = r->sink.severity[i];
        printf("%-22s %-8s %s\n", info->id, ps_severity_name(sev), info->summary);
    }
}

/* Defaults, then the configuration file, then --strict, then --enable and
 * --disable in command-line order: the last word wins. */
static int resolve_severities(run *r)
{
    r->strict = r->cli.strict || r->config.strict == 1;
    for (int i = 0; i < PS_RULE_COUNT_; i++) {
        const ps_rule_info *info = ps_rule_info_of((ps_rule)i);
        ps_severity sev = info->enabled_by_default ? info->default_severity : PS_SEV_OFF;
        if (i == PS_RULE_UNTYPED_PROXY && r->strict)
            sev = info->default_severity;
        const ps_rule_setting *set = &r->config.rules[i];
        if (set->set)
            sev = set->on_default ? info->default_severity : set->severity;
        r->sink.severity[i] = sev;
    }
    for (size_t t = 0; t < r->cli.ntoggles; t++) {
        const ps_rule_toggle *tg = &r->cli.toggles[t];
        if (!tg->enable && tg->rule == PS_RULE_PARSE_ERROR)
            return usage_error("clang-parse-error cannot be disabled: a file that does not parse "
                               "is not checked");
        r->sink.severity[tg->rule] =
            tg->enable ? ps_rule_info_of((ps_rule)tg->rule)->default_severity : PS_SEV_OFF;
        if (tg->rule == PS_RULE_UNTYPED_PROXY)
            r->strict = tg->enable; /* the check itself needs to know */
    }
    return 0;
}

static int load_config(run *r)
{
    char err[1024];
    if (r->cli.no_config)
        return 0;
    char *path = NULL;
    if (r->cli.config_path) {
        path = strdup(r->cli.config_path);
    } else {
        /* Upward from the first input (or the build directory, or cwd). */
        const char *start = r->ninputs ? r->input_paths[0] : r->cli.build_dir;
        char *dir = NULL;
        struct stat st;
        if (start && stat(start, &st) == 0)
            dir = S_ISDIR(st.st_mode) ? strdup(start) : ps_path_dirname(start);
        path = ps_config_find(dir ? dir : r->cwd);
        free(dir);
        if (!path)
            return 0;
    }
    if (!path)
        return usage_error("out of memory");
    int rc = ps_config_load(&r->config, path, err, sizeof err);
    free(path);
    if (rc != 0) {
        fprintf(stderr, "ps-check: error: %s\n", err);
        return PS_EXIT_USAGE;
    }
    return 0;
}

static int resolve_inputs(run *r)
{
    r->input_paths = calloc(r->cli.ninputs ? r->cli.ninputs : 1, sizeof *r->input_paths);
    if (!r->input_paths)
        return usage_error("out of memory");
    for (size_t i = 0; i < r->cli.ninputs; i++) {
        const char *in = r->cli.inputs[i];
        if (access(in, F_OK) != 0) {
            fprintf(stderr, "ps-check: error: %s: no such file or directory\n", in);
            return PS_EXIT_USAGE;
        }
        if (!(r->input_paths[r->ninputs++] = ps_path_real(in)))
            return usage_error("out of memory");
    }
    return 0;
}

static int collect_jobs(run *r)
{
    char err[1024] = "";
    if (r->cli.build_dir) {
        ps_job *jobs = NULL;
        size_t n = 0;
        if (ps_compdb_load(r->cli.build_dir, &jobs, &n, err, sizeof err) != 0) {
            fprintf(stderr, "ps-check: error: %s\n", err);
            return PS_EXIT_USAGE;
        }
        r->jobs.items = jobs;
        r->jobs.len = r->jobs.cap = n;
        if (r->ninputs) {
            size_t *unmatched = NULL, nun = 0;
            if (ps_inputs_restrict(&r->jobs, r->input_paths, r->ninputs, &unmatched, &nun) != 0)
                return usage_error("out of memory");
            /* A file the build does not compile (a header, a new file) is
             * still checked, with the default arguments. */
            for (size_t k = 0; k < nun; k++) {
                const char *p = r->input_paths[unmatched[k]];
                struct stat st;
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                    fprintf(stderr, "ps-check: warning: %s: no compile_commands.json entry "
                                    "under this directory\n", r->cli.inputs[unmatched[k]]);
                } else {
                    fprintf(stderr, "ps-check: warning: %s: not in compile_commands.json; "
                                    "checked with the default arguments\n",
                            r->cli.inputs[unmatched[k]]);
                    if (ps_inputs_add_file(&r->jobs, p, r->cwd) != 0) {
                        free(unmatched);
                        return usage_error("out of memory");
                    }
                }
            }
            free(unmatched);
        }
    } else {
        for (size_t i = 0; i < r->ninputs; i++) {
            struct stat st;
            const char *p = r->input_paths[i];
            int rc = stat(p, &st) == 0 && S_ISDIR(st.st_mode)
                         ? ps_inputs_add_dir(&r->jobs, p, r->cwd, err, sizeof err)
                         : ps_inputs_add_file(&r->jobs, p, r->cwd);
            if (rc != 0) {
                fprintf(stderr, "ps-check: error: %s\n", err[0] ? err : "out of memory");
                return PS_EXIT_USAGE;
            }
        }
    }
    ps_inputs_prune(&r->jobs, &r->config);
    if (ps_inputs_append_args(&r->jobs, r->config.args, r->config.nargs) != 0 ||
        ps_inputs_append_args(&r->jobs, r->cli.parser_args, r->cli.nparser_args) != 0)
        return usage_error("out of memory");
    if (r->jobs.len == 0)
        return usage_error("no C files to check (inputs empty, or all skipped by the "
                           "configuration)");
    return 0;
}

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)(n > 64 ? 64 : n) : 1;
}

/* Findings in files the configuration skips (headers included from
 * checked files) are dropped; parse errors stay, they explain exit 3. */
static int not_skipped(ps_finding *f, void *arg)
{
    const ps_config *cfg = arg;
    return f->diag.rule == PS_RULE_PARSE_ERROR || !ps_config_skips(cfg, f->diag.loc.file);
}

static bool wants_color(const ps_cli *cli, FILE *out)
{
    if (cli->color != PS_COLOR_AUTO)
        return cli->color == PS_COLOR_ALWAYS;
    const char *term = getenv("TERM");
    return isatty(fileno(out)) && !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

static int emit(run *r, FILE *out, size_t baselined)
{
    ps_output_options oo = {
        .root = r->root,
        .cwd = r->cwd,
        .color = wants_color(&r->cli, out),
        .files = r->stats.files,
        .files_failed = r->stats.files_failed,
        .baselined = baselined,
    };
    int rc;
    switch (r->cli.format) {
    case PS_FORMAT_JSON: rc = ps_output_json(out, &r->findings, &oo); break;
    case PS_FORMAT_SARIF: rc = ps_output_sarif(out, &r->findings, &oo); break;
    default: rc = ps_output_text(out, &r->findings, &oo); break;
    }
    if (fflush(out) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "ps-check: error: cannot write the report\n");
        return PS_EXIT_USAGE;
    }
    return 0;
}

static int execute(run *r, int argc, char **argv)
{
    char err[1024];
    if (ps_cli_parse(argc, argv, &r->cli, err, sizeof err) != 0)
        return usage_error(err);
    if (r->cli.help) {
        ps_cli_help(stdout);
        return 0;
    }
    if (r->cli.version) {
        CXString v = clang_getClangVersion();
        printf("ps-check %s (%s)\n", PS_CHECK_VERSION, clang_getCString(v));
        clang_disposeString(v);
        return 0;
    }
    if (!(r->cwd = ps_path_cwd()))
        return usage_error("out of memory");
    if (r->cli.root) {
        struct stat st;
        if (stat(r->cli.root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "ps-check: error: --root %s: not a directory\n", r->cli.root);
            return PS_EXIT_USAGE;
        }
    }
    r->root = r->cli.root ? ps_path_real(r->cli.root) : strdup(r->cwd);
    if (!r->root)
        return usage_error("out of memory");
    int rc;
    if ((rc = resolve_inputs(r)) != 0 || (rc = load_config(r)) != 0 ||
        (rc = resolve_severities(r)) != 0)
        return rc;
    if (r->cli.list_rules) {
        list_rules(r);
        return 0;
    }
    if (r->cli.baseline && ps_baseline_load(&r->baseline, r->cli.baseline, err, sizeof err) != 0)
        return usage_error(err);
    if ((rc = collect_jobs(r)) != 0)
        return rc;

    /* Opened before the (long) run, so a bad -o fails at once. */
    if (r->cli.output && !r->cli.write_baseline && !r->cli.print_commands &&
        !(r->out = fopen(r->cli.output, "w"))) {
        fprintf(stderr, "ps-check: error: %s: cannot write: %m\n", r->cli.output);
        return PS_EXIT_USAGE;
    }
    if (r->cli.print_commands) {
        for (size_t i = 0; i < r->jobs.len; i++)
            ps_job_print_command(stdout, &r->jobs.items[i]);
        return 0;
    }
    r->sink.root = r->root;
    if (!(r->sink.pool = ps_strpool_new()))
        return usage_error("out of memory");
    ps_driver_options opts = {
        .jobs = r->cli.jobs ? r->cli.jobs : default_jobs(),
        .strict = r->strict,
        .progress = r->cli.progress == 1 ||
                    (r->cli.progress == -1 && r->jobs.len > 1 && isatty(STDERR_FILENO)),
        .cwd = r->cwd,
        .sink_config = &r->sink,
    };
    if (!ps_annotations_dir()) /* a broken install: every file would fail to parse */
        return PS_EXIT_USAGE;
    if (ps_driver_run(r->jobs.items, r->jobs.len, &opts, &r->findings, &r->stats) != 0)
        return PS_EXIT_USAGE;
    for (size_t i = 0; i < r->stats.nwarnings; i++)
        fprintf(stderr, "%s\n", r->stats.warnings[i]);
    ps_findings_filter(&r->findings, not_skipped, &r->config);
    ps_findings_finish(&r->findings, r->root);
    int unparsed = r->stats.files_failed ? PS_EXIT_UNPARSED : 0;

    if (r->cli.write_baseline) {
        if (ps_baseline_write(&r->findings, r->root, r->cli.write_baseline, err, sizeof err) != 0)
            return usage_error(err);
        fprintf(stderr, "ps-check: wrote %zu finding%s to %s\n", r->findings.len,
                r->findings.len == 1 ? "" : "s", r->cli.write_baseline);
        return unparsed;
    }
    size_t baselined = ps_baseline_apply(&r->baseline, &r->findings);
    if ((rc = emit(r, r->out ? r->out : stdout, baselined)) != 0)
        return rc;
    if (unparsed)
        return unparsed;
    /* Notes inform; warnings and errors fail the run. */
    for (size_t i = 0; i < r->findings.len; i++)
        if (r->findings.items[i]->diag.severity >= PS_SEV_WARNING)
            return PS_EXIT_FINDINGS;
    return PS_EXIT_CLEAN;
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    ps_config_init(&r.config);
    int rc = execute(&r, argc, argv);
    ps_findings_clear(&r.findings);
    ps_driver_stats_free(&r.stats);
    ps_job_list_free(&r.jobs);
    ps_baseline_free(&r.baseline);
    ps_config_free(&r.config);
    ps_strpool_free(r.sink.pool);
    for (size_t i = 0; i < r.ninputs; i++)
        free(r.input_paths[i]);
    free(r.input_paths);
    if (r.out && fclose(r.out) != 0 && rc != PS_EXIT_USAGE) {
        fprintf(stderr, "ps-check: error: %s: cannot write the report\n", r.cli.output);
        rc = PS_EXIT_USAGE;
    }
    ps_cli_free(&r.cli);
    free(r.cwd);
    free(r.root);
    return rc;
}

/*
 * driver.c — the worker pool.
 *
 * Workers take the next file index from a shared counter, so a slow file
 * never holds up a queue; results land in a slot per file and are merged
 * in file order after the workers join, which keeps output independent of
 * scheduling.  Nothing here changes the process's working directory:
 * relative paths in a command are resolved with -working-directory.
 */
#include "driver.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "install_paths.h"
#include "paths.h"
#include "suppress.h"

const char *const ps_driver_leading_args[] = {
    "-D__PS_CHECK__",
    "-resource-dir", PS_CLANG_RESOURCE_DIR,
    NULL,
};

/* -w: clang's warnings are not ps-check's business, and turning them off
 * also skips Sema's flow-based warning analyses (a measurable share of the
 * parse time with -Wall).  Errors, including default-error warnings, stay.
 * Then "-I <ps_annotations_dir()>", found at run time (install_paths.h). */
const char *const ps_driver_trailing_args[] = {
    "-Wno-unknown-warning-option",
    "-w",
    NULL,
};

/* No SkipFunctionBodies (the rules look inside bodies), no detailed
 * preprocessing record (nothing reads macro expansions as cursors). */
static const unsigned parse_options = CXTranslationUnit_KeepGoing;

typedef struct slot {
    ps_finding **findings;
    size_t nfindings;
    char **warnings;
    size_t nwarnings;
    bool failed;
    bool done;
} slot;

typedef struct pool {
    const ps_job *jobs;
    size_t njobs;
    const ps_driver_options *opts;
    slot *slots;
    atomic_size_t next;
    pthread_mutex_t progress_lock;
    size_t completed;
    atomic_bool oom; /* a worker could not create its index */
} pool;

void ps_job_clear(ps_job *job)
{
    if (!job)
        return;
    free(job->file);
    free(job->directory);
    for (size_t i = 0; i < job->nargs; i++)
        free(job->args[i]);
    free(job->args);
    memset(job, 0, sizeof *job);
}

int ps_job_add_arg(ps_job *job, const char *arg)
{
    char **n = realloc(job->args, (job->nargs + 1) * sizeof *n);
    if (!n)
        return -1;
    job->args = n;
    if (!(n[job->nargs] = strdup(arg)))
        return -1;
    job->nargs++;
    return 0;
}

static const char *parse_error_name(enum CXErrorCode rc)
{
    switch (rc) {
    case CXError_Crashed: return "libclang crashed while parsing it";
    case CXError_InvalidArguments: return "libclang rejected the arguments";
    case CXError_ASTReadError: return "libclang could not read it";
    default: return "libclang could not parse it";
    }
}

static void print_quoted(FILE *out, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./,:@%", *p);
    if (plain) {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

void ps_job_print_command(FILE *out, const ps_job *job)
{
    fputs("clang-19 -fsyntax-only", out);
    for (const char *const *a = ps_driver_leading_args; *a; a++) {
        fputc(' ', out);
        print_quoted(out, *a);
    }
    if (job->directory) {
        fputs(" -working-directory ", out);
        print_quoted(out, job->directory);
    }
    for (size_t i = 0; i < job->nargs; i++) {
        fputc(' ', out);
        print_quoted(out, job->args[i]);
    }
    for (const char *const *a = ps_driver_trailing_args; *a; a++) {
        fputc(' ', out);
        print_quoted(out, *a);
    }
    if (ps_annotations_dir()) {
        fputs(" -I ", out);
        print_quoted(out, ps_annotations_dir());
    }
    fputc(' ', out);
    print_quoted(out, job->file);
    fputc('\n', out);
}

static void add_warning(slot *out, char *msg)
{
    if (!msg)
        return;
    char **n = realloc(out->warnings, (out->nwarnings + 1) * sizeof *n);
    if (!n) {
        free(msg);
        return;
    }
    out->warnings = n;
    n[out->nwarnings++] = msg;
}

/* The flag named by clang's "unknown argument: '-x'" (no location): a gcc
 * flag the compdb table does not know.  malloc'd, or NULL. */
static char *rejected_flag(CXDiagnostic d)
{
    CXFile file = NULL;
    clang_getExpansionLocation(clang_getDiagnosticLocation(d), &file, NULL, NULL, NULL);
    if (file || clang_getDiagnosticSeverity(d) < CXDiagnostic_Error)
        return NULL;
    CXString s = clang_getDiagnosticSpelling(d);
    const char *text = clang_getCString(s), *q = NULL;
    char *flag = NULL;
    if (text && (strncmp(text, "unknown argument", 16) == 0 ||
                 strncmp(text, "unsupported option", 18) == 0))
        q = strchr(text, '\'');
    if (q) {
        const char *end = strchr(q + 1, '\'');
        if (end && end > q + 1)
            flag = strndup(q + 1, (size_t)(end - q - 1));
    }
    clang_disposeString(s);
    return flag;
}

static bool in_flags(char **flags, size_t n, const char *arg)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(flags[i], arg) == 0)
            return true;
    return false;
}

static enum CXErrorCode parse(CXIndex index, const ps_job *job, char **skip, size_t nskip,
                              CXTranslationUnit *tu)
{
    size_t nlead = sizeof ps_driver_leading_args / sizeof *ps_driver_leading_args - 1;
    size_t ntrail = sizeof ps_driver_trailing_args / sizeof *ps_driver_trailing_args - 1;
    const char **argv = malloc((nlead + job->nargs + ntrail + 4) * sizeof *argv);
    if (!argv)
        return CXError_Failure;
    size_t k = 0;
    for (size_t i = 0; i < nlead; i++)
        argv[k++] = ps_driver_leading_args[i];
    if (job->directory) {
        argv[k++] = "-working-directory";
        argv[k++] = job->directory;
    }
    for (size_t i = 0; i < job->nargs; i++)
        if (!in_flags(skip, nskip, job->args[i]))
            argv[k++] = job->args[i];
    for (size_t i = 0; i < ntrail; i++)
        argv[k++] = ps_driver_trailing_args[i];
    if (ps_annotations_dir()) {
        argv[k++] = "-I";
        argv[k++] = ps_annotations_dir();
    }
    enum CXErrorCode rc =
        clang_parseTranslationUnit2(index, job->file, argv, (int)k, NULL, 0, parse_options, tu);
    free(argv);
    return rc;
}

/* Parses, and if clang rejected some flags, parses once more without them:
 * a compile command written for gcc must not make a file uncheckable. */
static enum CXErrorCode parse_tolerant(CXIndex index, const ps_job *job, slot *out,
                                       CXTranslationUnit *tu)
{
    enum CXErrorCode rc = parse(index, job, NULL, 0, tu);
    if (rc != CXError_Success || !*tu)
        return rc;
    char **rejected = NULL;
    size_t nrejected = 0;
    unsigned n = clang_getNumDiagnostics(*tu);
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(*tu, i);
        char *flag = rejected_flag(d);
        clang_disposeDiagnostic(d);
        char **grown = flag ? realloc(rejected, (nrejected + 1) * sizeof *grown) : NULL;
        if (!grown) {
            free(flag);
            continue;
        }
        rejected = grown;
        rejected[nrejected++] = flag;
    }
    if (nrejected) {
        clang_disposeTranslationUnit(*tu);
        *tu = NULL;
        rc = parse(index, job, rejected, nrejected, tu);
        for (size_t i = 0; i < nrejected; i++) {
            char *msg = NULL;
            if (asprintf(&msg, "warning: clang-19 does not accept '%s'; ignored it",
                         rejected[i]) < 0)
                msg = NULL;
            add_warning(out, msg);
            free(rejected[i]);
        }
    }
    free(rejected);
    return rc;
}

typedef struct unknown_ids {
    slot *out;
    const char *file;
    unsigned line;
} unknown_ids;

static void check_id(const char *id, size_t len, unsigned col, void *arg)
{
    unknown_ids *u = arg;
    char buf[128];
    if (len < sizeof buf) {
        memcpy(buf, id, len);
        buf[len] = '\0';
        if (ps_rule_from_id(buf) >= 0)
            return;
    }
    char *msg = NULL;
    if (asprintf(&msg, "%s:%u:%u: warning: ps-check-ignore names unknown rule '%.*s'", u->file,
                 u->line, col, (int)len, id) < 0)
        msg = NULL;
    add_warning(u->out, msg);
}

/* A suppression naming no rule suppresses nothing, which its author did
 * not mean: say so (on stderr; it is not a finding of any rule). */
static void scan_suppressions(CXTranslationUnit tu, const ps_job *job, const char *opts_cwd,
                              slot *out)
{
    CXFile main_file = clang_getFile(tu, job->file);
    size_t size = 0;
    const char *text = main_file ? clang_getFileContents(tu, main_file, &size) : NULL;
    if (!text)
        return;
    const char *end = text + size, *p = text, *counted = text;
    const size_t mlen = sizeof PS_SUPPRESS_MARKER - 1;
    unsigned line = 1;
    const char *shown = opts_cwd ? ps_path_relative(job->file, opts_cwd) : job->file;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), PS_SUPPRESS_MARKER, mlen);
        if (!m)
            break;
        const char *bol = m;
        while (bol > text && bol[-1] != '\n')
            bol--;
        const char *eol = memchr(m, '\n', (size_t)(end - m));
        if (!eol)
            eol = end;
        for (; counted < bol; counted++)
            line += *counted == '\n';
        unknown_ids u = {out, shown, line};
        ps_suppress_scan(bol, (size_t)(eol - bol), check_id, &u);
        p = eol;
    }
}

static void check_one(CXIndex index, const ps_job *job, const ps_driver_options *opts, slot *out)
{
    CXTranslationUnit tu = NULL;
    enum CXErrorCode rc = parse_tolerant(index, job, out, &tu);
    ps_diag_sink *sink = ps_diag_sink_new(opts->sink_config, rc == CXError_Success ? tu : NULL);
    if (!sink) {
        out->failed = true;
        if (tu)
            clang_disposeTranslationUnit(tu);
        return;
    }
    if (rc != CXError_Success || !tu) {
        if (access(job->file, R_OK) != 0)
            ps_diag_sink_add_failure(sink, job->file, "cannot read file: %s", strerror(errno));
        else
            ps_diag_sink_add_failure(sink, job->file, "cannot parse file: %s",
                                     parse_error_name(rc));
        out->failed = true;
    } else if (ps_diag_sink_add_clang_errors(sink) > 0) {
        /* The AST of a file with errors has holes (unknown types become
         * int), which would make the rules report nonsense. */
        out->failed = true;
    } else {
        ps_check_options copts = {.strict = opts->strict};
        ps_check_translation_unit(tu, sink, &copts);
        scan_suppressions(tu, job, opts->cwd, out);
    }
    out->nfindings = ps_diag_sink_take(sink, &out->findings);
    ps_diag_sink_free(sink);
    if (tu)
        clang_disposeTranslationUnit(tu);
}

static void progress(pool *p, const ps_job *job)
{
    pthread_mutex_lock(&p->progress_lock);
    p->completed++;
    if (p->opts->progress) {
        const char *cwd = p->opts->cwd;
        const char *name = cwd ? ps_path_relative(job->file, cwd) : job->file;
        fprintf(stderr, "\r\033[K[%zu/%zu] %s", p->completed, p->njobs, name);
        fflush(stderr);
    }
    pthread_mutex_unlock(&p->progress_lock);
}

static void *worker(void *arg)
{
    pool *p = arg;
    CXIndex index = clang_createIndex(0, 0);
    if (!index) {
        p->oom = true;
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->njobs)
            break;
        check_one(index, &p->jobs[i], p->opts, &p->slots[i]);
        p->slots[i].done = true;
        progress(p, &p->jobs[i]);
    }
    clang_disposeIndex(index);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(ps_driver_stats *stats)
{
    if (stats->nwarnings < 2)
        return;
    qsort(stats->warnings, stats->nwarnings, sizeof *stats->warnings, cmp_str);
    size_t w = 1;
    for (size_t i = 1; i < stats->nwarnings; i++) {
        if (strcmp(stats->warnings[w - 1], stats->warnings[i]) == 0)
            free(stats->warnings[i]);
        else
            stats->warnings[w++] = stats->warnings[i];
    }
    stats->nwarnings = w;
}

void ps_driver_stats_free(ps_driver_stats *stats)
{
    for (size_t i = 0; i < stats->nwarnings; i++)
        free(stats->warnings[i]);
    free(stats->warnings);
    stats->warnings = NULL;
    stats->nwarnings = 0;
}

int ps_driver_run(const ps_job *jobs, size_t njobs, const ps_driver_options *opts,
                  ps_findings *out, ps_driver_stats *stats)
{
    pool p = {.jobs = jobs, .njobs = njobs, .opts = opts};
    p.slots = calloc(njobs ? njobs : 1, sizeof *p.slots);
    if (!p.slots) {
        fprintf(stderr, "ps-check: out of memory\n");
        return -1;
    }
    atomic_init(&p.next, 0);
    pthread_mutex_init(&p.progress_lock, NULL);

    unsigned nthreads = opts->jobs ? opts->jobs : 1;
    if (nthreads > njobs)
        nthreads = njobs ? (unsigned)njobs : 1;
    int result = 0;
    if (nthreads == 1) {
        worker(&p); /* no thread: simpler stacks in a debugger, same code path */
    } else {
        pthread_t *threads = calloc(nthreads, sizeof *threads);
        unsigned started = 0;
        if (threads) {
            for (; started < nthreads; started++) {
                /* libclang parses deeply nested code on this thread's stack. */
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                pthread_attr_setstacksize(&attr, 8u << 20);
                int rc = pthread_create(&threads[started], &attr, worker, &p);
                pthread_attr_destroy(&attr);
                if (rc != 0)
                    break;
            }
        }
        if (started == 0)
            worker(&p); /* could not start any thread: do the work here */
        for (unsigned t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        free(threads);
    }
    if (opts->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }

    memset(stats, 0, sizeof *stats);
    stats->files = njobs;
    for (size_t i = 0; i < njobs; i++) {
        slot *sl = &p.slots[i];
        if (sl->failed || !sl->done)
            stats->files_failed++;
        if (ps_findings_take(out, sl->findings, sl->nfindings) != 0)
            result = -1;
        for (size_t w = 0; w < sl->nwarnings; w++) {
            char **grown = realloc(stats->warnings, (stats->nwarnings + 1) * sizeof *grown);
            if (!grown) {
                free(sl->warnings[w]);
                continue;
            }
            stats->warnings = grown;
            grown[stats->nwarnings++] = sl->warnings[w];
        }
        free(sl->warnings);
    }
    sort_unique(stats);
    if (p.oom || result != 0) {
        fprintf(stderr, "ps-check: out of memory\n");
        result = -1;
    }
    pthread_mutex_destroy(&p.progress_lock);
    free(p.slots);
    return result;
}

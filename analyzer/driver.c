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
#include "summary_table.h"
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
    /* Function summaries across files: what the last check of this file
     * looked up in the other files' table, and what it found for its own
     * functions. */
    ps_summary_table reads, exported;
    bool reads_incomplete;
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
    /* This round: the other files' summaries (read-only while workers
     * run), which files to check (NULL: all), whether to export. */
    const ps_summary_table *external;
    const bool *todo;
    bool cross; /* summaries cross files: keep reads and exports */
    bool first_round;
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

/* Forgets what an earlier check of this file found. */
static void slot_reset(slot *out)
{
    for (size_t i = 0; i < out->nfindings; i++)
        ps_finding_free(out->findings[i]);
    free(out->findings);
    out->findings = NULL;
    out->nfindings = 0;
    for (size_t i = 0; i < out->nwarnings; i++)
        free(out->warnings[i]);
    free(out->warnings);
    out->warnings = NULL;
    out->nwarnings = 0;
    out->failed = false;
    ps_summary_table_clear(&out->reads);
    ps_summary_table_clear(&out->exported);
    out->reads_incomplete = false;
}

static void check_one(CXIndex index, const ps_job *job, const pool *p, slot *out)
{
    const ps_driver_options *opts = p->opts;
    slot_reset(out);
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
        ps_unit_summaries io = {
            .external = p->external,
            .reads = p->cross ? &out->reads : NULL,
            .exported = p->cross ? &out->exported : NULL,
        };
        ps_check_translation_unit_with(tu, sink, &copts, &io);
        out->reads_incomplete = io.reads_incomplete;
        ps_summary_table_sort(&out->reads);
        scan_suppressions(tu, job, opts->cwd, out);
    }
    out->nfindings = ps_diag_sink_take(sink, &out->findings);
    ps_diag_sink_free(sink);
    if (tu)
        clang_disposeTranslationUnit(tu);
}

static void progress(pool *p, const ps_job *job)
{
    if (!p->first_round)
        return; /* files checked again for other files' summaries: not counted twice */
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
        if (p->todo && !p->todo[i])
            continue;
        check_one(index, &p->jobs[i], p, &p->slots[i]);
        p->slots[i].done = true;
        progress(p, &p->jobs[i]);
    }
    clang_disposeIndex(index);
    return NULL;
}

/* Runs the workers over the files p->todo names (all when NULL). */
static void run_workers(pool *p, unsigned nthreads)
{
    atomic_store(&p->next, 0);
    if (nthreads == 1) {
        worker(p); /* no thread: simpler stacks in a debugger, same code path */
        return;
    }
    pthread_t *threads = calloc(nthreads, sizeof *threads);
    unsigned started = 0;
    if (threads) {
        for (; started < nthreads; started++) {
            /* libclang parses deeply nested code on this thread's stack. */
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setstacksize(&attr, 8u << 20);
            int rc = pthread_create(&threads[started], &attr, worker, p);
            pthread_attr_destroy(&attr);
            if (rc != 0)
                break;
        }
    }
    if (started == 0)
        worker(p); /* could not start any thread: do the work here */
    for (unsigned t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    free(threads);
}

/* ------------------------------------------------ summaries across files */

/*
 * The first round checks every file with no other file's summaries and
 * keeps, per file, the summaries of the functions it defines and what it
 * looked up.  Then, until no file's lookups disagree with the table made
 * from every file's summaries, the files that disagree are checked again
 * (their own summaries are recomputed on the way), each round reading the
 * table of the round before: so a file is parsed again only when a
 * function of another file changes what it sees, and the result does not
 * depend on which worker ran what first.
 *
 * Files that call each other (a cycle of lookups) start from the
 * approximation a recursive function starts from in one file: their
 * functions release every parameter.  Proxy parameters left moves by
 * that fixpoint are tried again from "only borrows": the rounds go on
 * until the table agrees with itself again, so a borrow stays only where
 * the bodies bear it out (a recursion that only reads), and the others
 * come back to moves.  A run that finds no fixpoint within
 * MAX_CROSS_ROUNDS falls back to the first fixpoint, and without one, to
 * summaries within each file.
 */
enum { MAX_CROSS_ROUNDS = 8 };

/* The table made from every file's exported summaries (the first file
 * defining a function wins), tagged with the file. */
static int build_table(const pool *p, ps_summary_table *t)
{
    ps_summary_table_clear(t);
    for (size_t i = 0; i < p->njobs; i++)
        if (ps_summary_table_add_all(t, &p->slots[i].exported, i) != 0)
            return -1;
    ps_summary_table_sort(t);
    return 0;
}

/* Did file i's last check see other summaries than t holds? */
static bool disagrees(const slot *sl, const ps_summary_table *t)
{
    if (sl->reads_incomplete)
        return true;
    for (size_t r = 0; r < sl->reads.n; r++) {
        const ps_summary_entry *read = &sl->reads.v[r];
        const ps_summary_entry *now = ps_summary_table_find(t, read->usr);
        bool present = now && now->present;
        if (present != read->present || (present && !ps_summary_equal(&now->s, &read->s)))
            return true;
    }
    return false;
}

/* Checks again, against t, the files whose lookups disagree with it, until
 * none does; t is rebuilt after each round.  1 when a round had to be
 * run, 0 when none had to, -1 when out of memory, -2 when no fixpoint. */
static int settle(pool *p, unsigned nthreads, ps_summary_table *t, bool *todo)
{
    int ran = 0;
    for (unsigned round = 0; round < MAX_CROSS_ROUNDS; round++) {
        bool any = false;
        for (size_t i = 0; i < p->njobs; i++)
            any |= todo[i] = disagrees(&p->slots[i], t);
        if (!any)
            return ran;
        p->external = t;
        p->todo = todo;
        run_workers(p, nthreads);
        p->external = NULL;
        p->todo = NULL;
        if (p->oom || build_table(p, t) != 0)
            return -1;
        ran = 1;
    }
    return -2;
}

/* Files in a cycle of lookups (Tarjan's strongly connected components over
 * "file i looked up a function file j defines"). */
typedef struct scc {
    const pool *p;
    const ps_summary_table *t;
    size_t *index, *low, *stack, nstack, counter;
    bool *on_stack, *cyclic;
} scc;

static void scc_visit(scc *g, size_t v)
{
    g->index[v] = g->low[v] = ++g->counter;
    g->stack[g->nstack++] = v;
    g->on_stack[v] = true;
    const ps_summary_table *reads = &g->p->slots[v].reads;
    for (size_t r = 0; r < reads->n; r++) {
        const ps_summary_entry *e = ps_summary_table_find(g->t, reads->v[r].usr);
        if (!e || !e->present || e->source == v)
            continue;
        size_t w = e->source;
        if (!g->index[w]) {
            scc_visit(g, w);
            if (g->low[w] < g->low[v])
                g->low[v] = g->low[w];
        } else if (g->on_stack[w] && g->index[w] < g->low[v]) {
            g->low[v] = g->index[w];
        }
    }
    if (g->low[v] != g->index[v])
        return;
    size_t first = g->nstack;
    do
        first--;
    while (g->stack[first] != v);
    bool cycle = g->nstack - first > 1;
    for (size_t k = first; k < g->nstack; k++) {
        g->on_stack[g->stack[k]] = false;
        g->cyclic[g->stack[k]] = cycle;
    }
    g->nstack = first;
}

static int find_cycles(const pool *p, const ps_summary_table *t, bool *cyclic)
{
    size_t n = p->njobs;
    scc g = {.p = p, .t = t};
    g.index = calloc(n, sizeof *g.index);
    g.low = calloc(n, sizeof *g.low);
    g.stack = calloc(n, sizeof *g.stack);
    g.on_stack = calloc(n, sizeof *g.on_stack);
    g.cyclic = cyclic;
    int rc = g.index && g.low && g.stack && g.on_stack ? 0 : -1;
    /* The recursion is as deep as the longest chain of files calling each
     * other: bounded by the number of files, each frame small. */
    for (size_t v = 0; rc == 0 && v < n; v++)
        if (!g.index[v])
            scc_visit(&g, v);
    free(g.index);
    free(g.low);
    free(g.stack);
    free(g.on_stack);
    return rc;
}

/* Sets the effect of every proxy parameter of cyclic files' functions
 * that is `from` to `to`; true when any changed. */
static bool retry_params(ps_summary_table *t, const bool *cyclic, int from, int to, bool all)
{
    bool any = false;
    for (size_t k = 0; k < t->n; k++) {
        ps_summary *s = &t->v[k].s;
        if (!t->v[k].present || !cyclic[t->v[k].source])
            continue;
        for (unsigned i = 0; i < s->nparams && i < 32; i++)
            if ((all || (s->proxy_params & (1u << i))) && s->effect[i] == from) {
                s->effect[i] = (uint8_t)to;
                any = true;
            }
        if (all) {
            s->returns_new = false;
            s->nfields = 0;
            s->fields_kept = 0;
        }
    }
    return any;
}

static int cross_file_rounds(pool *p, unsigned nthreads)
{
    ps_summary_table t = {0}, first = {0};
    bool *todo = calloc(p->njobs, sizeof *todo);
    bool *cyclic = calloc(p->njobs, sizeof *cyclic);
    int rc = -1;
    if (!todo || !cyclic || build_table(p, &t) != 0 || find_cycles(p, &t, cyclic) != 0)
        goto out;
    /* Functions of files that call each other start from "releases every
     * parameter", as a recursion within one file does. */
    retry_params(&t, cyclic, PS_EFFECT_MOVE, PS_EFFECT_RELEASE, true);
    retry_params(&t, cyclic, PS_EFFECT_BORROW, PS_EFFECT_RELEASE, true); /* both: every one */
    int settled = settle(p, nthreads, &t, todo);
    if (settled == -1)
        goto out;
    if (settled == 0 || settled == 1) {
        /* Parameters of those functions left moves: tried from "only borrows". */
        if (ps_summary_table_copy(&first, &t) != 0)
            goto out;
        if (retry_params(&t, cyclic, PS_EFFECT_MOVE, PS_EFFECT_BORROW, false)) {
            settled = settle(p, nthreads, &t, todo);
            if (settled == -1)
                goto out;
            if (settled == -2) {
                if (ps_summary_table_copy(&t, &first) != 0)
                    goto out;
                settled = settle(p, nthreads, &t, todo);
                if (settled == -1)
                    goto out;
            }
        }
    }
    if (settled == -2) {
        /* No fixpoint: every file as if alone (what it defines only). */
        ps_summary_table_clear(&t);
        ps_summary_table_sort(&t);
        for (size_t i = 0; i < p->njobs; i++)
            ps_summary_table_clear(&p->slots[i].exported);
        bool any = false;
        for (size_t i = 0; i < p->njobs; i++)
            any |= todo[i] = disagrees(&p->slots[i], &t);
        if (any) {
            p->todo = todo;
            p->external = &t;
            run_workers(p, nthreads);
            p->todo = NULL;
            p->external = NULL;
        }
    }
    rc = p->oom ? -1 : 0;
out:
    ps_summary_table_clear(&t);
    ps_summary_table_clear(&first);
    free(todo);
    free(cyclic);
    return rc;
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
    /* One file alone has no other files' summaries to use. */
    p.cross = njobs > 1;
    p.first_round = true;
    run_workers(&p, nthreads);
    p.first_round = false;
    if (p.cross && !p.oom && cross_file_rounds(&p, nthreads) != 0)
        p.oom = true;
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
        ps_summary_table_clear(&sl->reads);
        ps_summary_table_clear(&sl->exported);
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

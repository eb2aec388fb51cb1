/*
 * diag.c — the diagnostic sink: the one place findings are made.
 *
 * A check hands over a cursor; the sink decides where the finding is
 * (expansion site, or the spelling of a macro argument in the same file),
 * whether it is kept (rule on, in the analyzed tree or the main file, not
 * in a system header, not suppressed, not a duplicate), and copies the
 * source line it points at, so output and fingerprints work after the TU
 * is gone.
 */
#include "sink.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "paths.h"
#include "suppress.h"

/* Per-file facts cached for the TU's lifetime: its interned absolute path,
 * whether it is in the tree, and the start of each line for suppressions. */
typedef struct file_entry {
    CXFile file;
    const char *path;
    bool in_tree; /* under the root, or the main file */
    const char *text; /* owned by the TU */
    size_t size;
    size_t *line_starts; /* lazily built; nlines + 1 entries */
    size_t nlines;
    bool lines_built;
} file_entry;

struct ps_diag_sink {
    const ps_sink_config *config;
    CXTranslationUnit tu;
    CXFile main_file; /* the file being checked: always reported */
    file_entry *files;
    size_t nfiles, capfiles;
    ps_finding **findings;
    size_t nfindings, capfindings;
    /* Dedupe set: indices into findings + 1 (0 = empty); cap is a power of two. */
    size_t *dedupe;
    size_t dedupe_cap;
};

ps_diag_sink *ps_diag_sink_new(const ps_sink_config *config, CXTranslationUnit tu)
{
    ps_diag_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return NULL;
    sink->config = config;
    sink->tu = tu;
    if (tu) {
        CXString spelling = clang_getTranslationUnitSpelling(tu);
        sink->main_file = clang_getFile(tu, clang_getCString(spelling));
        clang_disposeString(spelling);
    }
    return sink;
}

void ps_finding_free(ps_finding *f)
{
    if (!f)
        return;
    free(f->diag.message);
    for (size_t i = 0; i < f->diag.nnotes; i++) {
        free(f->diag.notes[i].message);
        if (f->note_lines)
            free(f->note_lines[i]);
    }
    free(f->diag.notes);
    free(f->note_lines);
    for (size_t i = 0; i < f->diag.nfixits; i++)
        free(f->diag.fixits[i].text);
    free(f->diag.fixits);
    free(f->line_text);
    free(f);
}

void ps_diag_sink_free(ps_diag_sink *sink)
{
    if (!sink)
        return;
    for (size_t i = 0; i < sink->nfindings; i++)
        ps_finding_free(sink->findings[i]);
    free(sink->findings);
    for (size_t i = 0; i < sink->nfiles; i++)
        free(sink->files[i].line_starts);
    free(sink->files);
    free(sink->dedupe);
    free(sink);
}

size_t ps_diag_sink_take(ps_diag_sink *sink, ps_finding ***out)
{
    size_t n = sink->nfindings;
    *out = sink->findings;
    sink->findings = NULL;
    sink->nfindings = sink->capfindings = 0;
    free(sink->dedupe);
    sink->dedupe = NULL;
    sink->dedupe_cap = 0;
    return n;
}

/* ---- files ---- */

/* An absolute, symlink-free path for a file clang opened. */
static char *file_abs_path(CXFile file)
{
    CXString real = clang_File_tryGetRealPathName(file);
    const char *r = clang_getCString(real);
    char *result = NULL;
    if (r && r[0] == '/')
        result = strdup(r);
    clang_disposeString(real);
    if (result)
        return result;
    CXString name = clang_getFileName(file);
    const char *n = clang_getCString(name);
    char buf[PATH_MAX];
    if (n && realpath(n, buf))
        result = strdup(buf);
    else if (n)
        result = strdup(n);
    clang_disposeString(name);
    return result;
}

static file_entry *file_lookup(ps_diag_sink *sink, CXFile file)
{
    for (size_t i = 0; i < sink->nfiles; i++)
        if (clang_File_isEqual(sink->files[i].file, file))
            return &sink->files[i];
    file_entry *files =
        ps_array_reserve(sink->files, &sink->capfiles, sink->nfiles + 1, sizeof *files);
    if (!files)
        return NULL;
    sink->files = files;
    char *abs = file_abs_path(file);
    if (!abs)
        return NULL;
    const char *path = ps_strpool_intern(sink->config->pool, abs);
    free(abs);
    if (!path)
        return NULL;
    file_entry *e = &sink->files[sink->nfiles++];
    memset(e, 0, sizeof *e);
    e->file = file;
    e->path = path;
    e->in_tree = ps_path_is_under(path, sink->config->root) ||
                 (sink->main_file && clang_File_isEqual(file, sink->main_file));
    return e;
}

static void build_lines(ps_diag_sink *sink, file_entry *e)
{
    e->lines_built = true;
    if (!sink->tu)
        return;
    size_t size = 0;
    const char *text = clang_getFileContents(sink->tu, e->file, &size);
    if (!text)
        return;
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += text[i] == '\n';
    e->line_starts = malloc((n + 1) * sizeof *e->line_starts);
    if (!e->line_starts)
        return;
    size_t k = 0;
    e->line_starts[k++] = 0;
    for (size_t i = 0; i < size; i++)
        if (text[i] == '\n')
            e->line_starts[k++] = i + 1;
    e->line_starts[k] = size + 1; /* one past the virtual newline ending the last line */
    e->nlines = n;
    e->text = text;
    e->size = size;
}

/* The text of a 1-based line (without its newline), or NULL. */
static const char *file_line(ps_diag_sink *sink, file_entry *e, unsigned line, size_t *len)
{
    if (!e->lines_built)
        build_lines(sink, e);
    if (!e->line_starts || line == 0 || line > e->nlines)
        return NULL;
    size_t b = e->line_starts[line - 1], end = e->line_starts[line] - 1;
    if (end > e->size)
        end = e->size;
    if (end > b && e->text[end - 1] == '\r')
        end--;
    *len = end - b;
    return e->text + b;
}

static char *file_line_dup(ps_diag_sink *sink, file_entry *e, unsigned line)
{
    size_t len;
    const char *s = file_line(sink, e, line, &len);
    return s ? strndup(s, len) : NULL;
}

/* ---- locations ---- */

/* Where a location is reported: the expansion site, except that a macro
 * argument spelled in the same file is reported where it is written. */
static file_entry *resolve(ps_diag_sink *sink, CXSourceLocation loc, unsigned *line, unsigned *col)
{
    CXFile ef = NULL, ff = NULL;
    unsigned el = 0, ec = 0, fl = 0, fc = 0;
    clang_getExpansionLocation(loc, &ef, &el, &ec, NULL);
    clang_getFileLocation(loc, &ff, &fl, &fc, NULL);
    if (ff && ef && clang_File_isEqual(ff, ef)) {
        ef = ff;
        el = fl;
        ec = fc;
    }
    if (!ef)
        return NULL;
    *line = el;
    *col = ec;
    return file_lookup(sink, ef);
}

/* ---- findings ---- */

static uint64_t finding_hash(const ps_finding *f)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *m = (const unsigned char *)f->diag.message;
    h = (h ^ (uint64_t)(uintptr_t)f->diag.loc.file) * 1099511628211ULL;
    h = (h ^ f->diag.loc.line) * 1099511628211ULL;
    h = (h ^ f->diag.loc.col) * 1099511628211ULL;
    h = (h ^ (uint64_t)f->diag.rule) * 1099511628211ULL;
    for (; *m; m++)
        h = (h ^ *m) * 1099511628211ULL;
    return h;
}

static bool finding_same(const ps_finding *a, const ps_finding *b)
{
    return a->diag.rule == b->diag.rule && a->diag.loc.file == b->diag.loc.file &&
           a->diag.loc.line == b->diag.loc.line && a->diag.loc.col == b->diag.loc.col &&
           strcmp(a->diag.message, b->diag.message) == 0;
}

static int dedupe_grow(ps_diag_sink *sink)
{
    size_t ncap = sink->dedupe_cap ? sink->dedupe_cap * 2 : 64;
    size_t *n = calloc(ncap, sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < sink->nfindings; i++) {
        size_t j = finding_hash(sink->findings[i]) & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = i + 1;
    }
    free(sink->dedupe);
    sink->dedupe = n;
    sink->dedupe_cap = ncap;
    return 0;
}

/* Adds f unless an identical finding is already there.  Takes f either way;
 * returns it when kept, NULL otherwise. */
static ps_finding *add_finding(ps_diag_sink *sink, ps_finding *f)
{
    if ((sink->nfindings + 1) * 2 > sink->dedupe_cap && dedupe_grow(sink) != 0)
        goto drop;
    size_t j = finding_hash(f) & (sink->dedupe_cap - 1);
    while (sink->dedupe[j]) {
        if (finding_same(sink->findings[sink->dedupe[j] - 1], f))
            goto drop;
        j = (j + 1) & (sink->dedupe_cap - 1);
    }
    ps_finding **findings = ps_array_reserve(sink->findings, &sink->capfindings,
                                             sink->nfindings + 1, sizeof *findings);
    if (!findings)
        goto drop;
    sink->findings = findings;
    sink->findings[sink->nfindings++] = f;
    sink->dedupe[j] = sink->nfindings;
    return f;
drop:
    ps_finding_free(f);
    return NULL;
}

ps_finding *ps_finding_new(ps_rule rule, ps_severity sev, const char *file, unsigned line,
                           unsigned col, const char *message)
{
    ps_finding *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->diag.rule = rule;
    f->diag.severity = sev;
    f->diag.loc.file = file;
    f->diag.loc.line = line;
    f->diag.loc.col = col;
    f->end_col = col + 1;
    f->diag.message = strdup(message ? message : "");
    if (!f->diag.message) {
        free(f);
        return NULL;
    }
    return f;
}

static bool is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Without an extent, the primary range covers the identifier at col. */
static unsigned token_end(const char *line, unsigned col)
{
    if (!line || col == 0)
        return col + 1;
    size_t len = strlen(line), i = col - 1;
    if (i >= len)
        return col + 1;
    if (!is_ident_char(line[i]))
        return col + 1;
    while (i < len && is_ident_char(line[i]))
        i++;
    return (unsigned)i + 1;
}

/* A finding at line:col of e, carrying the source line it points at. */
static ps_finding *finding_in(ps_diag_sink *sink, file_entry *e, ps_rule rule, ps_severity sev,
                              unsigned line, unsigned col, const char *msg)
{
    ps_finding *f = ps_finding_new(rule, sev, e->path, line, col, msg);
    if (f) {
        f->line_text = file_line_dup(sink, e, line);
        f->end_col = token_end(f->line_text, col);
    }
    return f;
}

/* The message vasprintf makes, or NULL when out of memory. */
static char *vformat(const char *fmt, va_list ap)
{
    char *msg;
    return vasprintf(&msg, fmt, ap) < 0 ? NULL : msg;
}

static bool suppressed(ps_diag_sink *sink, file_entry *e, unsigned line, ps_rule rule)
{
    const char *id = ps_rule_info_of(rule)->id;
    size_t len;
    const char *text = file_line(sink, e, line, &len);
    if (text && ps_suppress_line_names(text, len, id))
        return true;
    text = line > 1 ? file_line(sink, e, line - 1, &len) : NULL;
    return text && ps_suppress_line_names(text, len, id);
}

/* extent, when not null, may stretch the primary range past the token. */
static ps_diag *report(ps_diag_sink *sink, ps_rule rule, CXSourceLocation at, CXSourceRange extent,
                       const char *fmt, va_list ap)
{
    if (!sink || (int)rule < 0 || rule >= PS_RULE_COUNT_)
        return NULL;
    ps_severity sev = sink->config->severity[rule];
    if (sev == PS_SEV_OFF)
        return NULL;
    unsigned line, col;
    file_entry *e = resolve(sink, at, &line, &col);
    if (!e || !e->in_tree)
        return NULL;
    if (sink->tu) {
        CXSourceLocation site = clang_getLocation(sink->tu, e->file, line, col);
        if (clang_Location_isInSystemHeader(site))
            return NULL;
    }
    if (suppressed(sink, e, line, rule))
        return NULL;

    char *msg = vformat(fmt, ap);
    if (!msg)
        return NULL;
    ps_finding *f = finding_in(sink, e, rule, sev, line, col, msg);
    free(msg);
    if (!f)
        return NULL;
    if (!clang_Range_isNull(extent)) {
        unsigned eline, ecol;
        file_entry *ee = resolve(sink, clang_getRangeEnd(extent), &eline, &ecol);
        if (ee == e && eline == line && ecol > col)
            f->end_col = ecol;
    }
    f = add_finding(sink, f);
    return f ? &f->diag : NULL;
}

ps_diag *ps_diag_report(ps_diag_sink *sink, ps_rule rule, CXCursor at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps_diag *d =
        report(sink, rule, clang_getCursorLocation(at), clang_getCursorExtent(at), fmt, ap);
    va_end(ap);
    return d;
}

ps_diag *ps_diag_report_at(ps_diag_sink *sink, ps_rule rule, CXSourceLocation at, const char *fmt,
                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps_diag *d = report(sink, rule, at, clang_getNullRange(), fmt, ap);
    va_end(ap);
    return d;
}

static void add_note(ps_diag_sink *sink, ps_diag *diag, CXSourceLocation at, const char *msg)
{
    ps_finding *f = (ps_finding *)diag;
    unsigned line = 0, col = 0;
    file_entry *e = resolve(sink, at, &line, &col);
    if (!e)
        return;
    ps_note *notes = realloc(diag->notes, (diag->nnotes + 1) * sizeof *notes);
    if (!notes)
        return;
    diag->notes = notes;
    char **lines = realloc(f->note_lines, (diag->nnotes + 1) * sizeof *lines);
    if (!lines)
        return;
    f->note_lines = lines;
    char *m = strdup(msg);
    if (!m)
        return;
    notes[diag->nnotes] = (ps_note){{e->path, line, col}, m};
    lines[diag->nnotes] = file_line_dup(sink, e, line);
    diag->nnotes++;
}

void ps_diag_note(ps_diag_sink *sink, ps_diag *diag, CXCursor at, const char *fmt, ...)
{
    if (!sink || !diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (msg)
        add_note(sink, diag, clang_getCursorLocation(at), msg);
    free(msg);
}

void ps_diag_fixit(ps_diag_sink *sink, ps_diag *diag, CXSourceRange extent, const char *text)
{
    if (!sink || !diag || !text)
        return;
    unsigned bl, bc, el, ec;
    file_entry *b = resolve(sink, clang_getRangeStart(extent), &bl, &bc);
    file_entry *e = resolve(sink, clang_getRangeEnd(extent), &el, &ec);
    if (!b || b != e)
        return; /* a fix-it across files cannot be applied */
    ps_fixit *fx = realloc(diag->fixits, (diag->nfixits + 1) * sizeof *fx);
    if (!fx)
        return;
    diag->fixits = fx;
    char *t = strdup(text);
    if (!t)
        return;
    fx[diag->nfixits++] = (ps_fixit){{b->path, bl, bc}, {e->path, el, ec}, t};
}

/* ---- clang's own errors ---- */

/* clang-parse-error as configured, but never off: a file that does not
 * parse was not checked, and saying nothing would hide that. */
static ps_severity parse_error_severity(const ps_diag_sink *sink)
{
    ps_severity sev = sink->config->severity[PS_RULE_PARSE_ERROR];
    return sev == PS_SEV_OFF ? PS_SEV_ERROR : sev;
}

static void add_clang_notes(ps_diag_sink *sink, ps_finding *f, CXDiagnostic d)
{
    CXDiagnosticSet children = clang_getChildDiagnostics(d);
    unsigned n = children ? clang_getNumDiagnosticsInSet(children) : 0;
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic c = clang_getDiagnosticInSet(children, i);
        CXString s = clang_getDiagnosticSpelling(c);
        add_note(sink, &f->diag, clang_getDiagnosticLocation(c), clang_getCString(s));
        clang_disposeString(s);
        clang_disposeDiagnostic(c);
    }
}

unsigned ps_diag_sink_add_clang_errors(ps_diag_sink *sink)
{
    if (!sink || !sink->tu)
        return 0;
    unsigned count = 0, n = clang_getNumDiagnostics(sink->tu);
    CXFile main_file = sink->main_file;
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(sink->tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev < CXDiagnostic_Error) {
            clang_disposeDiagnostic(d);
            continue;
        }
        count++;
        unsigned line = 0, col = 0;
        file_entry *e = resolve(sink, clang_getDiagnosticLocation(d), &line, &col);
        if (!e && main_file) {
            e = file_lookup(sink, main_file); /* e.g. a bad command-line flag */
            line = col = 0;
        }
        CXString s = clang_getDiagnosticSpelling(d);
        ps_finding *f = e ? finding_in(sink, e, PS_RULE_PARSE_ERROR, parse_error_severity(sink),
                                       line, col, clang_getCString(s))
                          : NULL;
        clang_disposeString(s);
        if (f) {
            add_clang_notes(sink, f, d);
            add_finding(sink, f);
        }
        clang_disposeDiagnostic(d);
    }
    return count;
}

void ps_diag_sink_add_failure(ps_diag_sink *sink, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    const char *path = msg ? ps_strpool_intern(sink->config->pool, file) : NULL;
    ps_finding *f =
        path ? ps_finding_new(PS_RULE_PARSE_ERROR, parse_error_severity(sink), path, 0, 0, msg)
             : NULL;
    free(msg);
    if (f)
        add_finding(sink, f);
}

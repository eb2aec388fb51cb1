/*
 * output_text.c — compiler-style diagnostics, laid out as clang 19 does
 * (location, message, the source line in a numbered gutter, a caret and
 * range underline, notes, fix-its), so editors and CI log parsers that
 * understand clang understand ps-check.
 */
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "paths.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_ERROR "\033[1;31m"
#define C_WARNING "\033[1;35m"
#define C_NOTE "\033[1;36m"
#define C_CARET "\033[1;32m"

static const char *sev_color(ps_severity sev)
{
    switch (sev) {
    case PS_SEV_ERROR: return C_ERROR;
    case PS_SEV_WARNING: return C_WARNING;
    default: return C_NOTE;
    }
}

static void print_location(FILE *out, const ps_output_options *o, const char *file, unsigned line,
                           unsigned col)
{
    const char *shown = file ? ps_path_relative(file, o->cwd) : "<unknown>";
    if (o->color)
        fputs(C_BOLD, out);
    if (line && col)
        fprintf(out, "%s:%u:%u:", shown, line, col);
    else if (line)
        fprintf(out, "%s:%u:", shown, line);
    else
        fprintf(out, "%s:", shown);
    if (o->color)
        fputs(C_RESET, out);
}

/* Spaces (or the line's own tabs, so the caret lines up) up to column col. */
static void pad_to(FILE *out, const char *text, unsigned col)
{
    size_t len = text ? strlen(text) : 0;
    for (unsigned i = 0; i + 1 < col; i++)
        fputc(i < len && text[i] == '\t' ? '\t' : ' ', out);
}

static void print_snippet(FILE *out, const ps_output_options *o, const char *text, unsigned line,
                          unsigned col, unsigned end_col)
{
    if (!text || !line || !col)
        return;
    fprintf(out, "%5u | %s\n      | ", line, text);
    pad_to(out, text, col);
    if (o->color)
        fputs(C_CARET, out);
    fputc('^', out);
    size_t len = strlen(text);
    for (unsigned c = col + 1; c < end_col && c <= len; c++)
        fputc('~', out);
    if (o->color)
        fputs(C_RESET, out);
    fputc('\n', out);
}

static void print_fixit(FILE *out, const ps_output_options *o, const ps_finding *f,
                        const ps_fixit *fx)
{
    bool inline_fix = fx->begin.file == f->diag.loc.file && fx->begin.line == f->diag.loc.line &&
                      fx->end.line == fx->begin.line && f->line_text && !strchr(fx->text, '\n');
    if (inline_fix) {
        fputs("      | ", out);
        pad_to(out, f->line_text, fx->begin.col);
        if (o->color)
            fputs(C_CARET, out);
        fputs(fx->text, out);
        if (o->color)
            fputs(C_RESET, out);
        fputc('\n', out);
    }
    /* The machine-readable form clang prints with -fdiagnostics-parseable-fixits. */
    fprintf(out, "fix-it:\"%s\":{%u:%u-%u:%u}:\"", ps_path_relative(fx->begin.file, o->cwd),
            fx->begin.line, fx->begin.col, fx->end.line, fx->end.col);
    for (const char *p = fx->text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
    fputs("\"\n", out);
}

int ps_output_text(FILE *out, const ps_findings *list, const ps_output_options *o)
{
    size_t counts[PS_SEV_ERROR + 1] = {0};
    for (size_t i = 0; i < list->len; i++) {
        const ps_finding *f = list->items[i];
        const ps_diag *d = &f->diag;
        counts[d->severity]++;
        print_location(out, o, d->loc.file, d->loc.line, d->loc.col);
        if (o->color)
            fprintf(out, " %s%s:" C_RESET C_BOLD " %s [%s]" C_RESET "\n", sev_color(d->severity),
                    ps_severity_name(d->severity), d->message, ps_rule_info_of(d->rule)->id);
        else
            fprintf(out, " %s: %s [%s]\n", ps_severity_name(d->severity), d->message,
                    ps_rule_info_of(d->rule)->id);
        print_snippet(out, o, f->line_text, d->loc.line, d->loc.col, f->end_col);
        for (size_t k = 0; k < d->nfixits; k++)
            print_fixit(out, o, f, &d->fixits[k]);
        for (size_t n = 0; n < d->nnotes; n++) {
            const ps_note *note = &d->notes[n];
            print_location(out, o, note->loc.file, note->loc.line, note->loc.col);
            if (o->color)
                fprintf(out, " " C_NOTE "note:" C_RESET " %s\n", note->message);
            else
                fprintf(out, " note: %s\n", note->message);
            print_snippet(out, o, f->note_lines ? f->note_lines[n] : NULL, note->loc.line,
                          note->loc.col, note->loc.col + 1);
        }
    }
    size_t errors = counts[PS_SEV_ERROR], warnings = counts[PS_SEV_WARNING];
    if (errors || warnings) {
        if (warnings)
            fprintf(out, "%zu warning%s", warnings, warnings == 1 ? "" : "s");
        if (errors)
            fprintf(out, "%s%zu error%s", warnings ? " and " : "", errors, errors == 1 ? "" : "s");
        fputs(" generated.\n", out);
    }
    return ferror(out) ? -1 : 0;
}

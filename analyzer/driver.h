/*
 * driver.h — parses the files and runs the checks, in parallel.
 *
 * Each worker thread owns one CXIndex and parses one file at a time; a TU
 * is disposed of before the next is parsed, so memory is bounded by the
 * largest file per worker, never by the number of files.  The files of a
 * run share function summaries: after the first round, the files whose
 * calls to other files' functions read other summaries than those files
 * gave are checked again (driver.c), the others are parsed once.
 */
#ifndef PS_CHECK_DRIVER_H
#define PS_CHECK_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "findings.h"
#include "sink.h"

/* One file to check, with everything the parser needs. */
typedef struct ps_job {
    char *file;      /* absolute path */
    char *directory; /* absolute; relative paths in args are resolved here */
    char **args;     /* parser arguments, without the file name */
    size_t nargs;
} ps_job;

typedef struct ps_driver_options {
    unsigned jobs;       /* worker threads, >= 1 */
    bool strict;
    bool progress;       /* a progress line on stderr */
    const char *cwd;     /* file names in messages are relative to it (may be NULL) */
    const ps_sink_config *sink_config;
} ps_driver_options;

typedef struct ps_driver_stats {
    size_t files;        /* files attempted */
    size_t files_failed; /* files with parse errors or no TU at all */
    /* Messages for stderr, sorted and unique: flags clang rejected (and
     * that were dropped), suppression comments naming unknown rules. */
    char **warnings;
    size_t nwarnings;
} ps_driver_stats;

void ps_driver_stats_free(ps_driver_stats *stats);

/* Arguments every parse gets in front of the job's own. */
extern const char *const ps_driver_leading_args[];
/* ... and after them, followed by the annotations header's directory as
 * the last include dir (ps_annotations_dir). */
extern const char *const ps_driver_trailing_args[];

/* Runs every job; findings are added to out (unsorted: ps_findings_finish).
 * Returns 0, or -1 when threads or memory ran out (with a message on stderr). */
int ps_driver_run(const ps_job *jobs, size_t njobs, const ps_driver_options *opts,
                  ps_findings *out, ps_driver_stats *stats);

/* Writes the clang-19 -fsyntax-only command line that parses like the
 * driver does (shell-quoted, one line). */
void ps_job_print_command(FILE *out, const ps_job *job);

void ps_job_clear(ps_job *job);
/* Appends one argument (copied); 0 or -1. */
int ps_job_add_arg(ps_job *job, const char *arg);

#endif /* PS_CHECK_DRIVER_H */

/*
 * inputs.h — turning the command line's FILE|DIR arguments (and -p's
 * compile database) into the list of parse jobs.
 */
#ifndef PS_CHECK_INPUTS_H
#define PS_CHECK_INPUTS_H

#include <stddef.h>

#include "config.h"
#include "driver.h"

typedef struct ps_job_list {
    ps_job *items;
    size_t len, cap;
} ps_job_list;

void ps_job_list_free(ps_job_list *list);

/* Adds the .c files under dir (recursively, sorted, hidden directories and
 * symlinked directories skipped) as jobs parsed in cwd.  0, or -1 with err. */
int ps_inputs_add_dir(ps_job_list *list, const char *dir, const char *cwd, char *err,
                      size_t errlen);
/* Adds one file (absolute) as a job parsed in cwd.  0 or -1. */
int ps_inputs_add_file(ps_job_list *list, const char *file, const char *cwd);

/* Keeps the jobs whose file is one of paths or lies under one of them
 * (absolute paths).  Paths that match no job are returned in *unmatched
 * (indices into paths, malloc'd).  0 or -1. */
int ps_inputs_restrict(ps_job_list *list, char *const *paths, size_t npaths, size_t **unmatched,
                       size_t *nunmatched);
/* Drops jobs the configuration skips and later duplicates of a file. */
void ps_inputs_prune(ps_job_list *list, const ps_config *cfg);
/* Appends args to every job.  0 or -1. */
int ps_inputs_append_args(ps_job_list *list, char *const *args, size_t nargs);

#endif /* PS_CHECK_INPUTS_H */

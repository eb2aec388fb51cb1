/*
 * compdb.h — compile_commands.json: each entry becomes a ps_job whose
 * arguments are the compiler's, minus what a parser must not see (the
 * compiler name, -c, -o FILE, dependency-file flags, -Werror, inputs, and
 * gcc-only flags clang rejects), with relative paths made absolute.
 */
#ifndef PS_CHECK_COMPDB_H
#define PS_CHECK_COMPDB_H

#include <stddef.h>

#include "driver.h"

/* Splits a shell command line into words as sh would (quotes, backslashes;
 * no expansions).  0, or -1 on an unterminated quote (argv left NULL). */
int ps_shell_split(const char *cmd, char ***argv, size_t *argc);
void ps_shell_free(char **argv, size_t argc);

/* Whether clang rejects a gcc flag (or it only concerns gcc's output). */
int ps_compdb_flag_dropped(const char *arg);

/* Fills job->args from a compiler command line (argv[0] is the compiler),
 * dropping what the parser must not see.  directory and file are
 * absolute; file is the entry's input.  0, or -1 when out of memory. */
int ps_compdb_filter_args(char *const *argv, size_t argc, const char *directory, ps_job *job);

/* Reads BUILD_DIR/compile_commands.json (or the file itself when path names
 * a .json file).  A file listed twice gives two jobs (ps_inputs_prune
 * keeps the first).
 * 0 with at least one job, or -1 with a message in err. */
int ps_compdb_load(const char *path, ps_job **jobs, size_t *njobs, char *err, size_t errlen);

#endif /* PS_CHECK_COMPDB_H */

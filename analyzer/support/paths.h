/*
 * paths.h — path arithmetic on absolute POSIX paths, without touching the
 * file system except where a name says "real".
 */
#ifndef PS_CHECK_PATHS_H
#define PS_CHECK_PATHS_H

#include <stdbool.h>

/* dir/rel, or rel itself when it is absolute; "." and ".." components are
 * folded lexically.  malloc'd; NULL when out of memory. */
char *ps_path_join(const char *dir, const char *rel);
/* Folds "//", "." and ".." lexically in an absolute path, in place. */
void ps_path_normalize(char *path);
/* Whether path is dir or lies under it (both absolute and normalized). */
bool ps_path_is_under(const char *path, const char *dir);
/* path relative to dir when it lies under dir (dir itself gives "."),
 * otherwise path unchanged.  Points into path or at a static ".". */
const char *ps_path_relative(const char *path, const char *dir);
/* The real path of an existing file, else the lexically normalized absolute
 * path (relative names are resolved against the current directory). */
char *ps_path_real(const char *path);
/* The current directory (real path), malloc'd. */
char *ps_path_cwd(void);
/* The directory part of path ("/" for "/x"), malloc'd. */
char *ps_path_dirname(const char *path);

#endif /* PS_CHECK_PATHS_H */

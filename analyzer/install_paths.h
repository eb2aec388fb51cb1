/*
 * install_paths.h — where ps-check finds the files it ships with, relative
 * to its own executable, so an installed ps-check works under any prefix and
 * after the tree it was built from is gone.
 */
#ifndef PS_CHECK_INSTALL_PATHS_H
#define PS_CHECK_INSTALL_PATHS_H

/* The directory that holds proxystore/annotations.h: <exe dir>/<bindir to
 * includedir> (an install, or the copy in the build tree), else the source
 * tree ps-check was built from.  NULL (with a message on stderr) when none
 * holds it.  Computed once; the string lives until exit. */
const char *ps_annotations_dir(void);

#endif /* PS_CHECK_INSTALL_PATHS_H */

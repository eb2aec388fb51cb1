/* install_paths.c — see install_paths.h. */
#include "install_paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "paths.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *found;

static bool holds_header(const char *dir)
{
    char *header = dir ? ps_path_join(dir, "proxystore/annotations.h") : NULL;
    bool ok = header && access(header, R_OK) == 0;
    free(header);
    return ok;
}

static void locate(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *bindir = ps_path_dirname(exe);
        char *dir = bindir ? ps_path_join(bindir, PS_CHECK_BIN_TO_INCLUDE) : NULL;
        free(bindir);
        if (holds_header(dir)) {
            found = dir;
            return;
        }
        free(dir);
    }
    if (holds_header(PS_ANNOTATIONS_DIR)) {
        found = realpath(PS_ANNOTATIONS_DIR, NULL);
        return;
    }
    fprintf(stderr, "ps-check: cannot find proxystore/annotations.h next to the ps-check executable "
            "(looked in <bindir>/%s) or in %s; is ProxyStore installed completely?\n",
            PS_CHECK_BIN_TO_INCLUDE, PS_ANNOTATIONS_DIR);
}

const char *ps_annotations_dir(void)
{
    pthread_once(&once, locate);
    return found;
}

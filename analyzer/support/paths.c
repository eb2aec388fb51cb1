/*
 * paths.c — see paths.h.  Paths are kept absolute and normalized
 * everywhere in ps-check, so "is this file in the tree" is a prefix test
 * and findings from different TUs name a header the same way.
 */
#include "paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ps_path_normalize(char *path)
{
    if (!path || path[0] != '/')
        return;
    /* Rewrite component by component; out never overtakes in. */
    char *out = path;
    const char *in = path;
    while (*in) {
        while (*in == '/')
            in++;
        const char *comp = in;
        while (*in && *in != '/')
            in++;
        size_t len = (size_t)(in - comp);
        if (len == 0 || (len == 1 && comp[0] == '.'))
            continue;
        if (len == 2 && comp[0] == '.' && comp[1] == '.') {
            while (out > path && *(out - 1) != '/')
                out--;
            if (out > path)
                out--; /* the '/' before the dropped component */
            continue;
        }
        *out++ = '/';
        memmove(out, comp, len);
        out += len;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

char *ps_path_join(const char *dir, const char *rel)
{
    char *result;
    if (rel[0] == '/' || !dir || !dir[0]) {
        result = strdup(rel);
    } else {
        size_t dl = strlen(dir), rl = strlen(rel);
        result = malloc(dl + rl + 2);
        if (result) {
            memcpy(result, dir, dl);
            result[dl] = '/';
            memcpy(result + dl + 1, rel, rl + 1);
        }
    }
    if (result)
        ps_path_normalize(result);
    return result;
}

bool ps_path_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

const char *ps_path_relative(const char *path, const char *dir)
{
    if (!dir || !ps_path_is_under(path, dir))
        return path;
    size_t n = strlen(dir);
    if (n == 1)
        return path + 1;
    if (path[n] == '\0')
        return ".";
    return path + n + 1;
}

char *ps_path_cwd(void)
{
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof buf))
        return strdup("/");
    char real[PATH_MAX];
    return strdup(realpath(buf, real) ? real : buf);
}

char *ps_path_real(const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return strdup(buf);
    if (path[0] == '/')
        return ps_path_join(NULL, path);
    char *cwd = ps_path_cwd();
    char *result = cwd ? ps_path_join(cwd, path) : NULL;
    free(cwd);
    return result;
}

char *ps_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

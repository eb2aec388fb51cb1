/* dir_entries.c — directory entries by name prefix (see dir_entries.h). */
#include "dir_entries.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static bool matches(const char *name, const char *prefix)
{
    if (!prefix)
        return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

int ps_test_count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += matches(e->d_name, prefix);
    closedir(d);
    return n;
}

void ps_test_remove_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (matches(e->d_name, prefix) && unlinkat(dirfd(d), e->d_name, 0) != 0)
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    closedir(d);
}

/* test_urls.c — fresh connector URLs for tests (see test_urls.h). */
#include "test_urls.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_server.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned serial;
static char **dirs;      /* file:// directories to remove at exit */
static size_t ndirs;
static pid_t dirs_owner; /* only the process that made them removes them */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_dirs(void)
{
    if (getpid() != dirs_owner)
        return;
    for (size_t i = 0; i < ndirs; i++) {
        nftw(dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dirs[i]);
    }
    free(dirs);
    dirs = NULL;
    ndirs = 0;
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/ps-test-XXXXXX";
    if (!mkdtemp(tmpl))
        return NULL;
    pthread_mutex_lock(&lock);
    if (!dirs_owner) {
        dirs_owner = getpid();
        atexit(remove_dirs);
    }
    char **grown = realloc(dirs, (ndirs + 1) * sizeof *dirs);
    if (grown) {
        dirs = grown;
        dirs[ndirs++] = strdup(tmpl);
    }
    pthread_mutex_unlock(&lock);
    return strdup(tmpl);
}

/* A multi:// policy in a new directory: small objects (up to 64 KiB of
 * payload) in a local:// connector, larger ones in a file:// directory
 * beside the policy, and a connector valid on no host (dormant). */
static char *multi_url(void)
{
    char *dir = make_dir(), *policy = NULL, *url = NULL;
    if (!dir || asprintf(&policy, "%s/policy.json", dir) < 0) {
        free(dir);
        return NULL;
    }
    FILE *f = fopen(policy, "w");
    if (f) {
        fprintf(f, "{\"connectors\": [\n"
                   "  {\"name\": \"small\", \"url\": \"local://\", \"max_size\": 65536, \"priority\": 10},\n"
                   "  {\"name\": \"large\", \"url\": \"file://%s/objects\", \"priority\": 5},\n"
                   "  {\"name\": \"elsewhere\", \"url\": \"local://\", \"hosts\": [\"no-such-host-*\"], "
                   "\"priority\": 100}\n]}\n", dir);
        if (fclose(f) == 0 && asprintf(&url, "multi://%s", policy) < 0)
            url = NULL;
    }
    free(policy);
    free(dir);
    return url;
}

static unsigned next_serial(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = ++serial;
    pthread_mutex_unlock(&lock);
    return n;
}

char *ps_test_url_with(const char *kind, const char *extra)
{
    char *url = NULL;
    const char *sep_extra = extra && *extra ? extra : NULL;
    if (!kind)
        return NULL;
    if (strcmp(kind, "local") == 0) {
        url = strdup("local://");
    } else if (strcmp(kind, "shm") == 0) {
        if (asprintf(&url, "shm://t%dx%u%s%s", (int)getpid(), next_serial(), sep_extra ? "?" : "",
                     sep_extra ? sep_extra : "") < 0)
            url = NULL;
    } else if (strcmp(kind, "shm-arena") == 0) {
        /* The same store kind with its objects in one pre-mapped arena. */
        if (asprintf(&url, "shm://t%dx%u?arena=64M%s%s", (int)getpid(), next_serial(), sep_extra ? "&" : "",
                     sep_extra ? sep_extra : "") < 0)
            url = NULL;
    } else if (strcmp(kind, "file") == 0) {
        char *dir = make_dir();
        if (dir && asprintf(&url, "file://%s%s%s", dir, sep_extra ? "?" : "", sep_extra ? sep_extra : "") < 0)
            url = NULL;
        free(dir);
    } else if (strcmp(kind, "redis") == 0) {
        const char *base = ps_test_redis_url();
        if (base && asprintf(&url, "%s%sprefix=t%dx%u%s%s", base, strchr(base, '?') ? "&" : "?",
                             (int)getpid(), next_serial(), sep_extra ? "&" : "",
                             sep_extra ? sep_extra : "") < 0)
            url = NULL;
    } else if (strcmp(kind, "multi") == 0) {
        url = multi_url();
    }
    return url;
}

char *ps_test_url_for(const char *kind)
{
    return ps_test_url_with(kind, NULL);
}

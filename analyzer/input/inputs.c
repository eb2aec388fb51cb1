/*
 * inputs.c — see inputs.h.
 */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "paths.h"

void ps_job_list_free(ps_job_list *list)
{
    for (size_t i = 0; i < list->len; i++)
        ps_job_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static ps_job *list_push(ps_job_list *list)
{
    ps_job *items = ps_array_reserve(list->items, &list->cap, list->len + 1, sizeof *items);
    if (!items)
        return NULL;
    list->items = items;
    ps_job *job = &list->items[list->len++];
    memset(job, 0, sizeof *job);
    return job;
}

int ps_inputs_add_file(ps_job_list *list, const char *file, const char *cwd)
{
    ps_job *job = list_push(list);
    if (!job)
        return -1;
    job->file = strdup(file);
    job->directory = strdup(cwd);
    if (!job->file || !job->directory) {
        ps_job_clear(job);
        list->len--;
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_c_file(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && strcmp(name + n - 2, ".c") == 0;
}

static int walk(ps_job_list *list, const char *dir, const char *cwd, int depth, char *err,
                size_t errlen)
{
    if (depth > 64)
        return 0; /* deeper than any real tree: a bind-mount loop */
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot read directory: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden directories such as .git */
        char **grown = ps_array_reserve(names, &cap, n + 1, sizeof *grown);
        if (!grown) {
            rc = -1;
            break;
        }
        names = grown;
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = ps_path_join(dir, names[i]);
        struct stat st;
        if (!path) {
            rc = -1;
        } else if (lstat(path, &st) != 0) {
            /* vanished while we looked: nothing to check */
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(list, path, cwd, depth + 1, err, errlen);
        } else if (is_c_file(names[i]) && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
            char *real = ps_path_real(path);
            rc = real ? ps_inputs_add_file(list, real, cwd) : -1;
            free(real);
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "out of memory");
    return rc;
}

int ps_inputs_add_dir(ps_job_list *list, const char *dir, const char *cwd, char *err,
                      size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    return walk(list, dir, cwd, 0, err, errlen);
}

int ps_inputs_restrict(ps_job_list *list, char *const *paths, size_t npaths, size_t **unmatched,
                       size_t *nunmatched)
{
    bool *hit = calloc(npaths ? npaths : 1, sizeof *hit);
    *unmatched = calloc(npaths ? npaths : 1, sizeof **unmatched);
    *nunmatched = 0;
    if (!hit || !*unmatched) {
        free(hit);
        free(*unmatched);
        *unmatched = NULL;
        return -1;
    }
    size_t w = 0;
    for (size_t i = 0; i < list->len; i++) {
        bool keep = false;
        for (size_t k = 0; k < npaths; k++) {
            if (ps_path_is_under(list->items[i].file, paths[k])) {
                keep = true;
                hit[k] = true;
            }
        }
        if (keep)
            list->items[w++] = list->items[i];
        else
            ps_job_clear(&list->items[i]);
    }
    list->len = w;
    for (size_t k = 0; k < npaths; k++)
        if (!hit[k])
            (*unmatched)[(*nunmatched)++] = k;
    free(hit);
    return 0;
}

typedef struct job_ref {
    const char *file;
    size_t index;
} job_ref;

static int cmp_ref(const void *pa, const void *pb)
{
    const job_ref *a = pa, *b = pb;
    int c = strcmp(a->file, b->file);
    if (c)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

void ps_inputs_prune(ps_job_list *list, const ps_config *cfg)
{
    /* Sorting references finds duplicates in n log n; the first job for a
     * file (in command-line or database order) is the one kept. */
    bool *drop = calloc(list->len ? list->len : 1, sizeof *drop);
    job_ref *refs = malloc((list->len ? list->len : 1) * sizeof *refs);
    if (drop && refs) {
        for (size_t i = 0; i < list->len; i++)
            refs[i] = (job_ref){list->items[i].file, i};
        qsort(refs, list->len, sizeof *refs, cmp_ref);
        for (size_t i = 1; i < list->len; i++)
            if (strcmp(refs[i - 1].file, refs[i].file) == 0)
                drop[refs[i].index] = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < list->len; i++) {
        ps_job *job = &list->items[i];
        if ((drop && drop[i]) || ps_config_skips(cfg, job->file))
            ps_job_clear(job);
        else
            list->items[w++] = *job;
    }
    list->len = w;
    free(drop);
    free(refs);
}

int ps_inputs_append_args(ps_job_list *list, char *const *args, size_t nargs)
{
    for (size_t i = 0; i < list->len; i++)
        for (size_t k = 0; k < nargs; k++)
            if (ps_job_add_arg(&list->items[i], args[k]) != 0)
                return -1;
    return 0;
}

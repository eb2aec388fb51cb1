/*
 * compdb.c — compile_commands.json to parse jobs.
 */
#include "compdb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonfile.h"
#include "paths.h"

/* ---- shell words ---- */

static int word_push(char ***argv, size_t *argc, char *word)
{
    char **grown = realloc(*argv, (*argc + 2) * sizeof *grown);
    if (!grown) {
        free(word);
        return -1;
    }
    grown[(*argc)++] = word;
    grown[*argc] = NULL;
    *argv = grown;
    return 0;
}

void ps_shell_free(char **argv, size_t argc)
{
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

int ps_shell_split(const char *cmd, char ***argv_out, size_t *argc_out)
{
    char **argv = NULL;
    size_t argc = 0;
    size_t len = strlen(cmd);
    char *word = malloc(len + 1);
    if (!word)
        return -1;
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t n = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *close = strchr(p + 1, '\'');
                if (!close)
                    goto unterminated;
                memcpy(word + n, p + 1, (size_t)(close - p - 1));
                n += (size_t)(close - p - 1);
                p = close + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    /* Inside double quotes a backslash escapes only these. */
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                        p++;
                    else if (*p == '\\' && p[1] == '\n') {
                        p += 2;
                        continue;
                    }
                    word[n++] = *p++;
                }
                if (*p != '"')
                    goto unterminated;
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\n') {
                    p += 2;
                    continue;
                }
                if (p[1])
                    p++;
                word[n++] = *p++;
            } else {
                word[n++] = *p++;
            }
        }
        char *w = strndup(word, n);
        if (!w || word_push(&argv, &argc, w) != 0)
            goto oom;
    }
    free(word);
    if (!argv && !(argv = calloc(1, sizeof *argv)))
        return -1;
    *argv_out = argv;
    *argc_out = argc;
    return 0;
unterminated:
oom:
    free(word);
    ps_shell_free(argv, argc);
    *argv_out = NULL;
    *argc_out = 0;
    return -1;
}

/* ---- flags ---- */

/* gcc flags clang-19 rejects ("unknown argument") or that only shape gcc's
 * own output.  A trailing '*' matches any suffix.  The driver also drops
 * any other flag clang reports as unknown, so this table is about not
 * warning on the common ones (Debian, kernel-style and distro builds). */
static const char *const dropped_flags[] = {
    "-fno-canonical-system-headers", "-fconserve-stack", "-fno-conserve-stack",
    "-fvar-tracking*", "-fno-var-tracking*", "-fallow-store-data-races",
    "-fno-allow-store-data-races", "-fanalyzer*", "-fno-analyzer*", "-fipa-*", "-fno-ipa-*",
    "-fsched-*", "-fno-sched-*", "-fsched2-*", "-fno-sched2-*", "-fira-*", "-fno-ira-*",
    "-ftree-*", "-fno-tree-*", "-fplugin*", "-fdump-*", "-fopt-info*", "-fstack-reuse=*",
    "-flto-partition=*", "-flto-compression-level=*", "-fcode-hoisting", "-fno-code-hoisting",
    "-fshrink-wrap*", "-fno-shrink-wrap*", "-fcompare-debug*", "-fpartial-inlining",
    "-fno-partial-inlining", "-flifetime-dse*", "-fno-lifetime-dse", "-fearly-inlining",
    "-fno-early-inlining", "-fmin-function-alignment=*", "-fprintf-return-value",
    "-fno-printf-return-value", "-fguess-branch-probability", "-fno-guess-branch-probability",
    "-fdiagnostics-*", "-fno-diagnostics-*", "-ftrack-macro-expansion*", "-freorder-functions",
    "-fno-reorder-functions", "-fcallgraph-info*", "-ftrampolines", "-fno-trampolines",
    "-fisolate-erroneous-paths-*", "-fno-isolate-erroneous-paths-*", "-ftoplevel-reorder",
    "-fno-toplevel-reorder", "-fharden-*", "-fno-harden-*", "-fsso-struct=*",
    "-fconcepts*", "-fmax-errors=*", "-fno-gnu-unique", "-fgnu-unique", "-fprofile-update=*",
    "-mindirect-branch*", "-mrecord-mcount", "-mpreferred-stack-boundary=*",
    "-mincoming-stack-boundary=*", "-mtune-ctrl=*", "-mskip-rax-setup", "-mno-skip-rax-setup",
    "-mabi=*", "-mno-fp-ret-in-387", "-mfunction-return=*",
    "-Wno-error*", "-Werror*", "-pedantic-errors", "-Wfatal-errors", "-save-temps*",
    NULL,
};

int ps_compdb_flag_dropped(const char *arg)
{
    for (const char *const *f = dropped_flags; *f; f++) {
        size_t n = strlen(*f);
        if ((*f)[n - 1] == '*' ? strncmp(arg, *f, n - 1) == 0 : strcmp(arg, *f) == 0)
            return 1;
    }
    return 0;
}

/* Options whose value is the next word (kept with it; not an input file). */
static const char *const separate_value[] = {
    "-D", "-U", "-I", "-x", "-include", "-imacros", "-isystem", "-iquote", "-idirafter",
    "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "--sysroot", "-F",
    "-Xclang", "-Xpreprocessor", "-Xassembler", "-Xlinker", "-arch", "-target", "-L",
    "-l", "-T", "-u", "-z", "-aux-info", "-framework", "-include-pch", "--param", "-G",
    "-specs", "-B", "-e", NULL,
};

/* ... and those among them whose value is a directory to make absolute. */
static const char *const dir_value[] = {
    "-I", "-isystem", "-iquote", "-idirafter", "-isysroot", "--sysroot", "-F", "-B", "-L", NULL,
};

static bool in_list(const char *const *list, const char *arg)
{
    for (; *list; list++)
        if (strcmp(*list, arg) == 0)
            return true;
    return false;
}

/* The -I-style prefix a joined argument starts with ("-Iinc"), or NULL. */
static const char *joined_dir_prefix(const char *arg)
{
    static const char *const joined[] = {"-isystem", "-iquote", "-idirafter", "-isysroot",
                                         "--sysroot=", "-I", "-F", "-B", "-L", NULL};
    for (const char *const *j = joined; *j; j++) {
        size_t n = strlen(*j);
        if (strncmp(arg, *j, n) == 0 && arg[n])
            return *j;
    }
    return NULL;
}

static int add_abs(ps_job *job, const char *prefix, const char *path, const char *directory)
{
    char *abs = ps_path_join(directory, path);
    if (!abs)
        return -1;
    size_t pl = strlen(prefix);
    char *arg = malloc(pl + strlen(abs) + 1);
    if (!arg) {
        free(abs);
        return -1;
    }
    memcpy(arg, prefix, pl);
    strcpy(arg + pl, abs);
    free(abs);
    int rc = ps_job_add_arg(job, arg);
    free(arg);
    return rc;
}

static bool is_compiler_wrapper(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    return strcmp(base, "ccache") == 0 || strcmp(base, "sccache") == 0 ||
           strcmp(base, "distcc") == 0;
}

static int filter_words(char *const *argv, size_t argc, size_t start, const char *directory,
                        ps_job *job, int depth);

/* "@file" holds more arguments, relative to the command's directory. */
static int expand_response_file(const char *name, const char *directory, ps_job *job, int depth)
{
    char *path = ps_path_join(directory, name);
    char *text = path ? ps_read_file(path, NULL) : NULL;
    free(path);
    if (!text || depth > 8) {
        free(text);
        return ps_job_add_arg(job, name - 1); /* leave it to clang */
    }
    char **words = NULL;
    size_t n = 0;
    int rc = ps_shell_split(text, &words, &n);
    free(text);
    if (rc != 0)
        return ps_job_add_arg(job, name - 1);
    rc = filter_words(words, n, 0, directory, job, depth + 1);
    ps_shell_free(words, n);
    return rc;
}

static int filter_words(char *const *argv, size_t argc, size_t start, const char *directory,
                        ps_job *job, int depth)
{
    for (size_t i = start; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (a[0] == '@' && a[1])
            if (expand_response_file(a + 1, directory, job, depth) != 0)
                return -1;
        if (a[0] == '@')
            continue;
        if (a[0] != '-' || strcmp(a, "-") == 0)
            continue; /* an input file: the job names its own */
        if (strcmp(a, "--") == 0)
            break; /* only inputs follow */
        if (strcmp(a, "-c") == 0 || strcmp(a, "-S") == 0 || strcmp(a, "-E") == 0 ||
            strcmp(a, "-M") == 0 || strcmp(a, "-MM") == 0 || strcmp(a, "-MD") == 0 ||
            strcmp(a, "-MMD") == 0 || strcmp(a, "-MP") == 0 || strcmp(a, "-MG") == 0)
            continue;
        if (strcmp(a, "-o") == 0 || strcmp(a, "-MF") == 0 || strcmp(a, "-MT") == 0 ||
            strcmp(a, "-MQ") == 0) {
            i++; /* and its value */
            continue;
        }
        if (strncmp(a, "-o", 2) == 0 || strncmp(a, "-MF", 3) == 0 || strncmp(a, "-MT", 3) == 0 ||
            strncmp(a, "-MQ", 3) == 0)
            continue;
        if (ps_compdb_flag_dropped(a)) {
            if (strcmp(a, "-fplugin") == 0 && has_next)
                i++;
            continue;
        }
        if (in_list(separate_value, a) && has_next) {
            if (in_list(dir_value, a)) {
                if (ps_job_add_arg(job, a) != 0 || add_abs(job, "", argv[i + 1], directory) != 0)
                    return -1;
            } else if (ps_job_add_arg(job, a) != 0 || ps_job_add_arg(job, argv[i + 1]) != 0) {
                return -1;
            }
            i++;
            continue;
        }
        const char *prefix = joined_dir_prefix(a);
        if (prefix) {
            if (add_abs(job, prefix, a + strlen(prefix), directory) != 0)
                return -1;
            continue;
        }
        if (ps_job_add_arg(job, a) != 0)
            return -1;
    }
    return 0;
}

int ps_compdb_filter_args(char *const *argv, size_t argc, const char *directory, ps_job *job)
{
    size_t start = 1;
    if (argc > 1 && is_compiler_wrapper(argv[0]) && argv[1][0] != '-')
        start = 2;
    return filter_words(argv, argc, start, directory, job, 0);
}

/* ---- the database ---- */

static int entry_to_job(const cJSON *entry, size_t index, const char *db_dir, const char *name,
                        ps_job *job, char *err, size_t errlen)
{
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(entry, "directory");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(entry, "file");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(entry, "arguments");
    const cJSON *command = cJSON_GetObjectItemCaseSensitive(entry, "command");
    if (!cJSON_IsObject(entry)) {
        snprintf(err, errlen, "%s: entry %zu is not an object", name, index + 1);
        return -1;
    }
    if (!cJSON_IsString(file) || !file->valuestring[0]) {
        snprintf(err, errlen, "%s: entry %zu has no \"file\"", name, index + 1);
        return -1;
    }
    if (!cJSON_IsString(dir) || !dir->valuestring[0]) {
        snprintf(err, errlen, "%s: entry %zu (%s) has no \"directory\"", name, index + 1,
                 file->valuestring);
        return -1;
    }
    char **words = NULL;
    size_t nwords = 0;
    if (args) {
        if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) == 0) {
            snprintf(err, errlen, "%s: entry %zu (%s): \"arguments\" must be a non-empty array "
                                  "of strings", name, index + 1, file->valuestring);
            return -1;
        }
        const cJSON *a;
        cJSON_ArrayForEach(a, args)
        {
            char *w = cJSON_IsString(a) ? strdup(a->valuestring) : NULL;
            if (!w || word_push(&words, &nwords, w) != 0) {
                ps_shell_free(words, nwords);
                snprintf(err, errlen, "%s: entry %zu (%s): \"arguments\" must be an array of "
                                      "strings", name, index + 1, file->valuestring);
                return -1;
            }
        }
    } else if (cJSON_IsString(command)) {
        if (ps_shell_split(command->valuestring, &words, &nwords) != 0 || nwords == 0) {
            ps_shell_free(words, nwords);
            snprintf(err, errlen, "%s: entry %zu (%s): cannot split \"command\" (unbalanced "
                                  "quotes?)", name, index + 1, file->valuestring);
            return -1;
        }
    } else {
        snprintf(err, errlen, "%s: entry %zu (%s) has neither \"arguments\" nor \"command\"",
                 name, index + 1, file->valuestring);
        return -1;
    }
    memset(job, 0, sizeof *job);
    job->directory = ps_path_join(db_dir, dir->valuestring);
    job->file = job->directory ? ps_path_join(job->directory, file->valuestring) : NULL;
    int rc = job->file ? ps_compdb_filter_args(words, nwords, job->directory, job) : -1;
    ps_shell_free(words, nwords);
    if (rc != 0) {
        ps_job_clear(job);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int ps_compdb_load(const char *path, ps_job **jobs_out, size_t *njobs_out, char *err,
                   size_t errlen)
{
    struct stat st;
    char *file = NULL;
    *jobs_out = NULL;
    *njobs_out = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        file = ps_path_join(path, "compile_commands.json");
    else
        file = strdup(path);
    if (!file) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (stat(file, &st) != 0) {
        snprintf(err, errlen, "%s: no compile_commands.json (configure with "
                              "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON, or use bear)", file);
        free(file);
        return -1;
    }
    cJSON *root = ps_json_read_file(file, err, errlen);
    if (!root) {
        free(file);
        return -1;
    }
    char *real = ps_path_real(file);
    char *db_dir = real ? ps_path_dirname(real) : NULL;
    free(real);
    ps_job *jobs = NULL;
    size_t njobs = 0;
    int rc = -1;
    if (!cJSON_IsArray(root)) {
        snprintf(err, errlen, "%s: expected a JSON array of compile commands", file);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(root);
    if (n == 0) {
        snprintf(err, errlen, "%s: the compile database is empty (no entries)", file);
        goto out;
    }
    jobs = calloc(n, sizeof *jobs);
    if (!jobs || !db_dir) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t index = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root)
    {
        if (entry_to_job(entry, index++, db_dir, file, &jobs[njobs], err, errlen) != 0)
            goto out;
        njobs++;
    }
    rc = 0;
out:
    if (rc != 0) {
        for (size_t k = 0; k < njobs; k++)
            ps_job_clear(&jobs[k]);
        free(jobs);
        jobs = NULL;
        njobs = 0;
    }
    *jobs_out = jobs;
    *njobs_out = njobs;
    cJSON_Delete(root);
    free(db_dir);
    free(file);
    return rc;
}

/*
 * test_fixtures.c — runs ps-check on every C file under fixtures/ and
 * compares its findings with the expectations written in the file.
 *
 * A fixture states what ps-check must say, on the line it must say it:
 *
 *     q = p;  // expect: ps-target-mismatch "PROXY(struct mesh) assigned PROXY(struct matrix)"
 *     PROXY(struct matrix) p;  // expect-note: "'p' declared as PROXY(struct matrix) here"
 *
 * Several expectations may share a line.  A line `// ps-check-args: ARGS`
 * passes options (e.g. --strict).  The comparison is exact: every finding
 * (rule, line, message) must be expected and every expectation met.  Notes
 * compare as a set — a declaration that explains ten findings is expected
 * once.  Column numbers are not compared.
 *
 * A directory holding a file `compdb.args` is one fixture: its C files are
 * checked together, as the files of one compile database (`ps-check -p`
 * with a compile_commands.json written here), so each sees the functions
 * the others define; every file's expectations are compared, with -j 1
 * and with -j 2, whose outputs must be the same.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_check.h"

#define FIXTURES_DIR PS_SOURCE_DIR "/fixtures"
#define MAX_PATH 1024

/* ------------------------------------------------------------ expectations */

typedef struct item {
    char *file;    /* NULL: the fixture itself */
    unsigned line;
    bool note;
    char *rule;    /* findings only */
    char *message;
    bool matched;
} item;

typedef struct item_list {
    item *v;
    size_t n, cap;
} item_list;

static void list_add(item_list *l, const char *file, unsigned line, bool note, const char *rule,
                     const char *message)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert_not_null(l->v);
    }
    item *it = &l->v[l->n++];
    it->file = file ? strdup(file) : NULL;
    it->line = line;
    it->note = note;
    it->rule = rule ? strdup(rule) : NULL;
    it->message = strdup(message);
    it->matched = false;
}

static void list_free(item_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].file);
        free(l->v[i].rule);
        free(l->v[i].message);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads `"..."` at *p; returns the text (malloc'd) or NULL. */
static char *quoted(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '"')
        return NULL;
    const char *end = strchr(s + 1, '"');
    if (!end)
        return NULL;
    *p = end + 1;
    return strndup(s + 1, (size_t)(end - s - 1));
}

/* Parses the expectations of one source line into l.  Returns false on a
 * malformed expectation (a fixture bug the runner must not ignore). */
static bool parse_line(item_list *l, const char *text, unsigned line, char *err, size_t errlen)
{
    const char *p = text;
    while ((p = strstr(p, "expect")) != NULL) {
        bool note;
        if (strncmp(p, "expect-note:", 12) == 0) {
            note = true;
            p += 12;
        } else if (strncmp(p, "expect:", 7) == 0) {
            note = false;
            p += 7;
        } else {
            p += 6;
            continue;
        }
        char rule[64] = "";
        if (!note) {
            while (*p == ' ')
                p++;
            size_t k = 0;
            while (*p && *p != ' ' && *p != '"' && k + 1 < sizeof rule)
                rule[k++] = *p++;
            rule[k] = '\0';
        }
        char *msg = quoted(&p);
        if (!msg || (!note && !rule[0])) {
            snprintf(err, errlen, "line %u: malformed expectation: %s", line, text);
            free(msg);
            return false;
        }
        list_add(l, NULL, line, note, note ? NULL : rule, msg);
        free(msg);
    }
    return true;
}

typedef struct fixture_file {
    item_list expected;
    char args[512];
} fixture_file;

static void read_fixture(const char *path, fixture_file *fx)
{
    memset(fx, 0, sizeof *fx);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    unsigned line = 0;
    char err[1024];
    while (getline(&buf, &cap, f) >= 0) {
        line++;
        buf[strcspn(buf, "\n")] = '\0';
        const char *args = strstr(buf, "ps-check-args:");
        if (args) {
            args += strlen("ps-check-args:");
            while (*args == ' ')
                args++;
            snprintf(fx->args, sizeof fx->args, "%s", args);
            continue;
        }
        cr_assert(parse_line(&fx->expected, buf, line, err, sizeof err), "%s: %s", path, err);
    }
    free(buf);
    fclose(f);
}

/* ------------------------------------------------------------ ps-check's output */

/* Parses `FILE:LINE:COL: SEVERITY: MESSAGE [RULE]` and note lines. */
static void parse_output(item_list *l, const char *out, const char *fixture_name)
{
    const char *p = out;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = strndup(p, len);
        p += len + (eol ? 1 : 0);
        char file[MAX_PATH];
        unsigned ln, col;
        int used = 0;
        if (sscanf(line, "%1023[^: ]:%u:%u: %n", file, &ln, &col, &used) == 3 && used > 0) {
            const char *rest = line + used;
            bool note = strncmp(rest, "note: ", 6) == 0;
            bool finding = strncmp(rest, "error: ", 7) == 0 || strncmp(rest, "warning: ", 9) == 0;
            if (note || finding) {
                const char *msg = strchr(rest, ':') + 2;
                const char *own = strcmp(file, fixture_name) == 0 ? NULL : file;
                if (note) {
                    list_add(l, own, ln, true, NULL, msg);
                } else {
                    const char *open = strrchr(msg, '[');
                    size_t mlen = strlen(msg);
                    if (open && open > msg && msg[mlen - 1] == ']') {
                        char *rule = strndup(open + 1, (size_t)(msg + mlen - 1 - open - 1));
                        char *m = strndup(msg, (size_t)(open - msg - 1));
                        list_add(l, own, ln, false, rule, m);
                        free(rule);
                        free(m);
                    } else {
                        list_add(l, own, ln, false, "?", msg);
                    }
                }
            }
        }
        free(line);
    }
}

/* ------------------------------------------------------------ comparison */

static bool same(const item *a, const item *b)
{
    if (a->note != b->note || a->line != b->line || strcmp(a->message, b->message) != 0)
        return false;
    if ((a->file == NULL) != (b->file == NULL) || (a->file && strcmp(a->file, b->file) != 0))
        return false;
    return a->note || strcmp(a->rule, b->rule) == 0;
}

static void describe(const item *it, char *buf, size_t n)
{
    if (it->note)
        snprintf(buf, n, "%s%s%u: note \"%s\"", it->file ? it->file : "", it->file ? ":" : "line ",
                 it->line, it->message);
    else
        snprintf(buf, n, "%s%s%u: %s \"%s\"", it->file ? it->file : "", it->file ? ":" : "line ",
                 it->line, it->rule, it->message);
}

/*
 * Matches actual findings against expectations.  Findings match one to one;
 * notes match as sets.  Appends a readable diff to report and returns the
 * number of differences.
 */
static size_t compare(item_list *expected, item_list *actual, char *report, size_t n)
{
    size_t diffs = 0, used = strlen(report);
    char buf[1024];
    for (size_t i = 0; i < actual->n; i++) {
        item *a = &actual->v[i];
        bool found = false;
        for (size_t j = 0; j < expected->n && !found; j++) {
            item *e = &expected->v[j];
            if (!same(a, e))
                continue;
            if (a->note || !e->matched) {
                e->matched = true;
                found = true;
            }
        }
        a->matched = found;
        if (!found) {
            describe(a, buf, sizeof buf);
            used += (size_t)snprintf(report + used, used < n ? n - used : 0,
                                     "  + unexpected  %s\n", buf);
            diffs++;
        }
    }
    for (size_t j = 0; j < expected->n; j++) {
        if (expected->v[j].matched)
            continue;
        describe(&expected->v[j], buf, sizeof buf);
        used += (size_t)snprintf(report + used, used < n ? n - used : 0,
                                 "  - missing     %s\n", buf);
        diffs++;
    }
    return diffs;
}

/* ------------------------------------------------------------ running ps-check */

/* Runs ps-check on file, in dir, with the fixture's own options (extra). */
static run_result run_fixture(const char *dir, const char *file, const char *extra)
{
    const char *argv[64];
    int k = 0;
    char *extra_copy = strdup(extra);
    for (char *tok = strtok(extra_copy, " "); tok && k < 40; tok = strtok(NULL, " "))
        argv[k++] = tok;
    argv[k++] = "--color=never";
    argv[k++] = "--no-config";
    argv[k++] = "--no-progress";
    argv[k++] = "-j";
    argv[k++] = "1";
    argv[k++] = file;
    argv[k++] = "--";
    argv[k++] = "-I";
    argv[k++] = PS_SOURCE_DIR "/runtime/include";
    argv[k++] = "-I";
    argv[k++] = PS_SOURCE_DIR "/annotations";
    argv[k] = NULL;
    run_result r = run_check_argv(dir, argv);
    free(extra_copy);
    return r;
}

/* ------------------------------------------------------------ the fixtures */

typedef struct fixture_param {
    char path[MAX_PATH];
} fixture_param;

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define GROUP_MARKER "compdb.args"

/* Is dir a fixture of several files checked together? */
static bool is_group(const char *dir)
{
    char marker[MAX_PATH + sizeof GROUP_MARKER + 1];
    snprintf(marker, sizeof marker, "%s/%s", dir, GROUP_MARKER);
    return access(marker, F_OK) == 0;
}

static void path_add(path_list *out, const char *path)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = realloc(out->v, out->cap * sizeof *out->v);
    }
    out->v[out->n++] = strdup(path);
}

/* The C files directly in dir, sorted (names only). */
static void group_files(const char *dir, path_list *out)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 2 && strcmp(e->d_name + len - 2, ".c") == 0)
            path_add(out, e->d_name);
    }
    closedir(d);
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

static void find_fixtures(const char *dir, path_list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[MAX_PATH];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t len = strlen(e->d_name);
        if (S_ISDIR(st.st_mode) && is_group(path))
            path_add(out, path);
        else if (S_ISDIR(st.st_mode))
            find_fixtures(path, out);
        else if (len > 2 && strcmp(e->d_name + len - 2, ".c") == 0)
            path_add(out, path);
    }
    closedir(d);
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(fixtures, match_expectations)
{
    path_list paths = {0};
    find_fixtures(FIXTURES_DIR, &paths);
    if (paths.n == 0)
        return cr_make_param_array(fixture_param, NULL, 0, NULL);
    qsort(paths.v, paths.n, sizeof *paths.v, cmp_str);
    fixture_param *params = cr_malloc(paths.n * sizeof *params);
    for (size_t i = 0; i < paths.n; i++) {
        snprintf(params[i].path, sizeof params[i].path, "%s", paths.v[i]);
        free(paths.v[i]);
    }
    size_t n = paths.n;
    free(paths.v);
    return cr_make_param_array(fixture_param, params, n, free_params);
}

/* Checks the files of group directory dir together with -j jobs; returns
 * ps-check's output (malloc'd) after comparing it with expected. */
static char *run_group_once(const char *dir, const char *db, const char *jobs, item_list *expected)
{
    const char *argv[] = {"--color=never", "--no-config", "--no-progress", "-j", jobs, "-p", db, NULL};
    run_result run = run_check_argv(dir, argv);
    cr_expect(run.status == 0 || run.status == 1,
              "%s (-j %s): ps-check exited with %d\nstdout:\n%s\nstderr:\n%s", dir, jobs,
              run.status, run.out, run.err);
    cr_expect(!strstr(run.err, "Sanitizer") && !strstr(run.err, "runtime error"),
              "%s: ps-check reported a memory or undefined-behavior error:\n%s", dir, run.err);
    item_list actual = {0};
    parse_output(&actual, run.out, "");
    for (size_t i = 0; i < expected->n; i++)
        expected->v[i].matched = false;
    size_t cap = 64 * 1024;
    char *report = calloc(1, cap);
    size_t diffs = compare(expected, &actual, report, cap);
    cr_expect_eq(diffs, 0, "%s (-j %s): %zu difference(s) between expected and actual findings:\n%s\n"
                           "ps-check said:\n%s",
                 dir, jobs, diffs, report, run.out);
    free(report);
    list_free(&actual);
    char *out = run.out;
    free(run.err);
    return out;
}

static void run_group(const char *dir)
{
    path_list files = {0};
    group_files(dir, &files);
    cr_assert_geq(files.n, 2, "%s: a fixture checked together needs several files", dir);
    item_list expected = {0};
    char marker[MAX_PATH + sizeof GROUP_MARKER + 1];
    snprintf(marker, sizeof marker, "%s/%s", dir, GROUP_MARKER);
    char *extra = slurp(marker);
    /* The lines of compdb.args that are not comments: arguments for every file. */
    char args[1024] = "";
    for (char *line = extra; line && *line;) {
        char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len && line[0] != '#')
            snprintf(args + strlen(args), sizeof args - strlen(args), ", \"%.*s\"", (int)len, line);
        line = eol ? eol + 1 : NULL;
    }
    char *db = scratch_dir();
    size_t cap = 4096, used = 0;
    char *json = malloc(cap);
    used += (size_t)snprintf(json + used, cap - used, "[\n");
    for (size_t i = 0; i < files.n; i++) {
        char path[2 * MAX_PATH + 2];
        snprintf(path, sizeof path, "%s/%s", dir, files.v[i]);
        fixture_file fx;
        read_fixture(path, &fx);
        for (size_t k = 0; k < fx.expected.n; k++) {
            item *it = &fx.expected.v[k];
            list_add(&expected, files.v[i], it->line, it->note, it->rule, it->message);
        }
        list_free(&fx.expected);
        if (used + 2048 > cap)
            json = realloc(json, cap *= 2);
        used += (size_t)snprintf(json + used, cap - used,
                                 "%s{\"directory\": \"%s\", \"file\": \"%s\", \"arguments\": "
                                 "[\"cc\", \"-I\", \"%s\", \"-I\", \"%s\"%s, \"-c\", \"%s\"]}\n",
                                 i ? "," : "", dir, path, PS_SOURCE_DIR "/runtime/include",
                                 PS_SOURCE_DIR "/annotations", args, files.v[i]);
    }
    snprintf(json + used, cap - used, "]\n");
    free(write_file(db, "compile_commands.json", json));
    char *one = run_group_once(dir, db, "1", &expected);
    char *two = run_group_once(dir, db, "2", &expected);
    cr_expect_str_eq(one, two, "%s: -j 1 and -j 2 disagree", dir);
    free(one);
    free(two);
    free(json);
    free(extra);
    scratch_remove(db);
    list_free(&expected);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
}

ParameterizedTest(fixture_param *param, fixtures, match_expectations, .timeout = 120)
{
    struct stat st;
    if (stat(param->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        run_group(param->path);
        return;
    }
    fixture_file fx;
    read_fixture(param->path, &fx);
    char dir_buf[MAX_PATH], file_buf[MAX_PATH];
    snprintf(dir_buf, sizeof dir_buf, "%s", param->path);
    snprintf(file_buf, sizeof file_buf, "%s", param->path);
    const char *dir = dirname(dir_buf);
    const char *name = basename(file_buf);

    run_result run = run_fixture(dir, name, fx.args);
    int status = run.status;
    const char *out = run.out, *err = run.err;
    cr_expect(status == 0 || status == 1,
              "%s: ps-check exited with %d (0 or 1 expected)\nstdout:\n%s\nstderr:\n%s",
              param->path, status, out, err);
    cr_expect(status == 0 || fx.expected.n > 0, "%s: findings where none are expected:\n%s",
              param->path, out);
    /* Sanitizer reports may exit with 1, the code for findings. */
    cr_expect(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
              "%s: ps-check reported a memory or undefined-behavior error:\n%s", param->path, err);

    item_list actual = {0};
    parse_output(&actual, out, name);
    size_t cap = 64 * 1024;
    char *report = calloc(1, cap);
    size_t diffs = compare(&fx.expected, &actual, report, cap);
    cr_expect_eq(diffs, 0, "%s: %zu difference(s) between expected and actual findings:\n%s\n"
                           "ps-check said:\n%s",
                 param->path, diffs, report, out);
    free(report);
    list_free(&actual);
    list_free(&fx.expected);
    run_free(&run);
}

/* ------------------------------------------------------------ the runner itself */

Test(fixtures, every_rule_has_fixtures)
{
    static const char *const rules[] = {
        "ps-target-mismatch", "ps-unresolved-proxy", "ps-or-mismatch", "ps-unresolved-or",
        "ps-resolve-mismatch", "ps-create-mismatch", "ps-annotation", "ps-untyped-proxy",
        "ps-use-after-free", "ps-double-free", "ps-leak", "ps-dangling-target",
        "mypy-plugin",
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        char dir[MAX_PATH];
        snprintf(dir, sizeof dir, "%s/%s", FIXTURES_DIR, rules[i]);
        path_list paths = {0};
        find_fixtures(dir, &paths);
        cr_expect_geq(paths.n, 2, "%s: a fixture that must be reported and look-alikes that must not",
                      rules[i]);
        for (size_t k = 0; k < paths.n; k++)
            free(paths.v[k]);
        free(paths.v);
    }
}

Test(fixtures, expectations_parse)
{
    item_list l = {0};
    char err[256];
    cr_assert(parse_line(&l, "q = p; // expect: ps-a \"one\" expect: ps-b \"two 'x'\"", 7, err,
                         sizeof err));
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.v[0].rule, "ps-a");
    cr_assert_str_eq(l.v[1].message, "two 'x'");
    cr_assert_eq(l.v[1].line, 7);
    cr_assert(parse_line(&l, "int p; // expect-note: \"'p' here\"", 9, err, sizeof err));
    cr_assert(l.v[2].note);
    cr_assert_not(parse_line(&l, "x; // expect: ps-a missing quotes", 3, err, sizeof err));
    cr_assert_not(parse_line(&l, "x; // expect: \"no rule\"", 3, err, sizeof err));
    list_free(&l);
}

Test(fixtures, comparison_catches_every_kind_of_difference)
{
    item_list expected = {0}, actual = {0};
    list_add(&expected, NULL, 3, false, "ps-a", "m");
    list_add(&expected, NULL, 4, false, "ps-a", "m");
    list_add(&expected, NULL, 1, true, NULL, "n");
    parse_output(&actual,
                 "f.c:3:5: error: m [ps-a]\n"
                 "f.c:1:2: note: n\n"
                 "f.c:4:5: error: m [ps-a]\n"
                 "f.c:1:2: note: n\n"
                 "   4 | source text: not a finding\n",
                 "f.c");
    char report[4096] = "";
    cr_assert_eq(compare(&expected, &actual, report, sizeof report), 0, "%s", report);
    list_free(&expected);
    list_free(&actual);

    /* A wrong rule, a wrong line, a wrong message, an extra finding, a note
     * in another file: each is one difference. */
    list_add(&expected, NULL, 3, false, "ps-a", "m");
    list_add(&expected, NULL, 5, false, "ps-a", "m");
    list_add(&expected, NULL, 6, false, "ps-a", "m");
    parse_output(&actual,
                 "f.c:3:1: error: m [ps-b]\n"
                 "f.c:4:1: error: m [ps-a]\n"
                 "f.c:6:1: warning: other [ps-a]\n"
                 "g.h:2:1: note: n\n",
                 "f.c");
    report[0] = '\0';
    size_t diffs = compare(&expected, &actual, report, sizeof report);
    cr_assert_eq(diffs, 7, "%s", report);
    cr_assert_not_null(strstr(report, "unexpected  line 3: ps-b \"m\""), "%s", report);
    cr_assert_not_null(strstr(report, "missing     line 5: ps-a \"m\""), "%s", report);
    cr_assert_not_null(strstr(report, "unexpected  g.h:2: note \"n\""), "%s", report);
    list_free(&expected);
    list_free(&actual);
}

/*
 * run_check.h — scratch directories, and running the ps-check binary in
 * them with its exit status and output captured (and checked), for the
 * command-line and fixture tests.
 */
#ifndef PS_TEST_RUN_CHECK_H
#define PS_TEST_RUN_CHECK_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The C that earns a ps-target-mismatch finding on line 5. */
#define BUGGY_SOURCE                                                 \
    "#include <proxystore/annotations.h>\n"                          \
    "struct a { int x; };\n"                                         \
    "struct b { int y; };\n"                                         \
    "void f(PROXY(struct a) p) {\n"                                  \
    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"          \
    "}\n"
#define BUGGY_LINE 5

#define CLEAN_SOURCE                                                 \
    "#include <proxystore/annotations.h>\n"                          \
    "struct a { int x; };\n"                                         \
    "void g(PROXY(struct a) p);\n"                                   \
    "void f(PROXY(struct a) p) { g(p); }\n"

typedef struct run_result {
    int status;  /* exit code, or 128 + signal */
    char *out;   /* stdout */
    char *err;   /* stderr */
} run_result;

static inline char *scratch_dir(void)
{
    char tmpl[] = "/tmp/ps-check-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    cr_assert_not_null(dir, "mkdtemp");
    char *real = realpath(dir, NULL);
    cr_assert_not_null(real);
    return real;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void scratch_remove(char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Writes text to dir/name, creating parent directories. */
static inline char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)n + 1);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        buf[0] = '\0';
    fclose(f);
    return buf;
}

/* Runs ps-check with args (NULL-terminated) in dir. */
static inline run_result run_check_argv(const char *dir, const char *const *args)
{
    char out_path[] = "/tmp/ps-check-out-XXXXXX", err_path[] = "/tmp/ps-check-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    cr_assert(out_fd >= 0 && err_fd >= 0);
    const char *argv[64];
    int n = 0;
    argv[n++] = PS_CHECK_EXE;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        unsetenv("NO_COLOR");
        execv(PS_CHECK_EXE, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(out_fd);
    close(err_fd);
    run_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(out_path),
                    slurp(err_path)};
    unlink(out_path);
    unlink(err_path);
    return r;
}

#define run_check(dir, ...) run_check_argv((dir), (const char *const[]){__VA_ARGS__, NULL})

static inline void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs ps-check like run_check_argv and fails the test unless it exits
 * with status; the result is the caller's (run_free). */
static inline run_result run_expect_argv(const char *dir, int status, const char *const *args)
{
    run_result r = run_check_argv(dir, args);
    if (r.status != status) {
        char line[1024] = "ps-check";
        for (const char *const *a = args; *a; a++)
            snprintf(line + strlen(line), sizeof line - strlen(line), " %s", *a);
        cr_assert_eq(r.status, status, "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", line,
                     r.status, status, r.out, r.err);
    }
    return r;
}

#define run_expect(dir, status, ...)                                                               \
    run_expect_argv((dir), (status), (const char *const[]){__VA_ARGS__, NULL})

enum run_stream { RUN_STDOUT, RUN_STDERR };

/* run_expect, and (unless text is NULL) the stream must contain text. */
static inline void expect_run_argv(const char *dir, int status, enum run_stream stream,
                                   const char *text, const char *const *args)
{
    run_result r = run_expect_argv(dir, status, args);
    const char *got = stream == RUN_STDOUT ? r.out : r.err;
    const char *name = stream == RUN_STDOUT ? "stdout" : "stderr";
    if (text)
        cr_assert(strstr(got, text), "%s lacks '%s':\n%s", name, text, got);
    run_free(&r);
}

/* Run ps-check in dir with the trailing arguments; it must exit with
 * status and, for expect_stdout and expect_stderr, print text there. */
#define expect_exit(dir, status, ...)                                                              \
    expect_run_argv((dir), (status), RUN_STDOUT, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define expect_stdout(dir, status, text, ...)                                                      \
    expect_run_argv((dir), (status), RUN_STDOUT, (text), (const char *const[]){__VA_ARGS__, NULL})
#define expect_stderr(dir, status, text, ...)                                                      \
    expect_run_argv((dir), (status), RUN_STDERR, (text), (const char *const[]){__VA_ARGS__, NULL})

/* Counts non-overlapping occurrences of needle in hay. */
static inline int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

#endif /* PS_TEST_RUN_CHECK_H */

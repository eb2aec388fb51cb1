/*
 * test_compdb.c — compile_commands.json: shell words, argument filtering,
 * and loading (with its failure modes).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "compdb.h"
#include "reject_cases.h"
#include "run_check.h"

static char *joined(const ps_job *job)
{
    size_t n = 1;
    for (size_t i = 0; i < job->nargs; i++)
        n += strlen(job->args[i]) + 1;
    char *s = calloc(1, n);
    for (size_t i = 0; i < job->nargs; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, job->args[i]);
    }
    return s;
}

Test(shell_split, quotes_and_escapes)
{
    char **argv;
    size_t argc;
    cr_assert_eq(ps_shell_split("  gcc -DA='x y' -DB=\"q \\\"r\\\"\" a\\ b.c 'it''s' \"\" ", &argv,
                                &argc), 0);
    cr_assert_eq(argc, 6);
    cr_assert_str_eq(argv[0], "gcc");
    cr_assert_str_eq(argv[1], "-DA=x y");
    cr_assert_str_eq(argv[2], "-DB=q \"r\"");
    cr_assert_str_eq(argv[3], "a b.c");
    cr_assert_str_eq(argv[4], "its");
    cr_assert_str_eq(argv[5], "", "an empty quoted word is a word");
    ps_shell_free(argv, argc);
}

Test(shell_split, unterminated_quote_fails)
{
    char **argv = (char **)1;
    size_t argc = 9;
    cr_assert_eq(ps_shell_split("gcc -DA='x", &argv, &argc), -1);
    cr_assert_null(argv);
    cr_assert_eq(argc, 0);
    cr_assert_eq(ps_shell_split("gcc \"-DA", &argv, &argc), -1);
}

Test(shell_split, empty)
{
    char **argv;
    size_t argc;
    cr_assert_eq(ps_shell_split("   ", &argv, &argc), 0);
    cr_assert_eq(argc, 0);
    ps_shell_free(argv, argc);
}

static char *filter(const char *cmd)
{
    char **argv;
    size_t argc;
    cr_assert_eq(ps_shell_split(cmd, &argv, &argc), 0);
    ps_job job = {0};
    cr_assert_eq(ps_compdb_filter_args(argv, argc, "/work/b", &job), 0);
    char *s = joined(&job);
    ps_job_clear(&job);
    ps_shell_free(argv, argc);
    return s;
}

Test(compdb_filter, drops_what_the_parser_must_not_see)
{
    char *s = filter("/usr/bin/gcc -c -o out/x.o -MD -MF out/x.d -MT x.o -Werror "
                     "-Werror=format -Wall -O2 -std=gnu11 ../src/x.c");
    cr_assert_str_eq(s, "-Wall -O2 -std=gnu11");
    free(s);
}

Test(compdb_filter, makes_include_dirs_absolute)
{
    char *s = filter("cc -I../inc -I /abs/inc -isystem sys -iquote . -DX=1 -D Y -include cfg.h x.c");
    cr_assert_str_eq(s, "-I/work/inc -I /abs/inc -isystem /work/b/sys -iquote /work/b -DX=1 -D Y "
                        "-include cfg.h");
    free(s);
}

Test(compdb_filter, drops_gcc_only_flags)
{
    char *s = filter("gcc -fconserve-stack -fno-tree-pre -mindirect-branch=thunk-extern "
                     "-fplugin=x.so -fdiagnostics-color=always -fno-strict-aliasing x.c");
    cr_assert_str_eq(s, "-fno-strict-aliasing");
    free(s);
    cr_assert(ps_compdb_flag_dropped("-fno-ipa-sra"));
    cr_assert(ps_compdb_flag_dropped("-Werror=implicit"));
    cr_assert_not(ps_compdb_flag_dropped("-fstack-protector-strong"));
    cr_assert_not(ps_compdb_flag_dropped("-Wall"));
}

Test(compdb_filter, compiler_wrappers)
{
    char *s = filter("ccache gcc -DX x.c");
    cr_assert_str_eq(s, "-DX");
    free(s);
}

Test(compdb_filter, response_files)
{
    char *dir = scratch_dir();
    free(write_file(dir, "flags.rsp", "-Iinc \"-DMSG=a b\" -c"));
    char *cmd = NULL;
    cr_assert_geq(asprintf(&cmd, "cc @flags.rsp -O1 x.c"), 0);
    char **argv;
    size_t argc;
    cr_assert_eq(ps_shell_split(cmd, &argv, &argc), 0);
    ps_job job = {0};
    cr_assert_eq(ps_compdb_filter_args(argv, argc, dir, &job), 0);
    cr_assert_eq(job.nargs, 3);
    char *inc = NULL;
    cr_assert_geq(asprintf(&inc, "-I%s/inc", dir), 0);
    cr_assert_str_eq(job.args[0], inc);
    cr_assert_str_eq(job.args[1], "-DMSG=a b");
    cr_assert_str_eq(job.args[2], "-O1");
    free(inc);
    ps_job_clear(&job);
    ps_shell_free(argv, argc);
    free(cmd);
    scratch_remove(dir);
}

Test(compdb_load, arguments_and_command_entries)
{
    char *dir = scratch_dir();
    char *db = NULL;
    cr_assert_geq(asprintf(&db,
                           "[{\"directory\": \"%s/build\", \"file\": \"../src/a.c\","
                           "  \"command\": \"gcc -DA='1 2' -c ../src/a.c -o a.o\"},"
                           " {\"directory\": \"%s\", \"file\": \"%s/src/b.c\","
                           "  \"arguments\": [\"clang\", \"-Iinc\", \"-c\", \"src/b.c\"],"
                           "  \"output\": \"b.o\"}]", dir, dir, dir), 0);
    free(write_file(dir, "build/compile_commands.json", db));
    free(db);
    char *build = NULL;
    cr_assert_geq(asprintf(&build, "%s/build", dir), 0);
    ps_job *jobs;
    size_t n;
    char err[512];
    cr_assert_eq(ps_compdb_load(build, &jobs, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    char *expect = NULL;
    cr_assert_geq(asprintf(&expect, "%s/src/a.c", dir), 0);
    cr_assert_str_eq(jobs[0].file, expect);
    free(expect);
    cr_assert_str_eq(jobs[0].directory, build);
    cr_assert_eq(jobs[0].nargs, 1);
    cr_assert_str_eq(jobs[0].args[0], "-DA=1 2");
    cr_assert_eq(jobs[1].nargs, 1);
    cr_assert(strstr(jobs[1].args[0], "/inc"));
    for (size_t i = 0; i < n; i++)
        ps_job_clear(&jobs[i]);
    free(jobs);
    free(build);
    scratch_remove(dir);
}

/* Loads text as dir/compile_commands.json. */
static int reject_compdb(const char *text, char *err, size_t errlen, void *dir)
{
    free(write_file(dir, "compile_commands.json", text));
    ps_job *jobs = (ps_job *)1;
    size_t n = 7;
    int rc = ps_compdb_load(dir, &jobs, &n, err, errlen);
    if (rc != 0) {
        cr_assert_null(jobs, "a refused database gives no jobs: %s", text);
        cr_assert_eq(n, 0);
    }
    return rc;
}

Test(compdb_load, failures)
{
    static const reject_case cases[] = {
        {"[]", "empty (no entries)"},
        {"", "empty file"},
        {"{\"file\": \"a.c\"}", "expected a JSON array"},
        {"[{\"directory\": \"/\", \"file\": \"a.c\"", "invalid JSON"},
        {"[{\"directory\": \"/\", \"command\": \"cc a.c\"}]", "entry 1 has no \"file\""},
        {"[{\"file\": \"a.c\", \"command\": \"cc a.c\"}]", "has no \"directory\""},
        {"[{\"directory\": \"/\", \"file\": \"a.c\"}]", "neither \"arguments\" nor \"command\""},
        {"[{\"directory\": \"/\", \"file\": \"a.c\", \"command\": \"cc 'a.c\"}]", "cannot split"},
        {"[{\"directory\": \"/\", \"file\": \"a.c\", \"arguments\": [1]}]", "array of strings"},
        {"[3]", "entry 1 is not an object"},
    };
    char *dir = scratch_dir();
    EXPECT_REJECTED(cases, reject_compdb, dir);
    ps_job *jobs;
    size_t n;
    char err[512];
    cr_assert_eq(ps_compdb_load("/nonexistent", &jobs, &n, err, sizeof err), -1);
    cr_assert(strstr(err, "no compile_commands.json"), "%s", err);
    scratch_remove(dir);
}

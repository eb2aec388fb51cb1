/*
 * test_cli.c — ps-check's command line: option parsing (unit) and the
 * binary's behaviour on real files: every exit code, every bad input the
 * documentation names, output files, suppressions, baselines, -p.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli.h"
#include "reject_cases.h"
#include "run_check.h"

/* ---- ps_cli_parse ---- */

static int parse(ps_cli *cli, char *err, size_t errlen, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "ps-check";
    for (; args[argc - 1] && argc < 31; argc++)
        argv[argc] = (char *)args[argc - 1];
    return ps_cli_parse(argc, argv, cli, err, errlen);
}
#define PARSE(cli, err, ...)                                                                       \
    parse((cli), (err), sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

Test(cli_parse, options_and_inputs)
{
    ps_cli cli;
    char err[256];
    cr_assert_eq(PARSE(&cli, err, "-j", "3", "src", "--format=sarif", "-o", "out.sarif",
                       "--strict", "--disable", "ps-leak,ps-borrow", "--enable=ps-untyped-proxy",
                       "a.c", "--", "-DX=1", "-Iinc"), 0, "%s", err);
    cr_assert_eq(cli.jobs, 3);
    cr_assert_eq(cli.format, PS_FORMAT_SARIF);
    cr_assert_str_eq(cli.output, "out.sarif");
    cr_assert(cli.strict);
    cr_assert_eq(cli.ninputs, 2);
    cr_assert_str_eq(cli.inputs[0], "src");
    cr_assert_str_eq(cli.inputs[1], "a.c");
    cr_assert_eq(cli.nparser_args, 2);
    cr_assert_str_eq(cli.parser_args[0], "-DX=1");
    cr_assert_eq(cli.ntoggles, 3);
    cr_assert_eq(cli.toggles[0].rule, PS_RULE_LEAK);
    cr_assert_not(cli.toggles[0].enable);
    cr_assert_eq(cli.toggles[1].rule, PS_RULE_BORROW);
    cr_assert_eq(cli.toggles[2].rule, PS_RULE_UNTYPED_PROXY);
    cr_assert(cli.toggles[2].enable);
    ps_cli_free(&cli);
}

Test(cli_parse, joined_short_options_and_build_dir)
{
    ps_cli cli;
    char err[256];
    cr_assert_eq(PARSE(&cli, err, "-pbuild", "-j2", "--color=never", "--root", "/tmp"), 0);
    cr_assert_str_eq(cli.build_dir, "build");
    cr_assert_eq(cli.jobs, 2);
    cr_assert_eq(cli.color, PS_COLOR_NEVER);
    cr_assert_str_eq(cli.root, "/tmp");
    cr_assert_eq(cli.ninputs, 0);
    ps_cli_free(&cli);
}

/* A command line given as words separated by blanks. */
static int parse_words(const char *words, char *err, size_t errlen, void *arg)
{
    (void)arg;
    char buf[256];
    const char *args[16];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", words);
    for (char *w = strtok(buf, " "); w && n + 1 < sizeof args / sizeof *args; w = strtok(NULL, " "))
        args[n++] = w;
    args[n] = NULL;
    ps_cli cli;
    int rc = parse(&cli, err, errlen, args);
    ps_cli_free(&cli);
    return rc;
}

Test(cli_parse, errors_have_messages)
{
    static const reject_case cases[] = {
        {"--bogus a.c", "unknown option '--bogus'"},
        {"--enable ps-nope a.c", "unknown rule 'ps-nope'"},
        {"--format=xml a.c", "--format takes text, json or sarif"},
        {"-j many a.c", "-j needs a number"},
        {"a.c -o", "option '-o' needs a value"},
        {"--color=sometimes a.c", "--color takes auto"},
        {"--strict", "no input files"},
        {"--baseline b --write-baseline c a.c", "cannot be combined"},
    };
    EXPECT_REJECTED(cases, parse_words, NULL);
}

Test(cli_parse, help_needs_no_inputs)
{
    ps_cli cli;
    char err[256];
    cr_assert_eq(PARSE(&cli, err, "--help"), 0);
    cr_assert(cli.help);
    ps_cli_free(&cli);
}

/* ---- the binary ---- */

/* Each test runs ps-check in a scratch directory of its own. */
static char *dir;

static void make_dir(void)
{
    dir = scratch_dir();
}

static void remove_dir(void)
{
    scratch_remove(dir);
    dir = NULL;
}

TestSuite(cli_run, .init = make_dir, .fini = remove_dir);

Test(cli_run, clean_file_exits_0)
{
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    run_result r = run_expect(dir, 0, "ok.c");
    cr_assert_str_eq(r.out, "");
    run_free(&r);
}

Test(cli_run, finding_exits_1_in_compiler_style)
{
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_expect(dir, 1, "bug.c");
    cr_assert(strncmp(r.out, "bug.c:5:", 8) == 0, "%s", r.out);
    cr_assert(strstr(r.out, ": error: "), "%s", r.out);
    cr_assert(strstr(r.out, "[ps-target-mismatch]\n"), "%s", r.out);
    /* The source line and a caret under it. */
    cr_assert(strstr(r.out, "    5 |     PROXY(struct b) bad_proxy = p;"), "%s", r.out);
    cr_assert(strstr(r.out, "      | "), "%s", r.out);
    cr_assert(strchr(r.out, '^'), "%s", r.out);
    cr_assert_null(strstr(r.out, "\033["), "no color when not a terminal");
    run_free(&r);
}

Test(cli_run, color_always_colors)
{
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    expect_stdout(dir, 1, "\033[1;31merror:", "--color=always", "bug.c");
}

Test(cli_run, directory_is_searched_for_c_files)
{
    free(write_file(dir, "src/deep/bug.c", BUGGY_SOURCE));
    free(write_file(dir, "src/ok.c", CLEAN_SOURCE));
    free(write_file(dir, "src/notes.txt", "not C {"));
    free(write_file(dir, "src/.hidden/broken.c", "this is not C"));
    run_result r = run_expect(dir, 1, "src");
    cr_assert(strstr(r.out, "src/deep/bug.c:5:"), "%s", r.out);
    cr_assert_null(strstr(r.out, "broken.c"), "%s", r.out);
    run_free(&r);
}

Test(cli_run, malformed_c_exits_3_and_other_files_are_checked)
{
    free(write_file(dir, "bad.c", "int f(void) { return }\n"));
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_expect(dir, 3, "bad.c", "bug.c");
    cr_assert(strstr(r.out, "bad.c:1:"), "%s", r.out);
    cr_assert(strstr(r.out, "[clang-parse-error]"), "%s", r.out);
    cr_assert(strstr(r.out, "bug.c:5:"), "the other file was still checked: %s", r.out);
    run_free(&r);
}

Test(cli_run, missing_header_exits_3)
{
    free(write_file(dir, "m.c", "#include \"no_such_header.h\"\nint x;\n"));
    expect_stdout(dir, 3,
                  "m.c:1:10: error: 'no_such_header.h' file not found [clang-parse-error]", "m.c");
}

Test(cli_run, usage_errors_exit_2)
{
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    expect_stderr(dir, 2, "unknown option '--no-such-option'", "--no-such-option", "ok.c");
    expect_stderr(dir, 2, "missing.c: no such file or directory", "missing.c");
    expect_exit(dir, 2, "--disable", "clang-parse-error", "ok.c");
}

Test(cli_run, broken_config_exits_2_with_position)
{
    static const struct {
        const char *config, *message;
    } cases[] = {
        {"{\n  \"rules\": {\n    \"ps-leak\": off\n  }\n}\n", ".ps-check.json:3:16: invalid JSON"},
        {"{\"rules\": {\"ps-leek\": \"off\"}}", "unknown rule id \"ps-leek\""},
        {"{\"rules\": {\"ps-leak\": false}}", "must be a string"},
    };
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        free(write_file(dir, ".ps-check.json", cases[i].config));
        expect_stderr(dir, 2, cases[i].message, "ok.c");
    }
    expect_stderr(dir, 2, "nope.json: cannot read", "--config", "nope.json", "ok.c");
}

Test(cli_run, config_turns_rules_off_and_is_found_upward)
{
    free(write_file(dir, "src/sub/bug.c", BUGGY_SOURCE));
    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-target-mismatch\": \"off\"}}"));
    expect_exit(dir, 0, "src/sub/bug.c");
    /* The command line has the last word. */
    expect_exit(dir, 1, "--enable", "ps-target-mismatch", "src/sub/bug.c");
    /* A note does not fail the run. */
    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-target-mismatch\": \"note\"}}"));
    expect_stdout(dir, 0, ": note: ", "src/sub/bug.c");
    expect_exit(dir, 1, "--no-config", "src/sub/bug.c");
}

Test(cli_run, config_skip_patterns)
{
    free(write_file(dir, "third_party/lib/bug.c", BUGGY_SOURCE));
    free(write_file(dir, "src/ok.c", CLEAN_SOURCE));
    free(write_file(dir, ".ps-check.json", "{\"skip\": [\"third_party\"]}"));
    expect_exit(dir, 0, ".");
}

Test(cli_run, suppression_comment)
{
    free(write_file(dir, "s.c",
                    "#include <proxystore/annotations.h>\n"
                    "struct a { int x; };\n"
                    "struct b { int y; };\n"
                    "void f(PROXY(struct a) p) {\n"
                    "    // ps-check-ignore: ps-target-mismatch -- converted on purpose\n"
                    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"
                    "}\n"
                    "void g(PROXY(struct a) p) {\n"
                    "    PROXY(struct b) bad_proxy = p; /* ps-check-ignore: ps-leak, ps-nope */\n"
                    "    (void)bad_proxy;\n"
                    "}\n"));
    run_result r = run_expect(dir, 1, "s.c");
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    cr_assert(strstr(r.out, "s.c:9:"), "the other rule's suppression does not apply: %s", r.out);
    cr_assert(strstr(r.err, "s.c:9:") && strstr(r.err, "unknown rule 'ps-nope'"), "%s", r.err);
    run_free(&r);
}

Test(cli_run, output_file_and_formats)
{
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_expect(dir, 1, "--format=json", "-o", "report.json", "bug.c");
    cr_assert_str_eq(r.out, "");
    run_free(&r);
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/report.json", dir), 0);
    char *json = slurp(path);
    cr_assert(strstr(json, "\"rule\":\t\"ps-target-mismatch\""), "%s", json);
    cr_assert(strstr(json, "\"file\":\t\"bug.c\""), "%s", json);
    free(json);
    free(path);
    expect_stdout(dir, 1, "\"version\":\t\"2.1.0\"", "--format=sarif", "bug.c");
    expect_exit(dir, 2, "-o", "/nonexistent-dir/x", "bug.c");
}

Test(cli_run, baseline_hides_known_findings_by_content_not_line)
{
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    expect_exit(dir, 0, "--write-baseline", "base.json", "bug.c");
    /* Lines inserted above move the finding; the baseline still covers it. */
    free(write_file(dir, "bug.c", "/* a new comment */\n\n" BUGGY_SOURCE));
    expect_exit(dir, 0, "--baseline", "base.json", "bug.c");
    /* A second copy of the same bug is new. */
    free(write_file(dir, "bug.c", BUGGY_SOURCE
                    "void f2(PROXY(struct a) p) {\n"
                    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"
                    "}\n"));
    run_result r = run_expect(dir, 1, "--baseline", "base.json", "bug.c");
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    run_free(&r);
    free(write_file(dir, "bad-base.json", "{\"version\": 1, \"findings\": [{\"fingerprint\": 7}]}"));
    expect_stderr(dir, 2, "fingerprint", "--baseline", "bad-base.json", "bug.c");
}

Test(cli_run, compile_commands)
{
    free(write_file(dir, "src/bug.c", "#include \"defs.h\"\n" BUGGY_SOURCE));
    free(write_file(dir, "src/ok.c", "#include \"defs.h\"\n" CLEAN_SOURCE));
    free(write_file(dir, "include/defs.h", "#define DEFS 1\n"));
    char *db = NULL;
    cr_assert_geq(asprintf(&db,
                           "[{\"directory\": \"%s/build\", \"file\": \"../src/bug.c\","
                           "  \"command\": \"/usr/bin/gcc -I../include -DX=\\\"a b\\\" -Werror "
                           "-fconserve-stack -fno-such-gcc-flag -MD -MF bug.d -o bug.o -c ../src/bug.c\"},"
                           " {\"directory\": \"%s\", \"file\": \"src/ok.c\","
                           "  \"arguments\": [\"cc\", \"-Iinclude\", \"-c\", \"src/ok.c\"]}]",
                           dir, dir), 0);
    free(write_file(dir, "build/compile_commands.json", db));
    free(db);
    run_result r = run_expect(dir, 1, "-p", "build");
    cr_assert(strstr(r.out, "src/bug.c:6:"), "%s", r.out);
    cr_assert(strstr(r.err, "does not accept '-fno-such-gcc-flag'"), "%s", r.err);
    run_free(&r);
    /* Files given with -p restrict the set. */
    expect_exit(dir, 0, "-p", "build", "src/ok.c");
}

Test(cli_run, bad_compile_commands_exit_2)
{
    free(write_file(dir, "empty/compile_commands.json", "[]"));
    free(write_file(dir, "blank/compile_commands.json", ""));
    free(write_file(dir, "broken/compile_commands.json", "[{\"directory\": \"/\", \"file\": "));
    free(write_file(dir, "nofile/compile_commands.json", "[{\"directory\": \"/\", \"command\": \"cc\"}]"));
    char *none = NULL;
    cr_assert_geq(asprintf(&none, "%s/none", dir), 0);
    mkdir(none, 0755);
    free(none);
    static const struct {
        const char *dir, *message;
    } cases[] = {
        {"empty", "empty (no entries)"},
        {"blank", "empty file"},
        {"broken", "invalid JSON"},
        {"nofile", "has no \"file\""},
        {"none", "no compile_commands.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_stderr(dir, 2, cases[i].message, "-p", cases[i].dir);
}

Test(cli_run, parallel_output_is_identical)
{
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.c", i);
        free(write_file(dir, name, i % 2 ? BUGGY_SOURCE : CLEAN_SOURCE));
    }
    run_result one = run_expect(dir, 1, "-j1", ".");
    run_result two = run_expect(dir, 1, "-j", "3", ".");
    cr_assert_str_eq(one.out, two.out);
    cr_assert_eq(count_of(one.out, "[ps-target-mismatch]"), 3, "%s", one.out);
    run_free(&one);
    run_free(&two);
}

Test(cli_run, help_version_list_rules)
{
    run_result r = run_expect(dir, 0, "--help");
    cr_assert(strstr(r.out, "Exit status:"), "%s", r.out);
    cr_assert(strstr(r.out, "3  at least one file could not be parsed"), "%s", r.out);
    run_free(&r);
    r = run_expect(dir, 0, "--version");
    cr_assert(strncmp(r.out, "ps-check " PS_CHECK_VERSION, 9 + strlen(PS_CHECK_VERSION)) == 0);
    run_free(&r);
    r = run_expect(dir, 0, "--list-rules", "--strict");
    cr_assert(strstr(r.out, "ps-untyped-proxy       warning"), "%s", r.out);
    cr_assert(strstr(r.out, "ps-target-mismatch     error"), "%s", r.out);
    run_free(&r);
}

Test(cli_run, parser_args_from_command_line_and_config)
{
    free(write_file(dir, "needs.c", "#ifndef NEEDED\n#error NEEDED is not defined\n#endif\nint x;\n"));
    expect_stdout(dir, 3, "needs.c:2:2: error: NEEDED is not defined [clang-parse-error]",
                  "needs.c");
    expect_exit(dir, 0, "needs.c", "--", "-DNEEDED");
    free(write_file(dir, ".ps-check.json", "{\"args\": [\"-DNEEDED=1\"]}"));
    expect_exit(dir, 0, "needs.c");
}

Test(cli_run, root_decides_which_headers_are_reported)
{
    free(write_file(dir, "inc/wrong.h", BUGGY_SOURCE));
    free(write_file(dir, "src/main.c", "#include \"wrong.h\"\nint main(void) { return 0; }\n"));
    /* By default the tree is the current directory, which holds the header. */
    expect_stdout(dir, 1, "inc/wrong.h:5:", "src/main.c", "--", "-Iinc");
    /* The header is outside --root src. */
    expect_exit(dir, 0, "--root", "src", "src/main.c", "--", "-Iinc");
    expect_exit(dir, 2, "--root", "nonexistent", "src/main.c");
}

Test(cli_run, progress_line_when_asked)
{
    free(write_file(dir, "a.c", CLEAN_SOURCE));
    free(write_file(dir, "b.c", CLEAN_SOURCE));
    run_result r = run_expect(dir, 0, "--progress", "-j1", "a.c", "b.c");
    cr_assert(strstr(r.err, "[1/2] a.c") && strstr(r.err, "[2/2] b.c"), "%s", r.err);
    run_free(&r);
    r = run_expect(dir, 0, "a.c", "b.c");
    cr_assert_str_eq(r.err, "", "no progress when stderr is not a terminal");
    run_free(&r);
}

Test(cli_run, print_commands)
{
    free(write_file(dir, "a.c", CLEAN_SOURCE));
    run_result r = run_expect(dir, 0, "--print-commands", "a.c", "--", "-DX=a b");
    cr_assert(strncmp(r.out, "clang-19 -fsyntax-only -D__PS_CHECK__ -resource-dir ", 52) == 0, "%s",
              r.out);
    cr_assert(strstr(r.out, " '-DX=a b' "), "%s", r.out);
    cr_assert(strstr(r.out, "/a.c\n"), "%s", r.out);
    run_free(&r);
}

Test(cli_run, header_finding_reported_once_for_several_files)
{
    free(write_file(dir, "wrong.h", BUGGY_SOURCE));
    free(write_file(dir, "one.c", "#include \"wrong.h\"\n"));
    free(write_file(dir, "two.c", "#include \"wrong.h\"\n"));
    run_result r = run_expect(dir, 1, "-j2", "one.c", "two.c");
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    cr_assert(strstr(r.out, "wrong.h:5:"), "%s", r.out);
    run_free(&r);
}

/*
 * test_cli.c — ps-check's command line: option parsing (unit) and the
 * binary's behaviour on real files: every exit code, every bad input the
 * documentation names, output files, suppressions, baselines, -p.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli.h"
#include "run_check.h"

/* ---- ps_cli_parse ---- */

static int parse(ps_cli *cli, char *err, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "ps-check";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    return ps_cli_parse(argc, argv, cli, err, 256);
}
#define PARSE(cli, err, ...) parse((cli), (err), (const char *const[]){__VA_ARGS__, NULL})

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

Test(cli_parse, errors_have_messages)
{
    static const struct {
        const char *args[6];
        const char *message;
    } cases[] = {
        {{"--bogus", "a.c"}, "unknown option '--bogus'"},
        {{"--enable", "ps-nope", "a.c"}, "unknown rule 'ps-nope'"},
        {{"--format=xml", "a.c"}, "--format takes text, json or sarif"},
        {{"-j", "many", "a.c"}, "-j needs a number"},
        {{"a.c", "-o"}, "option '-o' needs a value"},
        {{"--color=sometimes", "a.c"}, "--color takes auto"},
        {{"--strict"}, "no input files"},
        {{"--baseline", "b", "--write-baseline", "c", "a.c"}, "cannot be combined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ps_cli cli;
        char err[256] = "";
        const char *args[8] = {0};
        memcpy(args, cases[i].args, sizeof cases[i].args);
        if (!cases[i].args[0])
            continue;
        cr_assert_eq(parse(&cli, err, args), -1, "case %zu parsed", i);
        cr_assert(strstr(err, cases[i].message), "case %zu: '%s'", i, err);
        ps_cli_free(&cli);
    }
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

Test(cli_run, clean_file_exits_0)
{
    char *dir = scratch_dir();
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    run_result r = run_check(dir, "ok.c");
    cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, finding_exits_1_in_compiler_style)
{
    char *dir = scratch_dir();
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_check(dir, "bug.c");
    cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert(strncmp(r.out, "bug.c:5:", 8) == 0, "%s", r.out);
    cr_assert(strstr(r.out, ": error: "), "%s", r.out);
    cr_assert(strstr(r.out, "[ps-target-mismatch]\n"), "%s", r.out);
    /* The source line and a caret under it. */
    cr_assert(strstr(r.out, "    5 |     PROXY(struct b) bad_proxy = p;"), "%s", r.out);
    cr_assert(strstr(r.out, "      | "), "%s", r.out);
    cr_assert(strchr(r.out, '^'), "%s", r.out);
    cr_assert_null(strstr(r.out, "\033["), "no color when not a terminal");
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, color_always_colors)
{
    char *dir = scratch_dir();
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_check(dir, "--color=always", "bug.c");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.out, "\033[1;31merror:"), "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, directory_is_searched_for_c_files)
{
    char *dir = scratch_dir();
    free(write_file(dir, "src/deep/bug.c", BUGGY_SOURCE));
    free(write_file(dir, "src/ok.c", CLEAN_SOURCE));
    free(write_file(dir, "src/notes.txt", "not C {"));
    free(write_file(dir, "src/.hidden/broken.c", "this is not C"));
    run_result r = run_check(dir, "src");
    cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert(strstr(r.out, "src/deep/bug.c:5:"), "%s", r.out);
    cr_assert_null(strstr(r.out, "broken.c"), "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, malformed_c_exits_3_and_other_files_are_checked)
{
    char *dir = scratch_dir();
    free(write_file(dir, "bad.c", "int f(void) { return }\n"));
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_check(dir, "bad.c", "bug.c");
    cr_assert_eq(r.status, 3, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert(strstr(r.out, "bad.c:1:"), "%s", r.out);
    cr_assert(strstr(r.out, "[clang-parse-error]"), "%s", r.out);
    cr_assert(strstr(r.out, "bug.c:5:"), "the other file was still checked: %s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, missing_header_exits_3)
{
    char *dir = scratch_dir();
    free(write_file(dir, "m.c", "#include \"no_such_header.h\"\nint x;\n"));
    run_result r = run_check(dir, "m.c");
    cr_assert_eq(r.status, 3, "%s", r.out);
    cr_assert(strstr(r.out, "m.c:1:10: error: 'no_such_header.h' file not found [clang-parse-error]"),
              "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, usage_errors_exit_2)
{
    char *dir = scratch_dir();
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    run_result r = run_check(dir, "--no-such-option", "ok.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown option '--no-such-option'"), "%s", r.err);
    run_free(&r);
    r = run_check(dir, "missing.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "missing.c: no such file or directory"), "%s", r.err);
    run_free(&r);
    r = run_check(dir, "--disable", "clang-parse-error", "ok.c");
    cr_assert_eq(r.status, 2);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, broken_config_exits_2_with_position)
{
    char *dir = scratch_dir();
    free(write_file(dir, "ok.c", CLEAN_SOURCE));
    free(write_file(dir, ".ps-check.json", "{\n  \"rules\": {\n    \"ps-leak\": off\n  }\n}\n"));
    run_result r = run_check(dir, "ok.c");
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, ".ps-check.json:3:16: invalid JSON"), "%s", r.err);
    run_free(&r);

    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-leek\": \"off\"}}"));
    r = run_check(dir, "ok.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown rule id \"ps-leek\""), "%s", r.err);
    run_free(&r);

    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-leak\": false}}"));
    r = run_check(dir, "ok.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "must be a string"), "%s", r.err);
    run_free(&r);

    r = run_check(dir, "--config", "nope.json", "ok.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "nope.json: cannot read"), "%s", r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, config_turns_rules_off_and_is_found_upward)
{
    char *dir = scratch_dir();
    free(write_file(dir, "src/sub/bug.c", BUGGY_SOURCE));
    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-target-mismatch\": \"off\"}}"));
    run_result r = run_check(dir, "src/sub/bug.c");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    run_free(&r);
    /* The command line has the last word. */
    r = run_check(dir, "--enable", "ps-target-mismatch", "src/sub/bug.c");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    run_free(&r);
    /* A note does not fail the run. */
    free(write_file(dir, ".ps-check.json", "{\"rules\": {\"ps-target-mismatch\": \"note\"}}"));
    r = run_check(dir, "src/sub/bug.c");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, ": note: "), "%s", r.out);
    run_free(&r);
    r = run_check(dir, "--no-config", "src/sub/bug.c");
    cr_assert_eq(r.status, 1);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, config_skip_patterns)
{
    char *dir = scratch_dir();
    free(write_file(dir, "third_party/lib/bug.c", BUGGY_SOURCE));
    free(write_file(dir, "src/ok.c", CLEAN_SOURCE));
    free(write_file(dir, ".ps-check.json", "{\"skip\": [\"third_party\"]}"));
    run_result r = run_check(dir, ".");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, suppression_comment)
{
    char *dir = scratch_dir();
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
    run_result r = run_check(dir, "s.c");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    cr_assert(strstr(r.out, "s.c:9:"), "the other rule's suppression does not apply: %s", r.out);
    cr_assert(strstr(r.err, "s.c:9:") && strstr(r.err, "unknown rule 'ps-nope'"), "%s", r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, output_file_and_formats)
{
    char *dir = scratch_dir();
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_check(dir, "--format=json", "-o", "report.json", "bug.c");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "");
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/report.json", dir), 0);
    char *json = slurp(path);
    cr_assert(strstr(json, "\"rule\":\t\"ps-target-mismatch\""), "%s", json);
    cr_assert(strstr(json, "\"file\":\t\"bug.c\""), "%s", json);
    free(json);
    free(path);
    run_free(&r);
    r = run_check(dir, "--format=sarif", "bug.c");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.out, "\"version\":\t\"2.1.0\""), "%s", r.out);
    run_free(&r);
    r = run_check(dir, "-o", "/nonexistent-dir/x", "bug.c");
    cr_assert_eq(r.status, 2);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, baseline_hides_known_findings_by_content_not_line)
{
    char *dir = scratch_dir();
    free(write_file(dir, "bug.c", BUGGY_SOURCE));
    run_result r = run_check(dir, "--write-baseline", "base.json", "bug.c");
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    /* Lines inserted above move the finding; the baseline still covers it. */
    free(write_file(dir, "bug.c", "/* a new comment */\n\n" BUGGY_SOURCE));
    r = run_check(dir, "--baseline", "base.json", "bug.c");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    run_free(&r);
    /* A second copy of the same bug is new. */
    free(write_file(dir, "bug.c", BUGGY_SOURCE
                    "void f2(PROXY(struct a) p) {\n"
                    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"
                    "}\n"));
    r = run_check(dir, "--baseline", "base.json", "bug.c");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    run_free(&r);
    free(write_file(dir, "bad-base.json", "{\"version\": 1, \"findings\": [{\"fingerprint\": 7}]}"));
    r = run_check(dir, "--baseline", "bad-base.json", "bug.c");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "fingerprint"), "%s", r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, compile_commands)
{
    char *dir = scratch_dir();
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
    run_result r = run_check(dir, "-p", "build");
    cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "src/bug.c:6:"), "%s", r.out);
    cr_assert(strstr(r.err, "does not accept '-fno-such-gcc-flag'"), "%s", r.err);
    run_free(&r);
    /* Files given with -p restrict the set. */
    r = run_check(dir, "-p", "build", "src/ok.c");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, bad_compile_commands_exit_2)
{
    char *dir = scratch_dir();
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
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_result r = run_check(dir, "-p", cases[i].dir);
        cr_assert_eq(r.status, 2, "%s: %s", cases[i].dir, r.err);
        cr_assert(strstr(r.err, cases[i].message), "%s: %s", cases[i].dir, r.err);
        run_free(&r);
    }
    scratch_remove(dir);
}

Test(cli_run, parallel_output_is_identical)
{
    char *dir = scratch_dir();
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.c", i);
        free(write_file(dir, name, i % 2 ? BUGGY_SOURCE : CLEAN_SOURCE));
    }
    run_result one = run_check(dir, "-j1", ".");
    run_result two = run_check(dir, "-j", "3", ".");
    cr_assert_eq(one.status, 1);
    cr_assert_eq(two.status, 1);
    cr_assert_str_eq(one.out, two.out);
    cr_assert_eq(count_of(one.out, "[ps-target-mismatch]"), 3, "%s", one.out);
    run_free(&one);
    run_free(&two);
    scratch_remove(dir);
}

Test(cli_run, help_version_list_rules)
{
    char *dir = scratch_dir();
    run_result r = run_check(dir, "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "Exit status:"), "%s", r.out);
    cr_assert(strstr(r.out, "3  at least one file could not be parsed"), "%s", r.out);
    run_free(&r);
    r = run_check(dir, "--version");
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "ps-check " PS_CHECK_VERSION, 9 + strlen(PS_CHECK_VERSION)) == 0);
    run_free(&r);
    r = run_check(dir, "--list-rules", "--strict");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "ps-untyped-proxy       warning"), "%s", r.out);
    cr_assert(strstr(r.out, "ps-target-mismatch     error"), "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, parser_args_from_command_line_and_config)
{
    char *dir = scratch_dir();
    free(write_file(dir, "needs.c", "#ifndef NEEDED\n#error NEEDED is not defined\n#endif\nint x;\n"));
    run_result r = run_check(dir, "needs.c");
    cr_assert_eq(r.status, 3, "%s", r.out);
    cr_assert(strstr(r.out, "needs.c:2:2: error: NEEDED is not defined [clang-parse-error]"), "%s",
              r.out);
    run_free(&r);
    r = run_check(dir, "needs.c", "--", "-DNEEDED");
    cr_assert_eq(r.status, 0, "%s", r.out);
    run_free(&r);
    free(write_file(dir, ".ps-check.json", "{\"args\": [\"-DNEEDED=1\"]}"));
    r = run_check(dir, "needs.c");
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, root_decides_which_headers_are_reported)
{
    char *dir = scratch_dir();
    free(write_file(dir, "inc/wrong.h",
                    "#include <proxystore/annotations.h>\n"
                    "struct a { int x; };\n"
                    "struct b { int y; };\n"
                    "static inline void h(PROXY(struct a) p) {\n"
                    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"
                    "}\n"));
    free(write_file(dir, "src/main.c", "#include \"wrong.h\"\nint main(void) { return 0; }\n"));
    run_result r = run_check(dir, "src/main.c", "--", "-Iinc");
    cr_assert_eq(r.status, 1, "the header is in the tree (the current directory): %s", r.out);
    cr_assert(strstr(r.out, "inc/wrong.h:5:"), "%s", r.out);
    run_free(&r);
    r = run_check(dir, "--root", "src", "src/main.c", "--", "-Iinc");
    cr_assert_eq(r.status, 0, "the header is outside --root src: %s", r.out);
    run_free(&r);
    r = run_check(dir, "--root", "nonexistent", "src/main.c");
    cr_assert_eq(r.status, 2);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, progress_line_when_asked)
{
    char *dir = scratch_dir();
    free(write_file(dir, "a.c", CLEAN_SOURCE));
    free(write_file(dir, "b.c", CLEAN_SOURCE));
    run_result r = run_check(dir, "--progress", "-j1", "a.c", "b.c");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.err, "[1/2] a.c") && strstr(r.err, "[2/2] b.c"), "%s", r.err);
    run_free(&r);
    r = run_check(dir, "a.c", "b.c");
    cr_assert_str_eq(r.err, "", "no progress when stderr is not a terminal");
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, print_commands)
{
    char *dir = scratch_dir();
    free(write_file(dir, "a.c", CLEAN_SOURCE));
    run_result r = run_check(dir, "--print-commands", "a.c", "--", "-DX=a b");
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "clang-19 -fsyntax-only -D__PS_CHECK__ -resource-dir ", 52) == 0, "%s",
              r.out);
    cr_assert(strstr(r.out, " '-DX=a b' "), "%s", r.out);
    cr_assert(strstr(r.out, "/a.c\n"), "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

Test(cli_run, header_finding_reported_once_for_several_files)
{
    char *dir = scratch_dir();
    free(write_file(dir, "wrong.h",
                    "#include <proxystore/annotations.h>\n"
                    "struct a { int x; };\n"
                    "struct b { int y; };\n"
                    "static inline void h(PROXY(struct a) p) {\n"
                    "    PROXY(struct b) bad_proxy = p; (void)bad_proxy;\n"
                    "}\n"));
    free(write_file(dir, "one.c", "#include \"wrong.h\"\n"));
    free(write_file(dir, "two.c", "#include \"wrong.h\"\n"));
    run_result r = run_check(dir, "-j2", "one.c", "two.c");
    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_eq(count_of(r.out, "[ps-target-mismatch]"), 1, "%s", r.out);
    cr_assert(strstr(r.out, "wrong.h:5:"), "%s", r.out);
    run_free(&r);
    scratch_remove(dir);
}

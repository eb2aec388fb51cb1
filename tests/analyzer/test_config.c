/*
 * test_config.c — .ps-check.json: values, validation messages, skip
 * patterns, and the upward search.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "reject_cases.h"
#include "run_check.h"

static int parse(ps_config *cfg, const char *text, char *err)
{
    ps_config_init(cfg);
    return ps_config_parse(cfg, text, strlen(text), "cfg.json", err, 512);
}

Test(config, full_example)
{
    ps_config cfg;
    char err[512];
    cr_assert_eq(parse(&cfg, "{\"rules\": {\"ps-leak\": \"off\", \"ps-or-mismatch\": \"warning\","
                             " \"ps-untyped-proxy\": \"on\"},"
                             " \"skip\": [\"third_party\", \"*_gen.c\"],"
                             " \"args\": [\"-DMPI=1\"], \"strict\": true}", err), 0, "%s", err);
    cr_assert(cfg.rules[PS_RULE_LEAK].set);
    cr_assert_eq(cfg.rules[PS_RULE_LEAK].severity, PS_SEV_OFF);
    cr_assert_eq(cfg.rules[PS_RULE_OR_MISMATCH].severity, PS_SEV_WARNING);
    cr_assert(cfg.rules[PS_RULE_UNTYPED_PROXY].on_default);
    cr_assert_not(cfg.rules[PS_RULE_BORROW].set);
    cr_assert_eq(cfg.nskip, 2);
    cr_assert_eq(cfg.nargs, 1);
    cr_assert_str_eq(cfg.args[0], "-DMPI=1");
    cr_assert_eq(cfg.strict, 1);
    ps_config_free(&cfg);
}

Test(config, empty_object_changes_nothing)
{
    ps_config cfg;
    char err[512];
    cr_assert_eq(parse(&cfg, "{}", err), 0);
    cr_assert_eq(cfg.strict, -1);
    for (int r = 0; r < PS_RULE_COUNT_; r++)
        cr_assert_not(cfg.rules[r].set);
    ps_config_free(&cfg);
}

static int reject_config(const char *text, char *err, size_t errlen, void *arg)
{
    (void)arg;
    ps_config cfg;
    ps_config_init(&cfg);
    int rc = ps_config_parse(&cfg, text, strlen(text), "cfg.json", err, errlen);
    ps_config_free(&cfg);
    return rc;
}

Test(config, errors)
{
    static const reject_case cases[] = {
        {"{\n  \"rules\": {\"ps-leak\": off}\n}", "cfg.json:2:24: invalid JSON"},
        {"{\"rules\": {\"ps-leak\": \"off\"}", "cfg.json:1:29: invalid JSON: unexpected end"},
        {"", "cfg.json: empty file"},
        {"[]", "must be a JSON object"},
        {"{\"rule\": {}}", "unknown key \"rule\""},
        {"{\"rules\": {\"ps-nope\": \"off\"}}", "unknown rule id \"ps-nope\""},
        {"{\"rules\": {\"ps-leak\": 0}}", "rule \"ps-leak\" must be a string"},
        {"{\"rules\": {\"ps-leak\": \"fatal\"}}", "unknown value \"fatal\""},
        {"{\"rules\": [\"ps-leak\"]}", "\"rules\" must be an object"},
        {"{\"rules\": {\"clang-parse-error\": \"off\"}}", "cannot be turned off"},
        {"{\"skip\": \"build\"}", "\"skip\" must be an array of strings"},
        {"{\"args\": [1]}", "\"args\" must be an array of non-empty strings"},
        {"{\"strict\": \"yes\"}", "\"strict\" must be true or false"},
    };
    EXPECT_REJECTED(cases, reject_config, NULL);
}

Test(config, skip_patterns_are_relative_to_the_config_dir)
{
    ps_config cfg;
    char err[512];
    cr_assert_eq(parse(&cfg, "{\"skip\": [\"third_party\", \"*_gen.c\", \"build*\", "
                             "\"/opt/vendor/*\"]}", err), 0);
    cfg.dir = strdup("/repo");
    cr_assert(ps_config_skips(&cfg, "/repo/third_party/zlib/inflate.c"), "a directory prefix");
    cr_assert(ps_config_skips(&cfg, "/repo/src/proto_gen.c"), "'*' crosses '/'");
    cr_assert(ps_config_skips(&cfg, "/repo/build-asan/x.c"));
    cr_assert(ps_config_skips(&cfg, "/opt/vendor/lib.c"), "absolute pattern");
    cr_assert_not(ps_config_skips(&cfg, "/repo/src/third_party.c"));
    cr_assert_not(ps_config_skips(&cfg, "/repo/src/main.c"));
    cr_assert_not(ps_config_skips(&cfg, "/other/third_party/x.c"),
                  "outside the config dir, relative patterns see the absolute path");
    ps_config_free(&cfg);
}

Test(config, found_upward_and_loaded)
{
    char *dir = scratch_dir();
    char *path = write_file(dir, ".ps-check.json", "{\"skip\": [\"gen\"]}");
    free(write_file(dir, "a/b/c/x.c", "int x;\n"));
    char *start = NULL;
    cr_assert_geq(asprintf(&start, "%s/a/b/c", dir), 0);
    char *found = ps_config_find(start);
    cr_assert_not_null(found);
    cr_assert_str_eq(found, path);
    ps_config cfg;
    ps_config_init(&cfg);
    char err[512];
    cr_assert_eq(ps_config_load(&cfg, found, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(cfg.dir, dir);
    ps_config_free(&cfg);
    free(found);
    free(start);
    free(path);
    scratch_remove(dir);
}

Test(config, unreadable_or_directory)
{
    ps_config cfg;
    ps_config_init(&cfg);
    char err[512];
    cr_assert_eq(ps_config_load(&cfg, "/nonexistent/.ps-check.json", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot read configuration"), "%s", err);
    cr_assert_eq(ps_config_load(&cfg, "/tmp", err, sizeof err), -1);
    cr_assert(strstr(err, "is a directory"), "%s", err);
    ps_config_free(&cfg);
}

/*
 * test_inputs.c — path arithmetic and turning inputs into parse jobs:
 * directory walks, -p restriction, skip patterns and duplicates.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inputs.h"
#include "paths.h"
#include "run_check.h"

Test(paths, normalize_and_join)
{
    char p[] = "/a//b/./c/../d/";
    ps_path_normalize(p);
    cr_assert_str_eq(p, "/a/b/d");
    char q[] = "/../..";
    ps_path_normalize(q);
    cr_assert_str_eq(q, "/");
    char *j = ps_path_join("/work/build", "../src/x.c");
    cr_assert_str_eq(j, "/work/src/x.c");
    free(j);
    j = ps_path_join("/work/build", "/abs/y.c");
    cr_assert_str_eq(j, "/abs/y.c");
    free(j);
}

Test(paths, under_and_relative)
{
    cr_assert(ps_path_is_under("/repo/src/a.c", "/repo"));
    cr_assert(ps_path_is_under("/repo", "/repo"));
    cr_assert_not(ps_path_is_under("/repository/a.c", "/repo"), "a prefix is not a parent");
    cr_assert(ps_path_is_under("/x", "/"));
    cr_assert_str_eq(ps_path_relative("/repo/src/a.c", "/repo"), "src/a.c");
    cr_assert_str_eq(ps_path_relative("/repo", "/repo"), ".");
    cr_assert_str_eq(ps_path_relative("/other/a.c", "/repo"), "/other/a.c");
    cr_assert_str_eq(ps_path_relative("/a.c", "/"), "a.c");
    char *d = ps_path_dirname("/a/b.c");
    cr_assert_str_eq(d, "/a");
    free(d);
    d = ps_path_dirname("/b.c");
    cr_assert_str_eq(d, "/");
    free(d);
}

Test(inputs, directory_walk_is_sorted_and_skips_hidden_and_links)
{
    char *dir = scratch_dir();
    free(write_file(dir, "b/z.c", ""));
    free(write_file(dir, "b/a.c", ""));
    free(write_file(dir, "a.c", ""));
    free(write_file(dir, "a.h", ""));
    free(write_file(dir, "notc.cc", ""));
    free(write_file(dir, ".git/hook.c", ""));
    char *link = NULL, *target = NULL;
    cr_assert_geq(asprintf(&link, "%s/loop", dir), 0);
    cr_assert_eq(symlink(dir, link), 0, "a symlinked directory (here: a loop)");
    ps_job_list list = {0};
    char err[256];
    cr_assert_eq(ps_inputs_add_dir(&list, dir, "/cwd", err, sizeof err), 0, "%s", err);
    cr_assert_eq(list.len, 3);
    const char *expect[] = {"/a.c", "/b/a.c", "/b/z.c"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_geq(asprintf(&target, "%s%s", dir, expect[i]), 0);
        cr_assert_str_eq(list.items[i].file, target);
        cr_assert_str_eq(list.items[i].directory, "/cwd");
        free(target);
    }
    ps_job_list_free(&list);
    cr_assert_eq(ps_inputs_add_dir(&list, "/nonexistent-dir", "/", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot read directory"), "%s", err);
    ps_job_list_free(&list);
    free(link);
    scratch_remove(dir);
}

static void add(ps_job_list *list, const char *file)
{
    cr_assert_eq(ps_inputs_add_file(list, file, "/"), 0);
}

Test(inputs, restrict_to_paths)
{
    ps_job_list list = {0};
    add(&list, "/r/src/net/a.c");
    add(&list, "/r/src/net/b.c");
    add(&list, "/r/src/io.c");
    add(&list, "/r/tests/t.c");
    char *paths[] = {"/r/src/net", "/r/tests/t.c", "/r/docs"};
    size_t *unmatched, nun;
    cr_assert_eq(ps_inputs_restrict(&list, paths, 3, &unmatched, &nun), 0);
    cr_assert_eq(list.len, 3);
    cr_assert_str_eq(list.items[2].file, "/r/tests/t.c");
    cr_assert_eq(nun, 1);
    cr_assert_eq(unmatched[0], 2, "/r/docs matched nothing");
    free(unmatched);
    ps_job_list_free(&list);
}

Test(inputs, prune_skips_and_duplicates_keeping_the_first)
{
    ps_job_list list = {0};
    add(&list, "/r/b.c");
    add(&list, "/r/a.c");
    add(&list, "/r/third_party/z.c");
    add(&list, "/r/b.c");
    ps_job_add_arg(&list.items[0], "-DFIRST");
    ps_config cfg;
    ps_config_init(&cfg);
    char err[256];
    const char *text = "{\"skip\": [\"third_party\"]}";
    cr_assert_eq(ps_config_parse(&cfg, text, strlen(text), "c", err, sizeof err), 0);
    cfg.dir = strdup("/r");
    ps_inputs_prune(&list, &cfg);
    cr_assert_eq(list.len, 2);
    cr_assert_str_eq(list.items[0].file, "/r/b.c");
    cr_assert_eq(list.items[0].nargs, 1, "the first job for a file is kept");
    cr_assert_str_eq(list.items[1].file, "/r/a.c");
    char *extra[] = {"-DX", "-Iy"};
    cr_assert_eq(ps_inputs_append_args(&list, extra, 2), 0);
    cr_assert_eq(list.items[1].nargs, 2);
    cr_assert_str_eq(list.items[0].args[2], "-Iy");
    ps_config_free(&cfg);
    ps_job_list_free(&list);
}

/*
 * test_suppress.c — which comments suppress which rules.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "suppress.h"

static bool names(const char *line, const char *rule)
{
    return ps_suppress_line_names(line, strlen(line), rule);
}

Test(suppress, line_comment_names_one_rule)
{
    const char *line = "    x = p; // ps-check-ignore: ps-target-mismatch";
    cr_assert(names(line, "ps-target-mismatch"));
    cr_assert_not(names(line, "ps-leak"));
    cr_assert_not(names(line, "ps-target"), "a prefix of an id is not the id");
}

Test(suppress, several_ids_and_a_reason)
{
    const char *line = "// ps-check-ignore: ps-leak, ps-borrow,ps-double-free because the pool owns it";
    cr_assert(names(line, "ps-leak"));
    cr_assert(names(line, "ps-borrow"));
    cr_assert(names(line, "ps-double-free"));
    cr_assert_not(names(line, "because"), "free text after the list is not an id");
}

Test(suppress, block_comments)
{
    cr_assert(names("f(p); /* ps-check-ignore: ps-unresolved-proxy */", "ps-unresolved-proxy"));
    cr_assert(names("/*ps-check-ignore:ps-leak*/ g();", "ps-leak"));
    /* The continuation line of a multi-line block comment. */
    cr_assert(names(" * ps-check-ignore: ps-leak", "ps-leak"));
}

Test(suppress, not_in_code_or_without_colon)
{
    cr_assert_not(names("int ps_check_ignore = 1; ps-check-ignore: ps-leak", "ps-leak"),
                  "outside a comment");
    cr_assert_not(names("// ps-check-ignore ps-leak", "ps-leak"), "the colon is required");
    cr_assert_not(names("/* done */ ps-check-ignore: ps-leak", "ps-leak"), "comment closed before");
    cr_assert_not(names("", "ps-leak"));
}

static void collect(const char *id, size_t len, unsigned col, void *arg)
{
    char *buf = arg;
    char item[64];
    snprintf(item, sizeof item, "%.*s@%u;", (int)len, id, col);
    strcat(buf, item);
}

Test(suppress, scan_reports_every_id_with_its_column)
{
    char buf[256] = "";
    const char *line = "a(); // ps-check-ignore: ps-leak, ps-nope";
    cr_assert_eq(ps_suppress_scan(line, strlen(line), collect, buf), 2);
    cr_assert_str_eq(buf, "ps-leak@26;ps-nope@35;");
}

Test(suppress, respects_the_length_not_the_terminator)
{
    const char *text = "// ps-check-ignore: ps-leak\n// ps-check-ignore: ps-borrow\n";
    size_t first = (size_t)(strchr(text, '\n') - text);
    cr_assert(ps_suppress_line_names(text, first, "ps-leak"));
    cr_assert_not(ps_suppress_line_names(text, first, "ps-borrow"));
}

Test(suppress, not_inside_string_literals)
{
    cr_assert_not(names("const char *s = \"// ps-check-ignore: ps-leak\";", "ps-leak"));
    cr_assert_not(names("puts(\"a \\\" /* ps-check-ignore: ps-leak */\");", "ps-leak"),
                  "an escaped quote does not end the string");
    cr_assert(names("puts(\"//\"); // ps-check-ignore: ps-leak", "ps-leak"));
    cr_assert(names("c = '\"'; // ps-check-ignore: ps-leak", "ps-leak"), "a quote character");
}

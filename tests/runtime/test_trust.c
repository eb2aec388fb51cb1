/*
 * test_trust.c — the descriptor trust policy: which stores a descriptor may
 * make this process open, credentials never travelling in descriptors, and
 * file stores never created from one.  Each test runs in a process of its
 * own, so each starts with an empty policy.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "redis_server.h"

/* A descriptor of a store that this process never opened: made by a
 * producer store opened under another name and URL, then edited. */
static char *descriptor_for(const char *store_name, const char *url)
{
    ps_store *s = ps_store_open("trust-producer", "local://", NULL);
    cr_assert_not_null(s);
    double v = 2.5;
    ps_proxy_t *p = ps_proxy(s, &ps_type_double, &v);
    char *d = ps_proxy_serialize(p);
    cr_assert_not_null(d);
    ps_proxy_free(p);
    ps_store_close(s);
    char *out;
    const char *key = strstr(d, " key=");
    cr_assert_geq(asprintf(&out, "psproxy/1 store=%s url=%s%s", store_name, url, key), 0);
    free(d);
    return out;
}

static void expect_refused(const char *desc, const char *needle)
{
    ps_proxy_t *p = ps_proxy_deserialize(desc, &ps_type_double);
    cr_assert_null(p, "accepted: %s", desc);
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_DESCRIPTOR, "%s: %s", ps_status_name(ps_last_error_code()),
                 ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), needle), "'%s' lacks '%s'", ps_last_error_message(), needle);
}

Test(trust, a_store_never_opened_or_allowed_is_refused)
{
    char *d = descriptor_for("t-shm", "shm://t-never");
    expect_refused(d, "descriptor names the store URL 'shm://t-never', which this process has not opened");
    cr_assert_null(ps_store_lookup("t-shm"), "nothing was opened");
    free(d);
    d = descriptor_for("t-redis", "redis://10.255.255.1:6379");
    expect_refused(d, "'redis://10.255.255.1:6379'");
    free(d);
}

Test(trust, a_url_this_process_opened_is_accepted_under_any_name)
{
    ps_store *s = ps_store_open("t-mine", "shm://t-opened", NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    ps_store_close(s);
    char *d = descriptor_for("t-other-name", "shm://t-opened");
    ps_proxy_t *p = ps_proxy_deserialize(d, &ps_type_double);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    ps_proxy_free(p);
    free(d);
}

Test(trust, allowed_through_the_api_exactly_or_by_prefix)
{
    cr_assert_eq(ps_trust_allow_url("shm://t-exact"), PS_OK);
    cr_assert_eq(ps_trust_allow_url("shm://t-team-*"), PS_OK);
    cr_assert_eq(ps_trust_allow_url(NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_trust_allow_url(""), PS_ERR_INVALID_ARGUMENT);
    const char *ok[] = {"shm://t-exact", "shm://t-team-a", "shm://t-team-b"};
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "t-ok-%zu", i);
        char *d = descriptor_for(name, ok[i]);
        ps_proxy_t *p = ps_proxy_deserialize(d, &ps_type_double);
        cr_assert_not_null(p, "%s: %s", ok[i], ps_last_error_message());
        ps_proxy_free(p);
        free(d);
    }
    const char *refused[] = {"shm://t-exact2", "shm://t-team", "shm://t-other"};
    for (size_t i = 0; i < 3; i++) {
        char *d = descriptor_for("t-no", refused[i]);
        expect_refused(d, refused[i]);
        free(d);
    }
}

Test(trust, allowed_through_the_environment)
{
    setenv("PS_TRUSTED_URLS", "shm://t-env-a\tshm://t-env-b*  local://", 1);
    char *d = descriptor_for("t-env", "shm://t-env-bee");
    ps_proxy_t *p = ps_proxy_deserialize(d, &ps_type_double);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    ps_proxy_free(p);
    free(d);
    d = descriptor_for("t-env2", "shm://t-env-c");
    expect_refused(d, "shm://t-env-c");
    free(d);
}

Test(trust, a_file_store_is_opened_never_created)
{
    char dir[] = "/tmp/ps-trust-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char url[64], missing[96];
    snprintf(url, sizeof url, "file://%s", dir);
    snprintf(missing, sizeof missing, "file://%s/not-there", dir);
    cr_assert_eq(ps_trust_allow_url("file:///tmp/*"), PS_OK);
    char *d = descriptor_for("t-file", missing);
    expect_refused(d, "never creates");
    struct stat st;
    cr_assert_neq(stat(missing + 7, &st), 0, "the descriptor created %s", missing + 7);
    free(d);
    d = descriptor_for("t-file2", url);
    ps_proxy_t *p = ps_proxy_deserialize(d, &ps_type_double);
    cr_assert_not_null(p, "an existing directory opens: %s", ps_last_error_message());
    ps_proxy_free(p);
    free(d);
    rmdir(dir);
}

Test(trust, descriptors_never_carry_passwords)
{
    ps_test_redis srv;
    const char *extra[] = {"--requirepass", "t0psecret", NULL};
    cr_assert_eq(ps_test_redis_start(&srv, extra), 0);
    char url[128];
    snprintf(url, sizeof url, "redis://:t0psecret@127.0.0.1:%d?prefix=trust", srv.port);
    ps_store *s = ps_store_open("t-pw", url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    double v = 4.25;
    ps_proxy_t *p = ps_proxy(s, &ps_type_double, &v);
    cr_assert_not_null(p, "%s", ps_last_error_message());
    char *d = ps_proxy_serialize(p);
    cr_assert_null(strstr(d, "t0psecret"), "the descriptor carries the password: %s", d);
    cr_assert_not_null(strstr(d, "url=redis://127.0.0.1:"), "%s", d);

    /* This process opened the store: its credentials serve the descriptor,
     * under another name too. */
    char *renamed;
    cr_assert_geq(asprintf(&renamed, "psproxy/1 store=t-pw-2%s", strstr(d, " url=")), 0);
    ps_proxy_t *q = ps_proxy_deserialize(renamed, &ps_type_double);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    const double *got = ps_resolve(q);
    cr_assert(got && *got == 4.25, "%s", ps_last_error_message());
    ps_proxy_free(q);

    /* A descriptor with a password in it is refused, and the message does
     * not repeat it. */
    char *with_pw;
    cr_assert_geq(asprintf(&with_pw, "psproxy/1 store=t-pw-3 url=redis://:leaked@127.0.0.1:%d%s", srv.port,
                           strstr(d, " key=")), 0);
    expect_refused(with_pw, "never carry credentials");
    cr_assert_null(strstr(ps_last_error_message(), "leaked"), "%s", ps_last_error_message());

    /* An allow-list entry supplies credentials for URLs it admits. */
    char entry[128], other[128];
    snprintf(entry, sizeof entry, "redis://:t0psecret@127.0.0.1:%d*", srv.port);
    snprintf(other, sizeof other, "redis://127.0.0.1:%d?prefix=trust-other", srv.port);
    cr_assert_eq(ps_trust_allow_url(entry), PS_OK);
    char *via_entry;
    cr_assert_geq(asprintf(&via_entry, "psproxy/1 store=t-pw-4 url=%s%s", other, strstr(d, " key=")), 0);
    ps_proxy_t *r = ps_proxy_deserialize(via_entry, &ps_type_double);
    cr_assert_not_null(r, "%s", ps_last_error_message());
    cr_assert_null(ps_resolve(r));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND, "authenticated, and the key is not under that prefix: "
                 "%s %s", ps_status_name(ps_last_error_code()), ps_last_error_message());
    ps_proxy_free(r);

    free(via_entry);
    free(with_pw);
    free(renamed);
    free(d);
    ps_proxy_evict(p);
    ps_store_close(s);
    ps_test_redis_stop(&srv);
}

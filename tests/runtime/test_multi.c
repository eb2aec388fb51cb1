/*
 * test_multi.c — multi:// routing (docs/connectors/multi.md): by size,
 * tags, priority and host; a put no connector takes; dormant connectors;
 * malformed policy files; descriptors that name the holding connector and
 * resolve where the policy file is gone.  (The connector contract suite
 * also runs on multi://: contract_multi.)
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

static char dir[] = "/tmp/ps-multi-XXXXXX";
static char policy[256];
static char url[300];

static void write_policy(const char *json)
{
    FILE *f = fopen(policy, "w");
    cr_assert_not_null(f);
    fputs(json, f);
    cr_assert_eq(fclose(f), 0);
}

static void make_dir(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(policy, sizeof policy, "%s/policy.json", dir);
    snprintf(url, sizeof url, "multi://%s", policy);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(multi, .init = make_dir, .fini = remove_dir, .timeout = 60);

/* Three file connectors, so where an object went is visible on disk. */
static void write_routing_policy(void)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"connectors\": [\n"
             " {\"name\": \"tiny\", \"url\": \"file://%s/tiny\", \"max_size\": 1024, \"priority\": 3},\n"
             " {\"name\": \"gpu\", \"url\": \"file://%s/gpu\", \"superset_tags\": [\"gpu\"], \"priority\": 9},\n"
             " {\"name\": \"bulk\", \"url\": \"file://%s/bulk\", \"min_size\": 1025, \"max_size\": 1048576,\n"
             "  \"subset_tags\": [\"archive\", \"bulk\"], \"priority\": 1},\n"
             " {\"name\": \"away\", \"url\": \"file://%s/away\", \"hosts\": [\"no-such-host-*\"], \"priority\": 100}\n"
             "]}\n", dir, dir, dir, dir);
    write_policy(json);
}

/* The connector a proxy's descriptor names as holder. */
static char *holder_of(ps_proxy_t *p)
{
    char *d = ps_proxy_serialize(p);
    cr_assert_not_null(d, "%s", ps_last_error_message());
    char *h = strstr(d, " holder=");
    cr_assert_not_null(h, "no holder in %s", d);
    h += 8;
    char *at = strchr(h, '@'); /* written plain; connector names hold no '@' */
    cr_assert_not_null(at, "%s", d);
    char *name = strndup(h, (size_t)(at - h));
    free(d);
    return name;
}

static void expect_route(ps_store *s, size_t bytes, const char *const tags[], size_t ntags, const char *want)
{
    unsigned char *obj = calloc(1, bytes ? bytes : 1);
    ps_proxy_t *p = ps_proxy_tagged(s, &ps_type_bytes, obj, bytes, tags, ntags);
    cr_assert_not_null(p, "%zu bytes: %s", bytes, ps_last_error_message());
    char *h = holder_of(p);
    cr_assert_str_eq(h, want, "%zu bytes, %zu tags", bytes, ntags);
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, want, ps_proxy_key(p));
    cr_assert_eq(access(path, F_OK), 0, "the object is in %s", path);
    free(h);
    cr_assert_eq(ps_proxy_evict(p), PS_OK);
    free(obj);
}

Test(multi, routes_by_size_tags_priority)
{
    write_routing_policy();
    ps_store *s = ps_store_open("routing", url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    const char *gpu[] = {"gpu"}, *gpu_hot[] = {"gpu", "hot"}, *archive[] = {"archive"},
               *odd[] = {"archive", "odd"};
    expect_route(s, 100, NULL, 0, "tiny");
    expect_route(s, 1024, NULL, 0, "tiny");        /* max_size is inclusive */
    expect_route(s, 100, gpu, 1, "gpu");           /* higher priority wins */
    expect_route(s, 5000, gpu_hot, 2, "gpu");      /* superset: carries "gpu" and more */
    expect_route(s, 5000, NULL, 0, "bulk");        /* no tags: a subset of any */
    expect_route(s, 5000, archive, 1, "bulk");
    /* 5000 bytes tagged "archive","odd": not a subset of bulk's, no "gpu" */
    unsigned char obj[5000] = {0};
    cr_assert_null(ps_proxy_tagged(s, &ps_type_bytes, obj, sizeof obj, odd, 2));
    cr_assert_eq(ps_last_error_code(), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "no connector active") &&
              strstr(ps_last_error_message(), "tags [archive,odd]"), "%s", ps_last_error_message());
    /* larger than bulk takes, untagged */
    size_t big = (size_t)2 << 20;
    unsigned char *huge = calloc(1, big);
    char key[PS_KEY_MAX];
    cr_assert_eq(ps_store_put(s, &ps_type_bytes, huge, big, key), PS_ERR_INVALID_ARGUMENT);
    free(huge);
    /* Batches route each object. */
    unsigned char a[10] = {1}, b[3000] = {2};
    const void *objs[2] = {a, b};
    size_t counts[2] = {sizeof a, sizeof b};
    char keys[2][PS_KEY_MAX];
    cr_assert_eq(ps_store_put_batch(s, &ps_type_bytes, 2, objs, counts, keys), PS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/tiny/%s", dir, keys[0]);
    cr_assert_eq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/bulk/%s", dir, keys[1]);
    cr_assert_eq(access(path, F_OK), 0);
    ps_store_close(s);
}

Test(multi, overwrite_moves_the_object)
{
    write_routing_policy();
    ps_store *s = ps_store_open("moving", url, NULL);
    unsigned char small[10] = {7}, large[4000] = {9};
    cr_assert_eq(ps_store_put_key(s, "k", &ps_type_bytes, small, sizeof small), PS_OK);
    cr_assert_eq(ps_store_put_key(s, "k", &ps_type_bytes, large, sizeof large), PS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/tiny/k", dir);
    cr_assert_neq(access(path, F_OK), 0, "the older copy is gone from tiny");
    size_t n = 0;
    unsigned char *got = ps_store_get(s, "k", &ps_type_bytes, &n);
    cr_assert_not_null(got);
    cr_assert_eq(n, sizeof large);
    cr_assert_eq(got[0], 9);
    ps_object_free(&ps_type_bytes, got);
    cr_assert_eq(ps_store_evict(s, "k"), PS_OK);
    bool there = true;
    cr_assert_eq(ps_store_exists(s, "k", &there), PS_OK);
    cr_assert_not(there);
    ps_store_close(s);
}

Test(multi, dormant_connector_says_so)
{
    write_routing_policy();
    ps_store *s = ps_store_open("dormant", url, NULL);
    /* An object another host put into "away" (valid there, dormant here). */
    char away[300];
    snprintf(away, sizeof away, "file://%s/away", dir);
    ps_store *other = ps_store_open("away-direct", away, NULL);
    cr_assert_not_null(other);
    int32_t v = 5;
    cr_assert_eq(ps_store_put_key(other, "there", &ps_type_int32, &v, 1), PS_OK);
    cr_assert_null(ps_store_get(s, "there", &ps_type_int32, NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert(strstr(ps_last_error_message(), "1 more are dormant here"), "%s", ps_last_error_message());
    ps_store_close(other);
    ps_store_close(s);
}

Test(multi, descriptor_resolves_without_the_policy)
{
    write_routing_policy();
    ps_store *s = ps_store_open("holder", url, NULL);
    int64_t v[300];
    for (int i = 0; i < 300; i++)
        v[i] = i * 3;
    ps_proxy_t *p = ps_proxy_array(s, &ps_type_int64, v, 300);
    cr_assert_not_null(p);
    char *d = ps_proxy_serialize(p);
    cr_assert(strstr(d, " holder=bulk@file:"), "%s", d);
    ps_proxy_free(p);
    ps_store_close(s);
    /* As on a host that never saw the policy file (but trusts the store). */
    cr_assert_eq(unlink(policy), 0);
    char bulk[512];
    snprintf(bulk, sizeof bulk, "file://%s/bulk", dir);
    cr_assert_eq(ps_trust_allow_url(bulk), PS_OK, "%s", ps_last_error_message());
    ps_proxy_t *q = ps_proxy_deserialize(d, &ps_type_int64);
    cr_assert_not_null(q, "%s", ps_last_error_message());
    const int64_t *got = PS_RESOLVE(int64_t, q);
    cr_assert_not_null(got, "%s", ps_last_error_message());
    cr_assert_eq(got[299], 299 * 3);
    cr_assert(strstr(ps_store_name(ps_proxy_store(q)), "holder:bulk"), "%s", ps_store_name(ps_proxy_store(q)));
    ps_proxy_free(q);
    /* Without a usable holder either: the first error, with the holder named. */
    char *bad = strdup(d);
    char *h = strstr(bad, " holder=");
    memcpy(h + 8, "bulk%40zzz:", 11);
    cr_assert_null(ps_proxy_deserialize(bad, &ps_type_int64));
    cr_assert(strstr(ps_last_error_message(), "could not be opened either"), "%s", ps_last_error_message());
    free(bad);
    free(d);
    ps_store_close(ps_store_lookup("holder:bulk"));
}

static void expect_bad_policy(const char *json, const char *message)
{
    write_policy(json);
    cr_assert_null(ps_store_open("bad", url, NULL), "accepted: %s", json);
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), message), "for %s: %s", json, ps_last_error_message());
}

Test(multi, malformed_policies)
{
    expect_bad_policy("{\"connectors\": [", "not valid JSON");
    expect_bad_policy("[]", "expected {\"connectors\"");
    expect_bad_policy("{\"connectors\": []}", "at least one connector");
    expect_bad_policy("{\"connectors\": [7]}", "not a JSON object");
    expect_bad_policy("{\"connectors\": [{\"url\": \"local://\"}]}", "'name' must be");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a b\", \"url\": \"local://\"}]}", "'name' must be");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\"}]}", "'url' must be");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"multi:///x.json\"}]}",
                      "cannot hold another multi");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\", \"max_size\": -1}]}",
                      "'max_size' must be a whole number");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\", \"min_size\": 9, "
                      "\"max_size\": 3}]}", "larger than 'max_size'");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\", \"subset_tags\": [1]}]}",
                      "'subset_tags' holds something");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\", \"colour\": 1}]}",
                      "unknown field 'colour'");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\"}, "
                      "{\"name\": \"a\", \"url\": \"local://\"}]}", "two connectors have this name");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"local://\", \"hosts\": [\"nowhere\"]}]}",
                      "no connector is valid on host");
    expect_bad_policy("{\"connectors\": [{\"name\": \"a\", \"url\": \"bogus://\"}]}", "connector 'a'");
    cr_assert_eq(unlink(policy), 0);
    cr_assert_null(ps_store_open("bad", url, NULL));
    cr_assert(strstr(ps_last_error_message(), "cannot open it"), "%s", ps_last_error_message());
    cr_assert_null(ps_store_open("bad", "multi://relative.json", NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
}

Test(multi, bad_tags_refused)
{
    write_routing_policy();
    ps_store *s = ps_store_open("tags", url, NULL);
    const char *empty[] = {""};
    char key[PS_KEY_MAX];
    int32_t v = 1;
    cr_assert_eq(ps_store_put_tagged(s, &ps_type_int32, &v, 1, empty, 1, key), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ps_store_put_tagged(s, &ps_type_int32, &v, 1, NULL, 2, key), PS_ERR_INVALID_ARGUMENT);
    /* Other connectors take tags and ignore them. */
    ps_store *l = ps_store_open("tags-local", "local://", NULL);
    const char *t[] = {"gpu"};
    cr_assert_eq(ps_store_put_tagged(l, &ps_type_int32, &v, 1, t, 1, key), PS_OK);
    ps_store_close(l);
    ps_store_close(s);
}

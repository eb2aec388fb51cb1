/*
 * multi_policy.c — one store, several kinds of storage, chosen per object.
 *
 * Writes a policy (small objects in shared memory, large ones in a
 * directory, objects tagged "keep" in the directory whatever their size),
 * opens a multi:// store on it, puts objects, and shows from each proxy's
 * descriptor which connector holds it.  Then it resolves a descriptor after
 * the policy file is gone, as a process on a host without it would.
 *
 *   multi_policy [DIR]       default: a new directory under /tmp
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

static int fail(const char *what)
{
    fprintf(stderr, "multi_policy: %s: %s\n", what, ps_last_error_message());
    return 1;
}

/* The holder named in a proxy's descriptor (printed), or NULL. */
static char *show(const char *label, PROXY(double) p)
{
    char *d = ps_proxy_serialize(p);
    const char *h = d ? strstr(d, " holder=") : NULL;
    printf("%-28s %zu bytes -> %.*s\n", label, ps_proxy_size(p), h ? (int)strcspn(h + 8, "@") : 4,
           h ? h + 8 : "none");
    return d;
}

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/ps-multi-example-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    if (!dir)
        return 1;
    char policy[512], url[600];
    snprintf(policy, sizeof policy, "%s/policy.json", dir);
    snprintf(url, sizeof url, "multi://%s", policy);
    FILE *f = fopen(policy, "w");
    if (!f)
        return 1;
    fprintf(f, "{\"connectors\": [\n"
               "  {\"name\": \"fast\", \"url\": \"shm://multi-example-%ld\", \"max_size\": 65536,\n"
               "   \"subset_tags\": [\"scratch\"], \"priority\": 10},\n"
               "  {\"name\": \"kept\", \"url\": \"file://%s/objects\", \"priority\": 1}\n"
               "]}\n", (long)getpid(), dir);
    fclose(f);

    ps_store *store = ps_store_open("example", url, NULL);
    if (!store)
        return fail("open");
    static double small[100], large[100000];
    for (size_t i = 0; i < 100000; i++)
        large[i] = (double)i;
    const char *keep[] = {"keep"};
    PROXY(double) a = ps_proxy_array(store, &ps_type_double, small, 100);
    PROXY(double) b = ps_proxy_array(store, &ps_type_double, large, 100000);
    PROXY(double) c = ps_proxy_tagged(store, &ps_type_double, small, 100, keep, 1);
    if (!a || !b || !c) {
        ps_proxy_free(a);
        ps_proxy_free(b);
        ps_proxy_free(c);
        return fail("put");
    }
    char *da = show("small", a), *db = show("large", b), *dc = show("small, tagged keep", c);
    int rc = da && db && dc && strstr(da, "holder=fast@") && strstr(db, "holder=kept@") &&
                     strstr(dc, "holder=kept@")
                 ? 0
                 : 1;
    ps_proxy_free(b);
    ps_store_close(store);

    /* A host without the policy file still resolves the large object, from
     * the connector the descriptor names, if it trusts that store. */
    unlink(policy);
    const char *holder = db ? strstr(db, "holder=kept@") : NULL;
    if (holder) {
        char holder_url[512];
        snprintf(holder_url, sizeof holder_url, "%.*s", (int)strcspn(holder + 12, " "), holder + 12);
        char *decoded = holder_url; /* the URL of a file store has no escapes to undo here */
        ps_trust_allow_url(decoded);
    }
    PROXY(double) remote = db ? ps_proxy_deserialize(db, &ps_type_double) : NULL;
    const double *v = remote ? PS_RESOLVE(double, remote) : NULL;
    if (!v)
        rc = fail("resolve without the policy");
    else
        printf("resolved without the policy file: element 99999 = %.0f, from store '%s'\n", v[99999],
               ps_store_name(ps_proxy_store(remote)));
    if (remote)
        ps_proxy_evict(remote);
    ps_proxy_evict(a);
    ps_proxy_evict(c);
    free(da);
    free(db);
    free(dc);
    if (argc <= 1) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            rc = 1;
    }
    return rc;
}

/*
 * test_ps_store.c — the ps-store tool, run as a program: each command on
 * file, shm and Redis stores, its JSON and exit codes, and bad usage.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include <proxystore/proxystore.h>
#include <proxystore/version.h>

#include "redis_server.h"
#include "test_urls.h"

typedef struct run {
    int status;
    char *out;
} run;

/* ps-store with args (a shell word list, quoted by the caller), stdout
 * captured, stderr to the test log. */
static run run_tool(const char *args)
{
    char *cmd;
    cr_assert_geq(asprintf(&cmd, "%s %s", PS_STORE_EXE, args), 0);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    run r = {0, NULL};
    size_t cap = 0, len = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        r.out = realloc(r.out, cap = len + n + 1);
        memcpy(r.out + len, buf, n);
        len += n;
    }
    if (!r.out)
        r.out = calloc(1, 1);
    r.out[len] = '\0';
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    free(cmd);
    (void)cap;
    return r;
}

static cJSON *ps_store_json(const char *args, int want_status)
{
    char *full;
    cr_assert_geq(asprintf(&full, "--json %s", args), 0);
    run r = run_tool(full);
    cr_assert_eq(r.status, want_status, "ps-store %s: exit %d\n%s", full, r.status, r.out);
    cJSON *doc = cJSON_Parse(r.out);
    cr_assert_not_null(doc, "ps-store %s: not JSON:\n%s", full, r.out);
    free(r.out);
    free(full);
    return doc;
}

static const cJSON *entry_named(const cJSON *doc, const char *field, const char *value)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "entries"))
    {
        const cJSON *v = cJSON_GetObjectItem(e, field);
        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return e;
    }
    return NULL;
}

/* A pid that is surely not running: a child that has exited. */
static long dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

/* Put a 100-double object and a 10-byte one; keys in k1, k2. */
static void put_two(ps_store *s, char k1[PS_KEY_MAX], char k2[PS_KEY_MAX])
{
    double v[100] = {0};
    cr_assert_eq(ps_store_put(s, &ps_type_double, v, 100, k1), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(ps_store_put_key(s, "named-key", &ps_type_bytes, "0123456789", 10), PS_OK);
    snprintf(k2, PS_KEY_MAX, "named-key");
}

static void check_list(const char *url, const char *k1, const char *leftover_entry)
{
    char args[700];
    snprintf(args, sizeof args, "list '%s'", url);
    cJSON *doc = ps_store_json(args, 0);
    const cJSON *a = entry_named(doc, "key", k1), *b = entry_named(doc, "key", "named-key");
    cr_assert(a && b, "listing lacks the objects:\n%s", cJSON_Print(doc));
    cr_assert_str_eq(cJSON_GetObjectItem(a, "type")->valuestring, "double");
    cr_assert_eq(cJSON_GetObjectItem(a, "payload_bytes")->valuedouble, 800);
    cr_assert_eq(cJSON_GetObjectItem(a, "count")->valuedouble, 100);
    cr_assert_eq(cJSON_GetObjectItem(b, "payload_bytes")->valuedouble, 10);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "leftover")));
    const cJSON *l = entry_named(doc, "entry", leftover_entry);
    cr_assert_not_null(l, "the leftover %s is not listed", leftover_entry);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(l, "leftover")));
    cJSON_Delete(doc);

    snprintf(args, sizeof args, "stats '%s'", url);
    doc = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetObjectItem(doc, "objects")->valuedouble, 2);
    cr_assert_eq(cJSON_GetObjectItem(doc, "leftovers")->valuedouble, 1);
    cJSON_Delete(doc);
}

static void check_gc_and_evict(const char *url, const char *k1, const char *leftover_entry)
{
    char args[700];
    snprintf(args, sizeof args, "gc '%s'", url);
    cJSON *doc = ps_store_json(args, 0);
    const cJSON *removed = cJSON_GetObjectItem(doc, "removed");
    cr_assert_eq(cJSON_GetArraySize(removed), 1, "%s", cJSON_Print(doc));
    cr_assert_str_eq(cJSON_GetArrayItem(removed, 0)->valuestring, leftover_entry);
    cJSON_Delete(doc);

    snprintf(args, sizeof args, "evict '%s' %s", url, k1);
    doc = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "removed")), 1);
    cJSON_Delete(doc);
    snprintf(args, sizeof args, "list '%s'", url);
    doc = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "entries")), 1, "%s", cJSON_Print(doc));
    cr_assert_not_null(entry_named(doc, "key", "named-key"));
    cJSON_Delete(doc);
}

/* A store of kind with two objects, and a leftover of a dead writer in dir
 * (NULL: the file store's own), named by leftover_fmt from the URL's part
 * after "scheme://" (%s) and the dead pid (%ld). */
static ps_store *store_with_leftover(const char *kind, char **url, char k1[PS_KEY_MAX], const char *dir,
                                     const char *leftover_fmt, char leftover[128])
{
    *url = ps_test_url_for(kind);
    char name[32];
    snprintf(name, sizeof name, "tool-%s", kind);
    ps_store *s = ps_store_open(name, *url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    char k2[PS_KEY_MAX];
    put_two(s, k1, k2);
    char where[200]; /* the URL after "scheme://", without a query */
    snprintf(where, sizeof where, "%.*s", (int)strcspn(strstr(*url, "://") + 3, "?"), strstr(*url, "://") + 3);
    snprintf(leftover, 128, leftover_fmt, where, dead_pid());
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : *url + 7, leftover);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(write(fd, "half", 4), 4);
    close(fd);
    return s;
}

Test(ps_store, file_store)
{
    char *url, k1[PS_KEY_MAX], leftover[128], path[600];
    ps_store *s = store_with_leftover("file", &url, k1, NULL, "%.0s.ps.tmp.%ld.7", leftover);
    check_list(url, k1, leftover);
    check_gc_and_evict(url, k1, leftover);

    /* By age: make the remaining object look a day old. */
    snprintf(path, sizeof path, "%s/named-key", url + 7);
    struct timespec old[2] = {{0, UTIME_OMIT}, {time(NULL) - 86400, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, path, old, 0), 0);
    char args[700];
    snprintf(args, sizeof args, "evict '%s' --older-than 3600", url);
    cJSON *doc = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "removed")), 1);
    cJSON_Delete(doc);
    bool there = true;
    cr_assert_eq(ps_store_exists(s, "named-key", &there), PS_OK);
    cr_assert_not(there);
    ps_store_close(s);
    free(url);
}

static void shm_store_of(const char *kind)
{
    char *url, k1[PS_KEY_MAX], leftover[128];
    ps_store *s = store_with_leftover(kind, &url, k1, "/dev/shm", "ps-%s+.tmp.%ld.3", leftover);
    check_list(url, k1, leftover);
    check_gc_and_evict(url, k1, leftover);
    ps_store_evict(s, "named-key");
    ps_store_close(s);
    free(url);
}

Test(ps_store, shm_store) { shm_store_of("shm"); }

/* The same with the objects in the store's arena: listed, counted and
 * evicted by key as segments are. */
Test(ps_store, shm_store_with_an_arena) { shm_store_of("shm-arena"); }

Test(ps_store, redis_store)
{
    char *url = ps_test_url_for("redis");
    cr_assert_not_null(url);
    ps_store *s = ps_store_open("tool-redis", url, NULL);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    char k1[PS_KEY_MAX], k2[PS_KEY_MAX];
    put_two(s, k1, k2);
    /* A chunked write's temporary hash whose writer stopped 2 hours ago:
     * an hour-long expiry with one hour left would be fresh. */
    const char *prefix = strstr(url, "prefix=") + 7;
    char leftover[200];
    snprintf(leftover, sizeof leftover, "%.*s/k#00000000000000ab", (int)strcspn(prefix, "&"), prefix);
    int port = atoi(strrchr(strstr(url, "127.0.0.1"), ':') + 1);
    redisContext *raw = redisConnect("127.0.0.1", port);
    cr_assert(raw && !raw->err);
    redisReply *x = redisCommand(raw, "HSET %s 00000000000000ab.0 half", leftover);
    freeReplyObject(x);
    x = redisCommand(raw, "PEXPIRE %s 60000", leftover); /* 59 min idle of 60 */
    freeReplyObject(x);
    check_list(url, k1, leftover);
    char args[700];
    snprintf(args, sizeof args, "gc '%s' --min-age 600", url);
    cJSON *doc = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "removed")), 1, "%s", cJSON_Print(doc));
    cJSON_Delete(doc);
    x = redisCommand(raw, "EXISTS %s", leftover);
    cr_assert_eq(x->integer, 0, "gc left the leftover");
    freeReplyObject(x);
    redisFree(raw);
    ps_store_evict(s, k1);
    ps_store_evict(s, "named-key");
    ps_store_close(s);
    free(url);
}

/* In a child that is then killed (so nothing of it closes, releases or
 * ends a lease): on url, an owned object with a borrow sent away under a
 * lease of lease_ms, and a lease lifetime of lease_ms holding an object. */
static void borrow_and_lease_then_die(const char *url, unsigned lease_ms)
{
    char name[64];
    snprintf(name, sizeof name, "gc-lease-%u", lease_ms);
    ps_store_options o = {.cache_size = -1, .borrow_lease_ms = lease_ms};
    ps_store *s = ps_store_open(name, url, &o);
    if (!s)
        _exit(10);
    double v[8] = {1, 2, 3};
    ps_proxy_t *owner = ps_owned_array(s, &ps_type_double, v, 8);
    ps_proxy_t *borrow = owner ? ps_borrow(owner) : NULL;
    char *sent = borrow ? ps_proxy_serialize(borrow) : NULL; /* writes its borrow record */
    ps_lifetime *lease = ps_lifetime_lease(lease_ms);
    ps_proxy_t *leased = lease ? ps_lifetime_proxy(lease, s, &ps_type_double, v) : NULL;
    if (!sent || !leased)
        _exit(11);
} // ps-check-ignore: ps-leak (a process killed while holding them is under test)

/* The entries of a listing whose recorded expiry has passed (expired) or
 * not (live: a future expiry or none), as a JSON array of keys. */
static void split_by_expiry(const cJSON *doc, cJSON *expired, cJSON *live)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "entries"))
    {
        const cJSON *key = cJSON_GetObjectItem(e, "key"), *exp = cJSON_GetObjectItem(e, "expires_ms");
        cr_assert(cJSON_IsString(key));
        bool gone = cJSON_IsNumber(exp) && exp->valuedouble <= now;
        cJSON_AddItemToArray(gone ? expired : live, cJSON_CreateString(key->valuestring));
    }
}

static bool has_string(const cJSON *array, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, array)
    {
        if (strcmp(x->valuestring, s) == 0)
            return true;
    }
    return false;
}

/* gc removes exactly the records and lease objects whose expiry passed,
 * left by a killed process, and keeps those whose expiry is to come and
 * those without one. */
static void check_gc_of_expired(const char *kind)
{
    char *url = ps_test_url_for(kind);
    cr_assert_not_null(url);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        borrow_and_lease_then_die(url, 300);
        borrow_and_lease_then_die(url, 3600 * 1000);
        raise(SIGKILL);
        _exit(12);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer did not get to its end (%d)", status);
    struct timespec pause = {0, 700 * 1000 * 1000}; /* past the short lease */
    nanosleep(&pause, NULL);

    char args[700];
    snprintf(args, sizeof args, "list '%s'", url);
    cJSON *before = ps_store_json(args, 0);
    cJSON *expired = cJSON_CreateArray(), *live = cJSON_CreateArray();
    split_by_expiry(before, expired, live);
    /* The short lease's borrow record and object; the long lease's, and
     * two owned objects without expiry. */
    cr_assert_geq(cJSON_GetArraySize(expired), 2, "%s", cJSON_Print(before));
    cr_assert_geq(cJSON_GetArraySize(live), 4, "%s", cJSON_Print(before));

    snprintf(args, sizeof args, "gc '%s'", url);
    cJSON *gc = ps_store_json(args, 0);
    const cJSON *removed = cJSON_GetObjectItem(gc, "removed");
    cr_assert_eq(cJSON_GetArraySize(removed), cJSON_GetArraySize(expired), "%s", cJSON_Print(gc));
    const cJSON *x;
    cJSON_ArrayForEach(x, expired)
    {
        cr_assert(has_string(removed, x->valuestring), "gc kept the expired %s", x->valuestring);
    }

    snprintf(args, sizeof args, "list '%s'", url);
    cJSON *after = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(after, "entries")), cJSON_GetArraySize(live), "%s",
                 cJSON_Print(after));
    cJSON_ArrayForEach(x, live)
    {
        cr_assert_not_null(entry_named(after, "key", x->valuestring), "gc removed the live %s", x->valuestring);
    }
    /* A second gc finds nothing. */
    snprintf(args, sizeof args, "gc '%s'", url);
    cJSON *again = ps_store_json(args, 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(again, "removed")), 0);

    ps_store *s = ps_store_open("gc-cleanup", url, NULL);
    cr_assert_not_null(s);
    cJSON_ArrayForEach(x, live)
    {
        ps_store_evict(s, x->valuestring);
    }
    ps_store_close(s);
    cJSON_Delete(again);
    cJSON_Delete(after);
    cJSON_Delete(gc);
    cJSON_Delete(before);
    cJSON_Delete(expired);
    cJSON_Delete(live);
    free(url);
}

Test(ps_store, gc_collects_expired_records_on_file)
{
    check_gc_of_expired("file");
}

Test(ps_store, gc_collects_expired_records_on_shm)
{
    check_gc_of_expired("shm");
}

Test(ps_store, inspect_reads_a_descriptor_without_opening_anything)
{
    ps_store *s = ps_store_open("tool-inspect", "local://", NULL);
    int32_t v[7] = {1, 2, 3, 4, 5, 6, 7};
    ps_proxy_t *p = ps_proxy_array(s, &ps_type_int32, v, 7);
    char *d = ps_proxy_serialize(p);
    char args[1200];
    snprintf(args, sizeof args, "inspect '%s'", d);
    cJSON *doc = ps_store_json(args, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "store")->valuestring, "tool-inspect");
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "key")->valuestring, ps_proxy_key(p));
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring, "int32_t");
    cr_assert_eq(cJSON_GetObjectItem(doc, "size")->valuedouble, 28);
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)ps_proxy_hash(p));
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "hash")->valuestring, hash);
    cJSON_Delete(doc);
    /* From stdin, as text. */
    snprintf(args, sizeof args, "inspect - <<'EOF'\n%s\nEOF", d);
    run r = run_tool(args);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "int32_t") && strstr(r.out, "28 bytes"), "%s", r.out);
    free(r.out);
    free(d);
    ps_proxy_free(p);
    ps_store_close(s);
}

Test(ps_store, exit_codes_help_and_version)
{
    run r = run_tool("--version");
    char want[64];
    snprintf(want, sizeof want, "ps-store %s\n", PS_VERSION_STRING);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, want);
    free(r.out);
    r = run_tool("--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: ps-store") && strstr(r.out, "gc URL"));
    free(r.out);
    const char *usage[] = {"", "frobnicate", "--nope list x", "list", "list a b", "evict file:///tmp",
                           "evict file:///tmp --older-than soon", "gc file:///tmp --min-age -1", "inspect"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        r = run_tool(usage[i]);
        cr_assert_eq(r.status, 2, "'%s': exit %d", usage[i], r.status);
        free(r.out);
    }
    const char *failing[] = {"inspect 'psproxy/9 store=x'", "inspect 'not a descriptor'", "list local://",
                             "list nosuch://x", "list 'redis://127.0.0.1:1'"};
    for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
        r = run_tool(failing[i]);
        cr_assert_eq(r.status, 1, "'%s': exit %d", failing[i], r.status);
        free(r.out);
    }
}

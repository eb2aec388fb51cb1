/*
 * test_shm.c — the shm:// connector through its ops table: objects, naming,
 * atomic overwrite, zero-copy mapping, cleanup in /dev/shm, a full /dev/shm,
 * refused keys and URLs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connector.h"
#include "connector_checks.h"
#include "dir_entries.h"

/* A store name no other test process uses. */
static const char *unique_name(void)
{
    static char name[64];
    static int n;
    snprintf(name, sizeof name, "t-shm-%ld-%d", (long)getpid(), n++);
    return name;
}

static ps_connector *open_url(const char *text) { return ps_check_open(&ps_shm_connector, text); }

static ps_connector *open_store(const char *name)
{
    char text[128];
    snprintf(text, sizeof text, "shm://%s", name);
    return open_url(text);
}

static ps_status open_status(const char *text) { return ps_check_open_status(&ps_shm_connector, text); }

/* How many entries of /dev/shm start with prefix. */
static int count_segments(const char *prefix)
{
    int n = ps_test_count_entries("/dev/shm", prefix);
    cr_assert_geq(n, 0, "cannot read /dev/shm");
    return n;
}

static bool segment_exists(const char *store, const char *escaped_key)
{
    char path[512];
    snprintf(path, sizeof path, "/dev/shm/ps-%s+%s", store, escaped_key);
    return access(path, F_OK) == 0;
}

static void remove_segments(const char *store)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", store);
    ps_test_remove_entries("/dev/shm", prefix);
}

/* A failed assertion ends a test before its own cleanup: unlink whatever
 * this test process left in /dev/shm. */
static void remove_leftovers(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ps-t-shm-%ld-", (long)getpid());
    ps_test_remove_entries("/dev/shm", prefix);
}

TestSuite(shm, .fini = remove_leftovers);

Test(shm, put_get_exists_evict)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    static const char head[] = "header-bytes", body[] = "and the payload";
    ps_iov parts[] = {{head, sizeof head - 1}, {body, sizeof body}};
    cr_assert_eq(c->ops->put(c, "k1", parts, 2), PS_OK, "%s", ps_last_error_message());

    bool exists = false;
    cr_assert_eq(c->ops->exists(c, "k1", &exists), PS_OK);
    cr_assert(exists);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "k1", &blob), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(blob.len, sizeof head - 1 + sizeof body);
    cr_assert_eq(memcmp(blob.data, "header-bytesand the payload", blob.len), 0);
    cr_assert_eq((uintptr_t)blob.data % 64, 0, "mapped data is page aligned");
    cr_assert_not_null(blob.release);
    ps_blob_release(&blob);
    cr_assert_null(blob.data);

    cr_assert_eq(c->ops->evict(c, "k1"), PS_OK);
    cr_assert_eq(c->ops->exists(c, "k1", &exists), PS_OK);
    cr_assert_not(exists);
    cr_assert_eq(c->ops->get(c, "k1", &blob), PS_ERR_NOT_FOUND);
    cr_assert_null(blob.release);
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert(strstr(ps_last_error_message(), "'k1'"), "message names the key: %s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), name), "message names the store: %s", ps_last_error_message());
    cr_assert_eq(c->ops->evict(c, "k1"), PS_OK, "evicting a missing key succeeds");
    c->ops->close(c);
}

Test(shm, empty_object_and_many_parts)
{
    ps_connector *c = open_store(unique_name());
    cr_assert_eq(c->ops->put(c, "empty", NULL, 0), PS_OK, "%s", ps_last_error_message());
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "empty", &blob), PS_OK);
    cr_assert_eq(blob.len, 0);
    cr_assert_not_null(blob.data);
    cr_assert_not_null(blob.release);
    ps_blob_release(&blob);

    /* More parts than one writev takes, with empty ones in between. */
    enum { NPARTS = 300 };
    ps_iov parts[NPARTS];
    unsigned char bytes[NPARTS];
    size_t total = 0;
    for (int i = 0; i < NPARTS; i++) {
        bytes[i] = (unsigned char)i;
        parts[i].base = &bytes[i];
        parts[i].len = i % 3 == 0 ? 0 : 1;
        total += parts[i].len;
    }
    cr_assert_eq(c->ops->put(c, "parts", parts, NPARTS), PS_OK);
    cr_assert_eq(c->ops->get(c, "parts", &blob), PS_OK);
    cr_assert_eq(blob.len, total);
    const unsigned char *p = blob.data;
    for (int i = 0, o = 0; i < NPARTS; i++)
        if (i % 3)
            cr_assert_eq(p[o++], (unsigned char)i);
    ps_blob_release(&blob);
    c->ops->close(c);
}

Test(shm, overwrite_keeps_old_mappings_valid)
{
    ps_connector *c = open_store(unique_name());
    ps_check_put(c, "k", "old contents", 12);
    ps_blob old;
    cr_assert_eq(c->ops->get(c, "k", &old), PS_OK);
    ps_check_put(c, "k", "new", 3);
    ps_blob fresh;
    cr_assert_eq(c->ops->get(c, "k", &fresh), PS_OK);
    cr_assert_eq(fresh.len, 3);
    cr_assert_eq(memcmp(fresh.data, "new", 3), 0);
    cr_assert_eq(old.len, 12);
    cr_assert_eq(memcmp(old.data, "old contents", 12), 0, "a reader's mapping survives an overwrite");
    ps_blob_release(&old);
    ps_blob_release(&fresh);
    c->ops->close(c);
}

Test(shm, get_maps_the_segment_without_copying)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    ps_check_put(c, "zc", "0123456789", 10);
    ps_blob a, b;
    cr_assert_eq(c->ops->get(c, "zc", &a), PS_OK);
    cr_assert_eq(c->ops->get(c, "zc", &b), PS_OK);

    /* Both blobs lie in mappings of the segment file. */
    char seg[256];
    snprintf(seg, sizeof seg, "/dev/shm/ps-%s+zc", name);
    FILE *maps = fopen("/proc/self/maps", "r");
    cr_assert_not_null(maps);
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && strstr(line, seg)) {
            found += (uintptr_t)a.data >= lo && (uintptr_t)a.data < hi;
            found += (uintptr_t)b.data >= lo && (uintptr_t)b.data < hi;
        }
    }
    fclose(maps);
    cr_assert_eq(found, 2, "both blobs point into mappings of %s", seg);

    /* And they share the physical pages: a write to the segment shows in both. */
    int fd = open(seg, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "X", 1, 4), 1);
    close(fd);
    cr_assert_eq(((const char *)a.data)[4], 'X');
    cr_assert_eq(((const char *)b.data)[4], 'X');
    ps_blob_release(&a);
    ps_blob_release(&b);
    c->ops->close(c);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

Test(shm, resolving_64mb_is_far_cheaper_than_copying_it, .timeout = 120)
{
    ps_connector *c = open_store(unique_name());
    size_t len = 64u << 20;
    unsigned char *src = malloc(len), *dst = malloc(len);
    cr_assert(src && dst);
    for (size_t i = 0; i < len; i++)
        src[i] = (unsigned char)(i * 131u);
    memset(dst, 1, len); /* fault the destination in before timing */
    ps_check_put(c, "big", src, len);

    double best_get = 1e9, best_copy = 1e9;
    for (int i = 0; i < 5; i++) {
        ps_blob blob;
        double t0 = now_s();
        cr_assert_eq(c->ops->get(c, "big", &blob), PS_OK);
        double t1 = now_s();
        cr_assert_eq(blob.len, len);
        ps_blob_release(&blob);
        if (t1 - t0 < best_get)
            best_get = t1 - t0;
    }
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        memcpy(dst, src, len);
        __asm__ volatile("" : : "r"(dst) : "memory");
        double t1 = now_s();
        if (t1 - t0 < best_copy)
            best_copy = t1 - t0;
    }
    /* The contents are right, and checking them is the reader's cost. */
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "big", &blob), PS_OK);
    cr_assert_eq(memcmp(blob.data, src, len), 0);
    ps_blob_release(&blob);
    cr_log_info("get of 64 MB: %.1f us, memcpy of 64 MB: %.1f us (%.0fx)", best_get * 1e6,
                best_copy * 1e6, best_copy / best_get);
    cr_assert_lt(best_get * 10, best_copy, "get %.1f us vs memcpy %.1f us", best_get * 1e6,
                 best_copy * 1e6);
    free(src);
    free(dst);
    c->ops->close(c);
}

/* ----------------------------------------------------------- atomicity */

Test(shm, readers_never_see_a_half_written_object, .timeout = 120)
{
    ps_connector *c = open_store(unique_name());
    ps_check_overwrites_are_atomic(c, 400);
    c->ops->close(c);
}

/* ----------------------------------------------------------------- keys */

Test(shm, keys_that_could_escape_are_refused)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    const char *bad[] = {"../../etc/passwd", "a/b", "..", ".", "/etc/passwd", "", ".hidden", "x/"};
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    ps_check_keys_refused(c, bad, sizeof bad / sizeof *bad, false);
    cr_assert_eq(c->ops->get(c, NULL, &(ps_blob){0}), PS_ERR_INVALID_ARGUMENT);
    cr_assert_eq(count_segments(prefix), 0, "a refused key created nothing");
    c->ops->close(c);
}

Test(shm, unusual_keys_get_distinct_valid_segment_names)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    /* '%' escapes; "a:%3A" and "a::" must not collide, nor "a b" and "a%20b". */
    const char *keys[] = {"a::", "a:%3A", "a b", "a%20b", "tab\there", "\xc3\xa9t\xc3\xa9", "#x", "+y"};
    size_t n = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < n; i++)
        ps_check_put(c, keys[i], keys[i], strlen(keys[i]));
    for (size_t i = 0; i < n; i++) {
        ps_blob blob;
        cr_assert_eq(c->ops->get(c, keys[i], &blob), PS_OK, "%s", ps_last_error_message());
        cr_assert_eq(blob.len, strlen(keys[i]));
        cr_assert_eq(memcmp(blob.data, keys[i], blob.len), 0, "key '%s' read back its own object", keys[i]);
        ps_blob_release(&blob);
    }
    cr_assert(segment_exists(name, "a::"));
    cr_assert(segment_exists(name, "a%20b"));
    cr_assert(segment_exists(name, "a%2520b"));

    /* The longest key escapes past the bound and is hashed. */
    char longkey[PS_KEY_MAX];
    memset(longkey, '~', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    ps_check_put(c, longkey, "long", 4);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, longkey, &blob), PS_OK);
    cr_assert_eq(memcmp(blob.data, "long", 4), 0);
    ps_blob_release(&blob);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+#", name);
    cr_assert_eq(count_segments(prefix), 1, "the hashed name is used");
    longkey[0] = '!';
    bool exists = true;
    cr_assert_eq(c->ops->exists(c, longkey, &exists), PS_OK);
    cr_assert_not(exists, "a different long key has a different hash");
    c->ops->close(c);
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    cr_assert_eq(count_segments(prefix), 0);
}

/* -------------------------------------------------------------- cleanup */

Test(shm, evict_and_close_remove_our_segments)
{
    const char *name = unique_name();
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    ps_connector *c = open_store(name);
    ps_check_put(c, "one", "1", 1);
    ps_check_put(c, "two", "2", 1);
    ps_check_put(c, "two", "22", 2); /* an overwrite leaves one segment */
    ps_check_put(c, "three", "3", 1);
    cr_assert(segment_exists(name, "one"));
    cr_assert_eq(count_segments(prefix), 3, "no temporary segment is left behind");
    cr_assert_eq(c->ops->evict(c, "one"), PS_OK);
    cr_assert_not(segment_exists(name, "one"), "evict unlinks the segment");
    cr_assert_eq(count_segments(prefix), 2);
    c->ops->close(c);
    cr_assert_eq(count_segments(prefix), 0, "close unlinks what the connector created");
}

Test(shm, close_leaves_other_processes_segments)
{
    const char *name = unique_name();
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Another producer on the same store; it is still running, so its
         * objects must survive our close. */
        ps_url url;
        char text[128];
        snprintf(text, sizeof text, "shm://%s", name);
        ps_connector *other = NULL;
        if (ps_url_parse(text, &url) != PS_OK || ps_shm_connector.open(&url, &other) != PS_OK)
            _exit(1);
        ps_url_free(&url);
        ps_iov part = {"theirs", 6};
        if (other->ops->put(other, "foreign", &part, 1) != PS_OK ||
            other->ops->put(other, "shared", &part, 1) != PS_OK)
            _exit(2);
        _exit(0); /* without closing */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    ps_connector *c = open_store(name);
    ps_check_put(c, "mine", "ours", 4);
    /* We overwrite "shared" and then the other process does again: the
     * segment is theirs once more, and our close must leave it. */
    ps_check_put(c, "shared", "ours", 4);
    ps_connector *other = open_store(name);
    ps_check_put(other, "shared", "theirs", 6);
    c->ops->close(c);
    cr_assert_not(segment_exists(name, "mine"));
    cr_assert(segment_exists(name, "foreign"), "another process's segment survives our close");
    cr_assert(segment_exists(name, "shared"), "a segment replaced by another producer survives");
    other->ops->close(other);
    cr_assert_not(segment_exists(name, "shared"));
    remove_segments(name);
}

/* A forked child inherits the connector; closing it there must not unlink
 * the parent's segments (the child did not create them), only its own. */
Test(shm, a_forked_child_closing_the_connector_keeps_the_parents_segments)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    ps_check_put(c, "parents", "p", 1);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ps_iov part = {"c", 1};
        int rc = c->ops->put(c, "childs", &part, 1) == PS_OK ? 0 : 1;
        c->ops->close(c);
        _exit(rc);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert(segment_exists(name, "parents"), "the child's close left the parent's segment");
    cr_assert_not(segment_exists(name, "childs"), "the child's close removed its own segment");
    c->ops->close(c);
    cr_assert_not(segment_exists(name, "parents"));
}

/* --------------------------------------------------- odd entries, limits */

/* Someone else's FIFO under a key's name: an error at once, not a reader
 * blocked forever in open(). */
Test(shm, a_fifo_under_a_key_does_not_hang_the_reader, .timeout = 20)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/ps-%s+fifo", name);
    cr_assert_eq(mkfifo(path, 0600), 0);
    ps_check_planted_entry_is_no_object(c, "fifo", "not a shared-memory segment");
    unlink(path);
    c->ops->close(c);
}

Test(shm, a_directory_under_a_key_is_an_error_not_a_crash)
{
    const char *name = unique_name();
    ps_connector *c = open_store(name);
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/ps-%s+dir", name);
    cr_assert_eq(mkdir(path, 0700), 0);
    ps_check_planted_entry_is_no_object(c, "dir", NULL);
    cr_assert_eq(c->ops->put(c, "dir", &(ps_iov){"x", 1}, 1), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), "dir"), "%s", ps_last_error_message());
    rmdir(path);
    c->ops->close(c);
    remove_segments(name);
}

/* A write that fails part-way (here: the file size limit, EFBIG) is an
 * error, the temporary segment goes away and the old object stays. */
Test(shm, a_failed_write_reports_io_and_keeps_the_old_object)
{
    const char *name = unique_name();
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    ps_connector *c = open_store(name);
    ps_check_failed_write_keeps_old_object(c, "'k'");
    cr_assert_eq(count_segments(prefix), 1, "the temporary segment is removed");
    c->ops->close(c);
}

/* A really full /dev/shm: a private 256 kB tmpfs mounted over it in a mount
 * namespace of this test process only (skipped where that is not allowed). */
Test(shm, a_full_dev_shm_is_an_io_error_not_a_crash)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=256k") != 0)
        cr_skip_test("cannot mount a private tmpfs here: %s", strerror(errno));
    ps_connector *c = open_store(unique_name());
    size_t len = 1 << 20;
    char *big = malloc(len);
    memset(big, 7, len);
    ps_check_put(c, "k", big, 4096);
    ps_iov part = {big, len};
    cr_assert_eq(c->ops->put(c, "k", &part, 1), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), strerror(ENOSPC)), "%s", ps_last_error_message());
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "k", &blob), PS_OK);
    cr_assert_eq(blob.len, 4096);
    cr_assert_eq(((const char *)blob.data)[4095], 7);
    ps_blob_release(&blob);
    /* The space came back: the next object fits. */
    cr_assert_eq(c->ops->put(c, "k2", &(ps_iov){big, 100 * 1024}, 1), PS_OK, "%s", ps_last_error_message());
    free(big);
    c->ops->close(c);
    cr_assert_eq(count_segments("ps-"), 0);
}

/* ----------------------------------------------------------------- URLs */

Test(shm, bad_urls_are_refused)
{
    const char *bad[] = {
        "shm://",                 /* no name */
        "shm://a/b",              /* a path */
        "shm://name/",            /* an empty path is still a path */
        "shm://a%2Fb",            /* '/' through an escape */
        "shm://.hidden",          /* leading dot */
        "shm://a+b",              /* '+' separates name and key */
        "shm://na%20me",          /* space */
        "shm://x:80",             /* port */
        "shm://user@x",           /* user */
        "shm://x?size=1",         /* unknown parameter */
        "shm://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(open_status(bad[i]), PS_ERR_BAD_URL, "%s", bad[i]);
        cr_assert_neq(strlen(ps_last_error_message()), 0);
    }
    cr_assert_eq(open_status("shm://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), PS_OK,
                 "64 bytes is the limit");
    cr_assert_eq(open_status("shm://Store_1.v2-x"), PS_OK);
}

/* ---------------------------------------------------------- concurrency */

Test(shm, eight_threads_share_one_connector)
{
    const char *name = unique_name();
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ps-%s+", name);
    ps_connector *c = open_store(name);
    ps_check_eight_threads_share(c, 200);
    c->ops->close(c);
    cr_assert_eq(count_segments(prefix), 0);
}

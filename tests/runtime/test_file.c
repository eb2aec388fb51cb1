/*
 * test_file.c — the file:// connector through its ops table: objects, atomic
 * overwrite, containment (keys, symlinks, a swapped directory), directory
 * creation, I/O errors, refused keys and URLs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connector.h"
#include "connector_checks.h"
#include "dir_entries.h"

/* Each test gets a fresh directory, removed when it ends. */
static char root[256];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/ps-test-file-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
    chmod(root, 0700);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(file, .init = make_root, .fini = remove_root);

static ps_status open_status(const char *text, ps_connector **out)
{
    ps_url url;
    *out = NULL;
    ps_status st = ps_url_parse(text, &url);
    if (st != PS_OK)
        return st;
    st = ps_file_connector.open(&url, out);
    ps_url_free(&url);
    return st;
}

static ps_connector *open_dir(const char *dir, const char *query)
{
    char text[512];
    snprintf(text, sizeof text, "file://%s%s", dir, query ? query : "");
    ps_connector *c;
    cr_assert_eq(open_status(text, &c), PS_OK, "open %s: %s", text, ps_last_error_message());
    cr_assert_not_null(c);
    return c;
}

static int count_entries(const char *dir)
{
    int n = ps_test_count_entries(dir, NULL);
    cr_assert_geq(n, 0, "%s", dir);
    return n;
}

static bool has_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

Test(file, put_get_exists_evict)
{
    ps_connector *c = open_dir(root, NULL);
    static const char head[] = "HEAD", body[] = "payload";
    ps_iov parts[] = {{head, 4}, {body, 7}};
    cr_assert_eq(c->ops->put(c, "obj-1", parts, 2), PS_OK, "%s", ps_last_error_message());
    cr_assert(has_file(root, "obj-1"), "the object is a file named after its key");

    bool exists = false;
    cr_assert_eq(c->ops->exists(c, "obj-1", &exists), PS_OK);
    cr_assert(exists);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "obj-1", &blob), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(blob.len, 11);
    cr_assert_eq(memcmp(blob.data, "HEADpayload", 11), 0);
    cr_assert_eq((uintptr_t)blob.data % 64, 0, "64-byte aligned");
    ps_blob_release(&blob);

    cr_assert_eq(c->ops->evict(c, "obj-1"), PS_OK);
    cr_assert_not(has_file(root, "obj-1"));
    cr_assert_eq(c->ops->exists(c, "obj-1", &exists), PS_OK);
    cr_assert_not(exists);
    cr_assert_eq(c->ops->get(c, "obj-1", &blob), PS_ERR_NOT_FOUND);
    cr_assert_null(blob.release);
    cr_assert(strstr(ps_last_error_message(), "'obj-1'"), "%s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), root), "%s", ps_last_error_message());
    cr_assert_eq(c->ops->evict(c, "obj-1"), PS_OK, "evicting a missing key succeeds");
    c->ops->close(c);
}

Test(file, objects_outlive_the_connector)
{
    ps_connector *c = open_dir(root, NULL);
    ps_check_put(c, "keep", "kept", 4);
    c->ops->close(c);
    cr_assert(has_file(root, "keep"), "close deletes nothing");
    c = open_dir(root, NULL);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "keep", &blob), PS_OK);
    cr_assert_eq(memcmp(blob.data, "kept", 4), 0);
    ps_blob_release(&blob);
    c->ops->close(c);
}

Test(file, empty_and_large_objects)
{
    ps_connector *c = open_dir(root, "?sync=1");
    cr_assert_eq(c->ops->put(c, "empty", NULL, 0), PS_OK);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "empty", &blob), PS_OK);
    cr_assert_eq(blob.len, 0);
    cr_assert_not_null(blob.release);
    ps_blob_release(&blob);

    size_t len = (16u << 20) + 3;
    unsigned char *big = malloc(len);
    for (size_t i = 0; i < len; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 13));
    ps_iov parts[] = {{big, 64}, {big + 64, len - 64}};
    cr_assert_eq(c->ops->put(c, "big", parts, 2), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(c->ops->get(c, "big", &blob), PS_OK);
    cr_assert_eq(blob.len, len);
    cr_assert_eq(memcmp(blob.data, big, len), 0);
    ps_blob_release(&blob);
    free(big);
    cr_assert_eq(count_entries(root), 2, "no temporary file is left behind");
    c->ops->close(c);
}

/* ----------------------------------------------------------- atomicity */

Test(file, readers_never_see_a_half_written_object, .timeout = 120)
{
    ps_connector *c = open_dir(root, NULL);
    ps_check_overwrites_are_atomic(c, 300);
    cr_assert_eq(count_entries(root), 1, "no temporary file is left behind");
    c->ops->close(c);
}

/* A crashed writer's temporary file is invisible to readers. */
Test(file, leftover_temporary_files_are_ignored)
{
    ps_connector *c = open_dir(root, NULL);
    ps_check_put(c, "k", "good", 4);
    char path[512];
    snprintf(path, sizeof path, "%s/.ps.tmp.99999.0", root);
    FILE *f = fopen(path, "w");
    fputs("half-writ", f);
    fclose(f);
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "k", &blob), PS_OK);
    cr_assert_eq(memcmp(blob.data, "good", 4), 0);
    ps_blob_release(&blob);
    cr_assert_eq(c->ops->get(c, ".ps.tmp.99999.0", &blob), PS_ERR_INVALID_ARGUMENT,
                 "temporary names are not keys");
    ps_check_put(c, "k2", "x", 1); /* writers pick another name */
    c->ops->close(c);
}

/* ----------------------------------------------------------- containment */

Test(file, keys_that_could_escape_are_refused)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/store", root);
    ps_connector *c = open_dir(dir, NULL);
    const char *bad[] = {"../../etc/passwd", "../escaped", "a/b", "..", ".", "/etc/passwd",
                         "", ".hidden", "sub/", "..."};
    ps_check_keys_refused(c, bad, sizeof bad / sizeof *bad, true);
    cr_assert_eq(count_entries(dir), 0);
    cr_assert_eq(count_entries(root), 1, "nothing written beside the store directory");
    c->ops->close(c);
}

/* A symlink planted in the directory is neither followed for reads nor
 * written through. */
Test(file, symlinks_in_the_directory_are_not_followed)
{
    char dir[300], outside[300], link[400];
    snprintf(dir, sizeof dir, "%s/store", root);
    snprintf(outside, sizeof outside, "%s/outside", root);
    ps_connector *c = open_dir(dir, NULL);
    FILE *f = fopen(outside, "w");
    fputs("secret", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/planted", dir);
    cr_assert_eq(symlink(outside, link), 0);

    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "planted", &blob), PS_ERR_IO, "a symlink is not read through");
    bool exists = true;
    cr_assert_eq(c->ops->exists(c, "planted", &exists), PS_OK);
    cr_assert_not(exists);
    ps_check_put(c, "planted", "object", 6);
    f = fopen(outside, "r");
    char buf[16] = {0};
    cr_assert_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "secret", "a put replaces the link, never writes through it");
    struct stat sb;
    cr_assert_eq(lstat(link, &sb), 0);
    cr_assert(S_ISREG(sb.st_mode));
    c->ops->close(c);
}

/* Renaming the store directory away and planting a symlink in its place
 * after open does not redirect the connector: it holds the directory. */
Test(file, a_directory_swapped_after_open_cannot_redirect_writes)
{
    char dir[300], moved[300], elsewhere[300];
    snprintf(dir, sizeof dir, "%s/store", root);
    snprintf(moved, sizeof moved, "%s/moved", root);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", root);
    ps_connector *c = open_dir(dir, NULL);
    cr_assert_eq(mkdir(elsewhere, 0700), 0);
    cr_assert_eq(rename(dir, moved), 0);
    cr_assert_eq(symlink(elsewhere, dir), 0);
    ps_check_put(c, "k", "data", 4);
    cr_assert(has_file(moved, "k"));
    cr_assert_eq(count_entries(elsewhere), 0);
    c->ops->close(c);
}

Test(file, a_directory_under_a_key_is_an_error_not_a_crash)
{
    ps_connector *c = open_dir(root, NULL);
    char sub[400];
    snprintf(sub, sizeof sub, "%s/subdir", root);
    cr_assert_eq(mkdir(sub, 0700), 0);
    ps_check_planted_entry_is_no_object(c, "subdir", "subdir");
    cr_assert_eq(c->ops->evict(c, "subdir"), PS_ERR_IO);
    cr_assert_eq(c->ops->put(c, "subdir", &(ps_iov){"x", 1}, 1), PS_ERR_IO);
    cr_assert_eq(count_entries(root), 1, "the failed put removed its temporary file");
    c->ops->close(c);
}

/* A FIFO planted under a key: an error at once, not a reader blocked in
 * open() waiting for a writer that never comes. */
Test(file, a_fifo_under_a_key_does_not_hang_the_reader, .timeout = 20)
{
    ps_connector *c = open_dir(root, NULL);
    char path[400];
    snprintf(path, sizeof path, "%s/fifo", root);
    cr_assert_eq(mkfifo(path, 0600), 0);
    ps_check_planted_entry_is_no_object(c, "fifo", "not a regular file");
    c->ops->close(c);
}

/* ----------------------------------------------------- directory and I/O */

Test(file, missing_parents_are_created_owner_only)
{
    char dir[300], mid[300];
    snprintf(mid, sizeof mid, "%s/a", root);
    snprintf(dir, sizeof dir, "%s/a/b//c/", root);
    ps_connector *c = open_dir(dir, NULL);
    ps_check_put(c, "k", "v", 1);
    struct stat sb;
    cr_assert_eq(stat(mid, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    mode_t umask_now = umask(0);
    umask(umask_now);
    cr_assert_eq(sb.st_mode & 0777, 0700 & ~umask_now, "new directories are 0700");
    char file[400];
    snprintf(file, sizeof file, "%s/a/b/c/k", root);
    cr_assert_eq(stat(file, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600 & ~umask_now, "objects are 0600");
    c->ops->close(c);
    /* An existing directory is used as it is. */
    cr_assert_eq(chmod(mid, 0755), 0);
    c = open_dir(mid, NULL);
    c->ops->close(c);
    cr_assert_eq(stat(mid, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0755);
}

/* Tests run as root, so a read-only directory would not fail; a path
 * through a regular file does (ENOTDIR). */
Test(file, a_directory_that_cannot_be_made_is_an_io_error)
{
    char file[300], text[400];
    snprintf(file, sizeof file, "%s/plain", root);
    FILE *f = fopen(file, "w");
    fclose(f);
    ps_connector *c;
    snprintf(text, sizeof text, "file://%s/store", file);
    cr_assert_eq(open_status(text, &c), PS_ERR_IO);
    cr_assert_null(c);
    cr_assert(strstr(ps_last_error_message(), file), "%s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), strerror(ENOTDIR)), "%s", ps_last_error_message());
    snprintf(text, sizeof text, "file://%s", file); /* the store path itself is a file */
    cr_assert_eq(open_status(text, &c), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), strerror(ENOTDIR)), "%s", ps_last_error_message());
}

Test(file, a_directory_that_disappears_is_an_io_error)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/gone", root);
    ps_connector *c = open_dir(dir, NULL);
    cr_assert_eq(rmdir(dir), 0);
    cr_assert_eq(c->ops->put(c, "k", &(ps_iov){"x", 1}, 1), PS_ERR_IO);
    cr_assert(strstr(ps_last_error_message(), "'k'"), "%s", ps_last_error_message());
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, "k", &blob), PS_ERR_NOT_FOUND);
    c->ops->close(c);
}

/* A write that fails part-way (the file size limit: EFBIG, as a full disk
 * would give ENOSPC) is an error and leaves the old object and no temporary. */
Test(file, a_failed_write_reports_io_and_keeps_the_old_object)
{
    ps_connector *c = open_dir(root, NULL);
    ps_check_failed_write_keeps_old_object(c, strerror(EFBIG));
    cr_assert_eq(count_entries(root), 1);
    c->ops->close(c);
}

/* ----------------------------------------------------------------- URLs */

Test(file, bad_urls_are_refused)
{
    const char *bad[] = {
        "file://",                 /* no directory */
        "file://relative/dir",     /* "relative" is a host, the path is not the store's */
        "file://host/tmp/x",       /* a host */
        "file://:pw@/tmp/x",       /* a password */
        "file:///tmp/x?sync=2",    /* bad value */
        "file:///tmp/x?fsync=1",   /* unknown parameter */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ps_connector *c;
        cr_assert_eq(open_status(bad[i], &c), PS_ERR_BAD_URL, "%s: %s", bad[i], ps_last_error_message());
        cr_assert_null(c);
        cr_assert(strstr(ps_last_error_message(), "file"), "%s", ps_last_error_message());
    }
    char text[400];
    snprintf(text, sizeof text, "file://localhost%s?sync=0", root);
    ps_connector *c;
    cr_assert_eq(open_status(text, &c), PS_OK, "%s", ps_last_error_message());
    c->ops->close(c);
}

/* ---------------------------------------------------------- concurrency */

Test(file, eight_threads_share_one_connector)
{
    ps_connector *c = open_dir(root, NULL);
    ps_check_eight_threads_share(c, 100);
    c->ops->close(c);
}

/*
 * test_connector_buffers.c — what the fast paths of the local, file and shm
 * connectors must keep: 64-byte-aligned data for every key length and size
 * (the local entry and the file read buffer align inside a malloc'ed block,
 * the largest ones use other memory), blobs released the way they were
 * made, and shm segments and files on a local file system that never show
 * in their directory before they are complete (they are written nameless,
 * then linked in).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "connector.h"
#include "connector_checks.h"

#define MiB ((size_t)1 << 20)

static ps_connector *open_with(const ps_connector_ops *ops, const char *text) { return ps_check_open(ops, text); }

/* Bytes that differ at every offset, so a shifted copy is caught. */
static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 131 + i / 251 + seed);
    return p;
}

/* Put len patterned bytes under key, read them back, check place and bytes. */
static void round_trip(ps_connector *c, const char *key, size_t len, unsigned seed)
{
    unsigned char *bytes = pattern(len, seed);
    ps_iov part = {bytes, len};
    cr_assert_eq(c->ops->put(c, key, &part, 1), PS_OK, "put %s (%zu bytes): %s", key, len,
                 ps_last_error_message());
    ps_blob blob;
    cr_assert_eq(c->ops->get(c, key, &blob), PS_OK, "get %s: %s", key, ps_last_error_message());
    cr_assert_eq(blob.len, len);
    cr_assert_eq((uintptr_t)blob.data % 64, 0, "key '%s' (%zu bytes): data at %p is not 64-byte aligned",
                 key, len, blob.data);
    cr_assert_eq(memcmp(blob.data, bytes, len), 0, "key '%s' (%zu bytes): bytes differ", key, len);
    ps_blob_release(&blob);
    free(bytes);
}

/* ------------------------------------------------------------------ local */

Test(buffers, local_data_is_aligned_for_every_key_length)
{
    ps_connector *c = open_with(&ps_local_connector, "local://");
    char key[100];
    /* The data follows the key inside the entry: every key length moves it. */
    for (size_t n = 1; n < 90; n++) {
        memset(key, 'a' + (char)(n % 26), n);
        key[n] = '\0';
        round_trip(c, key, n * 7, (unsigned)n);
    }
    /* From 32 MiB on the entry is a huge-page-aligned block instead. */
    round_trip(c, "k", 32 * MiB + 5, 1);
    round_trip(c, "a-longer-key-that-shifts-the-data", 40 * MiB, 2);
    c->ops->close(c);
}

Test(buffers, local_large_objects_survive_repeated_replacement)
{
    ps_connector *c = open_with(&ps_local_connector, "local://");
    /* Same-size objects put, replaced and evicted in turn reuse freed
     * blocks; a blob taken before a replacement keeps its own bytes. */
    for (unsigned i = 0; i < 6; i++) {
        round_trip(c, "big", 3 * MiB + i, i);
        ps_blob held;
        cr_assert_eq(c->ops->get(c, "big", &held), PS_OK);
        unsigned char *next = pattern(3 * MiB + i, i + 100);
        cr_assert_eq(c->ops->put(c, "big", &(ps_iov){next, 3 * MiB + i}, 1), PS_OK);
        unsigned char *was = pattern(3 * MiB + i, i);
        cr_assert_eq(memcmp(held.data, was, held.len), 0, "a held blob changed under a replacement");
        ps_blob_release(&held);
        free(was);
        free(next);
        cr_assert_eq(c->ops->evict(c, "big"), PS_OK);
    }
    c->ops->close(c);
}

/* ------------------------------------------------------------------- file */

static char root[256];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/ps-test-buffers-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
}

static void remove_root(void)
{
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

Test(buffers, file_reads_are_aligned_on_both_sides_of_the_mapping_threshold, .init = make_root,
     .fini = remove_root, .timeout = 60)
{
    char text[300];
    snprintf(text, sizeof text, "file://%s", root);
    ps_connector *c = open_with(&ps_file_connector, text);
    /* Heap buffers up to 32 MiB, anonymous mappings from there on. */
    const size_t sizes[] = {0, 1, 63, 64, 4095, 100000, MiB, 32 * MiB - 1, 32 * MiB, 32 * MiB + 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%zu", i);
        round_trip(c, key, sizes[i], (unsigned)i);
        /* Twice: the second read of a size gets the block the first freed. */
        round_trip(c, key, sizes[i], (unsigned)i + 1);
        cr_assert_eq(c->ops->evict(c, key), PS_OK);
    }
    c->ops->close(c);
}

/* -------------------------------------------------------------------- shm */

/* Can this kernel write a nameless file in dir and link it by its
 * descriptor?  Where it cannot, the connectors fall back to named
 * temporaries, which the watcher below would (rightly) see. */
static bool nameless_files_supported(const char *dir)
{
    int fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    char name[64];
    snprintf(name, sizeof name, "ps-probe-%ld", (long)getpid());
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 && linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0;
    if (ok)
        unlinkat(dfd, name, 0);
    if (dfd >= 0)
        close(dfd);
    close(fd);
    return ok;
}

/*
 * A child process opens url and puts len bytes under one key four times (a
 * fresh key, then replacements, published through a temporary name), then
 * evicts it and closes.  Meanwhile every entry of dir starting with prefix,
 * whenever it is seen, must hold a whole object: len - i bytes for one of
 * the four puts.  A named temporary being written would be seen part-full.
 */
static void watch_puts(const ps_connector_ops *ops, const char *url, const char *dir, const char *prefix,
                       size_t len)
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        close(ready[0]);
        ps_url parsed;
        ps_connector *c = NULL;
        if (ps_url_parse(url, &parsed) != PS_OK || ops->open(&parsed, &c) != PS_OK)
            _exit(2);
        ps_url_free(&parsed);
        unsigned char *bytes = malloc(len);
        if (!bytes)
            _exit(3);
        memset(bytes, 9, len);
        (void)!write(ready[1], "g", 1);
        for (int i = 0; i < 4; i++)
            if (c->ops->put(c, "k", &(ps_iov){bytes, len - (size_t)i}, 1) != PS_OK)
                _exit(4);
        free(bytes);
        if (c->ops->evict(c, "k") != PS_OK)
            _exit(5);
        ops->close(c);
        _exit(0);
    }
    close(ready[1]);
    char go;
    cr_assert_eq(read(ready[0], &go, 1), 1);
    close(ready[0]);

    int seen = 0, status = 0;
    for (;;) {
        pid_t done = waitpid(child, &status, WNOHANG);
        DIR *d = opendir(dir);
        cr_assert_not_null(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strcmp(e->d_name, ".") == 0 ||
                strcmp(e->d_name, "..") == 0)
                continue;
            struct stat sb;
            if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
                continue; /* renamed or evicted since readdir */
            size_t size = (size_t)sb.st_size;
            cr_expect(size <= len && size > len - 4, "%s/%s seen with %zu of %zu bytes", dir, e->d_name,
                      size, len);
            seen++;
        }
        closedir(d);
        if (done == child)
            break;
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer failed (status %d)", status);
    cr_assert_gt(seen, 0, "the watcher never saw an object (the test proves nothing)");
    DIR *d = opendir(dir);
    struct dirent *e;
    int left = 0;
    while (d && (e = readdir(d)))
        left += strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strcmp(e->d_name, ".") != 0 &&
                strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    cr_assert_eq(left, 0, "no temporary entry is left behind");
}

Test(buffers, shm_segments_never_show_before_they_are_complete, .timeout = 120)
{
    if (!nameless_files_supported("/dev/shm"))
        cr_skip_test("this kernel cannot link a nameless /dev/shm file by descriptor");
    char store[64], prefix[80], url[96];
    snprintf(store, sizeof store, "t-buf-%ld", (long)getpid());
    snprintf(prefix, sizeof prefix, "ps-%s+", store);
    snprintf(url, sizeof url, "shm://%s", store);
    watch_puts(&ps_shm_connector, url, "/dev/shm", prefix, 48 * MiB);
}

/* On a local file system (the connector checks with fstatfs) file objects
 * are written nameless too. */
Test(buffers, local_file_objects_never_show_before_they_are_complete, .init = make_root,
     .fini = remove_root, .timeout = 120)
{
    struct statfs fs;
    cr_assert_eq(statfs(root, &fs), 0);
    bool local = fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC ||
                 fs.f_type == BTRFS_SUPER_MAGIC || fs.f_type == TMPFS_MAGIC || fs.f_type == F2FS_SUPER_MAGIC;
    if (!local || !nameless_files_supported(root))
        cr_skip_test("%s is not on a local file system that takes nameless files", root);
    char url[300];
    snprintf(url, sizeof url, "file://%s", root);
    watch_puts(&ps_file_connector, url, root, "", 24 * MiB);
}

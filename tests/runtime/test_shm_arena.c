/*
 * test_shm_arena.c — shm://NAME?arena=SIZE: objects in one pre-mapped
 * arena per store.  Space reuse (after evict, never while another process
 * reads, after a reader is killed), a writer killed holding the lock, the
 * fall-back to segments when the arena is full, overwrites across the two,
 * threads and processes at once, close, expiry, listing and URLs.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena_pattern.h"
#include "connector.h"
#include "connector_checks.h"
#include "dir_entries.h"
#include "object.h"
#include "shm_arena.h"

#define READER PS_TEST_BINARY_DIR "/helper_arena"
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static char store_name[64];

/* A fresh store name per test; what a failed test leaves is removed. */
static void pick_name(void)
{
    static int n;
    snprintf(store_name, sizeof store_name, "t-arena-%ld-%d", (long)getpid(), n++);
}

static void remove_leftovers(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ps-t-arena-%ld-", (long)getpid());
    ps_test_remove_entries("/dev/shm", prefix);
}

TestSuite(arena, .init = pick_name, .fini = remove_leftovers, .timeout = 120);

static char *url_of(const char *size)
{
    static char url[128];
    snprintf(url, sizeof url, "shm://%s?arena=%s", store_name, size);
    return url;
}

static ps_connector *open_url(const char *text) { return ps_check_open(&ps_shm_connector, text); }

static ps_connector *open_arena(const char *size) { return open_url(url_of(size)); }

static bool file_exists(const char *rest)
{
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/ps-%s+%s", store_name, rest);
    return access(path, F_OK) == 0;
}

/* Whether key went to its own segment rather than into the arena. */
static bool in_segment(const char *key) { return file_exists(key); }
static bool arena_file_exists(void) { return file_exists(".arena"); }

static void put_pattern(ps_connector *c, const char *key, unsigned seed, size_t len)
{
    unsigned char *p = malloc(len);
    cr_assert_not_null(p);
    ps_pattern_fill(p, len, seed);
    ps_iov part = {p, len};
    cr_assert_eq(c->ops->put(c, key, &part, 1), PS_OK, "put %s: %s", key, ps_last_error_message());
    free(p);
}

static void expect_pattern(ps_connector *c, const char *key, unsigned seed, size_t len)
{
    ps_blob b;
    cr_assert_eq(c->ops->get(c, key, &b), PS_OK, "get %s: %s", key, ps_last_error_message());
    cr_assert_eq(b.len, len, "%s: %zu bytes, not %zu", key, b.len, len);
    cr_assert(ps_pattern_check(b.data, len, seed), "%s holds other bytes", key);
    ps_blob_release(&b);
}

/* A second handle on the store's arena, for its figures. */
static shm_arena_stats stats(void)
{
    int dirfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dirfd, 0);
    char name[128];
    snprintf(name, sizeof name, "ps-%s+.arena", store_name);
    shm_arena *a = NULL;
    cr_assert_eq(shm_arena_open(dirfd, name, 0, "test", &a), PS_OK, "%s", ps_last_error_message());
    shm_arena_stats s;
    cr_assert_eq(shm_arena_stats_get(a, &s), PS_OK, "%s", ps_last_error_message());
    shm_arena_close(a);
    close(dirfd);
    s.attached--; /* not counting this handle */
    return s;
}

/* ----------------------------------------------- a reader process */

typedef struct reader {
    pid_t pid;
    int to;    /* its stdin */
    FILE *from; /* its stdout */
} reader;

static reader start_reader(const char *key, unsigned seed, size_t len)
{
    int in[2], out[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    char seed_s[32], len_s[32];
    snprintf(seed_s, sizeof seed_s, "%u", seed);
    snprintf(len_s, sizeof len_s, "%zu", len);
    const char *url = url_of("1M");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        unsetenv("BXFI_MAP"); /* see test_cross_process.c */
        execl(READER, READER, url, key, seed_s, len_s, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    reader r = {pid, in[1], fdopen(out[0], "r")};
    cr_assert_not_null(r.from);
    return r;
}

static void expect_line(reader *r, const char *want)
{
    char line[64] = "";
    cr_assert_not_null(fgets(line, sizeof line, r->from), "the reader said nothing (expected %s)", want);
    line[strcspn(line, "\n")] = '\0';
    cr_assert_str_eq(line, want);
}

static void end_reader(reader *r, bool kill_it)
{
    int status;
    if (kill_it)
        kill(r->pid, SIGKILL);
    close(r->to);
    cr_assert_eq(waitpid(r->pid, &status, 0), r->pid);
    fclose(r->from);
    if (kill_it)
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    else
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader failed");
}

/* ---------------------------------------------------------- tests */

Test(arena, objects_live_in_the_arena_and_resolve_without_copies)
{
    ps_connector *c = open_arena("4M");
    cr_assert(arena_file_exists());
    put_pattern(c, "obj", 1, 300 * KiB);
    cr_assert_not(in_segment("obj"), "a fitting object went to a segment");
    ps_blob a, b;
    cr_assert_eq(c->ops->get(c, "obj", &a), PS_OK);
    cr_assert_eq(c->ops->get(c, "obj", &b), PS_OK);
    /* Both readers see the arena's one copy. */
    cr_assert_eq(a.data, b.data);
    cr_assert_eq((uintptr_t)a.data % 16, 0);
    cr_assert(ps_pattern_check(a.data, 300 * KiB, 1));
    ps_blob_release(&a);
    ps_blob_release(&b);
    bool yes = false;
    cr_assert_eq(c->ops->exists(c, "obj", &yes), PS_OK);
    cr_assert(yes);
    cr_assert_eq(c->ops->evict(c, "obj"), PS_OK);
    cr_assert_eq(c->ops->exists(c, "obj", &yes), PS_OK);
    cr_assert_not(yes);
    ps_blob gone;
    cr_assert_eq(c->ops->get(c, "obj", &gone), PS_ERR_NOT_FOUND);
    c->ops->close(c);
    cr_assert_not(arena_file_exists(), "the last close of an empty arena leaves its file");
}

Test(arena, space_is_reused_after_evict)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "first", 1, 600 * KiB);
    ps_blob b;
    cr_assert_eq(c->ops->get(c, "first", &b), PS_OK);
    const void *where = b.data;
    ps_blob_release(&b);
    cr_assert_eq(c->ops->evict(c, "first"), PS_OK);
    put_pattern(c, "second", 2, 600 * KiB);
    cr_assert_not(in_segment("second"), "the evicted object's space was not reused");
    cr_assert_eq(c->ops->get(c, "second", &b), PS_OK);
    cr_assert_eq(b.data, where);
    cr_assert(ps_pattern_check(b.data, 600 * KiB, 2));
    ps_blob_release(&b);
    c->ops->close(c);
}

/* A 1 MiB arena whose one 600 KiB object another process reads; evicted,
 * so only that reader keeps its space from reuse. */
static ps_connector *evicted_while_read(reader *r)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "read", 1, 600 * KiB);
    *r = start_reader("read", 1, 600 * KiB);
    expect_line(r, "held");
    cr_assert_eq(c->ops->evict(c, "read"), PS_OK);
    return c;
}

Test(arena, space_is_not_reused_while_another_process_reads_it)
{
    reader r;
    ps_connector *c = evicted_while_read(&r);
    /* The only space that would fit is the one the reader still maps. */
    put_pattern(c, "next", 2, 600 * KiB);
    cr_assert(in_segment("next"), "an object went over space another process still reads");
    expect_pattern(c, "next", 2, 600 * KiB);
    dprintf(r.to, "check\n");
    expect_line(&r, "ok");
    end_reader(&r, false);
    /* Released: the space is free again. */
    put_pattern(c, "after", 3, 600 * KiB);
    cr_assert_not(in_segment("after"));
    expect_pattern(c, "after", 3, 600 * KiB);
    c->ops->close(c);
}

Test(arena, a_killed_reader_does_not_pin_space)
{
    reader r;
    ps_connector *c = evicted_while_read(&r);
    end_reader(&r, true);
    put_pattern(c, "next", 2, 600 * KiB);
    cr_assert_not(in_segment("next"), "the killed reader's hold still pins the space");
    expect_pattern(c, "next", 2, 600 * KiB);
    cr_assert_eq(stats().zombies, 0);
    c->ops->close(c);
}

Test(arena, a_writer_killed_holding_the_lock_leaves_a_working_arena)
{
    ps_connector *c = open_arena("4M");
    put_pattern(c, "a", 1, 100 * KiB);
    put_pattern(c, "b", 2, 200 * KiB);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int dirfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char name[128];
        snprintf(name, sizeof name, "ps-%s+.arena", store_name);
        shm_arena *a = NULL;
        if (dirfd < 0 || shm_arena_open(dirfd, name, 0, "child", &a) != PS_OK ||
            shm_arena_lock_and_scramble_for_test(a) != PS_OK)
            _exit(1);
        raise(SIGKILL); /* dies holding the lock, its structures half-updated */
        _exit(2);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child did not get to hold the lock");
    /* The next locker repairs: every object is still there and whole. */
    expect_pattern(c, "a", 1, 100 * KiB);
    expect_pattern(c, "b", 2, 200 * KiB);
    put_pattern(c, "c", 3, 300 * KiB);
    cr_assert_not(in_segment("c"));
    expect_pattern(c, "c", 3, 300 * KiB);
    cr_assert_eq(c->ops->evict(c, "a"), PS_OK);
    shm_arena_stats s = stats();
    cr_assert_eq(s.live, 2);
    cr_assert_eq(s.zombies, 0);
    cr_assert_eq(s.used, 500 * KiB, "used %llu", (unsigned long long)s.used);
    cr_assert_eq(s.attached, 1, "the dead child still has a slot");
    c->ops->close(c);
    cr_assert_not(arena_file_exists());
}

static void die_while_filling(void *dst, void *ctx)
{
    (void)ctx;
    memset(dst, 0x5a, 4096); /* part of the object written, then the writer dies */
    raise(SIGKILL);
}

/* A writer killed in the middle of its copy: small objects are copied under
 * the arena's lock (the next locker repairs), larger ones outside it (the
 * entry being written goes with the dead writer's slot).  Either way the
 * half-written key never reads as present, its space comes back, and the
 * arena goes on working. */
static void writer_killed_while_copying(size_t len)
{
    ps_connector *c = open_arena("4M");
    put_pattern(c, "a", 1, 100 * KiB);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int dirfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char name[128];
        snprintf(name, sizeof name, "ps-%s+.arena", store_name);
        shm_arena *a = NULL;
        bool placed;
        if (dirfd < 0 || shm_arena_open(dirfd, name, 0, "child", &a) != PS_OK)
            _exit(1);
        shm_arena_put_fill(a, "half", len, die_while_filling, NULL, NULL, NULL, &placed);
        _exit(2);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child did not die in its copy");
    bool found = true;
    cr_assert_eq(c->ops->exists(c, "half", &found), PS_OK, "%s", ps_last_error_message());
    cr_assert_not(found, "a half-written object reads as present");
    expect_pattern(c, "a", 1, 100 * KiB);
    /* The rest of the 4 MiB, 32 KiB short: it fits only if the dead
     * writer's space came back. */
    put_pattern(c, "b", 2, 4 * MiB - 132 * KiB);
    cr_assert_not(in_segment("b"), "the dead writer's space was not reclaimed");
    expect_pattern(c, "b", 2, 4 * MiB - 132 * KiB);
    shm_arena_stats s = stats();
    cr_assert_eq(s.live, 2);
    cr_assert_eq(s.attached, 1, "the dead child still has a slot");
    c->ops->close(c);
    cr_assert_not(arena_file_exists());
}

Test(arena, a_writer_killed_copying_a_small_object_under_the_lock)
{
    writer_killed_while_copying(64 * KiB);
}

Test(arena, a_writer_killed_copying_a_large_object_outside_the_lock)
{
    writer_killed_while_copying(900 * KiB);
}

Test(arena, objects_that_do_not_fit_go_to_segments)
{
    ps_connector *c = open_arena("256K");
    put_pattern(c, "huge", 1, MiB);
    cr_assert(in_segment("huge"), "an object larger than the arena was not kept in a segment");
    expect_pattern(c, "huge", 1, MiB);
    char key[32];
    for (unsigned i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%u", i);
        put_pattern(c, key, 10 + i, 20 * KiB);
    }
    int segments = 0;
    for (unsigned i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%u", i);
        segments += in_segment(key);
        expect_pattern(c, key, 10 + i, 20 * KiB);
    }
    cr_assert(segments > 0 && segments < 20, "%d of 20 objects in segments", segments);
    for (unsigned i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%u", i);
        cr_assert_eq(c->ops->evict(c, key), PS_OK);
        cr_assert_not(in_segment(key));
    }
    cr_assert_eq(stats().used, 0);
    /* More objects than the arena has entries: the rest go to segments too. */
    for (unsigned i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "s%u", i);
        put_pattern(c, key, i, 100);
    }
    segments = 0;
    for (unsigned i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "s%u", i);
        segments += in_segment(key);
        expect_pattern(c, key, i, 100);
    }
    cr_assert(segments > 0 && segments < 300);
    c->ops->close(c);
    cr_assert_not(in_segment("huge"));
    cr_assert_not(arena_file_exists());
}

Test(arena, overwrites_move_between_arena_and_segment)
{
    ps_connector *c = open_arena("256K");
    put_pattern(c, "k", 1, 10 * KiB);
    ps_blob old;
    cr_assert_eq(c->ops->get(c, "k", &old), PS_OK);
    put_pattern(c, "k", 2, MiB); /* too large: a segment, the arena's copy goes */
    cr_assert(in_segment("k"));
    expect_pattern(c, "k", 2, MiB);
    put_pattern(c, "k", 3, 20 * KiB); /* back into the arena: the segment goes */
    cr_assert_not(in_segment("k"));
    expect_pattern(c, "k", 3, 20 * KiB);
    put_pattern(c, "k", 4, 30 * KiB); /* arena over arena */
    expect_pattern(c, "k", 4, 30 * KiB);
    /* A reader of the first version still has it, whole. */
    cr_assert(ps_pattern_check(old.data, 10 * KiB, 1));
    ps_blob_release(&old);
    shm_arena_stats s = stats();
    cr_assert_eq(s.live, 1);
    cr_assert_eq(s.zombies, 0);
    c->ops->close(c);
}

/* The same through the store, whose puts of plain data the connector
 * copies and hashes in one pass: the hash it records verifies on reading. */
Test(arena, store_puts_in_place_replace_a_segment_of_the_key)
{
    ps_store_options opts = {.cache_size = -1, .verify = true};
    ps_store *store = ps_store_open("arena-store", url_of("256K"), &opts);
    cr_assert_not_null(store, "%s", ps_last_error_message());
    unsigned char *big = malloc(MiB);
    cr_assert_not_null(big);
    ps_pattern_fill(big, MiB, 1);
    cr_assert_eq(ps_store_put_key(store, "k", &ps_type_bytes, big, MiB), PS_OK, "%s", ps_last_error_message());
    cr_assert(in_segment("k"));
    ps_pattern_fill(big, 10 * KiB, 2);
    cr_assert_eq(ps_store_put_key(store, "k", &ps_type_bytes, big, 10 * KiB), PS_OK);
    cr_assert_not(in_segment("k"), "the older object's segment is left beside the arena's");
    size_t count = 0;
    unsigned char *back = ps_store_get(store, "k", &ps_type_bytes, &count);
    cr_assert_not_null(back, "%s", ps_last_error_message());
    cr_assert_eq(count, 10 * KiB);
    cr_assert(ps_pattern_check(back, 10 * KiB, 2));
    ps_object_free(&ps_type_bytes, back);
    free(big);
    cr_assert_eq(ps_store_evict(store, "k"), PS_OK);
    ps_store_close(store);
    cr_assert_not(arena_file_exists());
}

typedef struct worker_arg {
    ps_connector *c;
    int id;
    int failures;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    unsigned char *buf = malloc(64 * KiB);
    for (int i = 0; i < 300 && buf; i++) {
        char key[32];
        snprintf(key, sizeof key, "w%d-%d", w->id, i % 7);
        size_t len = 1 + (size_t)(i * 7919 + w->id * 131) % (64 * KiB);
        unsigned seed = (unsigned)(w->id * 1000 + i);
        ps_pattern_fill(buf, len, seed);
        ps_iov part = {buf, len};
        ps_blob b;
        if (w->c->ops->put(w->c, key, &part, 1) != PS_OK || w->c->ops->get(w->c, key, &b) != PS_OK) {
            w->failures++;
            continue;
        }
        if (b.len != len || !ps_pattern_check(b.data, len, seed))
            w->failures++;
        ps_blob_release(&b);
        if (i % 3 == 0 && w->c->ops->evict(w->c, key) != PS_OK)
            w->failures++;
    }
    free(buf);
    return NULL;
}

Test(arena, threads_put_and_read_at_once)
{
    ps_connector *c = open_arena("2M"); /* small: some puts fall back, space is reused */
    pthread_t t[8];
    worker_arg w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_arg){c, i, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0, "thread %d: %d failures", i, w[i].failures);
    }
    shm_arena_stats s = stats();
    cr_assert_eq(s.zombies, 0);
    c->ops->close(c);
    cr_assert_not(arena_file_exists());
}

Test(arena, processes_put_and_read_at_once)
{
    ps_connector *c = open_arena("4M");
    put_pattern(c, "common", 99, 100 * KiB);
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            ps_url url;
            ps_connector *own = NULL;
            if (ps_url_parse(url_of("4M"), &url) != PS_OK || ps_shm_connector.open(&url, &own) != PS_OK)
                _exit(1);
            ps_url_free(&url);
            worker_arg w = {own, 100 + i, 0};
            worker(&w);
            ps_blob b;
            if (own->ops->get(own, "common", &b) != PS_OK || !ps_pattern_check(b.data, 100 * KiB, 99))
                _exit(2);
            ps_blob_release(&b);
            own->ops->close(own);
            _exit(w.failures ? 3 : 0);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed (%d)", i, status);
    }
    /* What the children put went with their close; ours stays. */
    shm_arena_stats s = stats();
    cr_assert_eq(s.live, 1);
    cr_assert_eq(s.used, 100 * KiB);
    cr_assert_eq(s.attached, 1);
    expect_pattern(c, "common", 99, 100 * KiB);
    c->ops->close(c);
}

Test(arena, close_removes_what_this_process_put_and_the_unused_arena)
{
    ps_connector *producer = open_arena("1M"), *consumer = open_arena("1M");
    put_pattern(producer, "mine", 1, 10 * KiB);
    put_pattern(producer, "kept", 2, 10 * KiB);
    producer->ops->disown(producer, "kept");
    expect_pattern(consumer, "mine", 1, 10 * KiB);
    producer->ops->close(producer);
    ps_blob b;
    cr_assert_eq(consumer->ops->get(consumer, "mine", &b), PS_ERR_NOT_FOUND);
    expect_pattern(consumer, "kept", 2, 10 * KiB); /* disowned: it outlives its writer */
    consumer->ops->close(consumer);
    cr_assert(arena_file_exists(), "the arena went while it still held an object");
    ps_connector *later = open_arena("1M");
    expect_pattern(later, "kept", 2, 10 * KiB);
    cr_assert_eq(later->ops->evict(later, "kept"), PS_OK);
    later->ops->close(later);
    cr_assert_not(arena_file_exists());
}

Test(arena, a_blob_outlives_the_close_of_its_connector)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "k", 1, 10 * KiB);
    ps_connector *other = open_arena("1M");
    ps_blob b;
    cr_assert_eq(other->ops->get(other, "k", &b), PS_OK);
    other->ops->close(other);
    cr_assert(ps_pattern_check(b.data, 10 * KiB, 1));
    ps_blob_release(&b);
    c->ops->close(c);
    cr_assert_not(arena_file_exists());
}

/* A forked child that goes on using its parent's connector takes a process
 * slot of its own: its reads and puts are its own, and its close removes
 * only what it put. */
Test(arena, a_forked_child_uses_the_inherited_connector_as_itself)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "parent", 1, 10 * KiB);
    ps_blob held;
    cr_assert_eq(c->ops->get(c, "parent", &held), PS_OK);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ps_blob b;
        unsigned char v[100];
        ps_pattern_fill(v, sizeof v, 2);
        ps_iov part = {v, sizeof v};
        int bad = c->ops->get(c, "parent", &b) != PS_OK || !ps_pattern_check(b.data, 10 * KiB, 1);
        if (!bad)
            ps_blob_release(&b);
        ps_blob_release(&held); /* the parent's hold: not the child's to drop */
        bad |= c->ops->put(c, "child", &part, 1) != PS_OK;
        c->ops->close(c);
        _exit(bad);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed");
    ps_blob b;
    cr_assert_eq(c->ops->get(c, "child", &b), PS_ERR_NOT_FOUND, "the child's close left its object");
    expect_pattern(c, "parent", 1, 10 * KiB);
    cr_assert_eq(c->ops->evict(c, "parent"), PS_OK);
    shm_arena_stats s = stats();
    cr_assert_eq(s.zombies, 1, "the parent's hold was dropped by the child");
    cr_assert_eq(s.attached, 1);
    ps_blob_release(&held);
    cr_assert_eq(stats().used, 0);
    c->ops->close(c);
}

Test(arena, expired_objects_read_as_missing)
{
    ps_connector *c = open_arena("1M");
    unsigned char obj[4096] = {0}; /* an object header (which holds the expiry) and a payload */
    ps_object_info info;
    ps_object_info_init(&info, &ps_type_bytes, 1, sizeof obj - PS_OBJECT_HEADER_SIZE, 0);
    ps_object_header_encode(&info, obj);
    ps_iov part = {obj, sizeof obj};
    cr_assert_eq(c->ops->put(c, "lease", &part, 1), PS_OK);
    cr_assert_eq(c->ops->put(c, "lease2", &part, 1), PS_OK);
    cr_assert_not(in_segment("lease"));
    cr_assert_not(in_segment("lease2"));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t past = (uint64_t)now.tv_sec * 1000 - 1000;
    cr_assert_eq(c->ops->set_expiry(c, "lease", past), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(c->ops->set_expiry(c, "lease2", past), PS_OK, "%s", ps_last_error_message());
    /* exists finds one expired, get the other: each must see the expiry itself. */
    bool yes = true;
    cr_assert_eq(c->ops->exists(c, "lease", &yes), PS_OK);
    cr_assert_not(yes);
    ps_blob b;
    cr_assert_eq(c->ops->get(c, "lease2", &b), PS_ERR_NOT_FOUND);
    cr_assert_eq(c->ops->get(c, "lease", &b), PS_ERR_NOT_FOUND);
    cr_assert_eq(c->ops->set_expiry(c, "lease", 0), PS_ERR_NOT_FOUND);
    cr_assert_eq(c->ops->set_expiry(c, "lease2", 0), PS_ERR_NOT_FOUND);
    cr_assert_eq(stats().used, 0, "the expired object's space was not reclaimed");
    c->ops->close(c);
}

Test(arena, claim_takes_an_arena_object_once)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "claimed", 1, 5000);
    cr_assert_not(in_segment("claimed"));
    bool claimed = false;
    cr_assert_eq(c->ops->claim(c, "claimed", &claimed), PS_OK, "%s", ps_last_error_message());
    cr_assert(claimed);
    cr_assert_eq(c->ops->claim(c, "claimed", &claimed), PS_OK);
    cr_assert_not(claimed, "a second claim took the object again");
    bool yes = true;
    cr_assert_eq(c->ops->exists(c, "claimed", &yes), PS_OK);
    cr_assert_not(yes);
    cr_assert_eq(stats().live, 0);
    c->ops->close(c);
}

typedef struct seen {
    int arena_items;
    uint64_t len;
} seen;

static bool count_item(const ps_list_entry *e, void *ctx)
{
    seen *s = ctx;
    if (e->key && strcmp(e->key, "listed") == 0 && strstr(e->entry, ".arena/")) {
        s->arena_items++;
        s->len = e->len;
    }
    return true;
}

Test(arena, listing_shows_arena_objects_and_the_arena_is_not_an_entry)
{
    ps_connector *c = open_arena("1M");
    put_pattern(c, "listed", 1, 5000);
    seen s = {0, 0};
    cr_assert_eq(c->ops->list(c, count_item, &s), PS_OK);
    cr_assert_eq(s.arena_items, 1);
    cr_assert_eq(s.len, 5000);
    char name[128];
    snprintf(name, sizeof name, "ps-%s+.arena", store_name);
    cr_assert_eq(c->ops->remove_entry(c, name), PS_ERR_INVALID_ARGUMENT);
    cr_assert(arena_file_exists());
    expect_pattern(c, "listed", 1, 5000);
    c->ops->close(c);
}

Test(arena, set_once_objects_stay_in_segments_and_respect_the_arena)
{
    ps_connector *c = open_arena("1M");
    unsigned char v[100] = {1};
    ps_iov part = {v, sizeof v};
    cr_assert_eq(c->ops->put_new(c, "future", &part, 1), PS_OK);
    cr_assert(in_segment("future"), "a set-once object must wake its waiters through its segment");
    cr_assert_eq(c->ops->put_new(c, "future", &part, 1), PS_ERR_EXISTS);
    put_pattern(c, "plain", 1, 100);
    cr_assert_eq(c->ops->put_new(c, "plain", &part, 1), PS_ERR_EXISTS);
    ps_blob b;
    cr_assert_eq(c->ops->wait_get(c, "plain", 1000, &b), PS_OK);
    ps_blob_release(&b);
    c->ops->close(c);
}

/* Size 0 opens only an arena that exists: none is PS_ERR_NOT_FOUND and no
 * file.  Retiring an arena removes its name at once, for every process
 * that maps it, while their mappings stay readable; the name then opens
 * nothing. */
Test(arena, open_existing_only_and_retire)
{
    int dirfd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dirfd, 0);
    char name[128];
    snprintf(name, sizeof name, "ps-%s+.arena", store_name);
    shm_arena *owner = NULL, *peer = NULL, *late = NULL;
    cr_assert_eq(shm_arena_open(dirfd, name, 0, "test", &peer), PS_ERR_NOT_FOUND);
    cr_assert(strstr(ps_last_error_message(), name), "%s", ps_last_error_message());
    cr_assert_not(arena_file_exists(), "opening an existing arena made one");
    cr_assert_eq(shm_arena_open(dirfd, name, MiB, "test", &owner), PS_OK, "%s", ps_last_error_message());
    cr_assert_eq(shm_arena_open(dirfd, name, 0, "test", &peer), PS_OK, "%s", ps_last_error_message());
    const char data[] = "kept across the retire";
    ps_iov part = {data, sizeof data};
    bool placed = false;
    cr_assert_eq(shm_arena_put(owner, "k", &part, 1, NULL, NULL, &placed), PS_OK, "%s", ps_last_error_message());
    cr_assert(placed);
    cr_assert_not(shm_arena_retired(peer));
    shm_arena_retire(owner);
    cr_assert(shm_arena_retired(peer), "the peer does not see the retire");
    cr_assert_not(arena_file_exists(), "a retired arena's name stays");
    cr_assert_eq(shm_arena_open(dirfd, name, 0, "test", &late), PS_ERR_NOT_FOUND);
    ps_blob b = {0};
    bool found = false;
    cr_assert_eq(shm_arena_get(peer, "k", &b, &found), PS_OK, "%s", ps_last_error_message());
    cr_assert(found && b.len == sizeof data && memcmp(b.data, data, sizeof data) == 0);
    ps_blob_release(&b);
    shm_arena_close(peer);
    shm_arena_close(owner);
    close(dirfd);
}

static ps_status open_status(const char *text) { return ps_check_open_status(&ps_shm_connector, text); }

Test(arena, bad_sizes_are_refused_and_zero_means_segments)
{
    const char *bad[] = {"abc", "", "12Q", "2T", "1K5", "-1", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[160];
        snprintf(text, sizeof text, "shm://%s?arena=%s", store_name, bad[i]);
        cr_assert_eq(open_status(text), PS_ERR_BAD_URL, "arena=%s accepted", bad[i]);
    }
    char text[160];
    snprintf(text, sizeof text, "shm://%s?arena=1M&colour=red", store_name);
    cr_assert_eq(open_status(text), PS_ERR_BAD_URL);
    ps_connector *c = open_arena("0");
    cr_assert_not(arena_file_exists());
    put_pattern(c, "k", 1, 100);
    cr_assert(in_segment("k"));
    c->ops->close(c);
}

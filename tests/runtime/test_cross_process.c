/*
 * test_cross_process.c — proxies cross a process boundary.
 *
 * This process is the producer: it puts patterned objects (plain-data arrays
 * from 1 byte to 8 MB, arrays of structs, a custom-serialized record) in a
 * shm, file or redis store, serializes their proxies, and runs the consumer,
 * helper_resolve, a separate program that gets only the descriptors on its
 * stdin.  The consumer re-creates the store from each descriptor, resolves,
 * and checks every byte and the hash; its exit status and output say whether
 * everything arrived intact.  Malformed descriptors must give the consumer a
 * clear error and a non-zero exit, never a crash.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xxhash.h>

#include "helper_resolve.h"
#include "dir_entries.h"
#include "test_urls.h"

#define CONSUMER PS_TEST_BINARY_DIR "/helper_resolve"

/* ----------------------------------------------------- running the consumer */

typedef struct run_result {
    int status; /* as from waitpid */
    char *out, *err;
} run_result;

static char *slurp_fd(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    cr_assert_geq(size, 0);
    char *text = malloc((size_t)size + 1);
    cr_assert_not_null(text);
    cr_assert_eq(pread(fd, text, (size_t)size, 0), size);
    text[size] = '\0';
    close(fd);
    return text;
}

/* Run the consumer with input on its stdin; its stdout and stderr go to
 * memory files, so neither side can block on a full pipe. */
static run_result run_consumer(const char *input)
{
    int in[2];
    cr_assert_eq(pipe(in), 0);
    int out = memfd_create("consumer-out", 0), err = memfd_create("consumer-err", 0);
    cr_assert(out >= 0 && err >= 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out, 1);
        dup2(err, 2);
        close(in[0]);
        close(in[1]);
        /* The consumer links Criterion (through ps_test_support); with this
         * variable inherited from our test worker its start-up code would
         * take itself for a worker too and abort. */
        unsetenv("BXFI_MAP");
        execl(CONSUMER, CONSUMER, (char *)NULL);
        dprintf(2, "cannot exec %s: %s\n", CONSUMER, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    signal(SIGPIPE, SIG_IGN); /* a consumer that exits early must not kill us */
    size_t len = strlen(input), done = 0;
    while (done < len) {
        ssize_t w = write(in[1], input + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(in[1]);
    run_result r;
    cr_assert_eq(waitpid(pid, &r.status, 0), pid);
    r.out = slurp_fd(out);
    r.err = slurp_fd(err);
    return r;
}

static void free_result(run_result *r)
{
    free(r->out);
    free(r->err);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

/* -------------------------------------------------------- the producer side */

/* Input text for the consumer, grown line by line. */
typedef struct script {
    char *text;
    size_t len, cap;
    int lines;
} script;

static void script_add(script *s, const char *tag, uint64_t seed, size_t count, uint64_t hash,
                       const char *descriptor)
{
    cr_assert_null(strchr(descriptor, '\n'), "a descriptor is one line: %s", descriptor);
    size_t need = strlen(descriptor) + 128;
    if (s->len + need > s->cap) {
        s->cap = (s->len + need) * 2;
        s->text = realloc(s->text, s->cap);
        cr_assert_not_null(s->text);
    }
    s->len += (size_t)snprintf(s->text + s->len, s->cap - s->len, "%s %" PRIu64 " %zu %016" PRIx64 " %s\n",
                               tag, seed, count, hash, descriptor);
    s->lines++;
}

/* Shared-memory stores this process produced into.  A failed assertion ends
 * a test before its cleanup; the suite's fini then unlinks what is left, so
 * a failing run does not leave segments in /dev/shm. */
static char shm_names[8][64];
static int nshm_names;

static void remove_leftover_segments(void)
{
    for (int i = 0; i < nshm_names; i++) {
        char prefix[80];
        snprintf(prefix, sizeof prefix, "ps-%.63s+", shm_names[i]);
        ps_test_remove_entries("/dev/shm", prefix);
    }
}

TestSuite(cross_process, .fini = remove_leftover_segments);

/* The objects one store holds for the test; proxies stay alive (and so do
 * the objects) until producer_free, after the consumer is done. */
typedef struct producer {
    char *url;
    ps_store *store;
    ps_proxy_t *proxies[32];
    int nproxies;
} producer;

/* Consumers (which inherit our environment) trust url: a descriptor may
 * only re-create a store its process opened or allowed. */
static void trust_in_consumers(const char *url)
{
    const char *old = getenv("PS_TRUSTED_URLS");
    char *both;
    cr_assert_geq(asprintf(&both, "%s %s", old ? old : "", url), 0);
    setenv("PS_TRUSTED_URLS", both, 1);
    free(both);
}

static void producer_open(producer *p, const char *kind)
{
    memset(p, 0, sizeof *p);
    p->url = ps_test_url_for(kind);
    cr_assert_not_null(p->url, "no test URL for %s: %s", kind, ps_last_error_message());
    if (strncmp(p->url, "shm://", 6) == 0 && nshm_names < 8)
        snprintf(shm_names[nshm_names++], sizeof shm_names[0], "%s", p->url + 6);
    char name[64];
    static int n;
    snprintf(name, sizeof name, "xp-%s-%ld-%d", kind, (long)getpid(), n++);
    p->store = ps_store_open(name, p->url, NULL);
    cr_assert_not_null(p->store, "open %s: %s", p->url, ps_last_error_message());
    trust_in_consumers(p->url);
}

static ps_proxy_t *keep(producer *p, ps_proxy_t *proxy)
{
    cr_assert_not_null(proxy, "proxy: %s", ps_last_error_message());
    cr_assert_lt(p->nproxies, 32);
    p->proxies[p->nproxies++] = proxy;
    return proxy;
}

/* Put a patterned array of count elements of tag's type; add its line. */
static void produce_array(producer *p, script *s, const char *tag, uint64_t seed, size_t count)
{
    const ps_type *type = xp_type_of(tag);
    size_t bytes = count * type->size;
    void *data = calloc(1, bytes ? bytes : 1); /* zeroed struct padding */
    cr_assert_not_null(data);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(tag, "bytes") == 0)
            ((unsigned char *)data)[i] = xp_byte(seed, i);
        else if (strcmp(tag, "int64") == 0)
            ((int64_t *)data)[i] = xp_int64(seed, i);
        else
            ((struct xp_point *)data)[i] = xp_point_at(seed, i);
    }
    uint64_t hash = XXH3_64bits(data, bytes);
    ps_proxy_t *proxy = keep(p, ps_proxy_array(p->store, type, data, count));
    free(data); /* the store has its own copy now */
    cr_assert_eq(ps_proxy_hash(proxy), hash, "the proxy's hash is the payload's XXH3-64");
    char *descriptor = ps_proxy_serialize(proxy);
    cr_assert_not_null(descriptor, "%s", ps_last_error_message());
    script_add(s, tag, seed, count, hash, descriptor);
    free(descriptor);
}

static void produce_record(producer *p, script *s, uint64_t seed)
{
    struct ps_test_record *r = xp_record_make(seed);
    cr_assert_not_null(r);
    ps_buffer buf = {0};
    cr_assert_eq(ps_test_record_serialize(r, &buf), PS_OK);
    uint64_t hash = XXH3_64bits(buf.data, buf.len);
    free(buf.data);
    ps_proxy_t *proxy = keep(p, ps_proxy(p->store, &ps_test_record_type, r));
    ps_test_record_free(r);
    char *descriptor = ps_proxy_serialize(proxy);
    cr_assert_not_null(descriptor, "%s", ps_last_error_message());
    script_add(s, "record", seed, 1, hash, descriptor);
    free(descriptor);
}

/* The full set: byte arrays around page and alignment boundaries up to 8 MB,
 * arrays of int64 and of structs, two custom records. */
static void produce_all(producer *p, script *s)
{
    static const size_t byte_sizes[] = {1, 7, 63, 64, 65, 4095, 4096, 4097, 65539,
                                        (1u << 20) + 1, 8u << 20};
    uint64_t seed = 11;
    for (size_t i = 0; i < sizeof byte_sizes / sizeof *byte_sizes; i++)
        produce_array(p, s, "bytes", seed++, byte_sizes[i]);
    produce_array(p, s, "int64", seed++, 1);
    produce_array(p, s, "int64", seed++, 100003);
    produce_array(p, s, "point", seed++, 1);
    produce_array(p, s, "point", seed++, 3333);
    produce_record(p, s, seed++);
    produce_record(p, s, seed++);
}

/* After the consumer: the objects are still there (a consumer's close
 * deletes nothing it did not put), then the producer cleans up. */
static void producer_free(producer *p)
{
    for (int i = 0; i < p->nproxies; i++) {
        bool exists = false;
        cr_assert_eq(ps_store_exists(p->store, ps_proxy_key(p->proxies[i]), &exists), PS_OK);
        cr_assert(exists, "object %s outlived the consumer", ps_proxy_key(p->proxies[i]));
        cr_assert_eq(ps_proxy_evict(p->proxies[i]), PS_OK, "%s", ps_last_error_message());
    }
    ps_store_close(p->store);
    free(p->url);
}

static void assert_all_ok(const run_result *r, const script *s)
{
    cr_assert(WIFEXITED(r->status), "the consumer crashed (signal %d); stderr:\n%s",
              WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->err);
    cr_assert_eq(WEXITSTATUS(r->status), XP_EXIT_OK, "consumer exit %d\nstdout:\n%s\nstderr:\n%s",
                 WEXITSTATUS(r->status), r->out, r->err);
    cr_assert_eq(count_lines_starting(r->out, "ok "), s->lines, "stdout:\n%s", r->out);
    cr_assert_eq(count_lines_starting(r->out, "FAIL"), 0, "stdout:\n%s", r->out);
}

static void round_trip(const char *kind)
{
    producer p;
    script s = {0};
    producer_open(&p, kind);
    produce_all(&p, &s);
    run_result r = run_consumer(s.text);
    assert_all_ok(&r, &s);
    free_result(&r);
    producer_free(&p);
    free(s.text);
}

Test(cross_process, shm, .timeout = 120) { round_trip("shm"); }
Test(cross_process, shm_arena, .timeout = 120) { round_trip("shm-arena"); }
Test(cross_process, file, .timeout = 120) { round_trip("file"); }
Test(cross_process, redis, .timeout = 120) { round_trip("redis"); }

/* One consumer, proxies from three stores on three connectors. */
Test(cross_process, one_consumer_three_connectors, .timeout = 120)
{
    static const char *const kinds[] = {"shm", "file", "redis"};
    producer p[3];
    script s = {0};
    for (int i = 0; i < 3; i++) {
        producer_open(&p[i], kinds[i]);
        produce_array(&p[i], &s, "bytes", 100 + (uint64_t)i, 5000 + (size_t)i);
        produce_record(&p[i], &s, 200 + (uint64_t)i);
    }
    run_result r = run_consumer(s.text);
    assert_all_ok(&r, &s);
    free_result(&r);
    for (int i = 0; i < 3; i++)
        producer_free(&p[i]);
    free(s.text);
}

/* ------------------------------------------------ the consumer must check */

/* A wrong expectation is caught: the consumer really compares bytes. */
Test(cross_process, a_wrong_expectation_fails_the_consumer)
{
    producer p;
    script s = {0};
    producer_open(&p, "shm");
    produce_array(&p, &s, "bytes", 1, 1000);
    /* Same descriptor, other seed: the contents cannot match. */
    char *line = strdup(s.text);
    char *desc = strchr(line, ' ');
    for (int i = 0; i < 3; i++)
        desc = strchr(desc + 1, ' ');
    s.len = (size_t)snprintf(s.text, s.cap, "bytes 2 1000 %016" PRIx64 " %s",
                             ps_proxy_hash(p.proxies[0]), desc + 1);
    free(line);
    run_result r = run_consumer(s.text);
    cr_assert(WIFEXITED(r.status));
    cr_assert_eq(WEXITSTATUS(r.status), XP_EXIT_MISMATCH, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
    cr_assert(strstr(r.out, "FAIL bytes line 1: element 0 of 1000 differs"), "stdout:\n%s", r.out);
    free_result(&r);
    producer_free(&p);
    free(s.text);
}

/* ----------------------------------------------- malformed descriptors */

static void expect_consumer_error(const char *input, const char *reason)
{
    run_result r = run_consumer(input);
    cr_assert(WIFEXITED(r.status), "the consumer crashed on %.60s (signal %d); stderr:\n%s", input,
              WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0, r.err);
    cr_assert_eq(WEXITSTATUS(r.status), XP_EXIT_ERROR, "input %.60s\nstdout:\n%s\nstderr:\n%s", input,
                 r.out, r.err);
    cr_assert(strstr(r.err, reason), "expected '%s' in stderr:\n%s", reason, r.err);
    cr_assert_eq(count_lines_starting(r.out, "ok "), 0);
    free_result(&r);
}

Test(cross_process, malformed_descriptors_are_clear_errors, .timeout = 120)
{
    producer p;
    script s = {0};
    producer_open(&p, "shm");
    produce_array(&p, &s, "int64", 3, 4000);
    char *valid = strdup(s.text);
    char *desc = valid;
    for (int i = 0; i < 4; i++)
        desc = strchr(desc, ' ') + 1;
    desc[strcspn(desc, "\n")] = '\0';
    char head[64];
    snprintf(head, sizeof head, "int64 3 4000 %016" PRIx64 " ", ps_proxy_hash(p.proxies[0]));
    size_t dlen = strlen(desc);
    char *input = malloc(dlen + (2u << 20));

    /* Not a descriptor at all. */
    snprintf(input, dlen + 256, "%sthis is not a descriptor\n", head);
    expect_consumer_error(input, "PS_ERR_BAD_DESCRIPTOR");
    /* An empty one. */
    snprintf(input, dlen + 256, "%s\n", head);
    expect_consumer_error(input, "cannot deserialize");
    /* Truncated at several points. */
    size_t cuts[] = {1, dlen / 3, dlen / 2, dlen - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        snprintf(input, dlen + 256, "%s%.*s\n", head, (int)cuts[i], desc);
        expect_consumer_error(input, "PS_ERR_BAD_DESCRIPTOR");
    }
    /* Binary junk in the middle. */
    snprintf(input, dlen + 256, "%s%.*s\x01\xff\x7f%s\n", head, (int)(dlen / 2), desc, desc + dlen / 2 + 3);
    expect_consumer_error(input, "cannot deserialize");
    /* A huge line: 1 MB after a valid prefix. */
    int n = snprintf(input, dlen + 256, "%s%s", head, desc);
    memset(input + n, 'x', 1u << 20);
    strcpy(input + n + (1u << 20), "\n");
    expect_consumer_error(input, "cannot deserialize");
    /* A valid descriptor read as another type. */
    snprintf(input, dlen + 256, "point 3 4000 %016" PRIx64 " %s\n", ps_proxy_hash(p.proxies[0]), desc);
    expect_consumer_error(input, "PS_ERR_TYPE_MISMATCH");

    /* A good line after a bad one is still checked, and the exit says error. */
    snprintf(input, dlen + 256, "%sgarbage\n%s%s\n", head, head, desc);
    run_result r = run_consumer(input);
    cr_assert(WIFEXITED(r.status));
    cr_assert_eq(WEXITSTATUS(r.status), XP_EXIT_ERROR);
    cr_assert_eq(count_lines_starting(r.out, "ok "), 1, "stdout:\n%s", r.out);
    free_result(&r);

    free(input);
    free(valid);
    producer_free(&p);
    free(s.text);
}

/* A well-formed descriptor whose object is gone: not found, not a crash. */
Test(cross_process, a_descriptor_of_an_evicted_object_is_not_found)
{
    static const char *const kinds[] = {"shm", "file"};
    for (int k = 0; k < 2; k++) {
        producer p;
        script s = {0};
        producer_open(&p, kinds[k]);
        produce_array(&p, &s, "bytes", 9, 100);
        cr_assert_eq(ps_store_evict(p.store, ps_proxy_key(p.proxies[0])), PS_OK);
        expect_consumer_error(s.text, "PS_ERR_NOT_FOUND");
        ps_proxy_free(p.proxies[0]);
        ps_store_close(p.store);
        free(p.url);
        free(s.text);
    }
}

/* A consumer that was not told to trust the producer's store refuses its
 * descriptors, naming the URL, and opens nothing. */
Test(cross_process, an_untrusted_store_is_refused)
{
    static const char *const kinds[] = {"shm", "file", "redis"};
    for (int k = 0; k < 3; k++) {
        producer p;
        script s = {0};
        producer_open(&p, kinds[k]);
        unsetenv("PS_TRUSTED_URLS");
        produce_array(&p, &s, "bytes", 9, 100);
        char reason[300];
        snprintf(reason, sizeof reason, "PS_ERR_BAD_DESCRIPTOR: descriptor names the store URL '%s', which "
                 "this process has not opened or allowed", p.url);
        expect_consumer_error(s.text, reason);
        ps_proxy_evict(p.proxies[0]);
        ps_store_close(p.store);
        free(p.url);
        free(s.text);
    }
}

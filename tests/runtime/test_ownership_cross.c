/*
 * test_ownership_cross.c — ownership across real process boundaries.
 *
 * This process owns; helper_borrower, a separate program exec'd per
 * borrower, takes borrows and owners from descriptors and acts on command
 * (protocol in helper_borrower.c).  Checked on shm, file and Redis:
 *   - the owner's release is refused until both borrowers have released;
 *   - a borrower killed with SIGKILL stops pinning the object once its
 *     lease runs out;
 *   - a moved owner evicts exactly once, from the process that holds it;
 *   - an exclusive borrow's update in another process is what the owner
 *     sees afterwards;
 *   - (Redis) a producer killed inside a lease: its objects are gone after
 *     the lease, as seen from here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proxystore/proxystore.h>

#include "test_urls.h"

#define BORROWER PS_TEST_BINARY_DIR "/helper_borrower"
#define N 4096
#define LEASE_MS 2000 /* generous: a sanitized helper on a loaded machine takes a while to start */

typedef struct child {
    pid_t pid;
    FILE *to, *from;
} child;

static child spawn(void)
{
    int in[2], out[2];
    /* close-on-exec: a later helper must not keep this one's stdin open */
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        unsetenv("BXFI_MAP"); /* see test_cross_process.c */
        execl(BORROWER, BORROWER, (char *)NULL);
        dprintf(2, "cannot exec %s: %s\n", BORROWER, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    child c = {pid, fdopen(in[1], "w"), fdopen(out[0], "r")};
    cr_assert(c.to && c.from);
    setvbuf(c.to, NULL, _IOLBF, 0);
    return c;
}

/* Send one command and return its answer line (static buffer). */
static const char *ask(child *c, const char *fmt, const char *arg)
{
    static char answer[8192];
    fprintf(c->to, fmt, arg);
    fputc('\n', c->to);
    fflush(c->to);
    cr_assert_not_null(fgets(answer, sizeof answer, c->from), "the helper died");
    answer[strcspn(answer, "\n")] = '\0';
    return answer;
}

static void finish(child *c)
{
    fclose(c->to);
    int status;
    cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
    fclose(c->from);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "helper status %d", status);
}

static void kill_child(child *c)
{
    kill(c->pid, SIGKILL);
    int status;
    waitpid(c->pid, &status, 0);
    fclose(c->to);
    fclose(c->from);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define ASSERT_OK(answer, prefix)                                                             \
    do {                                                                                      \
        const char *a_ = (answer);                                                            \
        cr_assert(strncmp(a_, prefix, strlen(prefix)) == 0, "expected '%s', got '%s'", prefix, a_); \
    } while (0)

static const char *const kinds[] = {"shm", "file", "redis"};

static ps_store *open_kind(const char *kind, char **url)
{
    *url = ps_test_url_for(kind);
    cr_assert_not_null(*url);
    ps_store_options opts = {.cache_size = -1, .borrow_lease_ms = LEASE_MS};
    ps_store *s = ps_store_open(kind, *url, &opts);
    cr_assert_not_null(s, "%s", ps_last_error_message());
    return s;
}

static ps_proxy_t *make_owner(ps_store *s)
{
    static int64_t v[N];
    for (int i = 0; i < N; i++)
        v[i] = 10 + i;
    ps_proxy_t *o = ps_owned_array(s, &ps_type_int64, v, N);
    cr_assert_not_null(o, "%s", ps_last_error_message());
    return o;
}

static bool stored(ps_store *s, const char *key)
{
    bool there = false;
    cr_assert_eq(ps_store_exists(s, key, &there), PS_OK, "%s", ps_last_error_message());
    return there;
}

Test(ownership_cross, release_waits_for_borrowers_in_two_processes, .timeout = 120)
{
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        char *url;
        ps_store *s = open_kind(kinds[k], &url);
        ps_proxy_t *o = make_owner(s);
        char key[PS_KEY_MAX];
        snprintf(key, sizeof key, "%s", ps_proxy_key(o));
        char *d1 = ps_proxy_serialize(ps_borrow(o)), *d2 = ps_proxy_serialize(ps_borrow(o));
        cr_assert(d1 && d2, "%s", ps_last_error_message());
        child a = spawn(), b = spawn();
        ASSERT_OK(ask(&a, "take %s", d1), "ok ref 10 4105");
        ASSERT_OK(ask(&b, "take %s", d2), "ok ref 10 4105");
        cr_assert_eq(ps_owned_release(o), PS_ERR_STATE, "%s", kinds[k]);
        cr_assert(strstr(ps_last_error_message(), "2 shared borrows in other processes"), "%s",
                  ps_last_error_message());
        sleep_ms(LEASE_MS * 2); /* held past its lease: the holders renew */
        ASSERT_OK(ask(&a, "release", NULL), "ok");
        cr_assert_eq(ps_owned_release(o), PS_ERR_STATE);
        cr_assert(strstr(ps_last_error_message(), "1 shared borrow in other processes"), "%s",
                  ps_last_error_message());
        ASSERT_OK(ask(&b, "release", NULL), "ok");
        cr_assert_eq(ps_owned_release(o), PS_OK, "%s: %s", kinds[k], ps_last_error_message());
        cr_assert_not(stored(s, key));
        finish(&a);
        finish(&b);
        free(d1);
        free(d2);
        ps_store_close(s);
        free(url);
    }
}

Test(ownership_cross, a_killed_borrower_stops_pinning_after_its_lease, .timeout = 120)
{
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        char *url;
        ps_store *s = open_kind(kinds[k], &url);
        ps_proxy_t *o = make_owner(s);
        char *d = ps_proxy_serialize(ps_borrow_mut(o));
        child a = spawn();
        ASSERT_OK(ask(&a, "take %s", d), "ok ref_mut");
        kill_child(&a);
        cr_assert_eq(ps_owned_release(o), PS_ERR_STATE, "the record outlives its holder for one lease");
        cr_assert(strstr(ps_last_error_message(), "exclusive borrow"), "%s", ps_last_error_message());
        sleep_ms(LEASE_MS + 600);
        cr_assert_eq(ps_owned_release(o), PS_OK, "%s: %s", kinds[k], ps_last_error_message());
        free(d);
        ps_store_close(s);
        free(url);
    }
}

Test(ownership_cross, a_moved_owner_evicts_once_from_its_last_holder, .timeout = 120)
{
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        char *url;
        ps_store *s = open_kind(kinds[k], &url);
        ps_proxy_t *o = make_owner(s);
        char key[PS_KEY_MAX];
        snprintf(key, sizeof key, "%s", ps_proxy_key(o));
        char *d = ps_proxy_serialize(o);
        cr_assert_not_null(d);
        cr_assert_eq(ps_owned_release(o), PS_ERR_STATE, "the sender's handle is gone");
        child a = spawn(), b = spawn();
        ASSERT_OK(ask(&a, "take %s", d), "ok owned 10 4105");
        ASSERT_OK(ask(&b, "take %s", d), "err PS_ERR_STATE"); /* the second copy gets nothing */
        cr_assert_null(ps_proxy_deserialize(d, &ps_type_int64), "nor does the sender");
        cr_assert(stored(s, key));
        ASSERT_OK(ask(&a, "release", NULL), "ok");
        cr_assert_not(stored(s, key), "evicted by the process that held it last");
        finish(&a);
        finish(&b);
        free(d);
        ps_store_close(s);
        free(url);
    }
}

Test(ownership_cross, an_update_in_another_process_reaches_the_owner, .timeout = 120)
{
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        char *url;
        ps_store *s = open_kind(kinds[k], &url);
        ps_proxy_t *o = make_owner(s);
        cr_assert_eq(PS_RESOLVE_REF(int64_t, o)[0], 10, "cached here before the update");
        char *d = ps_proxy_serialize(ps_borrow_mut(o));
        child a = spawn();
        ASSERT_OK(ask(&a, "take %s", d), "ok ref_mut 10");
        ASSERT_OK(ask(&a, "mutate", NULL), "ok");
        ASSERT_OK(ask(&a, "release", NULL), "ok");
        finish(&a);
        const int64_t *v = PS_RESOLVE_REF(int64_t, o);
        cr_assert_not_null(v, "%s", ps_last_error_message());
        cr_assert_eq(v[0], 11, "%s: the owner sees the new version, not its cached one", kinds[k]);
        cr_assert_eq(v[N - 1], 10 + N);
        /* and so does another process */
        char *d2 = ps_proxy_serialize(ps_borrow(o));
        child b = spawn();
        ASSERT_OK(ask(&b, "take %s", d2), "ok ref 11 4106");
        ASSERT_OK(ask(&b, "release", NULL), "ok");
        finish(&b);
        cr_assert_eq(ps_owned_release(o), PS_OK, "%s", ps_last_error_message());
        free(d);
        free(d2);
        ps_store_close(s);
        free(url);
    }
}

Test(ownership_cross, a_killed_producers_lease_objects_go_away_on_redis, .timeout = 60)
{
    char *url = ps_test_url_for("redis");
    cr_assert_not_null(url);
    ps_store *s = ps_store_open("leased", url, NULL); /* same name and URL as the producer's */
    cr_assert_not_null(s, "%s", ps_last_error_message());
    child p = spawn();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s 700 3", url);
    const char *answer = ask(&p, "lease %s", cmd);
    ASSERT_OK(answer, "ok ");
    char keys[3][PS_KEY_MAX];
    cr_assert_eq(sscanf(answer, "ok %127s %127s %127s", keys[0], keys[1], keys[2]), 3, "%s", answer);
    kill_child(&p);
    for (int i = 0; i < 3; i++)
        cr_assert(stored(s, keys[i]), "alive until the lease ends");
    sleep_ms(1100);
    for (int i = 0; i < 3; i++)
        cr_assert_not(stored(s, keys[i]), "the server expired what the dead producer left");
    ps_store_close(s);
    free(url);
}

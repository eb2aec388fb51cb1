/*
 * redis_server.h — private redis-server processes for the tests.
 *
 * Each server listens on a free port on 127.0.0.1 only and keeps nothing on
 * disk (--save '' --appendonly no); it starts in its own temporary
 * directory, which holds its log until it answers and is removed then.
 * Never the default port, never a shared server.
 *
 * A server dies with the thread that started it (PR_SET_PDEATHSIG), so a
 * crashed test leaves nothing behind; start servers from the test's main
 * thread.  ps_test_redis_url()'s server is also stopped at exit.
 */
#ifndef PS_TEST_REDIS_SERVER_H
#define PS_TEST_REDIS_SERVER_H

#include <sys/types.h>

#define PS_TEST_REDIS_MAX_ARGS 16

typedef struct ps_test_redis {
    pid_t pid;   /* 0 when not running */
    int port;
    char dir[256]; /* the start directory (gone while the server runs) */
    /* extra arguments kept for ps_test_redis_restart */
    char *extra[PS_TEST_REDIS_MAX_ARGS + 1];
} ps_test_redis;

/* Start a server; extra_args (NULL-terminated, may be NULL) are appended to
 * the command line, e.g. {"--requirepass", "secret", NULL}.  Returns 0 once
 * the server answers, -1 (with a message on stderr) otherwise. */
int ps_test_redis_start(ps_test_redis *srv, const char *const extra_args[]);
/* Start again on the same port and directory after ps_test_redis_kill. */
int ps_test_redis_restart(ps_test_redis *srv);
/* SIGKILL, as a crash would; the directory stays for a restart. */
void ps_test_redis_kill(ps_test_redis *srv);
/* Stop by pid (SIGTERM, then SIGKILL), remove the directory. */
void ps_test_redis_stop(ps_test_redis *srv);
/* Write "redis://127.0.0.1:PORT" for srv into buf; returns buf. */
const char *ps_test_redis_server_url(const ps_test_redis *srv, char *buf, size_t size);

/* PS_TEST_REDIS_URL if set, else a server started once per process and
 * stopped when that process exits; NULL if none could be started. */
const char *ps_test_redis_url(void);

#endif /* PS_TEST_REDIS_SERVER_H */

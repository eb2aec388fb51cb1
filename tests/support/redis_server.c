/* redis_server.c — private redis-server processes for the tests (see
 * redis_server.h). */
#include "redis_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_ATTEMPTS 8
#define READY_TIMEOUT_MS 10000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A port nobody listens on now: bind port 0 and ask the kernel. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* True once something on the port answers PING (+PONG, or -NOAUTH when a
 * password is required: both mean the server is up). */
static bool answers_ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
        char buf[64];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ok = n > 0 && (buf[0] == '+' || buf[0] == '-');
    }
    close(fd);
    return ok;
}

/* Reap pid if it is our child and has exited; true if it is gone. */
static bool reap(pid_t pid, bool block)
{
    int status;
    pid_t r = waitpid(pid, &status, block ? 0 : WNOHANG);
    if (r == pid)
        return true;
    if (r < 0 && errno == ECHILD) /* not ours (a forked test): poll instead */
        return kill(pid, 0) != 0 && errno == ESRCH;
    return false;
}

static pid_t spawn(const ps_test_redis *srv)
{
    char port[16];
    snprintf(port, sizeof port, "%d", srv->port);
    char log[sizeof srv->dir + 16];
    snprintf(log, sizeof log, "%s/redis.log", srv->dir);
    const char *argv[16 + PS_TEST_REDIS_MAX_ARGS] = {
        "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", srv->dir, "--logfile", log, "--daemonize", "no",
    };
    size_t argc = 15;
    for (size_t i = 0; srv->extra[i]; i++)
        argv[argc++] = srv->extra[i];
    argv[argc] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: die with the starting thread, hold none of its descriptors
     * (a test runner's pipes must see EOF when the test ends). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    closefrom(3);
    execvp("redis-server", (char *const *)argv);
    _exit(127);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The server's log, on stderr, when it would not start. */
static void show_log(const ps_test_redis *srv)
{
    char path[sizeof srv->dir + 16];
    snprintf(path, sizeof path, "%s/redis.log", srv->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "redis test server: %s", line);
    fclose(f);
}

/* Spawn on srv->port and wait until it answers; 0 on success.  The
 * directory only serves the start (the log, if it fails): a running server
 * with --save '' and --appendonly no writes nothing there, so it is removed
 * at once and a test that crashes leaves no directory behind. */
static int launch(ps_test_redis *srv)
{
    if (mkdir(srv->dir, 0700) != 0 && errno != EEXIST)
        return -1;
    pid_t pid = spawn(srv);
    if (pid < 0)
        return -1;
    for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 10) {
        if (reap(pid, false))
            break; /* exited: the port was taken, or no redis-server */
        if (answers_ping(srv->port)) {
            srv->pid = pid;
            remove_dir(srv->dir);
            return 0;
        }
        sleep_ms(10);
    }
    if (kill(pid, SIGKILL) == 0)
        reap(pid, true);
    return -1;
}

static void free_extra(ps_test_redis *srv)
{
    for (size_t i = 0; srv->extra[i]; i++) {
        free(srv->extra[i]);
        srv->extra[i] = NULL;
    }
}

int ps_test_redis_start(ps_test_redis *srv, const char *const extra_args[])
{
    memset(srv, 0, sizeof *srv);
    const char *tmp = getenv("TMPDIR");
    snprintf(srv->dir, sizeof srv->dir, "%s/ps-redis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(srv->dir)) {
        fprintf(stderr, "redis test server: mkdtemp %s: %s\n", srv->dir, strerror(errno));
        srv->dir[0] = '\0';
        return -1;
    }
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (i == PS_TEST_REDIS_MAX_ARGS || !(srv->extra[i] = strdup(extra_args[i]))) {
            fprintf(stderr, "redis test server: too many extra arguments\n");
            ps_test_redis_stop(srv);
            return -1;
        }
    }
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
        srv->port = free_port();
        if (srv->port > 0 && launch(srv) == 0)
            return 0;
    }
    fprintf(stderr, "redis test server: could not start redis-server (is it installed?)\n");
    show_log(srv);
    ps_test_redis_stop(srv);
    return -1;
}

int ps_test_redis_restart(ps_test_redis *srv)
{
    if (srv->pid > 0)
        ps_test_redis_kill(srv);
    /* The old listening socket is gone with the process; retry briefly in
     * case the kernel is still releasing the port. */
    for (int attempt = 0; attempt < 50; attempt++) {
        if (launch(srv) == 0)
            return 0;
        sleep_ms(50);
    }
    fprintf(stderr, "redis test server: could not restart on port %d\n", srv->port);
    show_log(srv);
    remove_dir(srv->dir);
    return -1;
}

void ps_test_redis_kill(ps_test_redis *srv)
{
    if (srv->pid <= 0)
        return;
    kill(srv->pid, SIGKILL);
    while (!reap(srv->pid, true))
        sleep_ms(5);
    srv->pid = 0;
}

void ps_test_redis_stop(ps_test_redis *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGCONT); /* in case a test stopped it */
        kill(srv->pid, SIGTERM);
        bool gone = false;
        for (int waited = 0; waited < 3000 && !gone; waited += 5) {
            gone = reap(srv->pid, false);
            if (!gone)
                sleep_ms(5);
        }
        if (!gone)
            ps_test_redis_kill(srv);
        srv->pid = 0;
    }
    if (srv->dir[0])
        remove_dir(srv->dir);
    srv->dir[0] = '\0';
    free_extra(srv);
}

const char *ps_test_redis_server_url(const ps_test_redis *srv, char *buf, size_t size)
{
    snprintf(buf, size, "redis://127.0.0.1:%d", srv->port);
    return buf;
}

/* ------------------------------------------- the per-process default */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_test_redis default_srv;
static pid_t default_owner;
static char default_url[64];

static void stop_default(void)
{
    /* Forked children inherit atexit handlers; only the starter stops it. */
    if (default_owner == getpid())
        ps_test_redis_stop(&default_srv);
}

/* A server dies with the thread that forked it; when the first caller is
 * not the main thread, a parked keeper thread starts it instead. */
static pthread_mutex_t keeper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t keeper_cv = PTHREAD_COND_INITIALIZER;
static int keeper_result = 1; /* 1: not done yet */

static void *keeper(void *arg)
{
    (void)arg;
    int r = ps_test_redis_start(&default_srv, NULL);
    pthread_mutex_lock(&keeper_lock);
    keeper_result = r;
    pthread_cond_broadcast(&keeper_cv);
    pthread_mutex_unlock(&keeper_lock);
    if (r == 0)
        for (;;)
            pause();
    return NULL;
}

static int start_default(void)
{
    if (gettid() == getpid())
        return ps_test_redis_start(&default_srv, NULL);
    keeper_result = 1;
    pthread_t t;
    if (pthread_create(&t, NULL, keeper, NULL) != 0)
        return -1;
    pthread_detach(t);
    pthread_mutex_lock(&keeper_lock);
    while (keeper_result == 1)
        pthread_cond_wait(&keeper_cv, &keeper_lock);
    int r = keeper_result;
    pthread_mutex_unlock(&keeper_lock);
    return r;
}

const char *ps_test_redis_url(void)
{
    const char *env = getenv("PS_TEST_REDIS_URL");
    if (env && *env)
        return env;
    pthread_mutex_lock(&default_lock);
    if (!default_url[0]) {
        if (start_default() == 0) {
            default_owner = getpid();
            atexit(stop_default);
            ps_test_redis_server_url(&default_srv, default_url, sizeof default_url);
        }
    }
    pthread_mutex_unlock(&default_lock);
    return default_url[0] ? default_url : NULL;
}

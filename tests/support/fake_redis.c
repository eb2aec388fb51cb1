/* fake_redis.c — see fake_redis.h. */
#include "fake_redis.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn {
    ps_fake_redis *f;
    int fd;
    char buf[1 << 16];
    size_t len, pos;
} conn;

/* Read more bytes; -1 on EOF or when the server stops. */
static int conn_fill(conn *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    for (;;) {
        if (atomic_load(&c->f->stop))
            return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r == 0)
            continue;
        if (r < 0 || c->len == sizeof c->buf)
            return -1;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
        return 0;
    }
}

/* One CRLF-terminated line (without CRLF) into out. */
static int conn_line(conn *c, char *out, size_t size)
{
    for (;;) {
        char *crlf = memmem(c->buf + c->pos, c->len - c->pos, "\r\n", 2);
        if (crlf) {
            size_t n = (size_t)(crlf - (c->buf + c->pos));
            snprintf(out, size, "%.*s", (int)n, c->buf + c->pos);
            c->pos += n + 2;
            return 0;
        }
        if (conn_fill(c) != 0)
            return -1;
    }
}

/* Skip n bytes and the CRLF after them; the first bytes (up to size-1)
 * are kept in first. */
static int conn_bulk(conn *c, size_t n, char *first, size_t size)
{
    size_t kept = 0, done = 0;
    while (done < n + 2) {
        if (c->pos == c->len && conn_fill(c) != 0)
            return -1;
        size_t take = c->len - c->pos < n + 2 - done ? c->len - c->pos : n + 2 - done;
        for (size_t i = 0; i < take; i++)
            if (done + i < n && kept + 1 < size)
                first[kept++] = c->buf[c->pos + i];
        c->pos += take;
        done += take;
    }
    first[kept] = '\0';
    return 0;
}

static const char *reply_for(ps_fake_redis *f, const char *cmd)
{
    atomic_fetch_add(&f->commands, 1);
    long left = atomic_load(&f->loading);
    if (left < 0 || (left > 0 && atomic_fetch_sub(&f->loading, 1) > 0))
        return "-LOADING Redis is loading the dataset in memory\r\n";
    if (strcasecmp(cmd, "PING") == 0)
        return "+PONG\r\n";
    if (strcasecmp(cmd, "GET") == 0)
        return "$-1\r\n";
    if (strcasecmp(cmd, "EXISTS") == 0 || strcasecmp(cmd, "UNLINK") == 0 || strcasecmp(cmd, "DEL") == 0)
        return ":0\r\n";
    return "+OK\r\n";
}

static void *serve(void *arg)
{
    conn *c = arg;
    char line[64], cmd[32];
    while (conn_line(c, line, sizeof line) == 0) {
        if (line[0] != '*')
            break;
        long nargs = atol(line + 1);
        cmd[0] = '\0';
        int ok = nargs > 0;
        for (long i = 0; ok && i < nargs; i++) {
            char arg_first[32];
            ok = conn_line(c, line, sizeof line) == 0 && line[0] == '$' &&
                 conn_bulk(c, (size_t)atol(line + 1), arg_first, sizeof arg_first) == 0;
            if (ok && i == 0)
                snprintf(cmd, sizeof cmd, "%s", arg_first);
        }
        if (!ok || atomic_exchange(&c->f->close_next, false))
            break;
        const char *r = reply_for(c->f, cmd);
        if (write(c->fd, r, strlen(r)) != (ssize_t)strlen(r))
            break;
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    ps_fake_redis *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        conn *c = calloc(1, sizeof *c);
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->f = f;
        c->fd = fd;
        if (pthread_create(&t, NULL, serve, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

int ps_fake_redis_start(ps_fake_redis *f, long loading)
{
    memset(f, 0, sizeof *f);
    atomic_store(&f->loading, loading);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->listen_fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->listen_fd, 16) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) != 0) {
        close(f->listen_fd);
        return -1;
    }
    f->port = ntohs(a.sin_port);
    if (pthread_create(&f->acceptor, NULL, accept_loop, f) != 0) {
        close(f->listen_fd);
        return -1;
    }
    return 0;
}

void ps_fake_redis_stop(ps_fake_redis *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->acceptor, NULL);
    close(f->listen_fd);
    /* Connection threads see stop within 100 ms and exit; give them time so
     * a leak checker at exit finds them gone. */
    usleep(250 * 1000);
}

/*
 * bench_floor.c — two more comparisons for bench_runtime, each against a
 * reference measured in the same run:
 *
 *  - Redis against its zero-copy floor: a client that sends a SET as one
 *    sendmsg straight from the caller's buffer and receives a GET's value
 *    straight into a fresh destination buffer, with no library around it.
 *    No Redis client can move the bytes with less work, so the ratio
 *    ps_store_put_key / floor SET and ps_store_get / floor GET is the
 *    library's whole overhead (hiredis' redisCommand copies values 2-3
 *    times and makes a lax reference above 1 MB).
 *  - The cost of ps_store_options.verify (hashing every payload read) on
 *    resolves from shm and file, and ps_store_get against ps_resolve.
 */
#include "bench_floor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench_time.h"
#include "url.h"

static void floor_die(const char *what)
{
    fprintf(stderr, "bench_runtime: %s: %s (%s)\n", what, strerror(errno), ps_last_error_message());
    exit(1);
}

/* ------------------------------------------------- the zero-copy client */

typedef struct floor_client {
    int fd;
    char in[1 << 16];
    size_t len, pos;
} floor_client;

static void floor_connect(floor_client *c, const char *url_text)
{
    ps_url url;
    if (ps_url_parse(url_text, &url) != PS_OK)
        floor_die("parse the redis URL");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(url.port > 0 ? url.port : 6379))};
    inet_pton(AF_INET, url.host[0] ? url.host : "127.0.0.1", &a.sin_addr);
    ps_url_free(&url);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        floor_die("connect the zero-copy floor client");
    c->len = c->pos = 0;
}

static void floor_send(floor_client *c, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0)
            floor_die("sendmsg");
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++, n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
}

/* A three-letter command on one key (GET, DEL). */
static void floor_send_key_command(floor_client *c, const char *cmd, const char *key)
{
    char proto[160];
    int n = snprintf(proto, sizeof proto, "*2\r\n$3\r\n%s\r\n$%zu\r\n%s\r\n", cmd, strlen(key), key);
    struct iovec iov[1] = {{proto, (size_t)n}};
    floor_send(c, iov, 1);
}

/* One reply line (without CRLF) into line. */
static void floor_line(floor_client *c, char *line, size_t size)
{
    for (;;) {
        char *crlf = memmem(c->in + c->pos, c->len - c->pos, "\r\n", 2);
        if (crlf) {
            size_t n = (size_t)(crlf - (c->in + c->pos));
            snprintf(line, size, "%.*s", (int)n, c->in + c->pos);
            c->pos += n + 2;
            return;
        }
        memmove(c->in, c->in + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
        ssize_t r = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
        if (r <= 0)
            floor_die("recv");
        c->len += (size_t)r;
    }
}

/* n bytes into dest: what is buffered, then straight from the socket. */
static void floor_take(floor_client *c, void *dest, size_t n)
{
    size_t have = c->len - c->pos < n ? c->len - c->pos : n;
    memcpy(dest, c->in + c->pos, have);
    c->pos += have;
    for (size_t got = have; got < n;) {
        ssize_t r = recv(c->fd, (char *)dest + got, n - got, MSG_WAITALL);
        if (r <= 0)
            floor_die("recv");
        got += (size_t)r;
    }
}

/* SET key <value = head + payload> as one sendmsg from the caller's memory. */
static double floor_set(floor_client *c, const char *key, const void *head, size_t head_len,
                        const void *payload, size_t len)
{
    double t0 = now_us();
    char proto[160];
    int n = snprintf(proto, sizeof proto, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(key), key,
                     head_len + len);
    struct iovec iov[4] = {{proto, (size_t)n}, {(void *)head, head_len}, {(void *)payload, len}, {"\r\n", 2}};
    floor_send(c, iov, 4);
    char line[256];
    floor_line(c, line, sizeof line);
    if (line[0] != '+')
        floor_die("floor SET refused");
    return now_us() - t0;
}

/* GET key, the value received into a fresh buffer (freed untimed). */
static double floor_get(floor_client *c, const char *key, size_t expect)
{
    double t0 = now_us();
    floor_send_key_command(c, "GET", key);
    char line[64];
    floor_line(c, line, sizeof line);
    size_t len = line[0] == '$' ? strtoull(line + 1, NULL, 10) : 0;
    if (line[0] != '$' || len != expect)
        floor_die("floor GET: unexpected reply");
    char *dest = aligned_alloc(64, (len + 63) / 64 * 64);
    floor_take(c, dest, len);
    char crlf[2];
    floor_take(c, crlf, 2);
    double t = now_us() - t0;
    __asm__ volatile("" : : "r"(dest) : "memory");
    free(dest);
    return t;
}

static void floor_del(floor_client *c, const char *key)
{
    floor_send_key_command(c, "DEL", key);
    char line[64];
    floor_line(c, line, sizeof line);
}

void bench_redis_floor(const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                       int (*runs_for)(size_t))
{
    floor_client *c = calloc(1, sizeof *c);
    floor_connect(c, url);
    char store_url[600];
    snprintf(store_url, sizeof store_url, "%s%sprefix=psfloor%d", url, strchr(url, '?') ? "&" : "?", (int)getpid());
    ps_store_options opts = {.cache_size = 0};
    ps_store *s = ps_store_open("bench-floor", store_url, &opts);
    if (!s)
        floor_die("open the redis store");
    /* The floor writes what the store writes: a 16-byte connector frame and
     * a 64-byte object header in front of the payload. */
    unsigned char head[80];
    memset(head, 0x11, sizeof head);
    printf("\nRedis against its zero-copy floor (one sendmsg from the caller's buffer; the reply received into "
           "a fresh buffer), medians, interleaved runs; target <= 1.05x from 1 KiB up:\n");
    printf("| size | put us | floor SET us | ratio | get us | floor GET us | ratio |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nsizes; i++) {
        size_t size = sizes[i];
        if (size > max_size || size > ((size_t)256 << 20))
            continue;
        int n = runs_for(size);
        unsigned char *buf = malloc(size);
        memset(buf, 0x5a, size);
        double *tp = calloc((size_t)n, sizeof *tp), *fp = calloc((size_t)n, sizeof *fp),
               *tg = calloc((size_t)n, sizeof *tg), *fg = calloc((size_t)n, sizeof *fg);
        for (int r = -2; r < n; r++) {
            double a = floor_set(c, "psfloor-raw", head, sizeof head, buf, size);
            double b = floor_get(c, "psfloor-raw", sizeof head + size);
            double t0 = now_us();
            if (ps_store_put_key(s, "k", &ps_type_bytes, buf, size) != PS_OK)
                floor_die("ps_store_put_key");
            double t1 = now_us();
            void *got = ps_store_get(s, "k", &ps_type_bytes, NULL);
            double t2 = now_us();
            if (!got)
                floor_die("ps_store_get");
            ps_object_free(&ps_type_bytes, got);
            if (r >= 0) {
                fp[r] = a, fg[r] = b, tp[r] = t1 - t0, tg[r] = t2 - t1;
            }
        }
        double mp = median(tp, n), mfp = median(fp, n), mg = median(tg, n), mfg = median(fg, n);
        char name[32];
        if (size >= ((size_t)1 << 20))
            snprintf(name, sizeof name, "%zu MiB", size >> 20);
        else if (size >= 1024)
            snprintf(name, sizeof name, "%zu KiB", size >> 10);
        else
            snprintf(name, sizeof name, "%zu B", size);
        printf("| %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f |\n", name, mp, mfp, mp / mfp, mg, mfg, mg / mfg);
        fflush(stdout);
        free(tp), free(fp), free(tg), free(fg), free(buf);
    }
    floor_del(c, "psfloor-raw");
    ps_store_evict(s, "k");
    ps_store_close(s);
    close(c->fd);
    free(c);
}

/* ------------------------------------------------------- verify's cost */

void bench_verify_cost(const char *label, const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                       int (*runs_for)(size_t))
{
    ps_store_options plain = {.cache_size = 0}, checked = {.cache_size = 0, .verify = true};
    char name[64];
    snprintf(name, sizeof name, "verify-off-%s", label);
    ps_store *s = ps_store_open(name, url, &plain);
    snprintf(name, sizeof name, "verify-on-%s", label);
    /* The same connector URL under a second name: another store object
     * with its own options over the same objects. */
    ps_store *v = ps_store_open(name, url, &checked);
    if (!s || !v)
        floor_die("open the verify stores");
    printf("\nverify on %s (cache off, medians): resolve without and with ps_store_options.verify, and "
           "ps_store_get against ps_resolve:\n", label);
    printf("| size | resolve us | verified resolve us | ratio | get us | get / resolve |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nsizes; i++) {
        size_t size = sizes[i];
        if (size > max_size || size < 1024)
            continue;
        int n = runs_for(size);
        unsigned char *buf = malloc(size);
        memset(buf, 0x33, size);
        char key[PS_KEY_MAX];
        if (ps_store_put(s, &ps_type_bytes, buf, size, key) != PS_OK)
            floor_die("put");
        double *tr = calloc((size_t)n, sizeof *tr), *tv = calloc((size_t)n, sizeof *tv),
               *tg = calloc((size_t)n, sizeof *tg);
        for (int r = -2; r < n; r++) {
            /* ps_proxy_from_key reads the object through the store's resolve
             * path (the cache is off, so every call reads the connector). */
            double t0 = now_us();
            ps_proxy_t *a = ps_proxy_from_key(s, key, &ps_type_bytes);
            double t1 = now_us();
            ps_proxy_t *b = ps_proxy_from_key(v, key, &ps_type_bytes);
            double t2 = now_us();
            void *g = ps_store_get(s, key, &ps_type_bytes, NULL);
            double t3 = now_us();
            if (!a || !b || !g)
                floor_die("verify run");
            ps_object_free(&ps_type_bytes, g);
            ps_proxy_free(a);
            ps_proxy_free(b);
            if (r >= 0)
                tr[r] = t1 - t0, tv[r] = t2 - t1, tg[r] = t3 - t2;
        }
        double mr = median(tr, n), mv = median(tv, n), mg = median(tg, n);
        printf("| %zu KiB | %.1f | %.1f | %.2f | %.1f | %.2f |\n", size >> 10, mr, mv, mv / mr, mg, mg / mr);
        fflush(stdout);
        ps_store_evict(s, key);
        free(tr), free(tv), free(tg), free(buf);
    }
    ps_store_close(v);
    ps_store_close(s);
}

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
 *  - Where a put's payload hash can go (--hash-placement): the same raw
 *    client sends the floor's SET and five ways of carrying a hash that is
 *    computed per put, interleaved, so the cost of each way of hiding the
 *    hash pass behind the transfer is read against the floor of the run.
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
#include "hash.h"
#include "object.h"
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

static void floor_send_flags(floor_client *c, struct iovec *iov, int n, int flags)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | flags);
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

static void floor_send(floor_client *c, struct iovec *iov, int n)
{
    floor_send_flags(c, iov, n, 0);
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

/* The payload for one size of a floor table, or NULL for a size the run
 * leaves out (above --max-size, or larger than a Redis string holds). */
static unsigned char *floor_payload(size_t size, size_t max_size, unsigned char fill)
{
    if (size > max_size || size > ((size_t)256 << 20))
        return NULL;
    unsigned char *buf = malloc(size);
    if (!buf)
        floor_die("allocate the payload");
    memset(buf, fill, size);
    return buf;
}

static void size_name(char *out, size_t n, size_t size)
{
    if (size >= ((size_t)1 << 20))
        snprintf(out, n, "%zu MiB", size >> 20);
    else if (size >= 1024)
        snprintf(out, n, "%zu KiB", size >> 10);
    else
        snprintf(out, n, "%zu B", size);
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
        unsigned char *buf = floor_payload(size, max_size, 0x5a);
        if (!buf)
            continue;
        int n = runs_for(size);
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
        size_name(name, sizeof name, size);
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

/* ------------------------------------------- where the hash can go
 *
 * Each way sends the floor's value (80 bytes of head, the payload) to one
 * key and waits for every reply, hashing the payload with the store's hash
 * (ps_payload_hash) at the point the way puts it:
 *   first     hash, then the floor's single sendmsg (what puts below 4 MiB do)
 *   after     head and payload, then hash, then the hash and CRLF (kind 'H')
 *   after+MORE  the same with MSG_MORE on the first send, so the kernel holds
 *             the last partial segment until the hash follows
 *   multi     MULTI and SET with a zero hash field, then hash, then SETRANGE
 *             of the 8 hash bytes and EXEC (readers never see the zero hash)
 *   tmp       SET of a temporary key with an expiry, then hash, then MULTI,
 *             SETRANGE, RENAME, PERSIST, EXEC
 * HASH_AT is where the hash field sits in the head: where the store puts
 * it, after the connector's 16-byte frame. */
enum { HASH_AT = 16 + PS_OBJECT_HASH_OFFSET, PLACEMENTS = 6 };

static void place_expect(floor_client *c, char kind, const char *what)
{
    char line[256];
    floor_line(c, line, sizeof line);
    if (line[0] != kind) {
        fprintf(stderr, "bench_runtime: %s: unexpected reply %s\n", what, line);
        exit(1);
    }
}

/* The SET head for key and a value of len bytes, with extra (name, value)
 * arguments counted in nargs. */
static int place_set_head(char *out, size_t size, int nargs, const char *key, size_t len)
{
    return snprintf(out, size, "*%d\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", nargs, strlen(key), key, len);
}

/* SETRANGE key HASH_AT <8 bytes of hash>, appended at out. */
static int place_setrange(char *out, size_t size, const char *key, uint64_t hash)
{
    char at[16];
    int atn = snprintf(at, sizeof at, "%d", HASH_AT);
    int n = snprintf(out, size, "*4\r\n$8\r\nSETRANGE\r\n$%zu\r\n%s\r\n$%d\r\n%s\r\n$8\r\n", strlen(key), key,
                     atn, at);
    memcpy(out + n, &hash, 8);
    memcpy(out + n + 8, "\r\n", 2);
    return n + 10;
}

static void place_first(floor_client *c, unsigned char *head, const unsigned char *payload, size_t len)
{
    uint64_t h = ps_payload_hash(payload, len);
    memcpy(head + HASH_AT, &h, 8);
    floor_set(c, "psplace", head, 80, payload, len);
}

static void place_after(floor_client *c, unsigned char *head, const unsigned char *payload, size_t len, int flags)
{
    char proto[160];
    int n = place_set_head(proto, sizeof proto, 3, "psplace", 80 + len + 8);
    memset(head + HASH_AT, 0, 8);
    struct iovec iov[3] = {{proto, (size_t)n}, {head, 80}, {(void *)payload, len}};
    floor_send_flags(c, iov, 3, flags);
    uint64_t h = ps_payload_hash(payload, len);
    char tail[10];
    memcpy(tail, &h, 8);
    memcpy(tail + 8, "\r\n", 2);
    struct iovec t[1] = {{tail, sizeof tail}};
    floor_send(c, t, 1);
    place_expect(c, '+', "hash-after SET");
}

static void place_multi(floor_client *c, unsigned char *head, const unsigned char *payload, size_t len)
{
    char proto[200];
    int n = snprintf(proto, sizeof proto, "*1\r\n$5\r\nMULTI\r\n");
    n += place_set_head(proto + n, sizeof proto - (size_t)n, 3, "psplace", 80 + len);
    memset(head + HASH_AT, 0, 8);
    struct iovec iov[4] = {{proto, (size_t)n}, {head, 80}, {(void *)payload, len}, {"\r\n", 2}};
    floor_send(c, iov, 4);
    char tail[200];
    int m = place_setrange(tail, sizeof tail, "psplace", ps_payload_hash(payload, len));
    m += snprintf(tail + m, sizeof tail - (size_t)m, "*1\r\n$4\r\nEXEC\r\n");
    struct iovec t[1] = {{tail, (size_t)m}};
    floor_send(c, t, 1);
    const char replies[] = "+++*+:"; /* MULTI, 2 x QUEUED, EXEC: SET, SETRANGE */
    for (const char *r = replies; *r; r++)
        place_expect(c, *r, "MULTI/SET/SETRANGE/EXEC");
}

static void place_tmp(floor_client *c, unsigned char *head, const unsigned char *payload, size_t len)
{
    static const char expiry[] = "\r\n$2\r\nPX\r\n$7\r\n3600000\r\n";
    char proto[160];
    int n = place_set_head(proto, sizeof proto, 5, "psplace#t", 80 + len);
    memset(head + HASH_AT, 0, 8);
    struct iovec iov[4] = {{proto, (size_t)n}, {head, 80}, {(void *)payload, len}, {(void *)expiry, sizeof expiry - 1}};
    floor_send(c, iov, 4);
    char tail[400];
    int m = snprintf(tail, sizeof tail, "*1\r\n$5\r\nMULTI\r\n");
    m += place_setrange(tail + m, sizeof tail - (size_t)m, "psplace#t", ps_payload_hash(payload, len));
    m += snprintf(tail + m, sizeof tail - (size_t)m,
                  "*3\r\n$6\r\nRENAME\r\n$9\r\npsplace#t\r\n$7\r\npsplace\r\n"
                  "*2\r\n$7\r\nPERSIST\r\n$7\r\npsplace\r\n*1\r\n$4\r\nEXEC\r\n");
    struct iovec t[1] = {{tail, (size_t)m}};
    floor_send(c, t, 1);
    const char replies[] = "+++++*:+:"; /* SET, MULTI, 3 x QUEUED, EXEC: SETRANGE, RENAME, PERSIST */
    for (const char *r = replies; *r; r++)
        place_expect(c, *r, "SET tmp/MULTI/SETRANGE/RENAME/PERSIST/EXEC");
}

void bench_redis_hash_placement(const char *url, const size_t *sizes, size_t nsizes, size_t max_size,
                                int (*runs_for)(size_t))
{
    static const char *const names[PLACEMENTS] = {"floor", "first", "after", "after+MORE", "multi", "tmp"};
    floor_client *c = calloc(1, sizeof *c);
    floor_connect(c, url);
    unsigned char head[80];
    memset(head, 0x11, sizeof head);
    printf("\nWhere a put's payload hash can go: raw SETs, medians of interleaved runs, us (ratio to the floor):\n");
    printf("| size |");
    for (int v = 0; v < PLACEMENTS; v++)
        printf(" %s |", names[v]);
    printf("\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nsizes; i++) {
        size_t size = sizes[i];
        unsigned char *buf = floor_payload(size, max_size, 0x5a);
        if (!buf)
            continue;
        int n = runs_for(size);
        double *t[PLACEMENTS];
        for (int v = 0; v < PLACEMENTS; v++)
            t[v] = calloc((size_t)n, sizeof *t[v]);
        for (int r = -2; r < n; r++) {
            /* Rotate the order each repetition so no way always follows
             * the same one. */
            for (int k = 0; k < PLACEMENTS; k++) {
                int v = (k + r + 2) % PLACEMENTS;
                double t0 = now_us();
                switch (v) {
                case 0: floor_set(c, "psplace", head, 80, buf, size); break;
                case 1: place_first(c, head, buf, size); break;
                case 2: place_after(c, head, buf, size, 0); break;
                case 3: place_after(c, head, buf, size, MSG_MORE); break;
                case 4: place_multi(c, head, buf, size); break;
                default: place_tmp(c, head, buf, size); break;
                }
                if (r >= 0)
                    t[v][r] = now_us() - t0;
            }
        }
        double floor_us = median(t[0], n);
        char name[32];
        size_name(name, sizeof name, size);
        printf("| %s |", name);
        for (int v = 0; v < PLACEMENTS; v++) {
            double m = v ? median(t[v], n) : floor_us;
            printf(" %.1f (%.2f) |", m, m / floor_us);
            free(t[v]);
        }
        printf("\n");
        fflush(stdout);
        free(buf);
    }
    floor_del(c, "psplace");
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

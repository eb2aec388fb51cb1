/*
 * ps-store — look after a store from the command line: inspect a
 * descriptor, list what a store holds, evict by key or by age, remove what
 * crashed writers left behind, sum a store up.  Usage: ps-store --help;
 * manual: ps-store(1), docs/ps-store.md.
 *
 * It opens the connector directly (no registry, no descriptor trust
 * policy: the URL is the user's own), reads object headers where the
 * connector lists them cheaply, and never resolves a payload.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "descriptor.h"
#include "error.h"
#include "object.h"
#include "proxystore/version.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: ps-store [--json] COMMAND ...\n"
    "\n"
    "  inspect DESCRIPTOR|-        a descriptor's store, key, type, size and hash (- reads stdin);\n"
    "                              nothing is opened or resolved\n"
    "  list URL                    the objects of a store (file://, shm://, redis://) with their\n"
    "                              sizes, types and ages, and leftovers of unfinished writes\n"
    "  evict URL KEY...            remove objects by key\n"
    "  evict URL --older-than S    remove objects last written more than S seconds ago\n"
    "  gc URL [--min-age S]        remove leftovers of unfinished writes whose writer is gone\n"
    "                              (no such process here) or that are older than S seconds\n"
    "                              (default 3600), and objects whose recorded expiry has passed\n"
    "                              (borrow records, lease and lifetime objects)\n"
    "  stats URL                   objects, leftovers and bytes in a store\n"
    "\n"
    "  --json      one JSON document on stdout instead of text\n"
    "  --help, --version\n"
    "\n"
    "exit status: 0 done, 1 the operation failed (a message on stderr), 2 bad usage\n";

static bool json;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ps-store: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(ps-store --help for usage)\n");
    return EXIT_USAGE;
}

static int failed(const char *what)
{
    fprintf(stderr, "ps-store: %s: %s: %s\n", what, ps_status_name(ps_last_error_code()), ps_last_error_message());
    return EXIT_FAILED;
}

static int print_json(cJSON *doc)
{
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        fprintf(stderr, "ps-store: out of memory writing JSON\n");
        return EXIT_FAILED;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

/* Seconds as a non-negative number; -1 if not one. */
static double parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : -1;
    return s && *s && !*end && !errno && v >= 0 ? v : -1;
}

/* ------------------------------------------------------------- inspect */

static char *read_stdin_line(void)
{
    size_t cap = 0;
    char *line = NULL;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    return line;
}

static int cmd_inspect(int argc, char **argv)
{
    if (argc != 1)
        return usage_error("inspect takes one descriptor (or - for stdin)%s", "");
    char *from_stdin = strcmp(argv[0], "-") == 0 ? read_stdin_line() : NULL;
    if (strcmp(argv[0], "-") == 0 && !from_stdin)
        return usage_error("inspect -: no descriptor on stdin%s", "");
    ps_descriptor_facts f;
    ps_status st = ps_descriptor_read(from_stdin ? from_stdin : argv[0], &f);
    free(from_stdin);
    if (st != PS_OK)
        return failed("inspect");
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, f.hash);
    int rc = EXIT_OK;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "store", f.store);
        cJSON_AddStringToObject(o, "url", f.url);
        cJSON_AddStringToObject(o, "key", f.key);
        cJSON_AddStringToObject(o, "type", f.type);
        cJSON_AddStringToObject(o, "kind", f.pod ? "pod" : "custom");
        cJSON_AddNumberToObject(o, "elem", (double)f.elem);
        cJSON_AddNumberToObject(o, "count", (double)f.count);
        cJSON_AddNumberToObject(o, "size", (double)f.size);
        cJSON_AddStringToObject(o, "hash", hash);
        rc = print_json(o);
    } else {
        printf("store  %s\nurl    %s\nkey    %s\ntype   %s (%s, %zu-byte elements, %zu of them)\nsize   %zu bytes\n"
               "hash   %s (XXH3-64)\n", f.store, f.url, f.key, f.type, f.pod ? "plain data" : "custom", f.elem,
               f.count, f.size, hash);
    }
    ps_descriptor_facts_free(&f);
    return rc;
}

/* --------------------------------------------------- listing commands */

static ps_connector *open_url(const char *url)
{
    ps_connector *c = NULL;
    if (ps_connector_open(url, &c) != PS_OK)
        return NULL;
    if (!c->ops->list || !c->ops->remove_entry) {
        ps_error_set(PS_ERR_STATE, "the %s connector cannot be listed (%s stores live inside one process)",
                     c->ops->scheme, c->ops->scheme);
        c->ops->close(c);
        return NULL;
    }
    return c;
}

/* One listed entry, copied out of the callback. */
typedef struct item {
    char *entry, *key;
    bool leftover, has_info;
    long writer_pid;
    uint64_t len;
    int64_t age_ms, ttl_ms;
    ps_object_info info;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
    bool oom;
} items;

static bool collect(const ps_list_entry *e, void *ctx)
{
    items *it = ctx;
    if (it->n == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : 64;
        item *v = realloc(it->v, cap * sizeof *v);
        if (!v)
            return !(it->oom = true);
        it->v = v;
        it->cap = cap;
    }
    item *x = &it->v[it->n];
    memset(x, 0, sizeof *x);
    x->entry = strdup(e->entry);
    x->key = e->key ? strdup(e->key) : NULL;
    if (!x->entry || (e->key && !x->key)) {
        free(x->entry);
        free(x->key);
        return !(it->oom = true);
    }
    x->leftover = e->leftover;
    x->writer_pid = e->writer_pid;
    x->len = e->len;
    x->age_ms = e->age_ms;
    x->ttl_ms = e->ttl_ms;
    ps_saved_error saved;
    ps_error_save(&saved);
    x->has_info = !e->leftover && e->head_len >= PS_OBJECT_HEADER_SIZE &&
                  ps_object_header_decode(e->head, (size_t)e->len, e->entry, &x->info) == PS_OK;
    ps_error_restore(&saved);
    it->n++;
    return true;
}

static void items_free(items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        free(it->v[i].entry);
        free(it->v[i].key);
    }
    free(it->v);
}

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const item *)a)->entry, ((const item *)b)->entry);
}

/* List url into it, sorted by entry name; EXIT_OK or a failure code. */
static int list_into(ps_connector *c, items *it)
{
    memset(it, 0, sizeof *it);
    if (c->ops->list(c, collect, it) != PS_OK)
        return failed("list");
    if (it->oom) {
        fprintf(stderr, "ps-store: out of memory listing the store\n");
        return EXIT_FAILED;
    }
    qsort(it->v, it->n, sizeof *it->v, cmp_items);
    return EXIT_OK;
}

static cJSON *item_json(const item *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "entry", x->entry);
    if (x->key)
        cJSON_AddStringToObject(o, "key", x->key);
    else
        cJSON_AddNullToObject(o, "key");
    cJSON_AddBoolToObject(o, "leftover", x->leftover);
    cJSON_AddNumberToObject(o, "bytes", (double)x->len);
    if (x->has_info) {
        cJSON_AddStringToObject(o, "type", x->info.type_name);
        cJSON_AddStringToObject(o, "kind", x->info.flags == PS_OBJECT_POD ? "pod" : "custom");
        cJSON_AddNumberToObject(o, "payload_bytes", (double)x->info.payload_len);
        cJSON_AddNumberToObject(o, "count", (double)x->info.count);
    }
    if (x->age_ms >= 0)
        cJSON_AddNumberToObject(o, "age_s", (double)x->age_ms / 1000.0);
    if (x->has_info && x->info.expires_ms)
        cJSON_AddNumberToObject(o, "expires_ms", (double)x->info.expires_ms);
    if (x->ttl_ms >= 0)
        cJSON_AddNumberToObject(o, "ttl_s", (double)x->ttl_ms / 1000.0);
    if (x->writer_pid)
        cJSON_AddNumberToObject(o, "writer_pid", (double)x->writer_pid);
    return o;
}

static int cmd_list(const char *url)
{
    ps_connector *c = open_url(url);
    if (!c)
        return failed("list");
    items it;
    int rc = list_into(c, &it);
    c->ops->close(c);
    if (rc != EXIT_OK)
        return rc;
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < it.n; i++)
            cJSON_AddItemToArray(a, item_json(&it.v[i]));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddItemToObject(o, "entries", a);
        rc = print_json(o);
    } else {
        printf("%-40s %12s %-18s %9s %s\n", "KEY", "BYTES", "TYPE", "AGE(s)", "NOTE");
        for (size_t i = 0; i < it.n; i++) {
            const item *x = &it.v[i];
            char age[32] = "-", note[96] = "";
            if (x->age_ms >= 0)
                snprintf(age, sizeof age, "%.0f", (double)x->age_ms / 1000.0);
            if (x->leftover && x->writer_pid)
                snprintf(note, sizeof note, "leftover %s (writer pid %ld)", x->entry, x->writer_pid);
            else if (x->leftover)
                snprintf(note, sizeof note, "leftover %s", x->entry);
            else if (!x->key)
                snprintf(note, sizeof note, "entry %s (key not recoverable)", x->entry);
            if (x->ttl_ms >= 0)
                snprintf(note + strlen(note), sizeof note - strlen(note), "%sexpires in %.0f s", *note ? ", " : "",
                         (double)x->ttl_ms / 1000.0);
            else if (x->has_info && x->info.expires_ms) {
                uint64_t now = ps_unix_ms(), at = x->info.expires_ms; /* one reading: no wrap-around */
                snprintf(note + strlen(note), sizeof note - strlen(note), "%sexpire%s %.0f s", *note ? ", " : "",
                         at > now ? "s in" : "d", (double)(at > now ? at - now : now - at) / 1000.0);
            }
            printf("%-40s %12" PRIu64 " %-18s %9s %s\n", x->key ? x->key : "-", x->len,
                   x->has_info ? x->info.type_name : "?", age, note);
        }
    }
    items_free(&it);
    return rc;
}

/* Remove one listed object: by key through evict, else by its entry. */
static ps_status remove_item(ps_connector *c, const item *x)
{
    return x->key && !x->leftover ? c->ops->evict(c, x->key) : c->ops->remove_entry(c, x->entry);
}

static int report_removed(const char *what, const char *url, cJSON *removed, size_t n)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddItemToObject(o, "removed", removed);
        return print_json(o);
    }
    cJSON_Delete(removed);
    printf("%s: removed %zu\n", what, n);
    return EXIT_OK;
}

static int cmd_evict(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("evict needs a URL and keys, or --older-than SECONDS%s", "");
    const char *url = argv[0];
    double older = -1;
    if (strcmp(argv[1], "--older-than") == 0) {
        if (argc != 3 || (older = parse_seconds(argv[2])) < 0)
            return usage_error("evict URL --older-than SECONDS: '%s' is not a number of seconds",
                               argc > 2 ? argv[2] : "");
    }
    ps_connector *c = open_url(url);
    if (!c)
        return failed("evict");
    cJSON *removed = cJSON_CreateArray();
    size_t n = 0;
    int rc = EXIT_OK;
    if (older < 0) {
        for (int i = 1; i < argc; i++) {
            if (c->ops->evict(c, argv[i]) != PS_OK) {
                rc = failed(argv[i]);
                continue;
            }
            cJSON_AddItemToArray(removed, cJSON_CreateString(argv[i]));
            n++;
        }
    } else {
        items it;
        if ((rc = list_into(c, &it)) == EXIT_OK) {
            for (size_t i = 0; i < it.n; i++) {
                const item *x = &it.v[i];
                if (x->leftover || x->age_ms < 0 || (double)x->age_ms < older * 1000.0)
                    continue;
                if (remove_item(c, x) != PS_OK) {
                    rc = failed(x->entry);
                    continue;
                }
                cJSON_AddItemToArray(removed, cJSON_CreateString(x->key ? x->key : x->entry));
                n++;
            }
            items_free(&it);
        }
    }
    c->ops->close(c);
    int out = report_removed("evict", url, removed, n);
    return rc != EXIT_OK ? rc : out;
}

/* Whether the writer a leftover names is gone from this machine. */
static bool writer_gone(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Collect an object whose header records an expiry that had passed when
 * it was listed (a borrow record whose holder died, the object of a lease
 * whose process crashed).  The tool does not remove it itself: it reads it
 * through the connector, whose get checks the expiry again on the object it
 * opened and reclaims that one only (file, shm: the same inode; Redis: the
 * server expires keys on its own clock).  So a record renewed or replaced
 * since the listing is left alone.  *removed: it is gone now. */
static ps_status collect_expired(ps_connector *c, const item *x, bool *removed)
{
    *removed = false;
    ps_blob blob = {0};
    ps_saved_error saved;
    ps_error_save(&saved);
    ps_status st = c->ops->get(c, x->key, &blob);
    if (st == PS_OK) {
        ps_blob_release(&blob); /* alive after all: replaced, or the server's clock differs */
        return PS_OK;
    }
    if (st != PS_ERR_NOT_FOUND)
        return st;
    ps_error_restore(&saved);
    *removed = true;
    return PS_OK;
}

static int cmd_gc(int argc, char **argv)
{
    if (argc != 1 && !(argc == 3 && strcmp(argv[1], "--min-age") == 0))
        return usage_error("gc URL [--min-age SECONDS]%s", "");
    double min_age = argc == 3 ? parse_seconds(argv[2]) : 3600;
    if (min_age < 0)
        return usage_error("gc: '%s' is not a number of seconds", argv[2]);
    ps_connector *c = open_url(argv[0]);
    if (!c)
        return failed("gc");
    items it;
    int rc = list_into(c, &it);
    cJSON *removed = cJSON_CreateArray();
    size_t n = 0;
    for (size_t i = 0; rc == EXIT_OK && i < it.n; i++) {
        const item *x = &it.v[i];
        /* A Redis leftover's age is its idle time: an hour-long expiry
         * refreshed by every chunk its writer sends. */
        bool old = x->age_ms >= 0 ? (double)x->age_ms >= min_age * 1000.0
                                  : x->ttl_ms >= 0 && (double)(3600000 - x->ttl_ms) >= min_age * 1000.0;
        if (!x->leftover && x->key && x->has_info && x->info.expires_ms && x->info.expires_ms <= ps_unix_ms()) {
            bool gone;
            if (collect_expired(c, x, &gone) != PS_OK) {
                failed(x->key);
            } else if (gone) {
                cJSON_AddItemToArray(removed, cJSON_CreateString(x->key));
                n++;
            }
            continue;
        }
        if (!x->leftover || !(writer_gone(x->writer_pid) || old))
            continue;
        if (c->ops->remove_entry(c, x->entry) != PS_OK) {
            failed(x->entry);
            continue;
        }
        cJSON_AddItemToArray(removed, cJSON_CreateString(x->entry));
        n++;
    }
    if (rc == EXIT_OK)
        items_free(&it);
    c->ops->close(c);
    int out = report_removed("gc", argv[0], removed, n);
    return rc != EXIT_OK ? rc : out;
}

static int cmd_stats(const char *url)
{
    ps_connector *c = open_url(url);
    if (!c)
        return failed("stats");
    items it;
    int rc = list_into(c, &it);
    c->ops->close(c);
    if (rc != EXIT_OK)
        return rc;
    uint64_t objects = 0, leftovers = 0, bytes = 0, leftover_bytes = 0;
    for (size_t i = 0; i < it.n; i++) {
        if (it.v[i].leftover) {
            leftovers++;
            leftover_bytes += it.v[i].len;
        } else {
            objects++;
            bytes += it.v[i].len;
        }
    }
    items_free(&it);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddNumberToObject(o, "objects", (double)objects);
        cJSON_AddNumberToObject(o, "bytes", (double)bytes);
        cJSON_AddNumberToObject(o, "leftovers", (double)leftovers);
        cJSON_AddNumberToObject(o, "leftover_bytes", (double)leftover_bytes);
        return print_json(o);
    }
    printf("objects    %" PRIu64 " (%" PRIu64 " bytes)\nleftovers  %" PRIu64 " (%" PRIu64 " bytes)\n", objects,
           bytes, leftovers, leftover_bytes);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("ps-store %s\n", PS_VERSION_STRING);
            return EXIT_OK;
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc)
        return usage_error("no command given%s", "");
    const char *cmd = argv[i++];
    int rest = argc - i;
    char **args = argv + i;
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(rest, args);
    if (strcmp(cmd, "evict") == 0)
        return cmd_evict(rest, args);
    if (strcmp(cmd, "gc") == 0)
        return cmd_gc(rest, args);
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "stats") == 0) {
        if (rest != 1)
            return usage_error("%s takes one store URL", cmd);
        return strcmp(cmd, "list") == 0 ? cmd_list(args[0]) : cmd_stats(args[0]);
    }
    return usage_error("unknown command '%s'", cmd);
}

/*
 * connector_multi.c — multi:///abs/path/policy.json, a store whose objects
 * go to one of several connectors by policy (docs/connectors/multi.md).
 *
 * The policy file (JSON, read with cJSON at open) lists connectors, each
 * with a name, a URL and the objects it takes: a payload size range, tags
 * (subset_tags: the object's tags must all be among these; superset_tags:
 * the object must carry all of these), a priority (higher wins; ties go to
 * the one listed first) and host name patterns (fnmatch) naming the hosts
 * where the connector is valid.  A connector not valid on this host is
 * dormant: it is not opened, puts never go to it, and a key not found in
 * the active ones says that it may be in a dormant one.
 *
 * A put goes to the best connector that accepts the object and then evicts
 * the key from every other active one, so a key overwritten with an object
 * routed elsewhere never resolves to its old copy.  Reads look in the active
 * connectors by priority.  Set-once objects (futures) are not offered: the
 * connector a future's value will go to depends on the value.
 *
 * locate names the connector holding a key, so a descriptor can carry it
 * (its "holder" field) to a process that never saw the policy file.
 */
#include "connector.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "object.h"

#define MULTI_NAME_MAX 32
#define MULTI_TAGS_MAX 16
#define MULTI_POLICY_MAX ((size_t)1 << 20) /* bytes of policy file */

typedef struct multi_member {
    char name[MULTI_NAME_MAX + 1];
    char *url;
    size_t min_size, max_size; /* payload bytes, inclusive */
    char **subset_tags, **superset_tags; /* NULL: no rule */
    size_t nsubset, nsuperset;
    long priority;
    bool active;         /* valid on this host, and open */
    ps_connector *conn;  /* when active */
} multi_member;

typedef struct multi_connector {
    ps_connector base;
    char *path;              /* the policy file, for messages */
    multi_member *members;   /* by priority, highest first (stable) */
    size_t n, nactive;
    char host[256];
} multi_connector;

static multi_connector *as_multi(ps_connector *conn) { return (multi_connector *)conn; }

/* ------------------------------------------------------------- the policy */

static void member_free(multi_member *m)
{
    for (size_t i = 0; i < m->nsubset; i++)
        free(m->subset_tags[i]);
    for (size_t i = 0; i < m->nsuperset; i++)
        free(m->superset_tags[i]);
    free(m->subset_tags);
    free(m->superset_tags);
    free(m->url);
    if (m->conn)
        m->conn->ops->close(m->conn);
}

static ps_status policy_error(const char *path, size_t i, const char *what)
{
    return ps_error_set(PS_ERR_BAD_URL, "multi policy %s: connector %zu: %s", path, i, what);
}

static ps_status read_tags(const char *path, size_t i, const cJSON *j, const char *field, char ***out,
                           size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, field);
    if (!a)
        return PS_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MULTI_TAGS_MAX)
        return ps_error_set(PS_ERR_BAD_URL, "multi policy %s: connector %zu: '%s' must be an array of at "
                            "most %d strings", path, i, field, MULTI_TAGS_MAX);
    *out = ps_calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof **out);
    if (!*out)
        return PS_ERR_NO_MEMORY;
    const cJSON *t;
    cJSON_ArrayForEach(t, a)
    {
        if (!cJSON_IsString(t) || !t->valuestring[0])
            return ps_error_set(PS_ERR_BAD_URL, "multi policy %s: connector %zu: '%s' holds something other "
                                "than a non-empty string", path, i, field);
        if (!((*out)[(*n)++] = ps_strdup(t->valuestring)))
            return PS_ERR_NO_MEMORY;
    }
    return PS_OK;
}

static ps_status read_size(const char *path, size_t i, const cJSON *j, const char *field, size_t fallback,
                           size_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field);
    *out = fallback;
    if (!v)
        return PS_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return ps_error_set(PS_ERR_BAD_URL, "multi policy %s: connector %zu: '%s' must be a whole number "
                            "of bytes", path, i, field);
    *out = (size_t)v->valuedouble;
    return PS_OK;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MULTI_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* Whether a host pattern list (absent: every host) admits host. */
static ps_status host_valid(const char *path, size_t i, const cJSON *j, const char *host, bool *valid)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "hosts");
    *valid = a == NULL;
    if (!a)
        return PS_OK;
    if (!cJSON_IsArray(a))
        return policy_error(path, i, "'hosts' must be an array of host name patterns");
    const cJSON *t;
    cJSON_ArrayForEach(t, a)
    {
        if (!cJSON_IsString(t))
            return policy_error(path, i, "'hosts' holds something other than a string");
        if (fnmatch(t->valuestring, host, 0) == 0)
            *valid = true;
    }
    return PS_OK;
}

static const char *const member_fields[] = {"name", "url", "min_size", "max_size", "subset_tags",
                                            "superset_tags", "priority", "hosts"};

static ps_status read_member(multi_connector *c, size_t i, const cJSON *j, multi_member *m)
{
    const char *path = c->path;
    if (!cJSON_IsObject(j))
        return policy_error(path, i, "not a JSON object");
    for (const cJSON *f = j->child; f; f = f->next) {
        bool known = false;
        for (size_t k = 0; k < sizeof member_fields / sizeof member_fields[0]; k++)
            known |= strcmp(f->string, member_fields[k]) == 0;
        if (!known)
            return ps_error_set(PS_ERR_BAD_URL, "multi policy %s: connector %zu: unknown field '%.40s'", path,
                                i, f->string);
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
    if (!cJSON_IsString(name) || !name_ok(name->valuestring))
        return policy_error(path, i, "'name' must be 1 to 32 letters, digits, '_' or '-'");
    snprintf(m->name, sizeof m->name, "%s", name->valuestring);
    if (!cJSON_IsString(url) || !url->valuestring[0])
        return policy_error(path, i, "'url' must be a connector URL");
    if (strncmp(url->valuestring, "multi:", 6) == 0)
        return policy_error(path, i, "a multi connector cannot hold another multi connector");
    if (!(m->url = ps_strdup(url->valuestring)))
        return PS_ERR_NO_MEMORY;
    ps_status st;
    if ((st = read_size(path, i, j, "min_size", 0, &m->min_size)) != PS_OK ||
        (st = read_size(path, i, j, "max_size", SIZE_MAX, &m->max_size)) != PS_OK ||
        (st = read_tags(path, i, j, "subset_tags", &m->subset_tags, &m->nsubset)) != PS_OK ||
        (st = read_tags(path, i, j, "superset_tags", &m->superset_tags, &m->nsuperset)) != PS_OK)
        return st;
    if (m->min_size > m->max_size)
        return policy_error(path, i, "'min_size' is larger than 'max_size'");
    const cJSON *prio = cJSON_GetObjectItemCaseSensitive(j, "priority");
    if (prio && (!cJSON_IsNumber(prio) || prio->valuedouble != (double)(long)prio->valuedouble))
        return policy_error(path, i, "'priority' must be a whole number");
    m->priority = prio ? (long)prio->valuedouble : 0;
    return host_valid(path, i, j, c->host, &m->active);
}

static char *read_policy_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ps_error_errno(PS_ERR_BAD_URL, "multi policy %s: cannot open it", path);
        return NULL;
    }
    char *text = ps_malloc(MULTI_POLICY_MAX + 1);
    size_t n = text ? fread(text, 1, MULTI_POLICY_MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!text)
        return NULL;
    if (err || n > MULTI_POLICY_MAX) {
        ps_error_set(PS_ERR_BAD_URL, "multi policy %s: %s", path,
                     err ? "cannot read it" : "larger than 1 MiB");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static ps_status load_policy(multi_connector *c)
{
    char *text = read_policy_file(c->path);
    if (!text)
        return ps_last_error_code();
    cJSON *root = cJSON_Parse(text);
    ps_status st = PS_OK;
    const cJSON *list = root ? cJSON_GetObjectItemCaseSensitive(root, "connectors") : NULL;
    if (!root)
        st = ps_error_set(PS_ERR_BAD_URL, "multi policy %s: not valid JSON (near byte %td)", c->path,
                          cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - text : 0);
    else if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        st = ps_error_set(PS_ERR_BAD_URL, "multi policy %s: expected {\"connectors\": [ ... ]} with at least "
                          "one connector", c->path);
    else if (!(c->members = ps_calloc((size_t)cJSON_GetArraySize(list), sizeof *c->members)))
        st = PS_ERR_NO_MEMORY;
    const cJSON *j;
    if (st == PS_OK)
        cJSON_ArrayForEach(j, list)
        {
            if ((st = read_member(c, c->n, j, &c->members[c->n])) != PS_OK) {
                c->n++; /* freed with the others */
                break;
            }
            for (size_t k = 0; k < c->n; k++)
                if (strcmp(c->members[k].name, c->members[c->n].name) == 0)
                    st = policy_error(c->path, c->n, "two connectors have this name");
            c->n++;
            if (st != PS_OK)
                break;
        }
    cJSON_Delete(root);
    free(text);
    if (st != PS_OK)
        return st;
    /* Insertion sort: stable, so equal priorities keep the file's order. */
    for (size_t i = 1; i < c->n; i++)
        for (size_t k = i; k > 0 && c->members[k].priority > c->members[k - 1].priority; k--) {
            multi_member t = c->members[k];
            c->members[k] = c->members[k - 1];
            c->members[k - 1] = t;
        }
    return PS_OK;
}

/* ------------------------------------------------------------ open/close */

static void multi_close(ps_connector *conn)
{
    multi_connector *c = as_multi(conn);
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        member_free(&c->members[i]);
    free(c->members);
    free(c->path);
    free(c);
}

static ps_status multi_open(const ps_url *url, ps_connector **out)
{
    *out = NULL;
    if (url->user || url->password || url->port >= 0 || url->host[0] || url->nparams)
        return ps_error_set(PS_ERR_BAD_URL, "multi URL '%s': expected multi:///absolute/policy.json", url->text);
    if (url->path[0] != '/')
        return ps_error_set(PS_ERR_BAD_URL, "multi URL '%s' names no absolute policy file", url->text);
    multi_connector *c = ps_calloc(1, sizeof *c);
    if (!c)
        return PS_ERR_NO_MEMORY;
    c->base.ops = &ps_multi_connector;
    if (gethostname(c->host, sizeof c->host - 1) != 0)
        snprintf(c->host, sizeof c->host, "localhost");
    ps_status st = (c->path = ps_strdup(url->path)) ? load_policy(c) : PS_ERR_NO_MEMORY;
    for (size_t i = 0; st == PS_OK && i < c->n; i++) {
        multi_member *m = &c->members[i];
        if (!m->active)
            continue;
        if ((st = ps_connector_open(m->url, &m->conn)) != PS_OK) {
            ps_error_wrap("multi policy %s: connector '%s'", c->path, m->name);
            m->active = false;
        } else {
            c->nactive++;
        }
    }
    if (st == PS_OK && c->nactive == 0)
        st = ps_error_set(PS_ERR_BAD_URL, "multi policy %s: no connector is valid on host '%s'", c->path,
                          c->host);
    if (st != PS_OK) {
        multi_close(&c->base);
        return st;
    }
    *out = &c->base;
    return PS_OK;
}

/* --------------------------------------------------------------- routing */

static bool has_tag(char *const *set, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], tag) == 0)
            return true;
    return false;
}

static bool accepts(const multi_member *m, size_t payload, const char *const tags[], size_t ntags)
{
    if (!m->active || payload < m->min_size || payload > m->max_size)
        return false;
    if (m->subset_tags)
        for (size_t i = 0; i < ntags; i++)
            if (!has_tag(m->subset_tags, m->nsubset, tags[i]))
                return false;
    for (size_t i = 0; i < m->nsuperset; i++)
        if (!has_tag((char *const *)tags, ntags, m->superset_tags[i]))
            return false;
    return true;
}

/* The member a put of these parts and tags goes to. */
static ps_status route(multi_connector *c, const char *key, const ps_iov *parts, size_t nparts,
                       const char *const tags[], size_t ntags, size_t *out)
{
    size_t total = ps_iov_total(parts, nparts);
    size_t payload = total > PS_OBJECT_HEADER_SIZE ? total - PS_OBJECT_HEADER_SIZE : 0;
    for (size_t i = 0; i < c->n; i++)
        if (accepts(&c->members[i], payload, tags, ntags)) {
            *out = i;
            return PS_OK;
        }
    char list[256] = "";
    for (size_t i = 0; i < ntags; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "," : "", tags[i]);
    return ps_error_set(PS_ERR_INVALID_ARGUMENT, "multi policy %s: no connector active on '%s' takes '%s' "
                        "(%zu payload bytes, tags [%s])", c->path, c->host, key, payload, list);
}

static ps_status multi_put_tagged(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts,
                                  const char *const tags[], size_t ntags)
{
    multi_connector *c = as_multi(conn);
    size_t to;
    ps_status st = route(c, key, parts, nparts, tags, ntags, &to);
    if (st != PS_OK)
        return st;
    multi_member *m = &c->members[to];
    if ((st = m->conn->ops->put(m->conn, key, parts, nparts)) != PS_OK)
        return ps_error_wrap("multi connector '%s'", m->name);
    /* An older object under the key elsewhere must not shadow this one. */
    for (size_t i = 0; i < c->n; i++) {
        multi_member *o = &c->members[i];
        if (i != to && o->active && (st = o->conn->ops->evict(o->conn, key)) != PS_OK)
            return ps_error_wrap("multi connector '%s': dropping the older copy of '%s'", o->name, key);
    }
    return PS_OK;
}

static ps_status multi_put(ps_connector *conn, const char *key, const ps_iov *parts, size_t nparts)
{
    return multi_put_tagged(conn, key, parts, nparts, NULL, 0);
}

/* The active member holding key, by priority; PS_ERR_NOT_FOUND (set) if
 * none does. */
static ps_status find(multi_connector *c, const char *key, size_t *out)
{
    for (size_t i = 0; i < c->n; i++) {
        multi_member *m = &c->members[i];
        bool there = false;
        if (!m->active)
            continue;
        ps_status st = m->conn->ops->exists(m->conn, key, &there);
        if (st != PS_OK)
            return ps_error_wrap("multi connector '%s'", m->name);
        if (there) {
            *out = i;
            return PS_OK;
        }
    }
    size_t dormant = c->n - c->nactive;
    if (dormant)
        return ps_error_set(PS_ERR_NOT_FOUND, "multi policy %s: no object under key '%s' in the %zu connectors "
                            "active on host '%s'; %zu more are dormant here (not valid on this host), and an "
                            "object in one of them cannot be read here", c->path, key, c->nactive, c->host,
                            dormant);
    return ps_error_set(PS_ERR_NOT_FOUND, "multi policy %s: no object under key '%s'", c->path, key);
}

static ps_status multi_get(ps_connector *conn, const char *key, ps_blob *out)
{
    multi_connector *c = as_multi(conn);
    memset(out, 0, sizeof *out);
    size_t i;
    ps_status st = find(c, key, &i);
    if (st != PS_OK)
        return st;
    ps_connector *sub = c->members[i].conn;
    return sub->ops->get(sub, key, out);
}

static ps_status multi_exists(ps_connector *conn, const char *key, bool *exists_out)
{
    size_t i;
    ps_status st = find(as_multi(conn), key, &i);
    *exists_out = st == PS_OK;
    if (st == PS_ERR_NOT_FOUND) {
        ps_error_clear();
        return PS_OK;
    }
    return st;
}

static ps_status multi_evict(ps_connector *conn, const char *key)
{
    multi_connector *c = as_multi(conn);
    ps_status first = PS_OK;
    for (size_t i = 0; i < c->n; i++) {
        multi_member *m = &c->members[i];
        if (m->active) {
            ps_status st = m->conn->ops->evict(m->conn, key);
            if (st != PS_OK && first == PS_OK)
                first = ps_error_wrap("multi connector '%s'", m->name);
        }
    }
    return first;
}

static ps_status multi_locate(ps_connector *conn, const char *key, char *name, size_t name_size, char *url,
                              size_t url_size)
{
    multi_connector *c = as_multi(conn);
    size_t i;
    ps_status st = find(c, key, &i);
    if (st != PS_OK)
        return st;
    snprintf(name, name_size, "%s", c->members[i].name);
    if ((size_t)snprintf(url, url_size, "%s", c->members[i].url) >= url_size)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "multi connector '%s': URL too long", c->members[i].name);
    return PS_OK;
}

const ps_connector_ops ps_multi_connector = {
    .scheme = "multi",
    .open = multi_open,
    .close = multi_close,
    .put = multi_put,
    .get = multi_get,
    .exists = multi_exists,
    .evict = multi_evict,
    /* The store loops over the single forms, so each object of a batch is
     * routed on its own. */
    .put_batch = NULL,
    .get_batch = NULL,
    .exists_batch = NULL,
    .evict_batch = NULL,
    .put_new = NULL,
    .wait_get = NULL,
    .evict_new = NULL,
    .put_tagged = multi_put_tagged,
    .locate = multi_locate,
};

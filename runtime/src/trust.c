/* trust.c — the descriptor trust policy (see trust.h). */
#include "trust.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "url.h"

/* A URL list: each entry as given (credentials included) and without its
 * password (what descriptors are compared with). */
typedef struct url_list {
    char **full;
    char **bare;
    size_t n, cap;
} url_list;

static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static url_list opened;  /* trust_lock */
static url_list allowed; /* trust_lock */
static bool env_read;    /* trust_lock */

static ps_status list_add_locked(url_list *l, const char *url)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->full[i], url) == 0)
            return PS_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **full = realloc(l->full, cap * sizeof *full);
        if (full)
            l->full = full;
        char **bare = full ? realloc(l->bare, cap * sizeof *bare) : NULL;
        if (bare)
            l->bare = bare;
        if (!full || !bare)
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory recording a trusted URL");
        l->cap = cap;
    }
    char *full = ps_strdup(url);
    char *bare = ps_url_without_password(url, "");
    if (!full || !bare) {
        free(full);
        free(bare);
        return PS_ERR_NO_MEMORY;
    }
    l->full[l->n] = full;
    l->bare[l->n] = bare;
    l->n++;
    return PS_OK;
}

/* PS_TRUSTED_URLS: entries separated by spaces, tabs or newlines. */
static void read_env_locked(void)
{
    if (env_read)
        return;
    env_read = true;
    const char *env = getenv("PS_TRUSTED_URLS");
    if (!env)
        return;
    char *copy = ps_strdup(env);
    if (!copy)
        return;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
        list_add_locked(&allowed, tok);
    explicit_bzero(copy, strlen(copy));
    free(copy);
}

void ps_trust_note_opened(const char *url)
{
    pthread_mutex_lock(&trust_lock);
    list_add_locked(&opened, url);
    pthread_mutex_unlock(&trust_lock);
}

ps_status ps_trust_allow_url(const char *url)
{
    if (!url || !url[0])
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_trust_allow_url: no URL given");
    pthread_mutex_lock(&trust_lock);
    read_env_locked();
    ps_status st = list_add_locked(&allowed, url);
    pthread_mutex_unlock(&trust_lock);
    return st;
}

/* Whether entry (without its password) admits the descriptor's URL: equal,
 * or entry ends in '*' and the URL starts with what comes before it. */
static bool admits(const char *entry, const char *url)
{
    size_t n = strlen(entry);
    if (n && entry[n - 1] == '*')
        return strncmp(entry, url, n - 1) == 0;
    return strcmp(entry, url) == 0;
}

/* url with the user name and password of source, if source has any. */
static char *with_credentials(const char *url, const char *source)
{
    const char *s_auth = strstr(source, "://");
    const char *u_auth = strstr(url, "://");
    if (!s_auth || !u_auth)
        return ps_strdup(url);
    s_auth += 3;
    u_auth += 3;
    const char *s_end = s_auth + strcspn(s_auth, "/?#");
    const char *at = NULL;
    for (const char *p = s_auth; p < s_end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return ps_strdup(url);
    size_t head = (size_t)(u_auth - url), cred = (size_t)(at + 1 - s_auth);
    /* The descriptor's own user name, if any, gives way to the entry's. */
    const char *u_end = u_auth + strcspn(u_auth, "/?#");
    const char *u_at = memchr(u_auth, '@', (size_t)(u_end - u_auth));
    const char *rest = u_at ? u_at + 1 : u_auth;
    size_t total = head + cred + strlen(rest) + 1;
    char *out = ps_malloc(total);
    if (out)
        snprintf(out, total, "%.*s%.*s%s", (int)head, url, (int)cred, s_auth, rest);
    return out;
}

/* A file:// store named by a descriptor must exist already. */
static ps_status file_store_exists(const char *url)
{
    ps_url u;
    if (strncmp(url, "file:", 5) != 0 || ps_url_parse(url, &u) != PS_OK)
        return PS_OK; /* not file://, or the connector will name the problem */
    struct stat st;
    bool is_dir = stat(u.path, &st) == 0 && S_ISDIR(st.st_mode);
    ps_status r = PS_OK;
    if (!is_dir)
        r = ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor names the file store '%s', whose directory does "
                         "not exist: a descriptor opens file stores, never creates one", url);
    ps_url_free(&u);
    return r;
}

char *ps_trust_resolve_url(const char *desc_url)
{
    if (ps_url_has_password(desc_url)) {
        char *shown = ps_url_without_password(desc_url, PS_URL_PASSWORD_MASK);
        ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor names the store URL '%s' with a password: descriptors "
                     "never carry credentials (they come from this process's own configuration)",
                     shown ? shown : "(out of memory)");
        free(shown);
        return NULL;
    }
    char *out = NULL;
    bool matched = false;
    pthread_mutex_lock(&trust_lock);
    read_env_locked();
    /* Exact matches first (their credentials are the store's own), then
     * the allow-list's patterns. */
    for (size_t i = 0; !matched && i < opened.n; i++)
        if ((matched = strcmp(opened.bare[i], desc_url) == 0))
            out = ps_strdup(opened.full[i]);
    for (size_t i = 0; !matched && i < allowed.n; i++)
        if ((matched = strcmp(allowed.bare[i], desc_url) == 0))
            out = ps_strdup(allowed.full[i]);
    for (size_t i = 0; !matched && i < allowed.n; i++)
        if ((matched = admits(allowed.bare[i], desc_url)))
            out = with_credentials(desc_url, allowed.full[i]);
    pthread_mutex_unlock(&trust_lock);
    if (!matched) {
        ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor names the store URL '%s', which this process has not "
                     "opened or allowed (ps_trust_allow_url, or PS_TRUSTED_URLS in the environment)", desc_url);
        return NULL;
    }
    if (out && file_store_exists(out) != PS_OK) {
        free(out);
        return NULL;
    }
    return out;
}

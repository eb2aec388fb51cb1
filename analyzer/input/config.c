/*
 * config.c — loading and validating .ps-check.json.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonfile.h"
#include "paths.h"

void ps_config_init(ps_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->strict = -1;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void ps_config_free(ps_config *cfg)
{
    free(cfg->path);
    free(cfg->dir);
    free_list(cfg->skip, cfg->nskip);
    free_list(cfg->args, cfg->nargs);
    ps_config_init(cfg);
}

static int parse_severity(const char *s, ps_rule_setting *out)
{
    static const struct {
        const char *name;
        ps_severity sev;
    } names[] = {{"off", PS_SEV_OFF},
                 {"note", PS_SEV_NOTE},
                 {"warning", PS_SEV_WARNING},
                 {"error", PS_SEV_ERROR}};
    out->set = true;
    out->on_default = false;
    if (strcmp(s, "on") == 0) {
        out->on_default = true;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(s, names[i].name) == 0) {
            out->severity = names[i].sev;
            return 0;
        }
    }
    return -1;
}

static int parse_rules(ps_config *cfg, const cJSON *rules, const char *name, char *err,
                       size_t errlen)
{
    if (!cJSON_IsObject(rules)) {
        snprintf(err, errlen, "%s: \"rules\" must be an object mapping rule ids to "
                              "\"off\", \"on\", \"note\", \"warning\" or \"error\"", name);
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, rules)
    {
        int rule = ps_rule_from_id(item->string);
        if (rule < 0) {
            snprintf(err, errlen, "%s: unknown rule id \"%s\" in \"rules\" (see ps-check --list-rules)",
                     name, item->string);
            return -1;
        }
        if (!cJSON_IsString(item)) {
            snprintf(err, errlen, "%s: rule \"%s\" must be a string (\"off\", \"on\", \"note\", "
                                  "\"warning\" or \"error\")", name, item->string);
            return -1;
        }
        if (parse_severity(item->valuestring, &cfg->rules[rule]) != 0) {
            snprintf(err, errlen, "%s: rule \"%s\": unknown value \"%s\" (expected \"off\", "
                                  "\"on\", \"note\", \"warning\" or \"error\")",
                     name, item->string, item->valuestring);
            return -1;
        }
        if (rule == PS_RULE_PARSE_ERROR && cfg->rules[rule].severity == PS_SEV_OFF &&
            !cfg->rules[rule].on_default) {
            snprintf(err, errlen, "%s: \"clang-parse-error\" cannot be turned off: a file that "
                                  "does not parse is not checked", name);
            return -1;
        }
    }
    return 0;
}

static int parse_string_list(const cJSON *node, const char *key, const char *name, char ***out,
                             size_t *n, char *err, size_t errlen)
{
    if (!cJSON_IsArray(node)) {
        snprintf(err, errlen, "%s: \"%s\" must be an array of strings", name, key);
        return -1;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, node)
    {
        if (!cJSON_IsString(item) || !item->valuestring[0]) {
            snprintf(err, errlen, "%s: \"%s\" must be an array of non-empty strings", name, key);
            return -1;
        }
        char **grown = realloc(*out, (*n + 1) * sizeof *grown);
        if (!grown || !(grown[*n] = strdup(item->valuestring))) {
            if (grown)
                *out = grown;
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *out = grown;
        (*n)++;
    }
    return 0;
}

int ps_config_parse(ps_config *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t errlen)
{
    cJSON *root = ps_json_parse(text, len, name, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: the configuration must be a JSON object", name);
        goto out;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        const char *key = item->string;
        if (strcmp(key, "rules") == 0) {
            if (parse_rules(cfg, item, name, err, errlen) != 0)
                goto out;
        } else if (strcmp(key, "skip") == 0) {
            if (parse_string_list(item, key, name, &cfg->skip, &cfg->nskip, err, errlen) != 0)
                goto out;
        } else if (strcmp(key, "args") == 0) {
            if (parse_string_list(item, key, name, &cfg->args, &cfg->nargs, err, errlen) != 0)
                goto out;
        } else if (strcmp(key, "strict") == 0) {
            if (!cJSON_IsBool(item)) {
                snprintf(err, errlen, "%s: \"strict\" must be true or false", name);
                goto out;
            }
            cfg->strict = cJSON_IsTrue(item);
        } else {
            snprintf(err, errlen, "%s: unknown key \"%s\" (expected \"rules\", \"skip\", "
                                  "\"args\" or \"strict\")", name, key);
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int ps_config_load(ps_config *cfg, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a configuration file", path);
        return -1;
    }
    char *text = ps_read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read configuration: %m", path);
        return -1;
    }
    int rc = ps_config_parse(cfg, text, len, path, err, errlen);
    free(text);
    if (rc != 0)
        return -1;
    char *real = ps_path_real(path);
    if (!real) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(cfg->path);
    free(cfg->dir);
    cfg->path = real;
    cfg->dir = ps_path_dirname(real);
    return cfg->dir ? 0 : -1;
}

char *ps_config_find(const char *start_dir)
{
    char *dir = ps_path_real(start_dir);
    while (dir) {
        char *candidate = ps_path_join(dir, PS_CONFIG_FILE_NAME);
        struct stat st;
        if (candidate && stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
            free(dir);
            return candidate;
        }
        free(candidate);
        if (strcmp(dir, "/") == 0)
            break;
        char *parent = ps_path_dirname(dir);
        free(dir);
        dir = parent;
    }
    free(dir);
    return NULL;
}

/* A pattern matches the path or any of its leading directories, so
 * "third_party" skips everything below it; '*' also crosses '/'. */
static bool pattern_matches(const char *pattern, const char *rel)
{
    if (fnmatch(pattern, rel, 0) == 0)
        return true;
    size_t len = strlen(rel);
    char *prefix = malloc(len + 1);
    if (!prefix)
        return false;
    bool hit = false;
    for (size_t i = 1; i < len && !hit; i++) {
        if (rel[i] != '/')
            continue;
        memcpy(prefix, rel, i);
        prefix[i] = '\0';
        hit = fnmatch(pattern, prefix, 0) == 0;
    }
    free(prefix);
    return hit;
}

bool ps_config_skips(const ps_config *cfg, const char *path)
{
    if (!path)
        return false;
    const char *rel = ps_path_relative(path, cfg->dir);
    for (size_t i = 0; i < cfg->nskip; i++) {
        const char *pat = cfg->skip[i];
        /* An absolute pattern is matched against the absolute path. */
        if (pattern_matches(pat, pat[0] == '/' ? path : rel))
            return true;
    }
    return false;
}

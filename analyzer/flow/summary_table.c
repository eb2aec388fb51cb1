/*
 * summary_table.c — a sorted array of summaries keyed by USR: built once
 * per round by one thread, then only searched (bsearch), so the workers
 * share it without a lock.
 */
#include "summary_table.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"

void ps_summary_unknown(ps_summary *s, unsigned nparams)
{
    memset(s, 0, sizeof *s);
    s->nparams = nparams > PS_SUMMARY_MAX_PARAMS ? PS_SUMMARY_MAX_PARAMS : nparams;
    memset(s->effect, PS_EFFECT_MOVE, sizeof s->effect);
}

bool ps_summary_equal(const ps_summary *a, const ps_summary *b)
{
    if (a->nparams != b->nparams || a->returns_new != b->returns_new || a->ret_hk != b->ret_hk ||
        a->fields_kept != b->fields_kept || a->nfields != b->nfields ||
        memcmp(a->effect, b->effect, sizeof a->effect) != 0)
        return false;
    for (unsigned i = 0; i < a->nfields; i++)
        if (a->fields[i].param != b->fields[i].param || a->fields[i].effect != b->fields[i].effect ||
            strcmp(a->fields[i].usr, b->fields[i].usr) != 0)
            return false;
    return true;
}

int ps_summary_table_add(ps_summary_table *t, const char *usr, const ps_summary *s)
{
    ps_summary_entry *v = ps_array_reserve(t->v, &t->cap, t->n + 1, sizeof *t->v);
    if (!v)
        return -1;
    t->v = v;
    ps_summary_entry *e = &t->v[t->n];
    if (!(e->usr = strdup(usr)))
        return -1;
    e->present = s != NULL;
    e->order = t->n;
    e->source = 0;
    if (s)
        e->s = *s;
    else
        ps_summary_unknown(&e->s, 0);
    t->n++;
    t->sorted = false;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const ps_summary_entry *x = a, *y = b;
    int c = strcmp(x->usr, y->usr);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

void ps_summary_table_sort(ps_summary_table *t)
{
    if (t->n > 1) {
        qsort(t->v, t->n, sizeof *t->v, cmp_entry);
        size_t w = 1;
        for (size_t i = 1; i < t->n; i++) {
            if (strcmp(t->v[w - 1].usr, t->v[i].usr) == 0)
                free(t->v[i].usr);
            else
                t->v[w++] = t->v[i];
        }
        t->n = w;
    }
    for (size_t i = 0; i < t->n; i++)
        t->v[i].order = i;
    t->sorted = true;
}

static int cmp_key(const void *key, const void *entry)
{
    return strcmp(key, ((const ps_summary_entry *)entry)->usr);
}

const ps_summary_entry *ps_summary_table_find(const ps_summary_table *t, const char *usr)
{
    if (!t || !t->sorted || t->n == 0)
        return NULL;
    return bsearch(usr, t->v, t->n, sizeof *t->v, cmp_key);
}

int ps_summary_table_add_all(ps_summary_table *t, const ps_summary_table *src, size_t source)
{
    for (size_t i = 0; i < src->n; i++) {
        if (ps_summary_table_add(t, src->v[i].usr, src->v[i].present ? &src->v[i].s : NULL) != 0)
            return -1;
        t->v[t->n - 1].source = source;
    }
    return 0;
}

int ps_summary_table_copy(ps_summary_table *dst, const ps_summary_table *src)
{
    ps_summary_table_clear(dst);
    for (size_t i = 0; i < src->n; i++) {
        if (ps_summary_table_add(dst, src->v[i].usr, src->v[i].present ? &src->v[i].s : NULL) != 0)
            return -1;
        dst->v[i].source = src->v[i].source;
        dst->v[i].order = src->v[i].order;
    }
    dst->sorted = src->sorted;
    return 0;
}

void ps_summary_table_clear(ps_summary_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].usr);
    free(t->v);
    memset(t, 0, sizeof *t);
}

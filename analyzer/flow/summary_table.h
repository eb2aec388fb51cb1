/*
 * summary_table.h — function summaries as values that outlive one
 * translation unit: what a function does with each proxy parameter (and
 * with the proxy fields of a struct it is given by pointer), and whether
 * it returns a new proxy.  The flow rules compute them (flow_ownership.c);
 * the driver collects those of every file into one table, keyed by the
 * function's USR, which the workers then read without locking.
 */
#ifndef PS_CHECK_SUMMARY_TABLE_H
#define PS_CHECK_SUMMARY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a call does with a proxy it is given. */
enum { PS_EFFECT_MOVE, PS_EFFECT_RELEASE, PS_EFFECT_BORROW };

enum {
    PS_SUMMARY_MAX_PARAMS = 32,
    PS_SUMMARY_MAX_FIELDS = 8,
    PS_SUMMARY_USR_MAX = 96, /* a longer field USR is not summarized (forgotten at calls) */
};

/* A proxy field of a struct passed by pointer: `destroy_job(j)` that
 * releases `j->input` on every path. */
typedef struct ps_field_effect {
    uint8_t param;
    uint8_t effect; /* PS_EFFECT_RELEASE, or PS_EFFECT_BORROW (only read) */
    char usr[PS_SUMMARY_USR_MAX];
} ps_field_effect;

typedef struct ps_summary {
    unsigned nparams;
    uint8_t effect[PS_SUMMARY_MAX_PARAMS];
    bool returns_new; /* every return gives a proxy created there, or NULL */
    uint8_t ret_hk;   /* the kind of handle returned (flow_state.h HK_*), 0: plain/unknown */
    /* Bit i: parameter i, a pointer, is used by the body only to reach its
     * fields, so its proxy fields the summary does not list are untouched. */
    uint32_t fields_kept;
    uint32_t proxy_params; /* bit i: parameter i holds a proxy (inference may retry it) */
    unsigned nfields;
    ps_field_effect fields[PS_SUMMARY_MAX_FIELDS];
} ps_summary;

typedef struct ps_summary_entry {
    char *usr;
    bool present;  /* false: looked up and not found (a read of "unknown") */
    size_t order;  /* of insertion: the first of equal USRs wins */
    size_t source; /* the caller's tag (the driver: the file that defines it) */
    ps_summary s;
} ps_summary_entry;

typedef struct ps_summary_table {
    ps_summary_entry *v;
    size_t n, cap;
    bool sorted; /* by USR, one entry each: ps_summary_table_find works */
} ps_summary_table;

/* s with nothing known: every parameter a move, no fields, returns nothing new. */
void ps_summary_unknown(ps_summary *s, unsigned nparams);
bool ps_summary_equal(const ps_summary *a, const ps_summary *b);

/* Appends a copy (s NULL: an absent entry).  0, or -1 when out of memory. */
int ps_summary_table_add(ps_summary_table *t, const char *usr, const ps_summary *s);
/* Appends copies of every entry of src, tagged with source; 0 or -1. */
int ps_summary_table_add_all(ps_summary_table *t, const ps_summary_table *src, size_t source);
/* A copy of src into dst (cleared first); 0 or -1. */
int ps_summary_table_copy(ps_summary_table *dst, const ps_summary_table *src);
/* Sorts by USR and keeps the first added of each USR. */
void ps_summary_table_sort(ps_summary_table *t);
/* The entry of usr in a sorted table, or NULL. */
const ps_summary_entry *ps_summary_table_find(const ps_summary_table *t, const char *usr);
void ps_summary_table_clear(ps_summary_table *t);

#endif /* PS_CHECK_SUMMARY_TABLE_H */

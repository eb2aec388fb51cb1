/*
 * suppress.h — suppression comments.
 *
 *   x = p;  // ps-check-ignore: ps-target-mismatch
 *   // ps-check-ignore: ps-leak, ps-borrow  (suppresses the next line too)
 *   /\* ps-check-ignore: ps-unresolved-proxy *\/
 *
 * A comment names one or more rule ids after "ps-check-ignore:", separated
 * by commas; text after the list is free (a reason).  It suppresses
 * findings of those rules on its own line and on the line below.
 */
#ifndef PS_CHECK_SUPPRESS_H
#define PS_CHECK_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

#define PS_SUPPRESS_MARKER "ps-check-ignore"

/* Called for each rule id named on a line; col is 1-based. */
typedef void (*ps_suppress_fn)(const char *id, size_t idlen, unsigned col, void *arg);

/* Visits every id named by suppression comments on one line (len bytes,
 * no newline needed).  Returns how many ids were visited. */
size_t ps_suppress_scan(const char *line, size_t len, ps_suppress_fn fn, void *arg);

/* Whether the line holds a suppression comment naming rule_id. */
bool ps_suppress_line_names(const char *line, size_t len, const char *rule_id);

#endif /* PS_CHECK_SUPPRESS_H */

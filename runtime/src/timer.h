/*
 * timer.h — one background thread that runs callbacks at deadlines: lease
 * lifetimes that end, borrows received from other processes whose records
 * must be renewed.
 *
 * A timer is embedded in its owner's object.  ps_timer_arm (re)schedules it
 * at once, also from inside its own callback; ps_timer_cancel returns only
 * when the timer is neither scheduled nor running, so the owner may then be
 * freed.  Callbacks run one at a time on the timer thread and must not call
 * ps_timer_cancel on their own timer.
 *
 * After fork the child has no timer thread and no timers (the parent's
 * leases and borrows are the parent's); its first ps_timer_arm starts one.
 */
#ifndef PS_TIMER_H
#define PS_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "proxystore/proxystore.h"

typedef struct ps_timer {
    void (*fire)(struct ps_timer *timer);
    /* Guarded by the timer module's lock. */
    uint64_t due_ns; /* CLOCK_MONOTONIC */
    struct ps_timer *next;
    bool armed;
} ps_timer;

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t ps_timer_now_ns(void);
/* Schedule t to fire at due_ns (replacing an earlier schedule).  Fails only
 * if the thread cannot be started (PS_ERR_NO_MEMORY). */
ps_status ps_timer_arm(ps_timer *t, uint64_t due_ns);
void ps_timer_cancel(ps_timer *t);

#endif /* PS_TIMER_H */

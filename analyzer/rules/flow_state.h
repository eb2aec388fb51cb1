/*
 * flow_state.h — the dataflow state the flow-sensitive rules share
 * (flow_ownership.c runs the analysis and the ownership rules,
 * flow_borrow.c the borrow rule on the same states).
 */
#ifndef PS_CHECK_FLOW_STATE_H
#define PS_CHECK_FLOW_STATE_H

#include <stdint.h>

#include "checker.h"
#include "summary_table.h"

enum {
    S_UNKNOWN = 1,  /* holds a proxy this function does not own (or nothing known) */
    S_LIVE = 2,     /* holds a proxy created here, still to release or move */
    S_RELEASED = 4, /* released by ps_proxy_free / ps_proxy_evict */
    S_MOVED = 8,    /* given away: returned, stored, passed to an owner */
    S_NULL = 16,    /* known to be NULL */
    S_SENT = 32,    /* moved away: an owner or borrow serialized, a proxy given to ps_into_owned */
    S_STORED = 64,  /* let go into a place that outlives the function (a global, through a pointer) */
};

/* What kind of handle a proxy variable holds (a set, like the states):
 * serializing moves an owner or a borrow, not a plain proxy. */
enum {
    HK_PLAIN = 1,   /* ps_proxy & co. */
    HK_OWNED = 2,   /* ps_owned & co., or declared PROXY_OWNED */
    HK_REF = 4,     /* ps_borrow, or declared PROXY_REF */
    HK_REF_MUT = 8, /* ps_borrow_mut, or declared PROXY_REF_MUT */
    HK_UNKNOWN = 16,
};

enum { OWNER_NONE = -1 };

/* Bounds: functions beyond them are left alone rather than slowing the run. */
enum { MAX_BLOCKS = 20000, MAX_VARS = 256, VISITS_PER_BLOCK = 32, MAX_DEPTH = 1000 };

typedef enum var_kind {
    V_PROXY,  /* holds a proxy handle */
    V_TARGET, /* a pointer that may hold a resolved target */
} var_kind;

typedef struct var {
    CXCursor decl;   /* the variable; for a field, the variable it is a field of */
    CXCursor field;  /* the field (`job->input`, `s.input`), or null for the variable itself */
    bool through_pointer; /* a field reached through a pointer: stored beyond the function */
    var_kind kind;
    bool excluded;   /* its address is taken */
    bool clobbered;  /* a field: its struct is used whole somewhere (passed, copied) */
    bool implicit;   /* a field of a parameter followed for a summary, never named in the body */
    uint8_t decl_hk; /* the handle kind its declaration says (HK_UNKNOWN for PROXY(T)) */
    char usr[PS_SUMMARY_USR_MAX]; /* a field: its USR, once asked for ("" until then) */
} var;

typedef struct vstate {
    uint8_t bits;
    uint8_t hk;   /* V_PROXY: HK_* of the handle it holds */
    uint8_t prev; /* V_PROXY: the bits before the last release or move */
    uint8_t consumed_bits; /* the bits `consumed` had before ps_into_owned took it */
    int owner;    /* V_TARGET: the proxy variable it was resolved from, or OWNER_NONE */
    int consumed; /* V_PROXY made by ps_into_owned(q): q, restored if this is NULL; or -1 */
    int lender;   /* V_PROXY holding a borrow: the owner variable it borrows from, or -1 */
    int group;    /* V_PROXY: names of one proxy (`q = p`) share a group id, or -1 */
    CXCursor rel; /* where it was (last) released, moved or stored */
    CXCursor made; /* where the proxy it holds was created */
} vstate;

/* A local flag that holds a test of a proxy (`bool ok = p != NULL;`, as
 * assertion macros write), never written again: testing it tests p. */
typedef struct flag {
    CXCursor decl;
    CXCursor init;
    bool written;
    /* A status variable (`st = ps_owned_release(o)`): the one refusable
     * release whose status it keeps, or null; status_bad when it is also
     * given another status or written some other way. */
    CXCursor status;
    bool status_bad;
} flag;

/* What evaluating a statement does to the state, in order.  Which
 * variables an element touches and how never depends on the state, only
 * what each step then does: so each block's elements are walked once, into
 * events, and the fixpoint replays those instead of the cursors. */
typedef enum ev_op {
    EV_USE,     /* v is read at `at` */
    EV_ESCAPE,  /* v is given away */
    EV_RELEASE, /* v is released by the call `at` */
    EV_ASSIGN,  /* v gets a value: see assign() */
    EV_LEAKS,   /* a return (`at` the statement) or, with `brace`, the closing brace */
    EV_SERIALIZE, /* v is serialized by the call `at`: a move for owners and borrows */
    EV_CONSUME, /* v is moved into the call `at` (ps_into_owned) */
    EV_STORE,   /* v is stored at `at` somewhere that outlives the function */
    EV_MUTATE,  /* v is updated (ps_proxy_update) or resolved for writing by the call `at` */
    EV_WRITE,   /* the target v points into is written at `at` */
    EV_RETURN,  /* a return of v (or, v < 0, of a value with states `bits`, kind `hk`) */
} ev_op;

typedef struct event {
    uint8_t op;
    uint8_t bits; /* EV_ASSIGN to a proxy: its new state */
    uint8_t hk;   /* EV_ASSIGN to a proxy: the kind of handle created, or 0 */
    bool brace;   /* EV_LEAKS */
    int v;
    int owner;     /* EV_ASSIGN to a target: the proxy it is resolved from */
    int copy_from; /* EV_ASSIGN to a target: the target whose owner it takes, or -1 */
    int consumed;  /* EV_ASSIGN to a proxy from ps_into_owned(q): q, or -1 */
    int lender;    /* EV_ASSIGN to a proxy from ps_borrow(o) / ps_borrow_mut(o): o, or -1 */
    int alias_of;  /* EV_ASSIGN to a proxy from another proxy variable (`q = p`): p, or -1 */
    CXCursor at;   /* EV_ASSIGN to a proxy: where it was created, or null */
} event;

/* A block's events, made the first time the fixpoint reaches it. */
typedef struct block_events {
    size_t start, n;
    bool done;
    bool tested;     /* null_test() of the condition worked out */
    bool null_test;  /* the condition tests proxy `test_var` for NULL */
    bool null_if_true;
    int test_var;
    bool release_test; /* the condition tests the status of a release of `release_var` */
    bool fails_if_true;
    bool status_creates; /* ... or of a call that returns a new proxy through `release_var` */
    int release_var;
} block_events;

typedef struct lifetime {
    ps_checker *ck;
    event *ev;
    size_t nev, ev_cap;
    flag *flags;
    size_t nflags, flags_cap;
    CXCursor function;
    var *vars;
    size_t nvars, cap;
    /* Pointer locals given a value that may be a resolved target once the
     * variables it reads are known (copies, statement expressions). */
    struct pending_target {
        CXCursor decl, value;
    } *pending;
    size_t npending, pending_cap;
    CXCursor *addr_taken; /* variables and fields whose address is taken (&s, &j->input) */
    size_t naddr, addr_cap;
    CXCursor *out_args; /* `&p` given to a call that returns a new proxy there */
    size_t nout, out_cap;
    CXCursor *whole_used; /* variables used whole (passed, copied): their fields are forgotten */
    size_t nwhole, whole_cap;
    vstate *cur; /* the state being transformed */
    struct fn_summary *summary; /* being computed for this function, or NULL */
    uint8_t *exit_bits;         /* with summary: each variable's states at the exits */
    uint8_t ret_bits, ret_hk;   /* with summary: what the returns return */
    bool collect;               /* with summary: the final pass, collecting */
    bool report;
    bool overflow;  /* too much to follow: say nothing about this function */
    unsigned depth; /* of eval's recursion */
} lifetime;

/*
 * Function summaries: what a function does with each proxy parameter, and
 * whether it returns a new proxy (summary_table.h).  For a function
 * defined in this translation unit, made the first time a call to it is
 * evaluated, by the same analysis run silently over its body, and kept
 * for the unit; for one defined in another file of the run, read from the
 * table of the other files' summaries (ps_checker.external).
 */
enum { EFFECT_MOVE = PS_EFFECT_MOVE, EFFECT_RELEASE = PS_EFFECT_RELEASE, EFFECT_BORROW = PS_EFFECT_BORROW };
enum { MAX_SUMMARY_PARAMS = PS_SUMMARY_MAX_PARAMS, MAX_SUMMARY_DEPTH = 8, MAX_SUMMARY_ROUNDS = 4 };

typedef struct fn_summary {
    CXCursor fn;
    bool done;         /* final */
    bool running;      /* being computed: a call to it is recursive */
    bool self_used;    /* a recursive call read it while it ran */
    unsigned round;    /* of the fixpoint over a recursive cycle */
    unsigned level;    /* how deep in other summaries it is being computed */
    ps_summary s;
} fn_summary;

/* Each summary's index + 1 is kept with its function's declaration in the
 * type model's table (ps_decl_user_slot). */
struct ps_flow_summaries {
    fn_summary *v;
    size_t n, cap;
    unsigned depth;    /* summaries being computed inside each other */
    unsigned lowest_read; /* the lowest level of a running summary read since reset */
};

/* flow_ownership.c */
/* "p", "job->input": the name of variable or field v in messages. */
void ps_flow_name(const lifetime *l, int v, char *buf, size_t n);
/* v is read at `at`: reports a use after release or move. */
void ps_flow_use(lifetime *l, int v, CXCursor at);

/* flow_borrow.c */
/* Borrow v of owner o was just made: many shared or one exclusive. */
void ps_flow_borrow_made(lifetime *l, int v, int o);
/* Owner o is released, moved, updated or resolved for writing (what). */
void ps_flow_borrow_owner_ends(lifetime *l, int o, CXCursor at, const char *what);
/* v is updated or resolved (for writing) by `call`. */
void ps_flow_borrow_mutate(lifetime *l, int v, CXCursor call);
/* The target t points into is written at `at`. */
void ps_flow_borrow_write(lifetime *l, int t, CXCursor at);

#endif /* PS_CHECK_FLOW_STATE_H */

/*
 * cfg.h — a control-flow graph of one function body, built from libclang's
 * statement cursors (libclang has none of its own).
 *
 * A block is a straight-line list of elements evaluated in order, then a
 * terminator: fall through to its one successor, a two-way branch on a
 * condition, a many-way switch, or nothing (a return, a call that never
 * returns).  Expressions containing &&, ||, ?: or a GNU statement
 * expression are split so that each arm gets its own blocks; the
 * expression that combines the arms is then a "shallow" element: its
 * operands that were split out are not evaluated again.
 *
 * Block 0 is the entry, block 1 the exit.  Falling off the end of the body
 * goes through a block holding one PS_CFG_END element (the body), so a
 * dataflow can tell that path from a return.
 */
#ifndef PS_CHECK_CFG_H
#define PS_CHECK_CFG_H

#include <clang-c/Index.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum ps_cfg_elem_kind {
    PS_CFG_EXPR,    /* a statement or expression, evaluated whole */
    PS_CFG_SHALLOW, /* only the node itself: its split-out operands came before */
    PS_CFG_END,     /* control reaches the closing brace of the body */
} ps_cfg_elem_kind;

typedef struct ps_cfg_elem {
    ps_cfg_elem_kind kind;
    CXCursor cursor;
} ps_cfg_elem;

typedef enum ps_cfg_term {
    PS_CFG_FALL,     /* one successor (or none for the exit) */
    PS_CFG_BRANCH,   /* succ[0] when cond is true, succ[1] when false */
    PS_CFG_SWITCH,   /* one successor per case label, plus default or the way out */
    PS_CFG_RETURN,   /* a return statement: succ[0] is the exit */
    PS_CFG_NORETURN, /* a call that never returns: no successor */
} ps_cfg_term;

typedef struct ps_cfg_block {
    ps_cfg_elem *elems;
    size_t nelems, elems_cap;
    ps_cfg_term term;
    CXCursor cond; /* PS_CFG_BRANCH: the condition tested */
    size_t *succ;
    size_t nsucc, succ_cap;
} ps_cfg_block;

typedef struct ps_cfg {
    ps_cfg_block *blocks;
    size_t nblocks, cap;
} ps_cfg;

enum { PS_CFG_ENTRY = 0, PS_CFG_EXIT = 1 };

/* Why a CFG could not be built. */
typedef enum ps_cfg_status {
    PS_CFG_OK,
    PS_CFG_NO_BODY,     /* a declaration without a body */
    PS_CFG_UNSUPPORTED, /* computed goto, a for statement whose parts cannot be told apart */
    PS_CFG_TOO_BIG,     /* more blocks than max_blocks */
    PS_CFG_NO_MEMORY,
} ps_cfg_status;

/* Builds the CFG of a function definition (or of a compound statement).
 * On failure *out is NULL.  max_blocks bounds the work (0: no bound). */
ps_cfg_status ps_cfg_build(CXCursor function, size_t max_blocks, ps_cfg **out);

/* What the builder learns of callees (does it return?) and may reuse for
 * the other functions of the same translation unit: finding out costs a
 * type spelling and tokenizing the declarations. */
typedef struct ps_cfg_memo ps_cfg_memo;

ps_cfg_memo *ps_cfg_memo_new(void); /* NULL when out of memory */
void ps_cfg_memo_free(ps_cfg_memo *memo);

/* ps_cfg_build with a memo (NULL: none) used by one translation unit only. */
ps_cfg_status ps_cfg_build_memo(CXCursor function, size_t max_blocks, ps_cfg_memo *memo,
                                ps_cfg **out);
void ps_cfg_free(ps_cfg *cfg);

/* Does a call never return: exit, abort and friends, or a callee declared
 * noreturn (__attribute__((noreturn)) or _Noreturn)? */
bool ps_cfg_call_is_noreturn(CXCursor call);

/* Is the block reachable from the entry? */
bool ps_cfg_reachable(const ps_cfg *cfg, size_t block);
/* Is there a path of one edge or more from block from to block to? */
bool ps_cfg_path(const ps_cfg *cfg, size_t from, size_t to);

#endif /* PS_CHECK_CFG_H */

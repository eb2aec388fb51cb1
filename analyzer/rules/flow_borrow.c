/*
 * flow_borrow.c — ps-borrow, on the dataflow of flow_ownership.c: a borrow
 * variable remembers its owner (`lender`), and the events that make,
 * release, move, update or write through handles call in here.
 *
 * The checks read the states as the other rules do: a borrow counts as
 * alive only when it is live on every path (created here, neither
 * released nor moved, not NULL), or was stored where it outlives the
 * function.
 */
#include "flow_state.h"

static bool borrow_alive(const lifetime *l, int b)
{
    uint8_t bits = l->cur[b].bits;
    return bits == S_LIVE || (bits & S_STORED && !(bits & (S_RELEASED | S_SENT | S_NULL)));
}

static const char *borrow_word(uint8_t hk)
{
    return hk == HK_REF_MUT ? "exclusive" : "shared";
}

/* Adds "'b' borrowed here" (or "stored here") for borrow b. */
static void note_borrow(lifetime *l, ps_diag *d, int b)
{
    char name[128];
    ps_flow_name(l, b, name, sizeof name);
    if (l->cur[b].bits & S_STORED && !clang_Cursor_isNull(l->cur[b].rel))
        ps_diag_note(l->ck->sink, d, l->cur[b].rel, "'%s' stored here, where it outlives the function",
                     name);
    else if (!clang_Cursor_isNull(l->cur[b].made))
        ps_diag_note(l->ck->sink, d, l->cur[b].made, "'%s' borrowed here", name);
}

/* Borrow v of owner o was just made: many shared or one exclusive. */
void ps_flow_borrow_made(lifetime *l, int v, int o)
{
    if (!l->report)
        return;
    uint8_t hk = l->cur[v].hk;
    for (size_t w = 0; w < l->nvars; w++) {
        if ((int)w == v || l->vars[w].kind != V_PROXY || l->cur[w].lender != o ||
            !borrow_alive(l, (int)w))
            continue;
        uint8_t whk = l->cur[w].hk;
        if (hk != HK_REF_MUT && whk != HK_REF_MUT)
            continue; /* shared beside shared */
        char oname[128], wname[128];
        ps_flow_name(l, o, oname, sizeof oname);
        ps_flow_name(l, (int)w, wname, sizeof wname);
        ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_BORROW, l->cur[v].made,
                                    "%s%s borrow of '%s' while %s borrow '%s' is alive",
                                    hk == HK_REF_MUT && whk == HK_REF_MUT ? "second " : "",
                                    borrow_word(hk), oname, borrow_word(whk), wname);
        if (d)
            note_borrow(l, d, (int)w);
        return;
    }
}

/* Owner o is released, moved, updated or resolved for writing (what) at `at`. */
void ps_flow_borrow_owner_ends(lifetime *l, int o, CXCursor at, const char *what)
{
    if (!l->report || l->cur[o].hk & (HK_REF | HK_REF_MUT))
        return;
    for (size_t w = 0; w < l->nvars; w++) {
        if (l->vars[w].kind != V_PROXY || l->cur[w].lender != o || !borrow_alive(l, (int)w))
            continue;
        char oname[128], wname[128];
        ps_flow_name(l, o, oname, sizeof oname);
        ps_flow_name(l, (int)w, wname, sizeof wname);
        ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_BORROW, at,
                                    "owner '%s' %s while %s borrow '%s' is alive", oname, what,
                                    borrow_word(l->cur[w].hk), wname);
        if (d)
            note_borrow(l, d, (int)w);
        return;
    }
}


static void report_shared_write(lifetime *l, int b, CXCursor at, const char *fmt, const char *what)
{
    char bname[128];
    ps_flow_name(l, b, bname, sizeof bname);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_BORROW, at, fmt, what, bname);
    if (d && !clang_Cursor_isNull(l->cur[b].made))
        ps_diag_note(l->ck->sink, d, l->cur[b].made, "'%s' borrowed here", bname);
    else if (d) {
        ps_ptype pt = ps_ptype_of_decl(l->ck->pt, l->vars[b].decl);
        ps_note_origin(l->ck, d, &pt);
    }
}

/* v is updated or resolved for writing by `call`. */
void ps_flow_borrow_mutate(lifetime *l, int v, CXCursor call)
{
    ps_flow_use(l, v, call);
    if (!l->report || l->cur[v].bits == S_RELEASED || l->cur[v].bits == S_SENT)
        return;
    ps_fn_role role = ps_callee_role(l->ck->pt, call);
    bool reads = role == PS_FN_RESOLVE || role == PS_FN_RESOLVE_AS;
    if (l->cur[v].hk == HK_REF) {
        char fn[128];
        ps_cursor_name(ps_callee_decl(call), fn, sizeof fn);
        if (role == PS_FN_RESOLVE_AS || role == PS_FN_RESOLVE_MUT)
            ps_fmt(fn, sizeof fn, "%s", role == PS_FN_RESOLVE_AS ? "PS_RESOLVE" : "PS_RESOLVE_MUT");
        report_shared_write(l, v, call,
                            role == PS_FN_UPDATE ? "%s on shared borrow '%s': only an owner or an "
                                                   "exclusive borrow can write its target back"
                                                 : "%s on shared borrow '%s', which is read-only: "
                                                   "resolve it with PS_RESOLVE_REF",
                            fn);
        return;
    }
    if (!reads)
        ps_flow_borrow_owner_ends(l, v, call, role == PS_FN_UPDATE ? "updated" : "resolved for writing");
}

/* The target t points into is written at `at`. */
void ps_flow_borrow_write(lifetime *l, int t, CXCursor at)
{
    int b = l->cur[t].owner;
    if (!l->report || b < 0 || l->cur[b].hk != HK_REF || l->cur[b].bits == S_RELEASED)
        return;
    char tname[128];
    ps_flow_name(l, t, tname, sizeof tname);
    report_shared_write(l, b, at, "write through '%s', which points into the target of shared "
                                  "borrow '%s'", tname);
}

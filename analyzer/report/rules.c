/*
 * rules.c — the rule table: ids, one-line summaries, descriptions and
 * default severities.  The order follows enum ps_rule in rules.h.
 */
#include "rules.h"

#include <string.h>

static const ps_rule_info rule_table[PS_RULE_COUNT_] = {
    [PS_RULE_TARGET_MISMATCH] = {
        "ps-target-mismatch",
        "A PROXY(T) flows into a PROXY(U) with a different target type",
        "A proxy whose target is a T is assigned, passed, returned or stored where a proxy "
        "of another target type U is expected. Resolving it there yields an object of the "
        "wrong type on the consumer's side.",
        PS_SEV_ERROR, true},
    [PS_RULE_UNRESOLVED_PROXY] = {
        "ps-unresolved-proxy",
        "A proxy is used as if it were its target or a plain pointer",
        "A proxy handle is passed to a T * or void * parameter that is not a proxy parameter, "
        "cast to an object pointer, dereferenced, or given to free/memcpy. A proxy is an "
        "opaque handle: resolve it (ps_resolve, PS_RESOLVE) to reach its target.",
        PS_SEV_ERROR, true},
    [PS_RULE_OR_MISMATCH] = {
        "ps-or-mismatch",
        "A PROXY_OR(T) receives something that is neither a T * nor a PROXY(T)",
        "A value of another type flows into a PROXY_OR(T) parameter, variable or field. "
        "PROXY_OR(T) accepts exactly a T * or a PROXY(T).",
        PS_SEV_ERROR, true},
    [PS_RULE_UNRESOLVED_OR] = {
        "ps-unresolved-or",
        "A PROXY_OR(T) is used as a T * without PS_RESOLVE_OR",
        "A PROXY_OR(T) may hold a proxy; using it directly as a T * reads the proxy handle "
        "as if it were the object. Convert it with PS_RESOLVE_OR(T, x) first.",
        PS_SEV_ERROR, true},
    [PS_RULE_RESOLVE_MISMATCH] = {
        "ps-resolve-mismatch",
        "The target of a PROXY(T) is resolved into a pointer of another type",
        "ps_resolve, PS_RESOLVE(U, p) or PS_RESOLVE_OR(U, x) turns a proxy whose target is a "
        "T into a U * with U different from T.",
        PS_SEV_ERROR, true},
    [PS_RULE_CREATE_MISMATCH] = {
        "ps-create-mismatch",
        "ps_proxy is given an object or destination that does not match its type",
        "The object given to ps_proxy does not match the type descriptor, or the new proxy "
        "is stored in a PROXY(U) whose target type differs from the object's.",
        PS_SEV_ERROR, true},
    [PS_RULE_ANNOTATION] = {
        "ps-annotation",
        "A malformed proxy annotation",
        "An annotation that cannot describe a proxy: PROXY(void), a function type target, "
        "or a proxy of a proxy where none is meant.",
        PS_SEV_ERROR, true},
    [PS_RULE_UNTYPED_PROXY] = {
        "ps-untyped-proxy",
        "A ps_proxy_t * without a PROXY(T) annotation (only with --strict)",
        "A declaration uses the bare proxy handle type, so the checker cannot know its "
        "target type. Annotate it with PROXY(T). Reported only in strict mode.",
        PS_SEV_WARNING, false},
    [PS_RULE_USE_AFTER_FREE] = {
        "ps-use-after-free",
        "A proxy is used after it was released",
        "A proxy variable is resolved, passed, returned or copied after a release "
        "(ps_proxy_free, ps_proxy_evict, ps_owned_release, ps_borrow_release) or a move "
        "(ps_proxy_serialize of an owner or a borrow, ps_into_owned) on every path reaching "
        "the use. A released handle is freed memory; a moved one fails every use.",
        PS_SEV_ERROR, true},
    [PS_RULE_DOUBLE_FREE] = {
        "ps-double-free",
        "A proxy is released twice",
        "A release (ps_proxy_free, ps_proxy_evict, ps_owned_release, ps_borrow_release) is "
        "called on a proxy variable that every path reaching the call has already released.",
        PS_SEV_ERROR, true},
    [PS_RULE_LEAK] = {
        "ps-leak",
        "A proxy created here is neither released nor moved on some path",
        "On some path to a return or the end of the function, a proxy this function created "
        "(ps_proxy & co., ps_owned & co., ps_borrow, ps_borrow_mut, ps_lifetime_proxy, ps_future_proxy) is not released, "
        "returned, stored or handed to code that may keep it, so its handle and target stay.",
        PS_SEV_WARNING, true},
    [PS_RULE_DANGLING_TARGET] = {
        "ps-dangling-target",
        "A pointer from a resolved proxy is used after the proxy is released",
        "A pointer obtained by resolving a proxy points into the proxy's cached target, "
        "which the release frees; it is used after every path reaching the use released "
        "the proxy.",
        PS_SEV_ERROR, true},
    [PS_RULE_BORROW] = {
        "ps-borrow",
        "A borrow rule is broken",
        "Within one function: an exclusive borrow of an owner alive beside another borrow of "
        "it, the owner released, moved, updated or resolved for writing while a borrow of it "
        "is alive (or was stored where it outlives the function), or a write through a "
        "shared borrow (through the pointer its resolve returned, by ps_proxy_update, or by "
        "resolving it for writing).",
        PS_SEV_ERROR, true},
    [PS_RULE_PARSE_ERROR] = {
        "clang-parse-error",
        "The file could not be parsed",
        "clang reported an error while parsing the file (malformed C, a missing header, "
        "an unsupported flag). The rest of the file may not have been checked.",
        PS_SEV_ERROR, true},
};

const ps_rule_info *ps_rule_info_of(ps_rule rule)
{
    if ((int)rule < 0 || rule >= PS_RULE_COUNT_)
        return NULL;
    return &rule_table[rule];
}

int ps_rule_from_id(const char *id)
{
    if (!id)
        return -1;
    for (int r = 0; r < PS_RULE_COUNT_; r++)
        if (strcmp(rule_table[r].id, id) == 0)
            return r;
    return -1;
}

const char *ps_severity_name(ps_severity sev)
{
    switch (sev) {
    case PS_SEV_OFF: return "off";
    case PS_SEV_NOTE: return "note";
    case PS_SEV_WARNING: return "warning";
    case PS_SEV_ERROR: return "error";
    }
    return "error";
}

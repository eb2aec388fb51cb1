/*
 * parse_snippet.h — parses a C snippet the way ps-check does (with
 * __PS_CHECK__, the annotation and runtime headers, clang's resource
 * directory), for tests of the analyzer's internals, and finds cursors
 * by name in a translation unit.
 */
#ifndef PS_TEST_PARSE_SNIPPET_H
#define PS_TEST_PARSE_SNIPPET_H

#include <clang-c/Index.h>
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

typedef struct snippet {
    CXIndex index;
    CXTranslationUnit tu;
} snippet;

/* Parses src as /virtual/snippet.c; fails the test if clang reports an error. */
static inline snippet snippet_parse(const char *src)
{
    snippet s;
    s.index = clang_createIndex(0, 0);
    const char *args[] = {
        "-std=gnu11", "-D__PS_CHECK__", "-I", PS_ANNOTATIONS_DIR,
        "-I", PS_SOURCE_DIR "/runtime/include", "-resource-dir", PS_CLANG_RESOURCE_DIR,
        "-Wno-incompatible-pointer-types", "-Wno-int-conversion",
    };
    struct CXUnsavedFile file = {"/virtual/snippet.c", src, (unsigned long)strlen(src)};
    enum CXErrorCode rc = clang_parseTranslationUnit2(
        s.index, "/virtual/snippet.c", args, (int)(sizeof args / sizeof args[0]), &file, 1,
        CXTranslationUnit_KeepGoing, &s.tu);
    cr_assert_eq(rc, CXError_Success, "libclang could not parse the snippet");
    unsigned n = clang_getNumDiagnostics(s.tu);
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(s.tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev >= CXDiagnostic_Error) {
            CXString msg = clang_formatDiagnostic(d, clang_defaultDiagnosticDisplayOptions());
            cr_log_error("%s", clang_getCString(msg));
            clang_disposeString(msg);
        }
        clang_disposeDiagnostic(d);
        cr_assert_lt(sev, CXDiagnostic_Error, "the snippet does not compile");
    }
    return s;
}

static inline void snippet_free(snippet *s)
{
    clang_disposeTranslationUnit(s->tu);
    clang_disposeIndex(s->index);
}

typedef enum find_mode {
    FIND_FIRST,        /* the first cursor in the TU, headers included */
    FIND_LAST_IN_MAIN, /* the last one in the main file: definitions come after prototypes */
} find_mode;

typedef struct find_state {
    const char *name;
    bool (*kind_ok)(enum CXCursorKind);
    find_mode mode;
    CXCursor found;
    bool any;
} find_state;

static enum CXChildVisitResult find_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    find_state *st = data;
    if (!st->kind_ok(clang_getCursorKind(c)))
        return CXChildVisit_Recurse;
    CXString s = clang_getCursorSpelling(c);
    bool hit = strcmp(clang_getCString(s), st->name) == 0;
    clang_disposeString(s);
    if (!hit || (st->mode == FIND_LAST_IN_MAIN &&
                 !clang_Location_isFromMainFile(clang_getCursorLocation(c))))
        return CXChildVisit_Recurse;
    st->found = c;
    st->any = true;
    return st->mode == FIND_FIRST ? CXChildVisit_Break : CXChildVisit_Recurse;
}

/* The cursor named name whose kind kind_ok accepts, in tu; fails the test
 * when there is none. */
static inline CXCursor find_cursor(CXTranslationUnit tu, const char *name,
                                   bool (*kind_ok)(enum CXCursorKind), find_mode mode)
{
    find_state st = {name, kind_ok, mode, clang_getNullCursor(), false};
    clang_visitChildren(clang_getTranslationUnitCursor(tu), find_visit, &st);
    cr_assert(st.any, "no cursor named %s", name);
    return st.found;
}

static inline bool is_decl_kind(enum CXCursorKind k)
{
    return k == CXCursor_VarDecl || k == CXCursor_ParmDecl || k == CXCursor_FieldDecl ||
           k == CXCursor_FunctionDecl || k == CXCursor_TypedefDecl;
}

/* The declaration named name in the snippet (the last one of that name). */
static inline CXCursor snippet_decl(const snippet *s, const char *name)
{
    return find_cursor(s->tu, name, is_decl_kind, FIND_LAST_IN_MAIN);
}

/* The initializer of the variable named name. */
static inline CXCursor snippet_init(const snippet *s, const char *name)
{
    CXCursor init = clang_Cursor_getVarDeclInitializer(snippet_decl(s, name));
    cr_assert(!clang_Cursor_isNull(init), "%s has no initializer", name);
    return init;
}

#endif /* PS_TEST_PARSE_SNIPPET_H */

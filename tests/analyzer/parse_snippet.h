/*
 * parse_snippet.h — parses a C snippet the way ps-check does (with
 * __PS_CHECK__, the annotation and runtime headers, clang's resource
 * directory), for tests of the analyzer's internals.
 */
#ifndef PS_TEST_PARSE_SNIPPET_H
#define PS_TEST_PARSE_SNIPPET_H

#include <clang-c/Index.h>
#include <criterion/criterion.h>
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

typedef struct find_state {
    const char *name;
    CXCursor found;
    bool any;
} find_state;

static enum CXChildVisitResult snippet_find_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    find_state *st = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_VarDecl || k == CXCursor_ParmDecl || k == CXCursor_FieldDecl ||
        k == CXCursor_FunctionDecl || k == CXCursor_TypedefDecl) {
        CXString s = clang_getCursorSpelling(c);
        bool hit = strcmp(clang_getCString(s), st->name) == 0;
        clang_disposeString(s);
        if (hit && clang_Location_isFromMainFile(clang_getCursorLocation(c))) {
            st->found = c; /* the last one: definitions come after prototypes */
            st->any = true;
        }
    }
    return CXChildVisit_Recurse;
}

/* The declaration named name in the snippet (the last one of that name). */
static inline CXCursor snippet_decl(const snippet *s, const char *name)
{
    find_state st = {name, clang_getNullCursor(), false};
    clang_visitChildren(clang_getTranslationUnitCursor(s->tu), snippet_find_visit, &st);
    cr_assert(st.any, "no declaration named %s", name);
    return st.found;
}

/* The initializer of the variable named name. */
static inline CXCursor snippet_init(const snippet *s, const char *name)
{
    CXCursor init = clang_Cursor_getVarDeclInitializer(snippet_decl(s, name));
    cr_assert(!clang_Cursor_isNull(init), "%s has no initializer", name);
    return init;
}

#endif /* PS_TEST_PARSE_SNIPPET_H */

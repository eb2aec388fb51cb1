// header_check.cpp — the public headers used from C++, as a C++ program
// linking libproxystore would use them: a plain-data type descriptor, a
// store, a proxy, a resolve, the version.  Built by check.sh with g++ and
// clang++ at -Wall -Wextra -Werror -pedantic.
#include <proxystore/annotations.h>
#include <proxystore/proxystore.h>
#include <proxystore/version.h>

#include <cstdio>
#include <cstring>

struct point {
    double x, y;
};
PS_TYPE_DECLARE(point_type, struct point);
PS_TYPE_POD_DEFINE(point_type, struct point);

static_assert(PS_VERSION_NUMBER == PS_VERSION_ENCODE(PS_VERSION_MAJOR, PS_VERSION_MINOR, PS_VERSION_PATCH),
              "version macros agree");

static int fail(const char *what)
{
    std::fprintf(stderr, "header_check: %s: %s\n", what, ps_last_error_message());
    return 1;
}

int main()
{
    if (std::strcmp(ps_version(), PS_VERSION_STRING) != 0)
        return fail("ps_version() differs from PS_VERSION_STRING");
    if (point_type.align != alignof(point) || point_type.size != sizeof(point))
        return fail("PS_TYPE_POD_DEFINE gave the wrong size or alignment");
    ps_store *store = ps_store_open("cxx", "local://", nullptr);
    if (!store)
        return fail("open");
    point p = {1.5, -2.0};
    PROXY(struct point) proxy = ps_proxy(store, &point_type, &p);
    if (!proxy)
        return fail("proxy");
    const point *q = PS_RESOLVE(struct point, proxy);
    if (!q || q->x != 1.5 || q->y != -2.0)
        return fail("resolve");
    ps_proxy_evict(proxy);
    ps_store_close(store);
    std::printf("header_check: ok (ProxyStore %s)\n", ps_version());
    return 0;
}

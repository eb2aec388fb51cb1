/* version.c — ps_version(): the version this library was built as. */
#include "proxystore/proxystore.h"
#include "proxystore/version.h"

const char *ps_version(void)
{
    return PS_VERSION_STRING;
}

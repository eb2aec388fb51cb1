/* connector.c — open a connector by its URL's scheme (see connector.h). */
#include "connector.h"

#include <string.h>

#include "error.h"

static const ps_connector_ops *const connectors[] = {
    &ps_local_connector,
    &ps_shm_connector,
    &ps_file_connector,
    &ps_redis_connector,
#ifdef PS_HAVE_MPI
    &ps_mpi_connector,
#endif
    &ps_multi_connector,
};

#ifdef PS_HAVE_MPI
static const char known_schemes[] = "local, shm, file, redis, multi, mpi";
#else
static const char known_schemes[] = "local, shm, file, redis, multi";
#endif

ps_status ps_connector_open(const char *url_text, ps_connector **out)
{
    if (!out)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_connector_open: no output given");
    *out = NULL;
    ps_url url;
    ps_status st = ps_url_parse(url_text, &url);
    if (st != PS_OK)
        return st;
    const ps_connector_ops *ops = NULL;
    for (size_t i = 0; i < sizeof connectors / sizeof connectors[0]; i++)
        if (strcmp(connectors[i]->scheme, url.scheme) == 0)
            ops = connectors[i];
    if (!ops && strcmp(url.scheme, "mpi") == 0) {
        st = ps_error_set(PS_ERR_BAD_URL, "URL '%s': this libproxystore was built without MPI, so it has "
                          "no mpi:// connector (rebuild with an MPI library, e.g. libopenmpi-dev)", url.text);
    } else if (!ops) {
        st = ps_error_set(PS_ERR_BAD_URL, "URL '%s' names no known connector (scheme '%s'; known: "
                          "%s)", url.text, url.scheme, known_schemes);
    } else {
        st = ops->open(&url, out);
        if (st == PS_OK && !*out)
            st = ps_error_set(PS_ERR_STATE, "connector '%s' opened nothing", ops->scheme);
        else if (st == PS_OK)
            (*out)->ops = ops; /* the store dispatches through it */
    }
    ps_url_free(&url);
    return st;
}

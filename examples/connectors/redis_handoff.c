/*
 * redis_handoff.c — two processes (on any hosts that reach the server)
 * share an object through Redis.
 *
 *   redis_handoff redis://HOST:PORT[?prefix=P]
 *   PS_EXAMPLE_REDIS_URL=redis://... redis_handoff
 */
#include <stdio.h>
#include <stdlib.h>

#include "handoff.h"

int main(int argc, char **argv)
{
    const char *url = argc > 1 && argv[1][0] != '-' ? argv[1] : getenv("PS_EXAMPLE_REDIS_URL");
    return handoff_main(argc, argv, url);
}

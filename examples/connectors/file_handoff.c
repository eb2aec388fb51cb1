/*
 * file_handoff.c — two processes share an object through a directory (on a
 * shared file system, processes on different nodes can).
 *
 *   file_handoff [file:///DIR]      default: a new directory under /tmp
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "handoff.h"

int main(int argc, char **argv)
{
    char dir[] = "/tmp/ps-example-XXXXXX", url[64];
    if (argc > 1 && argv[1][0] != '-')
        return handoff_main(argc, argv, argv[1]);
    if (argc > 1) /* the consumer: its store comes from the descriptor */
        return handoff_main(argc, argv, NULL);
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    snprintf(url, sizeof url, "file://%s", dir);
    int rc = handoff_main(argc, argv, url);
    rmdir(dir);
    return rc;
}

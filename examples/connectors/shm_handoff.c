/*
 * shm_handoff.c — two processes on one node share an object through POSIX
 * shared memory: the consumer maps it, no copy.
 *
 *   shm_handoff [shm://NAME]        default: shm://example-<pid>
 */
#include <stdio.h>
#include <unistd.h>

#include "handoff.h"

int main(int argc, char **argv)
{
    char url[64];
    snprintf(url, sizeof url, "shm://example-%d", (int)getpid());
    return handoff_main(argc, argv, argc > 1 && argv[1][0] != '-' ? argv[1] : url);
}

/*
 * helper_arena.c — a reader in another process, for the arena tests
 * (test_shm_arena.c).
 *
 *   helper_arena URL KEY SEED LEN
 *
 * Opens the shm:// store, gets KEY, checks its LEN bytes against the
 * pattern of SEED and prints "held"; then, for each line "check" on stdin,
 * checks the bytes again (it still maps them) and prints "ok" or "changed".
 * At end of input it releases the object, closes the store and exits 0.
 * Any failure: a message on stderr and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena_pattern.h"
#include "connector.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: helper_arena URL KEY SEED LEN\n");
        return 2;
    }
    unsigned seed = (unsigned)strtoul(argv[3], NULL, 10);
    size_t len = (size_t)strtoull(argv[4], NULL, 10);
    ps_url url;
    ps_connector *c = NULL;
    if (ps_url_parse(argv[1], &url) != PS_OK || ps_shm_connector.open(&url, &c) != PS_OK) {
        fprintf(stderr, "helper_arena: open %s: %s\n", argv[1], ps_last_error_message());
        return 1;
    }
    ps_url_free(&url);
    ps_blob blob;
    if (c->ops->get(c, argv[2], &blob) != PS_OK) {
        fprintf(stderr, "helper_arena: get %s: %s\n", argv[2], ps_last_error_message());
        return 1;
    }
    if (blob.len != len || !ps_pattern_check(blob.data, len, seed)) {
        fprintf(stderr, "helper_arena: %s holds other bytes\n", argv[2]);
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "check", 5) == 0) {
            printf("%s\n", ps_pattern_check(blob.data, len, seed) ? "ok" : "changed");
            fflush(stdout);
        }
    }
    ps_blob_release(&blob);
    c->ops->close(c);
    return 0;
}

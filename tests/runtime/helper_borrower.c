/*
 * helper_borrower.c — the other process of test_ownership_cross.c: it takes
 * owned proxies and borrows from descriptors and acts on them when told.
 *
 * Commands, one per line on stdin; one answer line on stdout each, "ok ..."
 * or "err CODE MESSAGE":
 *   take DESCRIPTOR    deserialize (int64_t target) and resolve it for reading:
 *                      "ok KIND FIRST LAST"
 *   mutate             add 1 to every element through PS_RESOLVE_MUT, update
 *   release            release the handle taken (owner or borrow)
 *   lease URL MS N     put N objects in a lease of MS ms on store URL:
 *                      "ok KEY..."
 * At end of input it exits without releasing anything (as a process that
 * dies would).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxystore/proxystore.h>

static void fail(void)
{
    printf("err %s %s\n", ps_status_name(ps_last_error_code()), ps_last_error_message());
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char line[8192];
    ps_proxy_t *held = NULL;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "take ", 5) == 0) {
            held = ps_proxy_deserialize(line + 5, &ps_type_int64);
            const int64_t *v = held ? PS_RESOLVE_REF(int64_t, held) : NULL;
            if (!v) {
                fail();
                continue;
            }
            printf("ok %s %lld %lld\n", ps_proxy_kind_name(ps_proxy_kind_of(held)), (long long)v[0],
                   (long long)v[ps_proxy_count(held) - 1]);
        } else if (strcmp(line, "mutate") == 0) {
            int64_t *v = PS_RESOLVE_MUT(int64_t, held);
            if (!v) {
                fail();
                continue;
            }
            for (size_t i = 0; i < ps_proxy_count(held); i++)
                v[i]++;
            if (ps_proxy_update(held) != PS_OK)
                fail();
            else
                printf("ok\n");
        } else if (strcmp(line, "release") == 0) {
            ps_status st = ps_proxy_kind_of(held) == PS_KIND_OWNED ? ps_owned_release(held)
                                                                   : ps_borrow_release(held);
            if (st != PS_OK)
                fail();
            else
                printf("ok\n");
        } else if (strncmp(line, "lease ", 6) == 0) {
            char url[4096];
            unsigned long ms, n;
            if (sscanf(line + 6, "%4095s %lu %lu", url, &ms, &n) != 3) {
                printf("err usage lease URL MS N\n");
                continue;
            }
            ps_store *s = ps_store_open("leased", url, NULL);
            ps_lifetime *lt = s ? ps_lifetime_lease(ms) : NULL;
            if (!lt) {
                fail();
                continue;
            }
            printf("ok");
            for (unsigned long i = 0; i < n; i++) {
                int64_t x = (int64_t)i;
                ps_proxy_t *p = ps_lifetime_proxy(lt, s, &ps_type_int64, &x);
                if (!p)
                    break;
                printf(" %s", ps_proxy_key(p));
            }
            printf("\n");
        } else {
            printf("err usage unknown command\n");
        }
    }
    return 0; // ps-check-ignore: ps-leak (a holder that exits without releasing is under test)
}

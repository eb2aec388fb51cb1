/* Puts an array through an installed libproxystore and checks it back. */
#include <stdio.h>
#include <proxystore/proxystore.h>

int main(void)
{
    ps_store *store = ps_store_open("consumer", "local://", NULL);
    if (!store) {
        fprintf(stderr, "open: %s\n", ps_last_error_message());
        return 1;
    }
    double values[100];
    for (int i = 0; i < 100; i++)
        values[i] = i * 0.5;
    PROXY(double) p = ps_proxy_array(store, &ps_type_double, values, 100);
    const double *got = p ? PS_RESOLVE(double, p) : NULL;
    int ok = got && ps_proxy_count(p) == 100 && got[99] == 49.5;
    ps_proxy_evict(p);
    ps_store_close(store);
    printf("%s\n", ok ? "consumer ok" : "consumer FAILED");
    return ok ? 0 : 1;
}

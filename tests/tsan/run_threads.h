/* run_threads.h — start n threads on fn (each given its index) and wait
 * for all of them; for the TSan stress programs of this folder. */
#ifndef PS_TSAN_RUN_THREADS_H
#define PS_TSAN_RUN_THREADS_H

#include <pthread.h>
#include <stdlib.h>

static inline void run_threads(void *(*fn)(void *), long n)
{
    pthread_t t[64];
    if (n > 64)
        abort();
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)i) != 0)
            abort();
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

#endif /* PS_TSAN_RUN_THREADS_H */

/*
 * fake_redis.h — a tiny stand-in for redis-server, for the replies a real
 * server gives only in states a test cannot reach on demand (LOADING while
 * it reads its data after a restart).
 *
 * It listens on a free loopback port, serves each connection on a thread of
 * its own, and answers the first `loading` commands (counted over all
 * connections) with "-LOADING ...".  After that it answers like an empty
 * server: PING +PONG, GET $-1, EXISTS/UNLINK/DEL :0, everything else +OK.
 * It keeps no data.  Setting close_next drops the connection the next
 * command arrives on, as a server restart would.
 */
#ifndef PS_TEST_FAKE_REDIS_H
#define PS_TEST_FAKE_REDIS_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct ps_fake_redis {
    int listen_fd;
    int port;
    atomic_long loading;  /* commands still to answer with LOADING */
    atomic_long commands; /* commands received */
    atomic_bool stop;
    atomic_bool close_next; /* close the connection the next command comes on, unanswered */
    pthread_t acceptor;
} ps_fake_redis;

/* Start; loading < 0 means LOADING forever.  0 on success. */
int ps_fake_redis_start(ps_fake_redis *f, long loading);
void ps_fake_redis_stop(ps_fake_redis *f);

#endif /* PS_TEST_FAKE_REDIS_H */

#include <proxystore/annotations.h>

struct grid {
    int n;
};

void consume(PROXY(struct grid) g);

void produce(PROXY(struct grid) g)
{
    consume(g);
}

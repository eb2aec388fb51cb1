#include <proxystore/annotations.h>

struct grid {
    int n;
};
struct mesh {
    int cells;
};

void consume_mesh(PROXY(struct mesh) m);

void produce_wrong(PROXY(struct grid) g)
{
    consume_mesh(g);
}

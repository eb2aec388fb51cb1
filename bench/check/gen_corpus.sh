#!/usr/bin/env bash
# gen_corpus.sh [--single] N DIR — writes N C files of proxy-using code
# (about 210 lines each: numeric kernels, string handling, a state
# machine, a merge sort, proxies created, passed, resolved and freed
# correctly; each includes stdio/stdlib/string/math and proxystore.h),
# a shared header and a compile_commands.json.  With --single, the N units
# go into one file (src/single.c) instead: the per-file costs vanish and
# parsing dominates.  The code is clean (ps-check finds nothing), so the
# benchmark measures a full traversal without output costs.
set -euo pipefail
single=0
if [ "${1:-}" = --single ]; then
    single=1
    shift
fi
n=${1:?usage: gen_corpus.sh [--single] N DIR}
dir=${2:?usage: gen_corpus.sh [--single] N DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/src" "$dir/include"

cat > "$dir/include/model.h" <<'EOF'
#ifndef MODEL_H
#define MODEL_H
#include <stddef.h>
#include <stdint.h>
#include <proxystore/annotations.h>
#include <proxystore/proxystore.h>

struct vec3 { double x, y, z; };
struct particle { struct vec3 pos, vel; double mass; uint32_t id; };
struct grid { size_t nx, ny; double *cells; };
struct mesh { size_t nverts; struct vec3 *verts; size_t nfaces; uint32_t (*faces)[3]; };
struct record { char name[64]; int kind; double score; struct record *next; };
enum phase { PHASE_INIT, PHASE_LOAD, PHASE_STEP, PHASE_SAVE, PHASE_DONE };

extern const ps_type particle_type, grid_type, mesh_type;

PROXY(struct grid) grid_publish(ps_store *store, const struct grid *g);
void grid_consume(PROXY(struct grid) g, double *sum);
PROXY(struct mesh) mesh_publish(ps_store *store, const struct mesh *m);
double mesh_area(PROXY_OR(struct mesh) m);
int record_compare(const struct record *a, const struct record *b);
#endif
EOF

gen_includes() {
    cat <<'EOF'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
EOF
}

gen_file() {
    local i=$1
    cat <<EOF

/* generated benchmark unit $i */
static double dot_$i(struct vec3 a, struct vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

static struct vec3 cross_$i(struct vec3 a, struct vec3 b)
{
    struct vec3 r = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
    return r;
}

static void integrate_$i(struct particle *ps, size_t n, double dt)
{
    for (size_t k = 0; k < n; k++) {
        struct particle *p = &ps[k];
        double speed = sqrt(dot_$i(p->vel, p->vel));
        if (speed > 100.0) {
            p->vel.x *= 100.0 / speed;
            p->vel.y *= 100.0 / speed;
            p->vel.z *= 100.0 / speed;
        }
        p->pos.x += p->vel.x * dt;
        p->pos.y += p->vel.y * dt;
        p->pos.z += p->vel.z * dt;
    }
}

static double stencil_$i(const struct grid *g)
{
    double total = 0;
    for (size_t y = 1; y + 1 < g->ny; y++)
        for (size_t x = 1; x + 1 < g->nx; x++) {
            const double *c = &g->cells[y * g->nx + x];
            total += 0.25 * (c[-1] + c[1] + c[-(long)g->nx] + c[g->nx]) - c[0];
        }
    return total;
}

static int parse_line_$i(const char *line, struct record *out)
{
    char kind[16];
    memset(out, 0, sizeof *out);
    if (sscanf(line, "%63s %15s %lf", out->name, kind, &out->score) != 3)
        return -1;
    if (strcmp(kind, "alpha") == 0)
        out->kind = 1;
    else if (strcmp(kind, "beta") == 0)
        out->kind = 2;
    else if (strncmp(kind, "gamma", 5) == 0)
        out->kind = 3 + atoi(kind + 5);
    else
        return -2;
    return 0;
}

static struct record *sort_records_$i(struct record *head)
{
    if (!head || !head->next)
        return head;
    struct record *slow = head, *fast = head->next;
    while (fast && fast->next) {
        slow = slow->next;
        fast = fast->next->next;
    }
    struct record *right = slow->next;
    slow->next = NULL;
    struct record *a = sort_records_$i(head), *b = sort_records_$i(right);
    struct record dummy = {0}, *tail = &dummy;
    while (a && b) {
        if (record_compare(a, b) <= 0) {
            tail->next = a;
            a = a->next;
        } else {
            tail->next = b;
            b = b->next;
        }
        tail = tail->next;
    }
    tail->next = a ? a : b;
    return dummy.next;
}

static enum phase step_$i(enum phase ph, int *counter, char *log, size_t loglen)
{
    switch (ph) {
    case PHASE_INIT:
        *counter = 0;
        snprintf(log, loglen, "init %d", $i);
        return PHASE_LOAD;
    case PHASE_LOAD:
        if (++*counter < 3)
            return PHASE_LOAD;
        return PHASE_STEP;
    case PHASE_STEP:
        *counter += 2;
        if (*counter > 10) {
            snprintf(log, loglen, "stepped %d times", *counter);
            return PHASE_SAVE;
        }
        return PHASE_STEP;
    case PHASE_SAVE:
        return PHASE_DONE;
    default:
        return PHASE_DONE;
    }
}

static double mesh_volume_$i(const struct mesh *m)
{
    double vol = 0;
    for (size_t f = 0; f < m->nfaces; f++) {
        struct vec3 a = m->verts[m->faces[f][0]], b = m->verts[m->faces[f][1]],
                    c = m->verts[m->faces[f][2]];
        vol += dot_$i(a, cross_$i(b, c)) / 6.0;
    }
    return fabs(vol);
}

double task_grid_$i(ps_store *store, size_t nx, size_t ny)
{
    struct grid g = {nx, ny, calloc(nx * ny, sizeof(double))};
    if (!g.cells)
        return -1;
    for (size_t k = 0; k < nx * ny; k++)
        g.cells[k] = sin((double)k * 0.01 + $i);
    PROXY(struct grid) p = grid_publish(store, &g);
    double sum = 0;
    if (p) {
        grid_consume(p, &sum);
        struct grid *back = PS_RESOLVE(struct grid, p);
        if (back)
            sum += stencil_$i(back);
        ps_proxy_free(p);
    }
    free(g.cells);
    return sum;
}

double task_mesh_$i(ps_store *store, const struct mesh *m)
{
    PROXY(struct mesh) p = mesh_publish(store, m);
    if (!p)
        return mesh_volume_$i(m);
    double area = mesh_area(p) + mesh_area((void *)m);
    struct mesh *local = PS_RESOLVE(struct mesh, p);
    double vol = local ? mesh_volume_$i(local) : 0;
    ps_proxy_free(p);
    return area + vol;
}

int task_particles_$i(ps_store *store, size_t n)
{
    struct particle *ps = malloc(n * sizeof *ps);
    if (!ps)
        return -1;
    for (size_t k = 0; k < n; k++) {
        ps[k].pos = (struct vec3){(double)k, 0, 0};
        ps[k].vel = (struct vec3){1, (double)(k % 7), -1};
        ps[k].mass = 1.0 + (double)(k % 3);
        ps[k].id = (uint32_t)k;
    }
    integrate_$i(ps, n, 0.01);
    PROXY(struct particle) first = ps_proxy(store, &particle_type, &ps[0]);
    int ok = first != NULL;
    if (first) {
        struct particle *p0 = PS_RESOLVE(struct particle, first);
        ok = p0 && p0->id == 0;
        ps_proxy_free(first);
    }
    free(ps);
    return ok;
}

int task_records_$i(const char *text)
{
    struct record *head = NULL;
    char line[256];
    const char *p = text;
    int count = 0;
    while (*p) {
        size_t len = strcspn(p, "\n");
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] == '\n');
        struct record *r = malloc(sizeof *r);
        if (!r)
            break;
        if (parse_line_$i(line, r) != 0) {
            free(r);
            continue;
        }
        r->next = head;
        head = r;
        count++;
    }
    head = sort_records_$i(head);
    char log[128];
    int counter = 0;
    enum phase ph = PHASE_INIT;
    while (ph != PHASE_DONE)
        ph = step_$i(ph, &counter, log, sizeof log);
    while (head) {
        struct record *next = head->next;
        free(head);
        head = next;
    }
    return count + counter;
}
EOF
}

flags="-std=gnu11 -O2 -Wall -Wextra -I$dir/include -I$src/annotations -I$src/runtime/include"
if [ "$single" = 1 ]; then
    f="$dir/src/single.c"
    { gen_includes; for ((i = 0; i < n; i++)); do gen_file "$i"; done; } > "$f"
    echo "[{\"directory\": \"$dir\", \"file\": \"$f\", \"command\": \"cc $flags -c $f\"}]" \
        > "$dir/compile_commands.json"
    exit 0
fi
entries=()
for ((i = 0; i < n; i++)); do
    f="$dir/src/unit_$i.c"
    { gen_includes; gen_file "$i"; } > "$f"
    entries+=("{\"directory\": \"$dir\", \"file\": \"$f\", \"command\": \"cc $flags -c $f -o $dir/unit_$i.o\"}")
done
{
    echo "["
    for ((i = 0; i < ${#entries[@]}; i++)); do
        sep=","
        [ "$i" -eq $((${#entries[@]} - 1)) ] && sep=""
        echo "  ${entries[$i]}$sep"
    done
    echo "]"
} > "$dir/compile_commands.json"

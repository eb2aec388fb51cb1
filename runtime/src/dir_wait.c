/*
 * dir_wait.c — waiting for a directory entry with inotify (dir_wait.h).
 *
 * Each thread keeps one inotify instance for its waits instead of opening
 * one per wait: closing an inotify descriptor waits for an RCU grace period
 * in the kernel, milliseconds on a busy machine, which would sit between a
 * future's set and its consumer's wake-up.  The instance watches the
 * directory of the thread's last wait; events that arrive between waits
 * only cost the next wait one extra look.  A forked child makes its own
 * instance (the inherited one is shared with the parent, which would read
 * the child's events), and a thread's instance is closed when it exits.
 */
#include "dir_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct watcher {
    int fd;     /* the inotify instance */
    int wd;     /* its watch of the last directory, or -1 */
    pid_t pid;  /* the process that made it */
} watcher;

static pthread_key_t watcher_key;
static pthread_once_t watcher_once = PTHREAD_ONCE_INIT;

static void watcher_free(void *arg)
{
    watcher *w = arg;
    if (w->pid == getpid())
        close(w->fd);
    free(w);
}

static void watcher_key_make(void)
{
    pthread_key_create(&watcher_key, watcher_free);
}

/* This thread's instance, watching dirfd's directory; NULL if none can be
 * had (the caller polls). */
static watcher *watcher_for(int dirfd)
{
    pthread_once(&watcher_once, watcher_key_make);
    watcher *w = pthread_getspecific(watcher_key);
    if (w && w->pid != getpid()) { /* inherited across fork: not ours */
        free(w);
        w = NULL;
        pthread_setspecific(watcher_key, NULL);
    }
    if (!w) {
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0 || !(w = malloc(sizeof *w))) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        *w = (watcher){fd, -1, getpid()};
        if (pthread_setspecific(watcher_key, w) != 0) {
            watcher_free(w);
            return NULL;
        }
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
    int wd = inotify_add_watch(w->fd, self, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd < 0)
        return NULL;
    if (w->wd >= 0 && w->wd != wd)
        inotify_rm_watch(w->fd, w->wd);
    w->wd = wd;
    return w;
}

static void drain(int fd)
{
    char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(fd, events, sizeof events) > 0)
        ;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ps_conn_wait_entry(int dirfd, const char *name, long timeout_ms, long poll_max_ms)
{
    int saved = errno;
    watcher *w = watcher_for(dirfd);
    errno = saved;
    int ifd = w ? w->fd : -1;
    if (ifd < 0 && (poll_max_ms <= 0 || poll_max_ms > PS_CONN_POLL_FALLBACK_MS))
        poll_max_ms = PS_CONN_POLL_FALLBACK_MS;
    if (ifd >= 0)
        drain(ifd); /* old news: the look below sees what they announced */
    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    long pause = 1;
    for (;;) {
        struct stat sb;
        if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            return 0;
        if (errno != ENOENT)
            return -1;
        long wait = -1;
        if (timeout_ms >= 0) {
            wait = deadline - now_ms();
            if (wait <= 0)
                return 1;
        }
        if (poll_max_ms > 0) {
            if (wait < 0 || pause < wait)
                wait = pause;
            pause = pause * 2 > poll_max_ms ? poll_max_ms : pause * 2;
        }
        struct pollfd pfd = {ifd, POLLIN, 0};
        int rc = poll(&pfd, ifd >= 0 ? 1 : 0, wait > INT_MAX ? INT_MAX : (int)wait);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0) /* which entry does not matter: look again */
            drain(ifd);
    }
}

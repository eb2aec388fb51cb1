/*
 * dir_wait.h — waiting for an entry to appear in a directory (the set-once
 * objects of file:// and shm://, connector_file_io.h).
 */
#ifndef PS_DIR_WAIT_H
#define PS_DIR_WAIT_H

/* The longest pause between two looks when inotify cannot be had. */
#define PS_CONN_POLL_FALLBACK_MS 50

/*
 * Wait up to timeout_ms (negative: no limit) for an entry named name in the
 * directory dirfd.  inotify wakes the wait when this node's kernel creates,
 * links or renames an entry there; an entry made by another node of a shared
 * file system raises no event here, so with poll_max_ms > 0 the wait also
 * looks again after 1 ms, then after pauses doubling up to poll_max_ms (the
 * worst-case delay once the entry is visible on this node).  Without inotify
 * (no instances left) it polls the same way, up to PS_CONN_POLL_FALLBACK_MS.
 * 0 when the entry is there, 1 on timeout, -1 with errno.
 */
int ps_conn_wait_entry(int dirfd, const char *name, long timeout_ms, long poll_max_ms);

#endif /* PS_DIR_WAIT_H */

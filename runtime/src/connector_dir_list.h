/*
 * connector_dir_list.h — listing the entries of a directory-backed store
 * (file://, shm://) for the list connector op.
 */
#ifndef PS_CONNECTOR_DIR_LIST_H
#define PS_CONNECTOR_DIR_LIST_H

#include "connector.h"

/* How a directory-backed connector names things: entries start with
 * prefix; after it, temp + "PID.SEQ" is a leftover of an unfinished write;
 * key_of turns the rest into the store key (false: not an entry of this
 * store), except that with hashed_keys a rest starting with '#' is an
 * object whose key cannot be recovered. */
typedef struct ps_dir_layout {
    const char *prefix;
    const char *temp;
    bool (*key_of)(const char *rest, char key[PS_KEY_MAX]);
    bool hashed_keys;
    const char *where; /* for messages */
} ps_dir_layout;

ps_status ps_dir_list(int dirfd, const ps_dir_layout *layout, ps_list_fn fn, void *ctx);
/* unlinkat an entry that starts with the layout's prefix; missing is fine. */
ps_status ps_dir_remove_entry(int dirfd, const ps_dir_layout *layout, const char *entry);

#endif /* PS_CONNECTOR_DIR_LIST_H */

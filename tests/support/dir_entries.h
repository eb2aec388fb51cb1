/*
 * dir_entries.h — counting and removing the entries of a directory by name
 * prefix: what a file:// store directory or /dev/shm holds after a test.
 */
#ifndef PS_TEST_DIR_ENTRIES_H
#define PS_TEST_DIR_ENTRIES_H

/* How many entries of dir have names starting with prefix (NULL: every
 * entry but "." and ".."); -1 if dir cannot be read. */
int ps_test_count_entries(const char *dir, const char *prefix);

/* Remove the entries of dir whose names start with prefix: files, and the
 * empty directories some tests plant under a key's name.  A failed
 * assertion ends a test before its own cleanup, so suites call this from a
 * .fini hook too. */
void ps_test_remove_entries(const char *dir, const char *prefix);

#endif /* PS_TEST_DIR_ENTRIES_H */

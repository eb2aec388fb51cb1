/*
 * test_urls.h — a fresh connector URL per kind, for tests that run the same
 * checks on every connector.
 *
 *   "local"  local://
 *   "shm"    shm://t<pid>x<n>           a name unique to this process
 *   "file"   file:///tmp/ps-test-XXXXXX  a new directory, removed at exit
 *   "multi"  multi:///tmp/ps-test-XXXXXX/policy.json: small objects in
 *            local://, large ones in a file:// directory, one dormant
 *            connector (docs/connectors/multi.md)
 *   "redis"  the private test server (ps_test_redis_url) with
 *            ?prefix=t<pid>x<n>: a key namespace unique to this call
 *
 * extra is appended to the URL's query (e.g. "chunk=1M"); may be NULL.
 * The result is malloc'd (free it); NULL for an unknown kind or when no
 * Redis server could be started.
 */
#ifndef PS_TEST_URLS_H
#define PS_TEST_URLS_H

char *ps_test_url_for(const char *kind);
char *ps_test_url_with(const char *kind, const char *extra);

#endif /* PS_TEST_URLS_H */

/*
 * jsonfile.h — reading a JSON file with errors a user can act on
 * ("FILE:LINE:COL: invalid JSON"), shared by the configuration, the
 * compile database and the baseline.
 */
#ifndef PS_CHECK_JSONFILE_H
#define PS_CHECK_JSONFILE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parses text; on error returns NULL with "NAME:LINE:COL: ..." in err. */
cJSON *ps_json_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
/* Reads and parses a file; on error returns NULL with a message in err. */
cJSON *ps_json_read_file(const char *path, char *err, size_t errlen);
/* The whole file as a NUL-terminated string (malloc'd), or NULL with errno set. */
char *ps_read_file(const char *path, size_t *len);

#endif /* PS_CHECK_JSONFILE_H */

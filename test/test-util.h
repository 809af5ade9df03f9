/* Helpers shared by the Check suites. */
#ifndef CE_TEST_UTIL_H
#define CE_TEST_UTIL_H

#include <check.h>
#include <stddef.h>

/* Exit code meson reads as "skipped". */
#define CE_TEST_SKIP 77

/* Path of the shared reference data (../shared/refdata), or NULL with a message
 * on stderr when it is absent: the caller then exits CE_TEST_SKIP. */
const char *ce_test_refdata(void);

/* Path of the committed fixtures directory (test/fixtures). */
const char *ce_test_fixtures(void);

/* Read a whole file into a NUL-terminated malloc'd buffer (NULL on failure). */
char *ce_test_read_file(const char *path, size_t *len);

/* Run one suite with CK_NORMAL output; returns the process exit code. */
int ce_test_run(Suite *s);

#endif

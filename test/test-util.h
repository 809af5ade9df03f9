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

/* A made-up file tree (fake /proc and /sys files): a new directory under /tmp
 * named from @p prefix into @p root (size >= 64), files written below it
 * (their directories made), and the tree removed. Each fails the test on
 * error. */
void ce_test_tree_new(char *root, size_t size, const char *prefix);
void ce_test_tree_put(const char *root, const char *rel, const char *text);
void ce_test_tree_remove(const char *root);

/* The backend runs of the model suites: every backend that may be built, at
 * 1 and 2 threads ("ref" is single-threaded); a run whose backend is not
 * built is skipped by the suite. */
#define CE_TEST_N_RUNS 5
/* The thread count of the run in progress (set by ce_test_run_backend). */
extern int ce_test_run_threads;
/* The backend of run @p i (0 <= i < CE_TEST_N_RUNS), making its thread
 * count ce_test_run_threads. */
const char *ce_test_run_backend(int i);
/* Whether a backend of that name is registered (built or registered). */
int ce_test_has_backend(const char *name);

/* Run one suite with CK_NORMAL output; returns the process exit code. */
int ce_test_run(Suite *s);

#endif

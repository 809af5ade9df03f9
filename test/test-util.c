/* Helpers shared by the Check suites. */
#include "test-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contextembed/backend.h"

static const struct {
    const char *name;
    int threads;
} runs[CE_TEST_N_RUNS] = {{"ref", 1}, {"blis", 1}, {"blis", 2}, {"onednn", 1}, {"onednn", 2}};

int ce_test_run_threads = 2;

const char *ce_test_run_backend(int i)
{
    ce_test_run_threads = runs[i].threads;
    return runs[i].name;
}

int ce_test_has_backend(const char *name)
{
    for (size_t i = 0; i < ce_backend_count(); i++)
        if (!strcmp(ce_backend_name(i), name))
            return 1;
    return 0;
}

const char *ce_test_refdata(void)
{
    const char *dir = getenv("CE_REFDATA");
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "SKIP: reference data not found (%s); it lives in ../shared/refdata\n",
                dir ? dir : "CE_REFDATA unset");
        return NULL;
    }
    return dir;
}

const char *ce_test_fixtures(void)
{
    const char *dir = getenv("CE_FIXTURES");
    return dir ? dir : CE_FIXTURES_DIR;
}

void ce_test_tree_new(char *root, size_t size, const char *prefix)
{
    snprintf(root, size, "/tmp/%s-XXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(root));
}

void ce_test_tree_put(const char *root, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

void ce_test_tree_remove(const char *root)
{
    if (!root[0])
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

char *ce_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

int ce_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

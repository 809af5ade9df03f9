/* Output files that appear only when complete: see out_file.h. */
#include "out_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void out_free(cli_out_file *o)
{
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

int cli_out_open(cli_out_file *o, const char *path, const char *mode)
{
    memset(o, 0, sizeof *o);
    size_t len = strlen(path);
    o->path = malloc(len + 1);
    o->tmp = malloc(len + sizeof ".partial");
    if (!o->path || !o->tmp) {
        out_free(o);
        return cli_failf("out of memory");
    }
    memcpy(o->path, path, len + 1);
    memcpy(o->tmp, path, len);
    memcpy(o->tmp + len, ".partial", sizeof ".partial");
    if (!(o->f = fopen(o->tmp, mode))) {
        int rc = cli_failf("cannot create %s: %s", o->tmp, strerror(errno));
        out_free(o);
        return rc;
    }
    return CLI_EXIT_OK;
}

int cli_out_commit(cli_out_file *o)
{
    int closed = !ferror(o->f);
    closed &= fclose(o->f) == 0;
    o->f = NULL;
    if (!closed) {
        int rc = cli_failf("cannot write %s: %s", o->tmp, strerror(errno));
        cli_out_abort(o);
        return rc;
    }
    if (rename(o->tmp, o->path) != 0) {
        int rc = cli_failf("cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
        cli_out_abort(o);
        return rc;
    }
    out_free(o);
    return CLI_EXIT_OK;
}

int cli_out_abort(cli_out_file *o)
{
    if (!o->tmp)
        return 0;
    if (o->f)
        fclose(o->f);
    remove(o->tmp);
    out_free(o);
    return 1;
}

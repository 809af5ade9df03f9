/* Messages, exit codes and the open/create steps every command shares. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

int cli_fail(ce_status status)
{
    const char *msg = ce_last_error();
    fprintf(stderr, "contextembed: %s\n", msg && *msg ? msg : ce_status_str(status));
    return CLI_EXIT_FAILURE;
}

int cli_failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("contextembed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_FAILURE;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "contextembed: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'contextembed %s --help'.\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_options_make(const char *cmd, const char *backend, long threads, int truncate,
                     ce_options **out)
{
    ce_options *o;
    ce_status st = ce_options_create(&o);
    if (st != CE_OK)
        return cli_fail(st);
    if (backend && (st = ce_options_set_string(o, CE_OPT_BACKEND, backend)) != CE_OK) {
        ce_options_free(o);
        return cli_usage(cmd, "--backend '%s': %s", backend, ce_last_error());
    }
    if (threads >= 0 && (st = ce_options_set_int(o, CE_OPT_THREADS, threads)) != CE_OK) {
        ce_options_free(o);
        return cli_usage(cmd, "--threads %ld: %s", threads, ce_last_error());
    }
    if (truncate && (st = ce_options_set_int(o, CE_OPT_TRUNCATE, 1)) != CE_OK) {
        ce_options_free(o);
        return cli_fail(st);
    }
    *out = o;
    return CLI_EXIT_OK;
}

int cli_options_precision(const char *cmd, ce_options *opts, const char *precision)
{
    if (precision && ce_options_set_string(opts, CE_OPT_PRECISION, precision) != CE_OK)
        return cli_usage(cmd, "--precision '%s': %s", precision, ce_last_error());
    return CLI_EXIT_OK;
}

int cli_model_open(const char *path, const ce_options *opts, ce_model **out)
{
    ce_status st = ce_model_open(path, opts, out);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

int cli_session_create(const ce_model *model, const ce_options *opts, ce_session **out)
{
    ce_status st = ce_session_create(model, opts, out);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

int cli_finish_output(FILE *f, const char *name)
{
    if (fflush(f) != 0 || ferror(f))
        return cli_failf("cannot write %s: %s", name, strerror(errno));
    return CLI_EXIT_OK;
}

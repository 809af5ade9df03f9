/* contextembed embed: results as JSON lines or .npy files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed.h"
#include "json_writer.h"
#include "npy_writer.h"

int cli_sink_open(embed_sink *k, const embed_args *a, size_t n_items)
{
    memset(k, 0, sizeof *k);
    k->npy = a->npy;
    k->n_items = n_items;
    k->with_types = a->pair || a->type_ids;
    if (k->npy) {
        if (!a->output && n_items != 1)
            return cli_usage("embed", "npy to standard output takes exactly one text (%zu given); "
                             "use -o FILE", n_items);
        k->npy_path = a->output;
        return CLI_EXIT_OK;
    }
    k->json = a->output ? fopen(a->output, "w") : stdout;
    if (!k->json)
        return cli_failf("cannot create %s: %s", a->output, strerror(errno));
    return CLI_EXIT_OK;
}

static void write_json(FILE *f, const embed_item *it)
{
    size_t count = 1;
    for (size_t i = 0; i < it->ndim; i++)
        count *= it->shape[i];
    int first = 1;
    fputc('{', f);
    cli_json_key(f, "ids", &first);
    cli_json_int_array(f, it->ids, it->n_tokens);
    cli_json_key(f, "offsets", &first);
    cli_json_pairs(f, it->offsets, it->offsets ? it->n_tokens : 0);
    if (it->type_ids) {
        cli_json_key(f, "type_ids", &first);
        cli_json_int_array(f, it->type_ids, it->n_tokens);
    }
    cli_json_key(f, "shape", &first);
    cli_json_size_array(f, it->shape, it->ndim);
    cli_json_key(f, "data", &first);
    cli_json_float_array(f, it->data, count);
    fputs("}\n", f);
}

static int write_npy_file(const char *path, const embed_item *it)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_failf("cannot create %s: %s", path, strerror(errno));
    int ok = cli_npy_write(f, it->data, it->shape, it->ndim);
    int closed = fclose(f) == 0;
    if (!ok || !closed)
        return cli_failf("cannot write %s: %s", path, strerror(errno));
    return CLI_EXIT_OK;
}

static int write_npy(const embed_sink *k, size_t index, const embed_item *it)
{
    if (!k->npy_path) {
        if (!cli_npy_write(stdout, it->data, it->shape, it->ndim))
            return cli_failf("cannot write standard output: %s", strerror(errno));
        return CLI_EXIT_OK;
    }
    if (k->n_items == 1)
        return write_npy_file(k->npy_path, it);
    char *path = cli_npy_indexed_path(k->npy_path, index);
    if (!path)
        return cli_failf("out of memory");
    int rc = write_npy_file(path, it);
    free(path);
    return rc;
}

int cli_sink_write(embed_sink *k, size_t index, const embed_item *item)
{
    if (k->npy)
        return write_npy(k, index, item);
    embed_item it = *item;
    if (!k->with_types)
        it.type_ids = NULL;
    write_json(k->json, &it);
    return ferror(k->json) ? cli_failf("write error: %s", strerror(errno)) : CLI_EXIT_OK;
}

int cli_sink_close(embed_sink *k)
{
    int rc = CLI_EXIT_OK;
    if (k->json && k->json != stdout) {
        if (fclose(k->json) != 0)
            rc = cli_failf("cannot write the output file: %s", strerror(errno));
    } else {
        rc = cli_finish_output(stdout, "standard output");
    }
    k->json = NULL;
    return rc;
}

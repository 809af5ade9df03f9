/* contextembed embed: results as JSON lines, .npy files or one stacked .npy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed.h"
#include "json_writer.h"
#include "npy_writer.h"

int cli_sink_open(embed_sink *k, const embed_args *a, size_t n_items, const size_t *pos)
{
    memset(k, 0, sizeof *k);
    k->npy = a->npy;
    k->stack = a->stack;
    k->n_items = n_items;
    k->pos = pos;
    k->with_types = a->pair || a->type_ids;
    k->npy_path = a->npy ? a->output : NULL;
    if (k->npy && !k->stack) {
        if (!a->output && n_items != 1)
            return cli_usage("embed", "npy to standard output takes exactly one text (%zu given); "
                             "use -o FILE or --stack", n_items);
        return CLI_EXIT_OK;
    }
    if (!a->output) {
        k->json = k->npy ? NULL : stdout;
        return CLI_EXIT_OK;
    }
    int rc = cli_out_open(&k->out, a->output, k->npy ? "wb" : "w");
    if (!rc && !k->npy)
        k->json = k->out.f;
    return rc;
}

static size_t item_count(const embed_item *it)
{
    size_t count = 1;
    for (size_t i = 0; i < it->ndim; i++)
        count *= it->shape[i];
    return count;
}

static void write_json(FILE *f, const embed_item *it, const size_t *index)
{
    int first = 1;
    fputc('{', f);
    if (index) {
        cli_json_key(f, "index", &first);
        fprintf(f, "%zu", *index);
    }
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
    cli_json_float_array(f, it->data, item_count(it));
    fputs("}\n", f);
}

static int write_npy_file(const char *path, const embed_item *it)
{
    cli_out_file o;
    int rc = cli_out_open(&o, path, "wb");
    if (rc)
        return rc;
    if (!cli_npy_write(o.f, it->data, it->shape, it->ndim)) {
        rc = cli_failf("cannot write %s: %s", o.tmp, strerror(errno));
        cli_out_abort(&o);
        return rc;
    }
    return cli_out_commit(&o);
}

/* One file per text, named by its index (its input position with --skip-bad). */
static int write_npy(const embed_sink *k, size_t index, const embed_item *it)
{
    if (!k->npy_path) {
        if (!cli_npy_write(stdout, it->data, it->shape, it->ndim))
            return cli_failf("cannot write standard output: %s", strerror(errno));
        return CLI_EXIT_OK;
    }
    if (k->n_items == 1 && !k->pos)
        return write_npy_file(k->npy_path, it);
    char *path = cli_npy_indexed_path(k->npy_path, k->pos ? k->pos[index] : index);
    if (!path)
        return cli_failf("out of memory");
    int rc = write_npy_file(path, it);
    free(path);
    return rc;
}

static FILE *stack_stream(const embed_sink *k)
{
    return k->out.f ? k->out.f : stdout;
}

static int stack_header(embed_sink *k, const size_t *row, size_t row_ndim)
{
    size_t shape[4] = {k->n_items};
    memcpy(shape + 1, row, row_ndim * sizeof *row);
    char header[512];
    size_t hlen = cli_npy_header(header, sizeof header, shape, row_ndim + 1);
    if (!hlen || fwrite(header, 1, hlen, stack_stream(k)) != hlen)
        return cli_failf("cannot write the .npy header: %s", strerror(errno));
    return CLI_EXIT_OK;
}

/* Rows of the stacked array go out as they come: the header once the first
 * row tells the shape of a row, every other row checked against it. */
static int write_row(embed_sink *k, const embed_item *it)
{
    if (!k->row_ndim) {
        if (it->ndim > 3)
            return cli_failf("--stack: results of %zu dimensions", it->ndim);
        memcpy(k->row_shape, it->shape, it->ndim * sizeof *it->shape);
        k->row_ndim = it->ndim;
        int rc = stack_header(k, it->shape, it->ndim);
        if (rc)
            return rc;
    } else if (it->ndim != k->row_ndim ||
               memcmp(it->shape, k->row_shape, it->ndim * sizeof *it->shape)) {
        return cli_failf("--stack: results differ in shape; stack pooled outputs only");
    }
    k->rows++;
    if (!cli_npy_write_floats(stack_stream(k), it->data, item_count(it)))
        return cli_failf("write error: %s", strerror(errno));
    return CLI_EXIT_OK;
}

int cli_sink_write(embed_sink *k, size_t index, const embed_item *item)
{
    if (k->stack)
        return write_row(k, item);
    if (k->npy)
        return write_npy(k, index, item);
    embed_item it = *item;
    if (!k->with_types)
        it.type_ids = NULL;
    write_json(k->json, &it, k->pos ? &k->pos[index] : NULL);
    return ferror(k->json) ? cli_failf("write error: %s", strerror(errno)) : CLI_EXIT_OK;
}

/* --stack --skip-bad -o FILE: the input position of each row, as a JSON
 * array in FILE.index.json. */
static int write_index(const embed_sink *k)
{
    size_t len = strlen(k->npy_path);
    char *path = malloc(len + sizeof ".index.json");
    if (!path)
        return cli_failf("out of memory");
    memcpy(path, k->npy_path, len);
    memcpy(path + len, ".index.json", sizeof ".index.json");
    cli_out_file o;
    int rc = cli_out_open(&o, path, "w");
    free(path);
    if (rc)
        return rc;
    fputc('[', o.f);
    for (size_t i = 0; i < k->n_items; i++)
        fprintf(o.f, i ? ",%zu" : "%zu", k->pos[i]);
    fputs("]\n", o.f);
    if (ferror(o.f)) {
        rc = cli_failf("cannot write %s: %s", o.tmp, strerror(errno));
        cli_out_abort(&o);
        return rc;
    }
    return cli_out_commit(&o);
}

static int close_stack(embed_sink *k, const size_t *empty_row, size_t empty_ndim)
{
    int rc = CLI_EXIT_OK;
    if (!k->rows)
        rc = stack_header(k, empty_row, empty_ndim);
    if (!rc && k->rows != k->n_items)
        rc = cli_failf("--stack: %zu rows for %zu texts", k->rows, k->n_items);
    if (!rc && k->pos && k->npy_path)
        rc = write_index(k);
    return rc;
}

int cli_sink_close(embed_sink *k, const size_t *empty_row, size_t empty_ndim)
{
    int rc = k->stack ? close_stack(k, empty_row, empty_ndim) : CLI_EXIT_OK;
    k->json = NULL;
    if (rc) {
        cli_sink_abort(k);
        return rc;
    }
    if (k->out.f)
        return cli_out_commit(&k->out);
    return cli_finish_output(stdout, "standard output");
}

int cli_sink_abort(embed_sink *k)
{
    k->json = NULL;
    return cli_out_abort(&k->out);
}

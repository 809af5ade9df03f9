/* bench --profile, through the library's timing layer (backends/profile.h):
 * the tool links the internal archive, so it reaches the session's backend. */
#include "bench_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "api/model_internal.h"
#include "backends/profile.h"
#include "bench.h"
#include "cli.h"
#include "json_writer.h"

typedef struct op_row {
    char name[96];
    double ms;
    double calls;
} op_row;

int cli_bench_profile_start(ce_session *s)
{
    ce_status st = ce_backend_profile_start(s->backend);
    return st == CE_OK ? CLI_EXIT_OK : cli_fail(st);
}

/* "linear 768x3072 +gelu" for a prepared weight (out x in as torch stores it). */
static void linear_name(const ce_session *s, const void *key, char *out, size_t cap)
{
    const ce_lin_list *l = s->model->arch->linears(s->model->arch_data);
    static const char *const acts[] = {"+gelu", "+gelu_tanh", "+relu", "+sigmoid", "+tanh", ""};
    for (size_t i = 0; l && i < l->n; i++)
        if (l->items[i]->prepared == key) {
            const ce_lin *lin = l->items[i];
            snprintf(out, cap, "linear %zux%zu%s", lin->out, lin->in, acts[lin->act]);
            return;
        }
    snprintf(out, cap, "linear ?");
}

static int by_time(const void *a, const void *b)
{
    double x = ((const op_row *)a)->ms, y = ((const op_row *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Entries with the same name (a shape used by every layer) become one row. */
static size_t collect(const ce_session *s, const ce_profile_entry *e, size_t n, long runs,
                      op_row *rows)
{
    size_t n_rows = 0;
    for (size_t i = 0; i < n; i++) {
        char name[96];
        if (e[i].key && e[i].n) { /* several products of one x: "linear 768x768 x3" */
            linear_name(s, e[i].key, name, sizeof name);
            size_t used = strlen(name);
            snprintf(name + used, sizeof name - used, " x%zu", e[i].n);
        } else if (e[i].key)
            linear_name(s, e[i].key, name, sizeof name);
        else if (e[i].n)
            snprintf(name, sizeof name, "%s n=%zu k=%zu", e[i].slot, e[i].n, e[i].k);
        else
            snprintf(name, sizeof name, "%s", e[i].slot);
        size_t j = 0;
        while (j < n_rows && strcmp(rows[j].name, name))
            j++;
        if (j == n_rows)
            rows[n_rows++] = (op_row){.ms = 0};
        snprintf(rows[j].name, sizeof rows[j].name, "%s", name);
        rows[j].ms += e[i].seconds * 1e3 / (double)runs;
        rows[j].calls += (double)e[i].calls / (double)runs;
    }
    qsort(rows, n_rows, sizeof *rows, by_time);
    return n_rows;
}

void cli_bench_profile_write(ce_session *s, const char *phase, long runs)
{
    size_t n = 0;
    const ce_profile_entry *e = ce_backend_profile_take(s->backend, &n);
    static op_row rows[CE_PROFILE_MAX]; /* 100 KB: not on the stack */
    n = e ? collect(s, e, n, runs > 0 ? runs : 1, rows) : 0;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += rows[i].ms;
    int first = 1;
    fputc('{', stdout);
    cli_json_key(stdout, "profile", &first);
    cli_json_string(stdout, phase, strlen(phase));
    printf(",\"runs\":%ld", runs);
    cli_bench_json_number("total_ms", total, &first);
    fputs(",\"ops\":[", stdout);
    for (size_t i = 0; i < n; i++) {
        int f = 1;
        printf("%s{", i ? "," : "");
        cli_json_key(stdout, "op", &f);
        cli_json_string(stdout, rows[i].name, strlen(rows[i].name));
        cli_bench_json_number("ms", rows[i].ms, &f);
        cli_bench_json_number("share", total > 0 ? rows[i].ms / total : 0, &f);
        cli_bench_json_number("calls", rows[i].calls, &f);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
    fflush(stdout);
}

void cli_bench_profile_take_discard(ce_session *s)
{
    size_t n;
    ce_backend_profile_take(s->backend, &n);
}

long long cli_bench_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (long long)ru.ru_maxrss * 1024; /* kilobytes on Linux */
}

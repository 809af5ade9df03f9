/* The progress line: see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TTY_INTERVAL 0.2  /* seconds between redraws on a terminal */
#define LOG_INTERVAL 5.0  /* seconds between lines elsewhere */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const char *what, int on, size_t total_texts,
                        size_t total_bytes)
{
    memset(p, 0, sizeof *p);
    p->on = on;
    p->tty = on && isatty(STDERR_FILENO);
    p->what = what;
    p->total_texts = total_texts;
    p->total_bytes = total_bytes;
    p->start = p->last = now();
}

static void format_eta(char *buf, size_t cap, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* On a terminal the line is redrawn over the last one, blanks covering what
 * a longer previous line left. */
static void emit(cli_progress *p, const char *line)
{
    if (!p->tty) {
        fprintf(stderr, "%s\n", line);
        return;
    }
    size_t len = strlen(line);
    fprintf(stderr, "\r%s%*s", line, (int)(p->width > len ? p->width - len : 0), "");
    p->width = len;
    fflush(stderr);
}

static void show(cli_progress *p, double t)
{
    double elapsed = t - p->start, rate = elapsed > 0 ? (double)p->tokens / elapsed : 0;
    char eta[32] = "?", line[256];
    if (p->bytes && p->total_bytes >= p->bytes)
        format_eta(eta, sizeof eta, elapsed * (double)(p->total_bytes - p->bytes) / (double)p->bytes);
    snprintf(line, sizeof line, "%s: %zu/%zu texts (%.0f%%), %.0f tokens/s, ETA %s", p->what,
             p->texts, p->total_texts,
             p->total_texts ? 100.0 * (double)p->texts / (double)p->total_texts : 100.0, rate, eta);
    emit(p, line);
}

void cli_progress_add(cli_progress *p, size_t texts, size_t bytes, size_t tokens)
{
    p->texts += texts;
    p->bytes += bytes;
    p->tokens += tokens;
    if (!p->on)
        return;
    double t = now();
    if (t - p->last < (p->tty ? TTY_INTERVAL : LOG_INTERVAL))
        return;
    p->last = t;
    show(p, t);
}

void cli_progress_end(cli_progress *p, int completed)
{
    if (!p->on)
        return;
    if (completed) {
        double elapsed = now() - p->start;
        char line[256];
        snprintf(line, sizeof line, "%s: %zu/%zu texts, %zu tokens in %.1f s (%.0f tokens/s)",
                 p->what, p->texts, p->total_texts, p->tokens, elapsed,
                 elapsed > 0 ? (double)p->tokens / elapsed : 0.0);
        emit(p, line);
        if (p->tty)
            fputc('\n', stderr);
    } else if (p->tty && p->width) {
        fputc('\n', stderr);
    }
    p->on = 0;
}

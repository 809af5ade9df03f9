/* An output file that appears under its name only when it is complete: it is
 * written as "NAME.partial" and renamed when done, or removed on failure or
 * interruption, so a reader never mistakes a cut-off file for a whole one. */
#ifndef CLI_OUT_FILE_H
#define CLI_OUT_FILE_H

#include <stdio.h>

typedef struct cli_out_file {
    FILE *f;     /* NULL when not open */
    char *path;  /* the final name */
    char *tmp;   /* path + ".partial" */
} cli_out_file;

/* Create "path.partial" (replacing one a crashed run left). 0, or 1 with a
 * message printed. */
int cli_out_open(cli_out_file *o, const char *path, const char *mode);

/* Close and rename to the final name. 0, or 1 with a message printed (and
 * the partial file removed). */
int cli_out_commit(cli_out_file *o);

/* Close and remove the partial file; 1 when there was one. Accepts a file
 * never opened. */
int cli_out_abort(cli_out_file *o);

#endif

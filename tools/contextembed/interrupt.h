/* SIGINT and SIGTERM during a long run. The handler only records the signal:
 * the run looks between batches, removes what it has not finished and exits
 * with 128 + the signal number, as a shell reports a process the signal
 * killed. A second signal acts at once (the handler is reset on the first),
 * so a stuck run can still be stopped. */
#ifndef CLI_INTERRUPT_H
#define CLI_INTERRUPT_H

/* Install the handler (for the rest of the process). */
void cli_interrupt_install(void);

/* The signal received since cli_interrupt_install(), or 0. */
int cli_interrupted(void);

#endif

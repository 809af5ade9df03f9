/* contextembed: contextual embeddings from the command line.
 * main() only dispatches to the commands (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: contextembed COMMAND [OPTIONS] [TEXT ...]\n"
    "\n"
    "Commands:\n"
    "  info      describe a model (JSON)\n"
    "  tokenize  token ids, strings and byte offsets of texts (JSON lines)\n"
    "  embed     contextual embeddings of texts (JSON lines or .npy)\n"
    "  bench     time the forward pass (JSON lines)\n"
    "\n"
    "Decoder models (GPT-2):\n"
    "  logits    the most likely next tokens after a prompt (JSON or .npy)\n"
    "  score     log-probability of each token of a text, and its perplexity (JSON)\n"
    "  generate  continue a prompt, streaming the text\n"
    "\n"
    "Task heads (checkpoints fine-tuned for a task):\n"
    "  fill-mask the likeliest tokens behind mask tokens (masked LM)\n"
    "  classify  a label for each text or text pair (classifiers, next sentence)\n"
    "  tag       a label per token, and the entities they make (JSON)\n"
    "  answer    the span of a context that answers a question (JSON)\n"
    "\n"
    "'contextembed COMMAND --help' describes a command; 'contextembed --version'\n"
    "prints the library version.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"info", cli_cmd_info},
    {"tokenize", cli_cmd_tokenize},
    {"embed", cli_cmd_embed},
    {"bench", cli_cmd_bench},
    {"logits", cli_cmd_logits},
    {"score", cli_cmd_score},
    {"generate", cli_cmd_generate},
    {"fill-mask", cli_cmd_fill_mask},
    {"classify", cli_cmd_classify},
    {"tag", cli_cmd_tag},
    {"answer", cli_cmd_answer},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "contextembed: missing command\n%s", usage);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("contextembed %s\n", ce_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "contextembed: unknown command '%s'\n%s", name, usage);
    return CLI_EXIT_USAGE;
}

/* Built against an installed tree by .ci/run: the headers, pkg-config file and library work. */
#include <contextembed/contextembed.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    ce_model *m;
    ce_session *s;
    ce_encoding *e;
    const char *text = "Hello world!";
    if (ce_model_open(argv[1], NULL, &m) != CE_OK) {
        fprintf(stderr, "%s\n", ce_last_error());
        return 1;
    }
    ce_tokenizer_encode(ce_model_tokenizer(m), text, strlen(text), NULL, 0, CE_ENCODE_ADD_SPECIAL, 0,
                        &e);
    size_t n = ce_encoding_length(e), count;
    float out[4096];
    int ok = ce_session_create(m, NULL, &s) == CE_OK &&
             ce_session_run(s, 1, &n, ce_encoding_ids(e), ce_encoding_type_ids(e)) == CE_OK &&
             ce_session_output(s, 0, NULL, out, 4096, &count) == CE_OK;
    printf("%s: %zu tokens, %zu floats, version %s\n", ok ? "ok" : ce_last_error(), n, count,
           ce_version());
    ce_encoding_free(e);
    ce_session_free(s);
    ce_model_free(m);
    return ok ? 0 : 1;
}

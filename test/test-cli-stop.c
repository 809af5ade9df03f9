/* The stop-string filter of `contextembed generate` (tools/contextembed/stop_filter.c):
 * text streamed in pieces must come out exactly as the text before the first
 * stop string, whatever the cut into pieces, and never more than that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/contextembed/stop_filter.h"
#include "test-util.h"

typedef struct capture {
    FILE *f;
    char *buf;
    size_t len;
} capture;

/* Feed @p pieces (NULL-terminated) through a filter; *matched gets the last
 * feed result; returns what came out (caller frees). */
static char *filter(char *const *stops, size_t n_stops, const char *const *pieces, int *matched,
                    size_t *out_after_first)
{
    capture c = {0};
    c.f = open_memstream(&c.buf, &c.len);
    ck_assert_ptr_nonnull(c.f);
    cli_stop s;
    cli_stop_init(&s, stops, n_stops);
    int r = 0;
    for (size_t i = 0; pieces[i]; i++) {
        r = cli_stop_feed(&s, pieces[i], strlen(pieces[i]), c.f);
        ck_assert_int_ge(r, 0);
        fflush(c.f);
        if (i == 0 && out_after_first)
            *out_after_first = c.len;
    }
    cli_stop_finish(&s, c.f);
    cli_stop_free(&s);
    fclose(c.f);
    *matched = r;
    return c.buf;
}

static void expect(char *const *stops, size_t n, const char *const *pieces, const char *want,
                   int want_matched)
{
    int matched;
    char *got = filter(stops, n, pieces, &matched, NULL);
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(matched, want_matched);
    free(got);
}

START_TEST(no_stop_strings_pass_through)
{
    const char *pieces[] = {" fe", " fe", "", "é", NULL};
    expect(NULL, 0, pieces, " fe feé", 0);
}
END_TEST

START_TEST(match_inside_one_piece)
{
    char *stops[] = {"END"};
    const char *pieces[] = {"abc", "xxENDyy", "more", NULL};
    expect(stops, 1, pieces, "abcxx", 1);
}
END_TEST

START_TEST(match_across_pieces_is_held_back)
{
    char *stops[] = {" fe fe"};
    const char *pieces[] = {" fe", " fe", " fe", NULL};
    int matched;
    size_t after_first = 99;
    char *got = filter(stops, 1, pieces, &matched, &after_first);
    ck_assert_str_eq(got, "");
    ck_assert_int_eq(matched, 1);
    ck_assert_uint_eq(after_first, 0); /* " fe" could start the stop string: held */
    free(got);
}
END_TEST

START_TEST(held_text_released_when_it_cannot_match)
{
    char *stops[] = {"abc"};
    const char *pieces[] = {"xa", "b", "d", NULL};
    int matched;
    size_t after_first = 0;
    char *got = filter(stops, 1, pieces, &matched, &after_first);
    ck_assert_str_eq(got, "xabd");
    ck_assert_int_eq(matched, 0);
    ck_assert_uint_eq(after_first, 1); /* "x" out, "a" held */
    free(got);
}
END_TEST

START_TEST(unfinished_prefix_printed_at_the_end)
{
    char *stops[] = {"hello world"};
    const char *pieces[] = {"say hel", "lo wor", NULL};
    expect(stops, 1, pieces, "say hello wor", 0);
}
END_TEST

START_TEST(earliest_of_several_wins)
{
    char *stops[] = {"zzz", "cd", "bcd"};
    const char *pieces[] = {"ab", "c", "de", NULL};
    expect(stops, 3, pieces, "a", 1);
}
END_TEST

START_TEST(overlapping_prefix)
{
    /* "aab" inside "aaab": the held "aa" must slide, not be dropped. */
    char *stops[] = {"aab"};
    const char *pieces[] = {"a", "a", "a", "b", "c", NULL};
    expect(stops, 1, pieces, "a", 1);
}
END_TEST

START_TEST(nothing_after_a_match)
{
    char *stops[] = {"x"};
    const char *pieces[] = {"x", "abc", NULL};
    expect(stops, 1, pieces, "", 1);
}
END_TEST

START_TEST(multibyte_characters_never_split)
{
    /* "é" is C3 A9; the stop "éa" held as a whole character, then released. */
    char *stops[] = {"\xc3\xa9" "a"};
    const char *pieces[] = {"x\xc3\xa9", "\xc3\xa9", "b", NULL};
    int matched;
    size_t after_first = 0;
    char *got = filter(stops, 1, pieces, &matched, &after_first);
    ck_assert_str_eq(got, "x\xc3\xa9\xc3\xa9" "b");
    ck_assert_uint_eq(after_first, 1);
    free(got);
}
END_TEST

/* Every cut of a text into three pieces gives the same output as the whole. */
START_TEST(any_cut_agrees)
{
    static const char text[] = "the cat sat on the mat; the end";
    char *stops[] = {"the e", "mat;", "sat X"};
    size_t n = strlen(text);
    char whole_out[64];
    const char *whole[] = {text, NULL};
    int m0;
    char *w = filter(stops, 3, whole, &m0, NULL);
    snprintf(whole_out, sizeof whole_out, "%s", w);
    ck_assert_str_eq(whole_out, "the cat sat on the ");
    free(w);
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            char a[64], b[64], c[64];
            snprintf(a, sizeof a, "%.*s", (int)i, text);
            snprintf(b, sizeof b, "%.*s", (int)(j - i), text + i);
            snprintf(c, sizeof c, "%s", text + j);
            const char *pieces[] = {a, b, c, NULL};
            int m;
            char *got = filter(stops, 3, pieces, &m, NULL);
            ck_assert_msg(!strcmp(got, whole_out), "cut %zu/%zu: '%s'", i, j, got);
            ck_assert_int_eq(m, 1);
            free(got);
        }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli-stop");
    TCase *t = tcase_create("stop");
    tcase_add_test(t, no_stop_strings_pass_through);
    tcase_add_test(t, match_inside_one_piece);
    tcase_add_test(t, match_across_pieces_is_held_back);
    tcase_add_test(t, held_text_released_when_it_cannot_match);
    tcase_add_test(t, unfinished_prefix_printed_at_the_end);
    tcase_add_test(t, earliest_of_several_wins);
    tcase_add_test(t, overlapping_prefix);
    tcase_add_test(t, nothing_after_a_match);
    tcase_add_test(t, multibyte_characters_never_split);
    tcase_add_test(t, any_cut_agrees);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}

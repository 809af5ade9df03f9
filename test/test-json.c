/* The JSON/YAML tree reader: values, escapes, surrogate pairs, bad documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"
#include "test-util.h"

static ce_json *parse(const char *s)
{
    ce_json *j = NULL;
    ck_assert_int_eq(ce_json_parse(s, strlen(s), "test", &j), CE_OK);
    return j;
}

START_TEST(test_values)
{
    ce_json *j = parse("{\"a\": 1, \"b\": -2.5e-3, \"c\": \"x\\/y\\u00e9\", \"d\": [true, false, null],"
                       "\"e\": {\"f\": 9007199254740993}}");
    int64_t i;
    double d;
    ck_assert(ce_json_get_int(j, "a", &i) && i == 1);
    ck_assert(!ce_json_get_int(j, "b", &i));
    ck_assert(ce_json_get_number(j, "b", &d) && d == -2.5e-3);
    ck_assert_str_eq(ce_json_get_string(j, "c"), "x/y\xc3\xa9");
    const ce_json *arr = ce_json_get(j, "d");
    ck_assert_int_eq(arr->type, CE_JSON_ARRAY);
    ck_assert_uint_eq(arr->n, 3);
    ck_assert(arr->items[0]->boolean && arr->items[0]->type == CE_JSON_BOOL);
    ck_assert_int_eq(arr->items[2]->type, CE_JSON_NULL);
    ck_assert(ce_json_get_int(ce_json_get(j, "e"), "f", &i) && i == 9007199254740993LL);
    ck_assert_ptr_null(ce_json_get(j, "missing"));
    ce_json_free(j);
}
END_TEST

START_TEST(test_quoted_numbers_stay_strings)
{
    ce_json *j = parse("{\"a\": \"1\", \"b\": \"null\", \"c\": \"\"}");
    ck_assert_int_eq(ce_json_get(j, "a")->type, CE_JSON_STRING);
    ck_assert_int_eq(ce_json_get(j, "b")->type, CE_JSON_STRING);
    ck_assert_str_eq(ce_json_get_string(j, "c"), "");
    ce_json_free(j);
}
END_TEST

START_TEST(test_surrogates_and_nul)
{
    ce_json *j = parse("[\"\\ud83d\\ude00!\", \"a\\u0000b\", \"\\\\ud83d\"]");
    ck_assert_str_eq(j->items[0]->str, "\xf0\x9f\x98\x80!");
    ck_assert_uint_eq(j->items[1]->len, 3);
    ck_assert(memcmp(j->items[1]->str, "a\0b", 3) == 0);
    ck_assert_str_eq(j->items[2]->str, "\\ud83d");
    ce_json_free(j);
}
END_TEST

START_TEST(test_raw_characters_yaml_dislikes)
{
    /* DEL, NEL (U+0085), U+009F and U+FFFF are valid raw in JSON strings */
    ce_json *j = parse("[\"a\x7f\", \"b\xc2\x85" "c\", \"\xc2\x9f\", \"\xef\xbf\xbf\"]");
    ck_assert_str_eq(j->items[0]->str, "a\x7f");
    ck_assert_str_eq(j->items[1]->str, "b\xc2\x85" "c");
    ck_assert_str_eq(j->items[2]->str, "\xc2\x9f");
    ck_assert_str_eq(j->items[3]->str, "\xef\xbf\xbf");
    ce_json_free(j);
}
END_TEST

/* Tabs are JSON's white space anywhere between tokens (YAML refuses one
 * before the first); inside a string, raw or escaped, a tab stays a tab. */
START_TEST(test_tabs_between_tokens)
{
    ce_json *j = parse("\t[\t1 ,\t{\t\"a\tb\"\t:\t\"c\\td\"\t}\t,\n\t\ttrue\t]\t\n");
    ck_assert_uint_eq(j->n, 3);
    ck_assert(j->items[0]->is_integer && j->items[0]->integer == 1);
    ck_assert_str_eq(j->items[1]->keys[0], "a\tb");
    ck_assert_str_eq(j->items[1]->items[0]->str, "c\td");
    ck_assert(j->items[2]->type == CE_JSON_BOOL && j->items[2]->boolean);
    ce_json_free(j);
}
END_TEST

/* Keys YAML would end early as implicit keys: past 1024 characters, and a
 * line break before the colon; a block YAML document (contextembed.yaml)
 * keeps its own keys, whatever braces its comments hold. */
START_TEST(test_long_keys_and_breaks_before_colons)
{
    char doc[2200], key[2001];
    memset(key, 'k', 2000);
    key[2000] = '\0';
    snprintf(doc, sizeof doc, "{\"%s\": [{\"a\"\n\t: 1}, {\"b\" : 2}]}", key);
    ce_json *j = parse(doc);
    ck_assert_uint_eq(j->n, 1);
    ck_assert_str_eq(j->keys[0], key);
    const ce_json *a = j->items[0];
    ck_assert_str_eq(a->items[0]->keys[0], "a");
    ck_assert(a->items[0]->items[0]->integer == 1);
    ck_assert_str_eq(a->items[1]->keys[0], "b");
    ce_json_free(j);
    j = parse("# one of {bert, gpt2\n\"architecture\": \"bert\"\nx: {\"y\": [1]}\n");
    ck_assert_str_eq(ce_json_get_string(j, "architecture"), "bert");
    ck_assert_uint_eq(ce_json_get(ce_json_get(j, "x"), "y")->n, 1);
    ce_json_free(j);
}
END_TEST

/* U+2028 and U+2029 raw in a string (a key too), with the spaces and tabs
 * around them that YAML would trim as it folds a line break. */
START_TEST(test_raw_line_separators_keep_their_spaces)
{
    static const char ls[] = "\xe2\x80\xa8", ps[] = "\xe2\x80\xa9";
    ce_json *j = parse("{\"k \xe2\x80\xa8 \": [\"a\xe2\x80\xa8  b\", \"a \t\xe2\x80\xa9\", "
                       "\"\xe2\x80\xa9 \\u2028 \xe2\x80\xa8\"]}");
    ck_assert_uint_eq(j->n, 1);
    ck_assert_str_eq(j->keys[0], "k \xe2\x80\xa8 ");
    const ce_json *a = j->items[0];
    char want[3][32];
    snprintf(want[0], sizeof want[0], "a%s  b", ls);
    snprintf(want[1], sizeof want[1], "a \t%s", ps);
    snprintf(want[2], sizeof want[2], "%s %s %s", ps, ls, ls);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(a->items[i]->str, want[i]);
    ce_json_free(j);
}
END_TEST

START_TEST(test_bad_documents)
{
    const char *bad[] = {"{\"a\": ", "[1, 2", "{\"a\": 1}}", "\"\\ud83d\"", "", "{[1]: 2}", "\"\xff\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ce_json *j = (ce_json *)0x1;
        ck_assert_int_eq(ce_json_parse(bad[i], strlen(bad[i]), "bad.json", &j), CE_ERR_FORMAT);
        ck_assert_ptr_eq(j, (ce_json *)0x1);
        ck_assert_ptr_nonnull(strstr(ce_last_error(), "bad.json"));
    }
    ce_json *j;
    ck_assert_int_eq(ce_json_parse_file("/nonexistent/x.json", &j), CE_ERR_IO);
}
END_TEST

START_TEST(test_deep_nesting_refused)
{
    char buf[2000];
    memset(buf, '[', 1000);
    buf[1000] = '\0';
    ce_json *j;
    ck_assert_int_eq(ce_json_parse(buf, 1000, "deep", &j), CE_ERR_FORMAT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_quoted_numbers_stay_strings);
    tcase_add_test(tc, test_surrogates_and_nul);
    tcase_add_test(tc, test_raw_characters_yaml_dislikes);
    tcase_add_test(tc, test_raw_line_separators_keep_their_spaces);
    tcase_add_test(tc, test_tabs_between_tokens);
    tcase_add_test(tc, test_long_keys_and_breaks_before_colons);
    tcase_add_test(tc, test_bad_documents);
    tcase_add_test(tc, test_deep_nesting_refused);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}

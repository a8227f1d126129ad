/* Tests of common/ag_model.c: preset lookup with core types, and recurrence of a description in
 * each of its forms (a preset name, a preset with replaced members, a full object). */
#include "ag_model.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int recurrent_text(const char *text) {
    json_error_t je;
    json_t *d = json_loads(text, JSON_DECODE_ANY, &je);
    ck_assert_msg(d != NULL, "%s: %s", text, je.text);
    int r = ag_model_is_recurrent(d);
    json_decref(d);
    return r;
}

START_TEST(test_presets) {
    const char *core = "unset";
    int n = 0;
    for (; ag_model_preset_names[n]; n++) {
        ck_assert(ag_model_preset_find(ag_model_preset_names[n], NULL));
    }
    ck_assert_int_eq(n, 13);
    ck_assert(ag_model_preset_find("simple", &core));
    ck_assert_ptr_null(core);
    ck_assert(ag_model_preset_find("wider_gru", &core));
    ck_assert_str_eq(core, "gru");
    ck_assert(ag_model_preset_find("pathways", &core));
    ck_assert_str_eq(core, "lstm");
    ck_assert(ag_model_preset_find("pathways_downsampled", &core));
    ck_assert_str_eq(core, "lstm");
    core = "unset";
    ck_assert(!ag_model_preset_find("no_such_model", &core));
    ck_assert_str_eq(core, "unset");
    ck_assert(!ag_model_preset_find(NULL, &core));
    ck_assert(!ag_model_preset_find("", NULL));
}
END_TEST

START_TEST(test_recurrence) {
    ck_assert(recurrent_text("\"simple_lstm\""));
    ck_assert(recurrent_text("\"deeper_gru\""));
    ck_assert(recurrent_text("\"pathways\""));
    ck_assert(recurrent_text("\"hand_lstm\""));
    ck_assert(!recurrent_text("\"hand_ff\""));
    ck_assert(!recurrent_text("\"simple\""));
    ck_assert(!recurrent_text("\"wider\""));
    /* a name that merely contains "lstm" is no preset */
    ck_assert(!recurrent_text("\"my_lstm\""));
    /* full objects: the core decides */
    ck_assert(recurrent_text("{\"core\": {\"type\": \"lstm\", \"units\": 4}}"));
    ck_assert(recurrent_text("{\"trunk\": [], \"core\": {\"type\": \"gru\", \"units\": 4}}"));
    ck_assert(!recurrent_text("{\"core\": {\"type\": \"none\"}}"));
    ck_assert(!recurrent_text("{\"core\": null}"));
    ck_assert(!recurrent_text("{\"trunk\": [{\"type\": \"dense\", \"units\": 8}]}"));
    /* a preset with members replaced: its core stays unless "core" is given */
    ck_assert(recurrent_text("{\"preset\": \"simple_lstm\", \"shared\": true}"));
    ck_assert(!recurrent_text("{\"preset\": \"simple_lstm\", \"core\": null}"));
    ck_assert(
        recurrent_text("{\"preset\": \"simple\", \"core\": {\"type\": \"gru\", \"units\": 8}}"));
    /* malformed descriptions are not recurrent here; the network builder refuses them */
    ck_assert(!recurrent_text("{\"preset\": 3}"));
    ck_assert(!recurrent_text("{\"core\": \"lstm\"}"));
    ck_assert(!recurrent_text("{\"core\": {\"type\": 1}}"));
    ck_assert(!recurrent_text("42"));
    ck_assert(!ag_model_is_recurrent(NULL));
}
END_TEST

int main(void) {
    Suite *s = suite_create("ag_model");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_presets);
    tcase_add_test(tc, test_recurrence);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

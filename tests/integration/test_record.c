/* Integration with the real trainer on a MuJoCo task: angorad trains a tiny Hopper run, then an
 * evaluation job with "record": true writes a video and a trajectory into its run directory;
 * both download from /evaluation/video and /evaluation/trajectory, the video holds one frame per
 * recorded step (ffprobe) and the trajectory one pose entry per step. Jobs without a recording
 * answer 404. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* frames of an MP4 counted by ffprobe, -1 when it cannot tell */
static long probe_frames(const char *path) {
    char cmd[1024], line[64] = "";
    long n = -1;
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=nb_read_frames -of csv=p=0 '%s'",
             path);
    FILE *f = popen(cmd, "r");
    if (!f) {
        return -1;
    }
    if (fgets(line, sizeof(line), f)) {
        n = strtol(line, NULL, 10);
    }
    pclose(f);
    return n;
}

START_TEST(test_record_real_trainer) {
    const char *trainer = getenv("ITEST_TRAINER");
    /* one iteration of 2 environments x 64 steps with the small network */
    const char *spec = "{\"task\":\"Hopper\",\"name\":\"hopper-record\",\"seed\":2,"
                       "\"preset\":\"locomotion\",\"model\":\"simple\","
                       "\"ppo\":{\"envs_per_rank\":2,\"horizon\":64,\"minibatch\":64,"
                       "\"epochs\":1},\"budget\":{\"env_steps\":128},\"eval\":{\"every\":0}}";
    const char *rec_body = "{\"episodes\":2,\"deterministic\":true,\"record\":true}";
    Daemon d;
    HttpResult r;
    char path[256], file[512];
    long long id, eval_id, plain_id;
    long long length;
    double secs;
    ck_assert_msg(trainer && *trainer, "ITEST_TRAINER is not set");
    ck_assert_msg(system("ffprobe -version > /dev/null 2>&1") == 0, "ffprobe is missing");
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer, NULL);
    id = itest_submit(&d, spec, 0);
    json_decref(itest_wait_state(&d, id, "succeeded", 120));

    /* wrong types for record are refused with the key named */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluate", id);
    itest_http(&d, "POST", path, "", "{\"record\":\"yes\"}", 16, &r);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "record"));
    itest_http_free(&r);

    /* the recorded evaluation */
    itest_http(&d, "POST", path, "", rec_body, strlen(rec_body), &r);
    ck_assert_int_eq(r.status, 201);
    eval_id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert(json_is_true(json_object_get(json_object_get(r.json, "spec"), "record")));
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, eval_id, "succeeded", 120));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation", eval_id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "episodes")), 2);
    {
        json_t *rec = json_object_get(r.json, "recording");
        ck_assert_msg(json_is_object(rec), "the result has no recording");
        length = json_integer_value(json_object_get(rec, "length"));
        ck_assert_int_ge(length, 1);
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "frames")), length);
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "width")), 640);
        ck_assert_int_eq(json_integer_value(json_object_get(rec, "height")), 480);
    }
    itest_http_free(&r);

    /* the video: an MP4 with one frame per step */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation/video", eval_id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "video/mp4");
    ck_assert_uint_gt(r.len, 1000);
    ck_assert_int_eq(memcmp(r.body + 4, "ftyp", 4), 0);
    snprintf(file, sizeof(file), "%s/downloaded.mp4", d.dir);
    {
        FILE *f = fopen(file, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(r.body, 1, r.len, f), r.len);
        fclose(f);
    }
    itest_http_free(&r);
    ck_assert_int_eq(probe_frames(file), length);
    unlink(file);

    /* the trajectory: the scene and one pose entry per step */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation/trajectory", eval_id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_ptr_nonnull(r.json);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "task")), "Hopper");
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "steps")), (size_t)length);
    ck_assert_uint_gt(json_array_size(json_object_get(json_object_get(r.json, "scene"), "bodies")),
                      1);
    itest_http_free(&r);

    /* an evaluation without record has no recording, nor has a training run */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluate", id);
    itest_http(&d, "POST", path, "", "{\"episodes\":1}", 14, &r);
    ck_assert_int_eq(r.status, 201);
    plain_id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert(json_is_false(json_object_get(json_object_get(r.json, "spec"), "record")));
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, plain_id, "succeeded", 120));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation", plain_id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(json_object_get(r.json, "recording"));
    itest_http_free(&r);
    long long no_rec[] = {plain_id, id};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation/video", no_rec[i]);
        itest_http(&d, "GET", path, "", NULL, 0, &r);
        ck_assert_int_eq(r.status, 404);
        ck_assert_ptr_nonnull(strstr(r.body, "no evaluation video"));
        itest_http_free(&r);
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation/trajectory", no_rec[i]);
        itest_http(&d, "GET", path, "", NULL, 0, &r);
        ck_assert_int_eq(r.status, 404);
        itest_http_free(&r);
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/424242/evaluation/video");
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    itest_http_free(&r);
    ck_assert_int_eq(itest_daemon_stop(&d, &secs), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_record_real_trainer};
    return itest_run_tests("integration_record", 280, tests, ITEST_COUNT(tests));
}

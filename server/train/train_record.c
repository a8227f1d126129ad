/* Recording of one evaluation episode: frames rendered with OSMesa and piped as raw RGB to
 * ffmpeg (posix_spawn, no shell), and the bodies' poses per step as JSON (see train_record.h).
 * Frame k and pose entry k show the state in which the policy chose action k, so an episode of
 * N steps gives N frames and N pose entries. */
#include "train_record.h"

#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_fs.h"
#include "mj_record.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct TrainRecorder {
    const EnvTask *task;
    int mujoco;
    /* video */
    EnvMjRenderer *renderer;
    unsigned char *rgb;
    size_t frame_bytes;
    int pipe_fd;
    pid_t pid;
    int frames;
    /* trajectory */
    json_t *steps;
} TrainRecorder;

int train_record_parse_size(const char *s, int *width, int *height, char *err, size_t err_sz) {
    char *end;
    long w = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) {
        return ag_errorf(err, err_sz, AG_EINVAL, "--record-size: WIDTHxHEIGHT, got '%s'", s);
    }
    const char *hs = end + 1;
    long h = strtol(hs, &end, 10);
    if (end == hs || *end != '\0' || w < 16 || h < 16 || w > 4096 || h > 4096 || w % 2 || h % 2) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "--record-size: even width and height in 16..4096, got '%s'", s);
    }
    *width = (int)w;
    *height = (int)h;
    return 0;
}

static int train_write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* starts `ffmpeg ... -i - ... out` reading raw frames from the returned pipe */
static int train_ffmpeg_start(TrainRecorder *rec, const char *ffmpeg, const char *out, int w, int h,
                              double fps, char *err, size_t err_sz) {
    char size[32], rate[32];
    snprintf(size, sizeof size, "%dx%d", w, h);
    snprintf(rate, sizeof rate, "%.6g", fps);
    char *const argv[] = {
        (char *)ffmpeg, "-hide_banner", "-loglevel", "error", "-y",       "-f",
        "rawvideo",     "-pix_fmt",     "rgb24",     "-s",    size,       "-r",
        rate,           "-i",           "-",         "-an",   "-pix_fmt", "yuv420p",
        "-f",           "mp4",          (char *)out, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    /* stdout carries angora-train's result JSON: keep ffmpeg off it */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int e = posix_spawnp(&rec->pid, ffmpeg, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (e != 0) {
        close(fds[1]);
        rec->pid = -1;
        if (e == ENOENT || e == EACCES) {
            return ag_errorf(err, err_sz, AG_ENOTFOUND,
                             "cannot run %s to encode the video (%s): install ffmpeg "
                             "(apt-get install ffmpeg) or set ANGORA_FFMPEG",
                             ffmpeg, strerror(e));
        }
        return ag_errorf(err, err_sz, AG_EIO, "cannot start %s: %s", ffmpeg, strerror(e));
    }
    rec->pipe_fd = fds[1];
    return 0;
}

/* closes the pipe and waits for ffmpeg; 0 when it encoded everything */
static int train_ffmpeg_finish(TrainRecorder *rec, const char *ffmpeg, char *err, size_t err_sz) {
    int status = 0, rc = 0;
    if (rec->pipe_fd >= 0) {
        close(rec->pipe_fd);
        rec->pipe_fd = -1;
    }
    if (rec->pid <= 0) {
        return 0;
    }
    while (waitpid(rec->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = -1;
            break;
        }
    }
    rec->pid = -1;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s failed to encode the video (%s %d)", ffmpeg,
                       WIFSIGNALED(status) ? "signal" : "exit status",
                       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    return rc;
}

static int train_record_hook(void *user, const EnvTask *task, const void *env_state,
                             const float *obs, int step, char *err, size_t err_sz) {
    TrainRecorder *rec = user;
    if (rec->renderer) {
        int rc = env_mj_record_frame(task, rec->renderer, env_state, rec->rgb);
        if (rc) {
            return ag_errorf(err, err_sz, rc, "rendering frame %d failed", step);
        }
        if (train_write_all(rec->pipe_fd, rec->rgb, rec->frame_bytes) != 0) {
            return ag_errorf(err, err_sz, AG_EIO, "ffmpeg stopped reading frames (%s)",
                             strerror(errno));
        }
        rec->frames++;
    }
    if (rec->steps) {
        json_t *e;
        if (rec->mujoco) {
            e = env_mj_record_poses(task, env_state);
        } else {
            json_t *v = json_array();
            for (int i = 0; v && i < task->spec.obs_size; i++) {
                json_array_append_new(v, json_real(isfinite(obs[i]) ? obs[i] : 0.0));
            }
            double dt = task->spec.control_dt;
            e = v ? json_pack("{s:f,s:o}", "t", dt > 0 ? step * dt : (double)step, "obs", v) : NULL;
        }
        if (!e || json_array_append_new(rec->steps, e) != 0) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "trajectory: out of memory");
        }
    }
    return 0;
}

static json_t *train_sensations_json(const EnvSpec *es) {
    json_t *a = json_array();
    for (int i = 0; a && i < es->num_sensations; i++) {
        const EnvSensation *s = &es->sensations[i];
        json_array_append_new(
            a, json_pack("{s:s,s:i,s:i}", "name", s->name, "offset", s->offset, "size", s->size));
    }
    return a;
}

static int train_trajectory_write(TrainRecorder *rec, const char *path, double fps, double ret,
                                  int length, char *err, size_t err_sz) {
    const EnvTask *task = rec->task;
    json_t *scene = rec->mujoco ? env_mj_record_scene(task) : json_null();
    json_t *doc =
        json_pack("{s:i,s:s,s:f,s:f,s:f,s:i,s:o,s:O}", "version", 1, "task", task->cls->name,
                  "control_dt", task->spec.control_dt, "fps", fps, "return", ret, "length", length,
                  "scene", scene ? scene : json_null(), "steps", rec->steps);
    if (doc && !rec->mujoco) {
        json_object_set_new(doc, "sensations", train_sensations_json(&task->spec));
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(doc);
    if (!text) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "trajectory: out of memory");
    }
    int rc = ag_fs_write_atomic(path, text, strlen(text), err, err_sz);
    free(text);
    return rc;
}

int train_record_episode(RlTrainer *t, const TrainRecordOpts *o, int deterministic, uint64_t seed,
                         json_t **summary, char *err, size_t err_sz) {
    TrainRecorder rec = {.pipe_fd = -1, .pid = -1};
    const EnvTask *task = rl_trainer_task(t);
    char part[4096];
    int rc = 0, part_made = 0;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    int sig_set = 0;
    *summary = NULL;
    rec.task = task;
    rec.mujoco = env_mj_task_is_mujoco(task);
    const char *ffmpeg = o->ffmpeg;
    if (!ffmpeg) {
        ffmpeg = getenv("ANGORA_FFMPEG");
    }
    if (!ffmpeg || !*ffmpeg) {
        ffmpeg = "ffmpeg";
    }
    double dt = task->spec.control_dt;
    double fps = dt > 0 ? 1.0 / dt : 30.0;
    int w = o->width > 0 ? o->width : TRAIN_RECORD_WIDTH;
    int h = o->height > 0 ? o->height : TRAIN_RECORD_HEIGHT;
    if (o->video) {
        if (!rec.mujoco) {
            return ag_errorf(err, err_sz, AG_EUNSUPPORTED,
                             "--record: task %s is not a MuJoCo task and has no picture to "
                             "record (--trajectory saves its observations)",
                             task->cls->name);
        }
        if (snprintf(part, sizeof part, "%s" AG_RUN_PARTIAL_SUFFIX, o->video) >= (int)sizeof part) {
            return ag_errorf(err, err_sz, AG_ETOOBIG, "--record: path too long");
        }
        rc = env_mj_recorder_create(task, w, h, &rec.renderer, err, err_sz);
        if (rc) {
            return rc;
        }
        rec.frame_bytes = (size_t)w * h * 3;
        rec.rgb = malloc(rec.frame_bytes);
        if (!rec.rgb) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            goto out;
        }
        /* a dying ffmpeg must show up as a write error, not kill the evaluation */
        sigaction(SIGPIPE, &ign, &old_pipe);
        sig_set = 1;
        rc = train_ffmpeg_start(&rec, ffmpeg, part, w, h, fps, err, err_sz);
        if (rc) {
            goto out;
        }
        part_made = 1;
    }
    if (o->trajectory) {
        rec.steps = json_array();
        if (!rec.steps) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            goto out;
        }
    }
    double ret = 0.0;
    int length = 0;
    rc = rl_trainer_run_episode(t, deterministic, seed, 0, train_record_hook, &rec, &ret, &length,
                                err, err_sz);
    if (rec.pid > 0) {
        char ferr[512];
        int frc = train_ffmpeg_finish(&rec, ffmpeg, ferr, sizeof ferr);
        if (frc && !rc) {
            rc = ag_errorf(err, err_sz, frc, "%s", ferr);
        }
    }
    if (rc) {
        goto out;
    }
    if (o->video) {
        if (rename(part, o->video) != 0) {
            rc = ag_errorf(err, err_sz, AG_EIO, "cannot write %s: %s", o->video, strerror(errno));
            goto out;
        }
        part_made = 0;
    }
    if (o->trajectory) {
        rc = train_trajectory_write(&rec, o->trajectory, fps, ret, length, err, err_sz);
        if (rc) {
            goto out;
        }
    }
    *summary = json_pack("{s:f,s:i,s:f}", "return", ret, "length", length, "fps", fps);
    if (!*summary) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto out;
    }
    if (o->video) {
        json_object_set_new(*summary, "video", json_string(o->video));
        json_object_set_new(*summary, "frames", json_integer(rec.frames));
        json_object_set_new(*summary, "width", json_integer(w));
        json_object_set_new(*summary, "height", json_integer(h));
    }
    if (o->trajectory) {
        json_object_set_new(*summary, "trajectory", json_string(o->trajectory));
    }
out:
    if (rec.pid > 0) {
        char ferr[512];
        train_ffmpeg_finish(&rec, ffmpeg, ferr, sizeof ferr);
    }
    if (part_made) {
        unlink(part);
    }
    if (sig_set) {
        sigaction(SIGPIPE, &old_pipe, NULL);
    }
    env_mj_renderer_destroy(rec.renderer);
    free(rec.rgb);
    json_decref(rec.steps);
    return rc;
}

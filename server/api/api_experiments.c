/* The experiment routes of the REST API: validation of a submission against the spec rules,
 * the cores limit and the task catalogue, and submit, list, get, delete, cancel, pause, resume,
 * tags, notes and the event journal of an experiment. */
#include "api_int.h"

#include "ag_error.h"
#include "ag_json_text.h"
#include "ag_spec.h"
#include "ag_time.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define API_PRIORITY_MAX 1000
#define API_NOTES_MAX    4096

/* ---- validation of a submission ---- */

typedef struct Submission {
    AgSpec spec;
    long long priority;
    char *spec_text;
    char *tags_text;
} Submission;

static void submission_free(Submission *s) {
    ag_spec_free(&s->spec);
    free(s->spec_text);
    free(s->tags_text);
}

/* the spec's executor, else the daemon's */
static int submission_on_slurm(const Api *api, const AgSpec *spec) {
    return spec->executor.kind == AG_EXECUTOR_SLURM ||
           (spec->executor.kind == AG_EXECUTOR_DEFAULT && api->cfg.slurm_default);
}

/* accepts {"spec": {...}, "priority": n} or a bare spec (priority from ?priority=) */
static int submission_parse(Api *api, const ApiRequest *req, Submission *sub, ApiErr *e) {
    static const char *const wrapper_keys[] = {"spec", "priority", NULL};
    json_t *doc = NULL, *spec_doc, *cat = NULL, *full = NULL, *tags;
    const char *prefix = "";
    AgJsonErr je = {0};
    int rc;
    memset(sub, 0, sizeof(*sub));
    rc = api_body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    if (!json_is_object(doc)) {
        rc = api_fail(e, AG_ESPEC, NULL, "the body must be a JSON object (an experiment spec)");
        goto out;
    }
    spec_doc = doc;
    if (json_object_get(doc, "spec")) {
        if (ag_json_check_keys(doc, "", wrapper_keys, &je) ||
            ag_json_get_int(doc, "", "priority", 0, -API_PRIORITY_MAX, API_PRIORITY_MAX,
                            &sub->priority, &je) ||
            ag_json_expect_object(json_object_get(doc, "spec"), "spec", &je)) {
            rc = api_spec_fail(e, &je, "");
            goto out;
        }
        spec_doc = json_object_get(doc, "spec");
        prefix = "spec";
    } else {
        rc =
            api_arg_int(req, "priority", 0, -API_PRIORITY_MAX, API_PRIORITY_MAX, &sub->priority, e);
        if (rc) {
            goto out;
        }
    }
    rc = ag_spec_parse(spec_doc, &sub->spec, &je);
    if (rc) {
        rc = api_spec_fail(e, &je, prefix);
        goto out;
    }
    /* Slurm finds the cores of a run there; a local run must fit this machine */
    if (!submission_on_slurm(api, &sub->spec) && api->cfg.max_cores > 0 &&
        sub->spec.ranks > api->cfg.max_cores) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof(path), prefix, "ranks");
        rc = api_fail(e, AG_ESPEC, path, "%s: %d ranks exceed the %d cores this daemon may use",
                      path, sub->spec.ranks, api->cfg.max_cores);
        goto out;
    }
    cat = api_catalogue_get(api);
    if (cat && !api_catalogue_has(cat, sub->spec.task)) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof(path), prefix, "task");
        rc = api_fail(e, AG_ESPEC, path,
                      "%s: unknown task \"%s\" (GET /api/v1/catalogue lists them)", path,
                      sub->spec.task);
        goto out;
    }
    full = ag_spec_to_json(&sub->spec);
    tags = json_array();
    for (int i = 0; tags && i < sub->spec.num_tags; i++) {
        json_array_append_new(tags, json_string(sub->spec.tags[i]));
    }
    sub->spec_text = full ? json_dumps(full, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sub->tags_text = tags ? json_dumps(tags, JSON_COMPACT) : NULL;
    json_decref(tags);
    if (!sub->spec_text || !sub->tags_text) {
        rc = api_fail(e, AG_ENOMEM, NULL, "out of memory");
    } else if (cat) {
        /* what only the engine can tell: the task's options, the policy against its action
         * space, the model against its observation and action spaces */
        rc = api_check_spec(api, sub->spec_text, prefix, e);
    }
out:
    json_decref(full);
    json_decref(cat);
    json_decref(doc);
    if (rc) {
        submission_free(sub);
    }
    return rc;
}

int api_h_validate(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                   ApiErr *e) {
    Submission sub;
    json_t *spec;
    int rc = submission_parse(api, req, &sub, e);
    (void)p;
    if (rc) {
        return rc;
    }
    spec = json_loads(sub.spec_text, 0, NULL);
    api_resp_json(resp, 200,
                  json_pack("{s:b,s:o,s:I,s:I}", "valid", 1, "spec", spec ? spec : json_null(),
                            "iterations", (json_int_t)ag_spec_iterations(&sub.spec), "priority",
                            (json_int_t)sub.priority));
    submission_free(&sub);
    return 0;
}

/* ---- handlers: experiments ---- */

int api_h_exp_submit(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    Submission sub;
    StoreExpNew n = {0};
    int64_t id = 0;
    char msg[512];
    json_t *o = NULL;
    int rc = submission_parse(api, req, &sub, e);
    (void)p;
    if (rc) {
        return rc;
    }
    n.name = sub.spec.name;
    n.task = sub.spec.task;
    n.spec_json = sub.spec_text;
    n.tags_json = sub.tags_text;
    n.notes = sub.spec.notes;
    n.priority = (int)sub.priority;
    n.ranks = sub.spec.ranks;
    n.executor = submission_on_slurm(api, &sub.spec) ? "slurm" : "local";
    rc = store_exp_insert(api->store, &n, api->runs_root, &id, msg, sizeof(msg));
    submission_free(&sub);
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    store_event_add(api->store, id, "submitted", NULL);
    if (api->state_hook) {
        api->state_hook(api->state_hook_ctx, id, "queued", NULL);
    }
    rc = api_exp_fetch(api, id, &o, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    api_resp_created(resp, id, o);
    return 0;
}

static int valid_state(const char *s) {
    static const char *const states[] = {"queued",    "running", "paused",
                                         "succeeded", "failed",  "cancelled"};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (!strcmp(s, states[i])) {
            return 1;
        }
    }
    return 0;
}

#define LIST_Q_MAX 128
/* a page of at most 1000 items of at most a few KB each (notes up to 4 KB, tags, errors) */
#define API_LIST_BODY_MAX ((size_t)64 << 20)

/* "12", "-5": an optional minus and decimal digits */
static int text_is_integer(const char *c) {
    if (*c == '-') {
        c++;
    }
    return *c && c[strspn(c, "0123456789")] == '\0';
}

/* a 422 problem naming the list parameter that is wrong */
static int list_bad(ApiResponse *resp, const char *field, const char *detail) {
    api_resp_problem(resp, 422, AG_EINVAL, detail, field);
    return 0;
}

/* the normalised query of a page: every filter, the sort and order as the store reads them,
 * each value with its length so that no two queries write the same key */
static int list_key(const StoreExpFilter *f, AgBuf *k) {
    const char *texts[] = {f->state, f->task, f->tag, f->q, f->sort ? f->sort : "submitted",
                           f->after};
    int rc = ag_buf_printf(k, "list %d %d %lld %lld", f->ascending, f->limit, (long long)f->cursor,
                           (long long)f->parent_id);
    for (size_t i = 0; rc == 0 && i < sizeof(texts) / sizeof(texts[0]); i++) {
        rc = texts[i] ? ag_buf_printf(k, " %zu:", strlen(texts[i])) : ag_buf_append_str(k, " -");
        if (rc == 0 && texts[i]) {
            rc = ag_buf_append_str(k, texts[i]);
        }
    }
    return rc;
}

/* the pace of a running item depends on the time of the answer: a hole in the kept page; the
 * others' is written as it will always be */
typedef struct ListHoles {
    ApiCacheHole *holes;
    size_t n, max;
    int64_t *ids; /* of every item */
    size_t nids;
} ListHoles;

static int list_pace_or_hole(AgBuf *out, const StoreExpPace *p, void *ctx) {
    ListHoles *h = ctx;
    double never = 0; /* not read for an item that is not running */
    if (h->nids == h->max) {
        return AG_ETOOBIG;
    }
    h->ids[h->nids++] = p->id;
    if (!p->running) {
        return api_exp_pace_text(out, p, &never);
    }
    h->holes[h->n].at = out->len;
    h->holes[h->n].pace = *p;
    h->n++;
    return 0;
}

/* the page as a template: JSON text written from the database's columns (a page of 100 is the
 * daemon's most frequent answer, and building and printing an object tree of it cost most of its
 * time) with a hole for the pace of each running item; 0 or an error, and *answered set when
 * it answered a bad cursor in resp */
static int exp_list_template(Api *api, const StoreExpFilter *f, AgBuf *body, ListHoles *h,
                             ApiResponse *resp, int *answered, ApiErr *e) {
    char next[STORE_CURSOR_MAX] = "", msg[512] = "the page does not fit its buffer";
    int rc = ag_buf_append_str(body, "{\"items\":");
    if (rc == 0) {
        rc = store_exp_list_page_text(api->store, f, body, list_pace_or_hole, h, next, sizeof(next),
                                      msg, sizeof(msg));
        if (rc == AG_EINVAL) {
            *answered = 1;
            return list_bad(resp, "cursor", msg);
        }
    }
    if (rc == 0) {
        rc = ag_buf_append_str(body, ",\"next_cursor\":");
    }
    /* an id in the submitted order, an opaque token in the others */
    if (rc == 0 && !next[0]) {
        rc = ag_buf_append_str(body, "null");
    } else if (rc == 0 && (!f->sort || !strcmp(f->sort, "submitted"))) {
        rc = ag_json_text_int(body, strtoll(next, NULL, 10));
    } else if (rc == 0) {
        rc = ag_json_text_string(body, next, strlen(next));
    }
    if (rc == 0) {
        rc = ag_buf_append_str(body, "}");
    }
    return rc ? api_store_fail(e, rc, msg) : 0;
}

/* the generation of a page showing ids now: the list generation and theirs (store.h) */
static uint64_t list_gen_now(void *store, const int64_t *ids, size_t nids) {
    uint64_t g = store_list_generation(store);
    for (size_t i = 0; i < nids; i++) {
        g += store_run_generation(store, ids[i]);
    }
    return g;
}

/* the same from generations loaded before the page was read */
static uint64_t list_gen_loaded(uint64_t list_gen, const uint64_t *gens, const int64_t *ids,
                                size_t nids) {
    uint64_t g = list_gen;
    for (size_t i = 0; i < nids; i++) {
        g += store_run_generation_in(gens, ids[i]);
    }
    return g;
}

/* a page sorted by return or progress changes with any run's rows (they may enter or leave it) */
static int list_sorted_by_progress(const StoreExpFilter *f) {
    return f->sort && (!strcmp(f->sort, "return") || !strcmp(f->sort, "progress"));
}

/* The page from the response cache when it is still valid, else from the database (and kept);
 * with an ETag unless an item is running (its duration and ETA change with every answer), and
 * 304 when the client holds the tag of the kept page. A page sorted by return or progress is
 * valid until the next commit; any other until a commit that is not only rows of runs it does
 * not show (a training's metric rows leave the pages without it as they are). */
static int exp_list_answer(Api *api, const ApiRequest *req, const StoreExpFilter *f,
                           ApiResponse *resp, ApiErr *e) {
    AgBuf key, body;
    ListHoles h = {0};
    int by_progress = list_sorted_by_progress(f);
    ApiCacheGen g = {list_gen_now, api->store};
    /* loaded before the page is read: its answer is at least as new as they are */
    uint64_t gen = by_progress ? store_generation(api->store) : store_list_generation(api->store);
    uint64_t *gens = NULL, kept = 0, current = 0, ids_hash = 0;
    double now = ag_time_wall();
    char etag[API_ETAG_MAX];
    size_t nholes = 0;
    int rc = ag_buf_init(&key, 256, 8192), cacheable, answered = 0;
    if (rc) {
        return api_fail(e, rc, NULL, "out of memory");
    }
    cacheable = list_key(f, &key) == 0;
    /* a tag names the generation of the kept page it was given with */
    if (cacheable && req->if_none_match &&
        api_cache_gen(api->cache, key.data, key.len, gen, by_progress ? NULL : &g, &kept, &current,
                      &ids_hash) &&
        kept == current) {
        api_etag(api, key.data, key.len, kept, ids_hash, etag);
        if (api_etag_matches(req, etag)) {
            ag_buf_free(&key);
            api_resp_not_modified(resp, etag);
            return 0;
        }
    }
    if (cacheable && api_cache_get(api->cache, key.data, key.len, gen, by_progress ? NULL : &g,
                                   api_exp_pace_text, &now, &resp->body, &resp->body_len, &nholes,
                                   &kept, &ids_hash)) {
        api_etag(api, key.data, key.len, kept, ids_hash, etag);
        goto answer;
    }
    h.max = (size_t)f->limit;
    h.holes = malloc(h.max * sizeof(*h.holes));
    h.ids = malloc(h.max * sizeof(*h.ids));
    gens = by_progress ? NULL : malloc(STORE_GEN_SLOTS * sizeof(*gens));
    rc = h.holes && h.ids && (by_progress || gens)
             ? ag_buf_init(&body, (size_t)f->limit * 1024, API_LIST_BODY_MAX)
             : AG_ENOMEM;
    if (rc) {
        free(h.holes);
        free(h.ids);
        free(gens);
        ag_buf_free(&key);
        return api_fail(e, rc, NULL, "out of memory");
    }
    if (gens) {
        store_run_generations_load(api->store, gens);
    }
    rc = exp_list_template(api, f, &body, &h, resp, &answered, e);
    if (rc == 0 && !answered) {
        rc = api_cache_assemble(body.data, body.len, h.holes, h.n, api_exp_pace_text, &now,
                                &resp->body, &resp->body_len);
        if (rc) {
            rc = api_fail(e, rc, NULL, "out of memory");
        }
    }
    if (rc == 0 && !answered) {
        if (gens) {
            gen = list_gen_loaded(gen, gens, h.ids, h.nids);
            ids_hash = api_cache_hash((const char *)h.ids, h.nids * sizeof(*h.ids));
        }
        api_etag(api, key.data, key.len, gen, ids_hash, etag);
    }
    if (rc == 0 && !answered && cacheable) {
        api_cache_put(api->cache, key.data, key.len, gen, body.data, body.len, h.holes, h.n,
                      gens ? h.ids : NULL, gens ? h.nids : 0);
    }
    nholes = h.n;
    ag_buf_free(&body);
    free(h.holes);
    free(h.ids);
    free(gens);
    if (rc || answered) {
        ag_buf_free(&key);
        return rc;
    }
answer:
    ag_buf_free(&key);
    resp->status = 200;
    resp->content_type = "application/json";
    if (cacheable && nholes == 0) {
        snprintf(resp->etag, sizeof(resp->etag), "%s", etag);
    }
    return 0;
}

int api_h_exp_list(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                   ApiErr *e) {
    StoreExpFilter f = {0};
    long long limit = 0, cursor = 0, parent = 0;
    const char *order, *c;
    int rc;
    (void)p;
    f.state = api_arg(req, "state");
    f.task = api_arg(req, "task");
    f.tag = api_arg(req, "tag");
    f.q = api_arg(req, "q");
    f.sort = api_arg(req, "sort");
    order = api_arg(req, "order");
    c = api_arg(req, "cursor");
    if (f.state && !valid_state(f.state)) {
        return api_fail(e, AG_EINVAL, "state",
                        "state must be queued, running, paused, succeeded, failed or cancelled");
    }
    if (f.q) {
        size_t n = strlen(f.q);
        if (n > LIST_Q_MAX) {
            return list_bad(resp, "q", "q must be at most 128 bytes");
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)f.q[i] < 0x20 || f.q[i] == 0x7f) {
                return list_bad(resp, "q", "q must not contain control characters");
            }
        }
    }
    if (f.sort && !store_exp_sort_known(f.sort)) {
        return list_bad(resp, "sort", "sort must be one of " STORE_EXP_SORTS);
    }
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        return list_bad(resp, "order", "order must be asc or desc");
    }
    /* names and states read A-Z by default, times and numbers newest/largest first */
    f.ascending = order ? !strcmp(order, "asc") : store_exp_sort_ascending(f.sort);
    if ((rc = api_arg_int(req, "limit", 100, 1, 1000, &limit, e))) {
        return rc;
    }
    if (api_arg_int(req, "parent", 0, 1, INT64_MAX, &parent, e)) {
        return list_bad(resp, "parent", e->detail);
    }
    f.parent_id = parent;
    /* a numeric cursor is an id (the submitted order); anything else is a sorted-page token */
    if (c && text_is_integer(c)) {
        if ((rc = api_arg_int(req, "cursor", 0, 0, INT64_MAX, &cursor, e))) {
            return rc;
        }
        if (f.sort && strcmp(f.sort, "submitted") && cursor) {
            return list_bad(resp, "cursor", "cursor is not one of this listing's pages");
        }
    } else if (c) {
        f.after = c;
    }
    f.limit = (int)limit;
    f.cursor = cursor;
    return exp_list_answer(api, req, &f, resp, e);
}

int api_h_exp_get(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                  ApiErr *e) {
    json_t *o = NULL;
    char msg[512];
    int rc = api_exp_fetch(api, p->id, &o, msg, sizeof(msg));
    (void)req;
    return api_resp_store(resp, e, rc, msg, NULL, o);
}

int api_exp_fetch(Api *api, int64_t id, json_t **out, char *msg, size_t msg_sz) {
    int rc = store_exp_get_json(api->store, id, out, msg, msg_sz);
    if (rc == 0) {
        api_exp_progress_add(*out, ag_time_wall());
        api_pretrain_fields_add(*out);
    }
    return rc;
}

/* the pace of an experiment: steps/s, and its duration and ETA when they can be known */
typedef struct ExpPace {
    double rate; /* 0: unknown */
    int has_duration;
    double duration;
    int has_eta;
    double eta;
} ExpPace;

/* a positive finite number, else 0 */
static double positive_value(double v) {
    return v > 0 && v < 1e300 ? v : 0;
}

static ExpPace exp_pace(const StoreExpPace *p, double now) {
    ExpPace out = {0};
    double steps = positive_value(p->latest_env_steps), wall = positive_value(p->latest_wall_s);
    double budget = positive_value(p->budget_env_steps), started = positive_value(p->started_at);
    double finished = positive_value(p->finished_at);
    out.rate = steps > 0 && wall > 0 ? steps / wall : 0;
    if (started > 0 && p->running) {
        out.has_duration = 1;
        out.duration = now > started ? now - started : 0;
    } else if (started > 0 && finished >= started) {
        out.has_duration = 1;
        out.duration = finished - started;
    }
    /* only a running run is heading somewhere; the rest of the budget at the rate so far */
    if (p->running && out.rate > 0 && budget > 0) {
        out.has_eta = 1;
        out.eta = budget > steps ? (budget - steps) / out.rate : 0;
    }
    return out;
}

void api_exp_progress_add(json_t *exp, double now) {
    const char *state = json_string_value(json_object_get(exp, "state"));
    StoreExpPace p = {
        .running = state && !strcmp(state, "running"),
        .latest_env_steps = json_number_value(json_object_get(exp, "latest_env_steps")),
        .latest_wall_s = json_number_value(json_object_get(exp, "latest_wall_s")),
        .budget_env_steps = json_number_value(json_object_get(exp, "budget_env_steps")),
        .started_at = json_number_value(json_object_get(exp, "started_at")),
        .finished_at = json_number_value(json_object_get(exp, "finished_at")),
    };
    ExpPace x = exp_pace(&p, now);
    json_object_set_new(exp, "steps_per_s", x.rate > 0 ? json_real(x.rate) : json_null());
    json_object_set_new(exp, "duration_s", x.has_duration ? json_real(x.duration) : json_null());
    json_object_set_new(exp, "eta_s", x.has_eta ? json_real(x.eta) : json_null());
}

/* ",\"key\":value" of a real or null; a non-finite real is left out, as json_object_set_new
 * leaves out the NULL json_real gives for it */
static int pace_member(AgBuf *out, const char *member, int known, double v) {
    int rc;
    if (known && !isfinite(v)) {
        return 0;
    }
    rc = ag_buf_append_str(out, member);
    if (rc == 0) {
        rc = known ? ag_json_text_real(out, v) : ag_buf_append(out, "null", 4);
    }
    return rc;
}

int api_exp_pace_text(AgBuf *out, const StoreExpPace *p, void *now) {
    ExpPace x = exp_pace(p, *(const double *)now);
    int rc = pace_member(out, ",\"steps_per_s\":", x.rate > 0, x.rate);
    if (rc == 0) {
        rc = pace_member(out, ",\"duration_s\":", x.has_duration, x.duration);
    }
    if (rc == 0) {
        rc = pace_member(out, ",\"eta_s\":", x.has_eta, x.eta);
    }
    return rc;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int api_h_exp_delete(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    char dir[STORE_PATH_MAX], msg[512];
    size_t root_len = strlen(api->runs_root);
    int rc = store_exp_delete(api->store, p->id, dir, sizeof(dir), msg, sizeof(msg));
    (void)req;
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    /* only ever below the runs folder */
    if (dir[0] && strncmp(dir, api->runs_root, root_len) == 0 && dir[root_len] == '/') {
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    api_resp_json(resp, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p->id, "deleted", 1));
    return 0;
}

static int exp_action(Api *api, const ApiParams *p, ApiResponse *resp, ApiErr *e,
                      int (*fn)(Store *, int64_t, char *, char *, size_t), const char *what) {
    char state[STORE_STATE_MAX] = "", msg[512];
    json_t *o = NULL;
    int rc = fn(api->store, p->id, state, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    store_event_add(api->store, p->id, what, NULL);
    if (api->state_hook && strcmp(state, "running") != 0) {
        api->state_hook(api->state_hook_ctx, p->id, state, NULL);
    }
    rc = api_exp_fetch(api, p->id, &o, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    /* a running experiment changes when the scheduler has acted: 202 */
    api_resp_json(resp, strcmp(state, "running") == 0 ? 202 : 200, o);
    return 0;
}

int api_h_exp_cancel(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_cancel, "cancel-requested");
}

int api_h_exp_pause(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                    ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_pause, "pause-requested");
}

int api_h_exp_resume(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_resume, "resumed");
}

static int tag_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n >= 64) {
        return 0;
    }
    for (; *t; t++) {
        if ((unsigned char)*t < 0x20 || *t == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* stores new tags (a JSON array) or notes, NULL keeping the other, and answers with the
 * experiment */
static int exp_annotate(Api *api, const ApiParams *p, const char *tags_json, const char *notes,
                        ApiResponse *resp, ApiErr *e) {
    json_t *o = NULL;
    char msg[512];
    int rc = store_exp_annotate(api->store, p->id, tags_json, notes, msg, sizeof(msg));
    if (rc == 0) {
        rc = api_exp_fetch(api, p->id, &o, msg, sizeof(msg));
    }
    return api_resp_store(resp, e, rc, msg, NULL, o);
}

int api_h_exp_tags(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                   ApiErr *e) {
    json_t *doc = NULL, *tags, *v;
    char path[AG_JSON_PATH_MAX], *text = NULL;
    size_t i;
    int rc = api_body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    static const char *const tags_keys[] = {"tags", NULL};
    AgJsonErr je = {0};
    if (json_is_object(doc) && ag_json_check_keys(doc, "", tags_keys, &je)) {
        rc = api_spec_fail(e, &je, "");
        goto out;
    }
    tags = json_is_object(doc) ? json_object_get(doc, "tags") : NULL;
    if (!json_is_array(tags)) {
        rc = api_fail(e, AG_ESPEC, "tags", "tags: expected {\"tags\": [\"name\", ...]}");
        goto out;
    }
    if (json_array_size(tags) > 16) {
        rc = api_fail(e, AG_ESPEC, "tags", "tags: at most 16 tags");
        goto out;
    }
    json_array_foreach(tags, i, v) {
        if (!json_is_string(v) || !tag_ok(json_string_value(v))) {
            ag_json_path_index(path, sizeof(path), "tags", i);
            rc = api_fail(e, AG_ESPEC, path,
                          "%s: a tag is a string of 1 to 63 printable characters", path);
            goto out;
        }
    }
    text = json_dumps(tags, JSON_COMPACT);
    rc = exp_annotate(api, p, text, NULL, resp, e);
out:
    free(text);
    json_decref(doc);
    return rc;
}

int api_h_exp_notes(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                    ApiErr *e) {
    json_t *doc = NULL, *notes;
    int rc = api_body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    notes = json_is_object(doc) ? json_object_get(doc, "notes") : NULL;
    if (!json_is_string(notes)) {
        rc = api_fail(e, AG_ESPEC, "notes", "notes: expected {\"notes\": \"text\"}");
        goto out;
    }
    if (json_string_length(notes) > API_NOTES_MAX) {
        rc = api_fail(e, AG_ESPEC, "notes", "notes: at most %d bytes", API_NOTES_MAX);
        goto out;
    }
    rc = exp_annotate(api, p, NULL, json_string_value(notes), resp, e);
out:
    json_decref(doc);
    return rc;
}

int api_h_exp_events(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    json_t *ev = NULL, *o = NULL;
    long long limit = 100;
    char msg[512];
    int rc = api_arg_int(req, "limit", 100, 1, 1000, &limit, e);
    if (rc) {
        return rc;
    }
    rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    json_decref(o);
    if (rc == 0) {
        rc = store_event_list(api->store, p->id, (int)limit, &ev, msg, sizeof(msg));
    }
    return api_resp_store(resp, e, rc, msg, "items", ev);
}

// The REST API against its OpenAPI document: the document is served without a token (every other
// route still needs one), `redocly lint` finds nothing in it, and the real answers of every route
// of a real angorad (with the real angora-train and angora-analyze), successes and errors alike,
// have a documented status and content type and validate against the document's schemas (ajv,
// JSON Schema 2020-12 as OpenAPI 3.1 uses).
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import {createRequire} from "node:module";
import path from "node:path";
import {after, before, test} from "node:test";

import {daemonStart} from "./harness.mjs";

const modules = process.env.ANGORA_WEB_NODE_MODULES;
const require = createRequire(path.join(modules || ".", "noop.js"));

// a tiny CartPole run: two iterations of a small network, a few seconds
const TINY = {
    task: "CartPole",
    seed: 3,
    ppo: {envs_per_rank: 2, horizon: 64, minibatch: 64, epochs: 1},
    budget: {env_steps: 1024},
    eval: {every: 0},
    tags: ["contract"]
};
// long enough to still be queued or running when it is paused, cancelled or deleted
const LONG = {
    ...TINY,
    name: "contract-long",
    budget: {env_steps: 100000000}
};

let d;
let doc;
let ajv;
let readToken;
const answered = new Map(); // operationId -> Set of statuses seen

// the operation of the document that serves method and path
function operationOf(method, urlPath) {
    for (const [pattern, item] of Object.entries(doc.paths)) {
        const re = new RegExp("^" + pattern.replace(/\{[a-z]+\}/g, "[^/]+") + "/?$");
        if (re.test(urlPath) && item[method.toLowerCase()])
            return {pattern, op: item[method.toLowerCase()]};
    }
    return null;
}

const pointer = (...parts) =>
    parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

// checks one real answer against the document; returns the parsed JSON body (or null)
function conform(method, urlPath, res, text) {
    const found = operationOf(method, urlPath);
    assert.ok(found, `${method} ${urlPath}: no operation in the document`);
    const {pattern, op} = found;
    const status = String(res.status);
    const key = op.responses[status] ? status
                : op.responses[`${status[0]}XX`] ? `${status[0]}XX`
                                                 : null;
    assert.ok(key, `${op.operationId}: status ${status} is not documented (${text.slice(0, 200)})`);
    let response = op.responses[key];
    let where = pointer("paths", pattern, method.toLowerCase(), "responses", key);
    if (response.$ref) {
        where = response.$ref.slice(2);
        response = response.$ref.split("/").slice(1).reduce((o, k) => o[k], doc);
    }
    for (const [name, h] of Object.entries(response.headers || {})) {
        if (h.required)
            assert.ok(res.headers.get(name), `${op.operationId} ${status}: no ${name} header`);
    }
    const type = res.headers.get("content-type");
    const media = Object.keys(response.content || {});
    assert.ok(media.some((m) => m.toLowerCase() === String(type).toLowerCase()),
              `${op.operationId} ${status}: content type ${type}, documented ${media.join(", ")}`);
    const mediaKey = media.find((m) => m.toLowerCase() === String(type).toLowerCase());
    let body = null;
    if (/json/.test(mediaKey)) {
        body = JSON.parse(text);
        const validate =
            ajv.getSchema(`angorad#/${where}/${pointer("content", mediaKey, "schema")}`);
        assert.ok(validate, `${op.operationId}: no schema at ${where}`);
        const valid = validate(body);
        const why = (validate.errors || [])
                        .map((e) => `${e.instancePath || "/"} ${e.message} ${
                                 JSON.stringify(e.params)}`)
                        .join("; ");
        assert.ok(valid, `${op.operationId} ${status}: ${why} in ${text.slice(0, 300)}`);
    }
    if (!answered.has(op.operationId))
        answered.set(op.operationId, new Set());
    answered.get(op.operationId).add(res.status);
    return body;
}

// one request, checked against the document; token null sends none
async function call(method, urlPath, {body, raw, token = d.token, expect} = {}) {
    const headers = token ? {Authorization: `Bearer ${token}`} : {};
    const payload = raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined;
    const res = await fetch(d.base + urlPath, {method, headers, body: payload});
    const text = await res.text();
    const json = conform(method, urlPath.split("?")[0], res, text);
    if (expect !== undefined)
        assert.equal(res.status, expect, `${method} ${urlPath}: ${text.slice(0, 300)}`);
    return {status: res.status, json, text, headers: res.headers};
}

async function settle(id, ms = 120000) {
    return d.waitState(id, ["succeeded", "failed", "cancelled"], ms);
}

before(async () => {
    assert.ok(modules, "ANGORA_WEB_NODE_MODULES is not set (run through ctest)");
    d = await daemonStart({maxCores: 2});
    const res = await fetch(`${d.base}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json();
    const Ajv2020 = require("ajv/dist/2020").default;
    ajv = new Ajv2020({strict: false, allErrors: true});
    ajv.addSchema({...doc, $id: "angorad"});
    readToken =
        (await d.rest("POST", "/tokens", {name: "contract-read", scope: "read"})).json.token;
});

after(async () => {
    if (d)
        await d.stop();
});

test("the document is served without a token, and redocly lint finds nothing in it", async () => {
    const res = await fetch(`${d.base}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^application\/json/);
    const file = path.join(d.dir, "openapi.json");
    fs.writeFileSync(file, await res.text());
    // the recommended rules with every warning an error
    const lint = spawnSync(
        path.join(modules, ".bin", "redocly"),
        ["lint", "--extends", "recommended-strict", "--format", "json", file], {
            encoding: "utf8",
            env: {...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true"},
            timeout: 60000,
        });
    const out = lint.stdout.slice(lint.stdout.indexOf("{"));
    let report;
    try {
        report = JSON.parse(out);
    } catch {
        assert.fail(
            `redocly lint gave no report (exit ${lint.status}):\n${lint.stdout}\n${lint.stderr}`);
    }
    const problems =
        report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0].pointer}`);
    assert.deepEqual(report.totals, {errors: 0, warnings: 0, ignored: 0}, problems.join("\n"));
    assert.equal(lint.status, 0);
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.servers.length > 0);
});

test("every other route needs a token", async () => {
    for (const [pattern, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
            const urlPath = pattern.replace("{id}", "1").replace("{name}", "last.ckpt");
            const res = await fetch(d.base + urlPath, {method: method.toUpperCase()});
            const text = await res.text();
            if (op.security && op.security.length === 0) {
                assert.equal(res.status, 200, `${method} ${pattern} without a token: ${text}`);
                continue;
            }
            assert.equal(res.status, 401, `${method} ${pattern} without a token: ${text}`);
            conform(method.toUpperCase(), urlPath, res, text);
        }
    }
});

test("every route answers as documented, successes and errors", async () => {
    // the service
    await call("GET", "/api/v1/health", {expect: 200, token: null});
    await call("GET", "/metrics", {expect: 200});
    await call("GET", "/api/v1/info", {expect: 200});
    await call("GET", "/api/v1/catalogue", {expect: 200});
    await call("GET", "/api/v1/experiments/1%00", {expect: 400});

    // validation and submission
    await call("POST", "/api/v1/validate", {body: {spec: TINY, priority: 3}, expect: 200});
    await call("POST", "/api/v1/validate", {body: {...TINY, ppo: {lr: 0}}, expect: 422});
    await call("POST", "/api/v1/validate", {raw: "{nope", expect: 400});
    await call("POST", "/api/v1/experiments", {body: {...TINY, policy: "gaussian"}, expect: 422});
    await call("POST", "/api/v1/experiments", {body: TINY, token: readToken, expect: 403});
    const run = (await call("POST", "/api/v1/experiments", {body: {spec: TINY}, expect: 201})).json;
    const long =
        (await call("POST", "/api/v1/experiments?priority=-5", {body: LONG, expect: 201})).json;

    // listing and one experiment
    await call("GET", "/api/v1/experiments?limit=1&sort=name", {expect: 200});
    await call("GET", `/api/v1/experiments?parent=${run.id}`, {expect: 200});
    await call("GET", "/api/v1/experiments?sort=bogus", {expect: 422});
    await call("GET", "/api/v1/experiments?limit=0", {expect: 400});
    await call("GET", `/api/v1/experiments/${run.id}`, {expect: 200});
    await call("GET", "/api/v1/experiments/999999", {expect: 404});
    await call("GET", "/api/v1/experiments/abc", {expect: 400});

    // actions: a finished run refuses them, a queued or running one takes them
    const pause = await call("POST", `/api/v1/experiments/${long.id}/pause`);
    assert.ok([200, 202].includes(pause.status), pause.text);
    await d.waitState(long.id, ["paused"]);
    await call("POST", `/api/v1/experiments/${long.id}/resume`, {expect: 200});
    await call("DELETE", `/api/v1/experiments/${long.id}`, {expect: 409});
    const cancel = await call("POST", `/api/v1/experiments/${long.id}/cancel`);
    assert.ok([200, 202].includes(cancel.status), cancel.text);
    await settle(long.id);
    await call("POST", `/api/v1/experiments/${long.id}/cancel`, {expect: 409});
    await call("POST", `/api/v1/experiments/${long.id}/pause`, {expect: 409});
    await call("POST", `/api/v1/experiments/${long.id}/resume`, {expect: 409});
    await call("DELETE", `/api/v1/experiments/${long.id}`, {expect: 200});

    // annotations
    await call("PUT", `/api/v1/experiments/${run.id}/tags`,
               {body: {tags: ["a", "b"]}, expect: 200});
    await call("PUT", `/api/v1/experiments/${run.id}/tags`, {body: {tags: [], x: 1}, expect: 422});
    await call("PUT", `/api/v1/experiments/${run.id}/notes`,
               {body: {notes: "contract"}, expect: 200});
    await call("PUT", `/api/v1/experiments/${run.id}/notes`, {body: {notes: 5}, expect: 422});

    assert.equal((await settle(run.id)).state, "succeeded");
    const base = `/api/v1/experiments/${run.id}`;

    // its journal, metrics, checkpoints and log
    await call("GET", `${base}/events?limit=5`, {expect: 200});
    await call("GET", `${base}/events?limit=0`, {expect: 400});
    await call("GET", `${base}/metrics/keys`, {expect: 200});
    await call("GET", `${base}/metrics/series?key=return_mean&x=env_steps&points=10`,
               {expect: 200});
    await call("GET", `${base}/metrics/series`, {expect: 400});
    const rows = await call("GET", `${base}/metrics/export?after_seq=0&limit=5`, {expect: 200});
    assert.ok(rows.json.rows.length > 0);
    await call("GET", `${base}/metrics/export?format=csv`, {expect: 200});
    await call("GET", `${base}/metrics/export?format=xml`, {expect: 400});
    const ckpts = await call("GET", `${base}/checkpoints`, {expect: 200});
    assert.ok(ckpts.json.items.some((c) => c.name === "last.ckpt"));
    await call("GET", `${base}/checkpoints/last.ckpt`, {expect: 200});
    await call("GET", `${base}/checkpoints/nope.ckpt`, {expect: 404});
    await call("GET", `${base}/checkpoints/bad.txt`, {expect: 400});
    await call("GET", `${base}/log?tail=100`, {expect: 200});
    await call("GET", `${base}/log?file=worker&offset=0&length=10`, {expect: 200});
    await call("GET", `${base}/log?file=bogus`, {expect: 400});

    // an evaluation job and its result
    await call("POST", `${base}/evaluate`, {body: {episodes: 0}, expect: 422});
    await call("POST", `${base}/evaluate`, {body: {checkpoint: "nope.ckpt"}, expect: 422});
    const evaluation =
        (await call("POST", `${base}/evaluate`, {body: {episodes: 2}, expect: 201})).json;
    assert.equal((await settle(evaluation.id)).state, "succeeded");
    await call("GET", `/api/v1/experiments/${evaluation.id}/evaluation`, {expect: 200});
    await call("GET", `${base}/evaluation`, {expect: 404});
    // CartPole draws nothing: no video, no trajectory
    await call("GET", `/api/v1/experiments/${evaluation.id}/evaluation/video`, {expect: 404});
    await call("GET", `/api/v1/experiments/${evaluation.id}/evaluation/trajectory`, {expect: 404});
    await call("POST", `/api/v1/experiments/${evaluation.id}/evaluate`, {expect: 409});

    // an analysis job and its files
    await call("POST", `${base}/analyses`, {body: {episodes: 2}, expect: 422});
    await call("POST", `/api/v1/experiments/${evaluation.id}/analyses`, {expect: 409});
    const job = (await call("POST", `${base}/analyses`,
                            {body: {episodes: 3, folds: 3, deterministic: true}, expect: 201}))
                    .json;
    await call("GET", `${base}/analyses`, {expect: 200});
    await call("GET", `${base}/analysis`, {expect: 404});
    const jobState = (await settle(job.id)).state;
    const jb = `/api/v1/experiments/${job.id}`;
    if (process.env.ANGORA_ANALYZE) {
        assert.equal(jobState, "succeeded");
        await call("GET", `${jb}/analysis`, {expect: 200});
        await call("GET", `${jb}/analysis/tables/pca.csv`, {expect: 200});
        await call("GET", `${jb}/analysis/figures/pca_spectra.png`, {expect: 200});
        await call("GET", `${jb}/analysis/recording`, {expect: 200});
    }
    await call("GET", `${jb}/analysis/tables/none.csv`, {expect: 404});
    await call("GET", `${jb}/analysis/tables/bad.txt`, {expect: 400});
    await call("GET", `${jb}/analysis/figures/none.png`, {expect: 404});
    await call("GET", `${base}/analysis/recording`, {expect: 404});

    // a pretrain job on a tiny rendered dataset, its curve and its encoder
    const dataSpec = path.join(d.dir, "pretrain-data.json");
    const data = path.join(d.dir, "pretrain.h5");
    fs.writeFileSync(dataSpec, JSON.stringify({samples: 12, image_size: 8, seed: 1}));
    const made = spawnSync(process.env.ANGORA_TRAIN, ["--pretrain-data", dataSpec, "--out", data],
                           {encoding: "utf8"});
    assert.equal(made.status, 0, made.stderr);
    await call("POST", "/api/v1/pretrain", {body: {data, epochs: 0}, expect: 422});
    await call("POST", "/api/v1/pretrain", {body: {data: "/nonexistent.h5"}, expect: 422});
    await call("POST", "/api/v1/pretrain", {raw: "{nope", expect: 400});
    await call("POST", "/api/v1/pretrain", {body: {data}, token: readToken, expect: 403});
    const pre = (await call("POST", "/api/v1/pretrain",
                            {body: {spec: {data, epochs: 2, batch_size: 4}, name: "enc"}, expect: 201}))
                    .json;
    assert.ok(pre.encoder_checkpoint.endsWith("/checkpoints/best.ckpt"));
    assert.equal((await settle(pre.id)).state, "succeeded");
    await call("GET", `/api/v1/experiments/${pre.id}`, {expect: 200});
    await call("GET", `/api/v1/experiments/${pre.id}/metrics/series?key=holdout_loss`,
               {expect: 200});

    // tokens
    await call("GET", "/api/v1/tokens", {expect: 200});
    await call("GET", "/api/v1/tokens", {token: readToken, expect: 403});
    const tok =
        (await call("POST", "/api/v1/tokens", {body: {name: "ci", scope: "read"}, expect: 201}))
            .json;
    await call("POST", "/api/v1/tokens", {body: {scope: "read"}, expect: 422});
    await call("DELETE", `/api/v1/tokens/${tok.id}`, {expect: 200});
    await call("DELETE", "/api/v1/tokens/999999", {expect: 404});
    await call("GET", "/api/v1/openapi.json", {token: null, expect: 200});

    // every operation was answered, and with a success unless it needs what CartPole lacks
    const needsPictures = new Set(["getEvaluationVideo", "getEvaluationTrajectory"]);
    if (!process.env.ANGORA_ANALYZE) {
        for (const id of ["getAnalysis", "getAnalysisTable", "getAnalysisFigure",
                          "getAnalysisRecording"])
            needsPictures.add(id);
    }
    for (const item of Object.values(doc.paths)) {
        for (const op of Object.values(item)) {
            const seen = answered.get(op.operationId);
            assert.ok(seen, `${op.operationId} was never called`);
            if (!needsPictures.has(op.operationId))
                assert.ok([...seen].some((s) => s < 300),
                          `${op.operationId}: no success among ${[...seen]}`);
        }
    }
});

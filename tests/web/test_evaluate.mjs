// Evaluation from the experiment page against a real angorad and angora-train: a short
// InvertedPendulum run, the Evaluate dialog (bad input answered by the server in the dialog,
// then episodes, deterministic and record), the job's result with mean, std and CI, the
// recorded video playing from an object URL (the video route needs the bearer token), the
// trajectory download, the evaluations table of the trained run, a task metric with its interval
// (Acrobot's success), and no console errors.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {daemonStart, browserStart} from "./harness.mjs";

// ANGORA_WEB_SCREENSHOTS=<dir> also writes the evaluation screenshot used by the docs
const SHOTS = process.env.ANGORA_WEB_SCREENSHOTS || "";

// a few thousand steps with the small network: seconds of training
const SPEC = {
    name: "web-eval-pendulum",
    task: "InvertedPendulum",
    model: "simple",
    seed: 4,
    ppo: {envs_per_rank: 2, horizon: 256, minibatch: 128, epochs: 2},
    budget: {env_steps: 2048},
    eval: {every: 0},
    tags: ["web", "eval"]
};

let d;
let b;
let page;
let trainId;
let evalId;

before(async () => {
    d = await daemonStart({maxCores: 2});
    trainId = await d.submit(SPEC);
    b = await browserStart();
    page = b.page;
    await page.goto(`${d.base}/#/signin`);
    await page.fill("#token", d.token);
    await page.click("#signin-button");
    await page.waitForSelector("#exp-table tbody tr[data-id]");
    await d.waitState(trainId, ["succeeded"], 90000);
});

after(async () => {
    if (b)
        await b.stop();
    if (d)
        await d.stop();
});

test("the Evaluate dialog shows the server's message for bad input", async () => {
    await page.goto(`${d.base}/#/exp/${trainId}`);
    await page.waitForSelector("#exp-state.succeeded");
    await page.waitForSelector("#btn-evaluate:not([disabled])");
    await page.click("#btn-evaluate");
    await page.waitForSelector("#eval-dialog[open]");
    await page.waitForSelector('#eval-checkpoint option[value="last.ckpt"]', {state: "attached"});
    await page.fill("#eval-episodes", "0");
    await page.click("#eval-submit");
    await page.waitForSelector("#eval-error .banner.error");
    assert.match(await page.textContent("#eval-error"), /episodes/);
    assert.ok(await page.isVisible("#eval-dialog"));
});

test("evaluate with record shows mean, std, CI and a playable video", async () => {
    await page.fill("#eval-episodes", "3");
    await page.check("#eval-deterministic");
    await page.check("#eval-record");
    await page.click("#eval-submit");
    await page.waitForFunction(
        (id) => /#\/exp\/(\d+)$/.test(location.hash) && location.hash !== `#/exp/${id}`, trainId);
    evalId = Number(page.url().match(/#\/exp\/(\d+)$/)[1]);
    const job = (await d.rest("GET", `/experiments/${evalId}`)).json;
    assert.equal(job.kind, "evaluate");
    assert.equal(job.spec.record, true);
    assert.equal(job.spec.episodes, 3);
    await page.waitForSelector("#exp-state.succeeded", {timeout: 90000});
    await page.waitForSelector("#eval-facts");
    const result = (await d.rest("GET", `/experiments/${evalId}/evaluation`)).json;
    assert.equal(result.episodes, 3);
    const facts = await page.textContent("#eval-facts");
    assert.match(facts, /episodes\s*3/);
    assert.match(facts, /mean/);
    assert.match(facts, /std/);
    assert.match(await page.textContent("#eval-ci"), /^\[.+, .+\]$/);
    // the video: an object URL holding the mp4, loaded far enough to know its duration
    await page.waitForSelector("#eval-video[src^='blob:']");
    await page.waitForFunction(() => {
        const v = document.querySelector("#eval-video");
        return v && v.readyState >= 1 && Number.isFinite(v.duration) && v.duration > 0;
    }, null, {timeout: 30000});
    const v = await page.evaluate(() => {
        const el = document.querySelector("#eval-video");
        return {duration: el.duration, w: el.videoWidth, h: el.videoHeight, err: el.error};
    });
    assert.ok(v.duration > 0, `duration ${v.duration}`);
    assert.ok(v.w > 0 && v.h > 0);
    assert.equal(v.err, null);
    if (SHOTS) {
        // a frame from the middle of the episode rather than the first
        await page.evaluate(() => {
            const el = document.querySelector("#eval-video");
            el.currentTime = el.duration / 2;
        });
        await page.waitForFunction(() => !document.querySelector("#eval-video").seeking);
        await page.evaluate(() => document.querySelector("#exp-evaluation").scrollIntoView());
        await page.screenshot({path: path.join(SHOTS, "evaluation.png"), fullPage: false});
    }
    // the trajectory downloads as the JSON the API serves
    await page.waitForSelector("#eval-trajectory[data-ready]");
    const [download] =
        await Promise.all([page.waitForEvent("download"), page.click("#eval-trajectory")]);
    const traj = JSON.parse(fs.readFileSync(await download.path(), "utf8"));
    assert.equal(traj.task, "InvertedPendulum");
    assert.ok(traj.length > 0);
});

test("the trained run lists its evaluations with their results", async () => {
    await page.goto(`${d.base}/#/exp/${trainId}`);
    await page.waitForSelector(`#evals-table tr[data-id="${evalId}"][data-state="succeeded"]`);
    const result = (await d.rest("GET", `/experiments/${evalId}/evaluation`)).json;
    const row = await page.textContent(`#evals-table tr[data-id="${evalId}"]`);
    assert.ok(row.includes(String(result.episodes)));
    assert.match(row, /video/);
    const mean = await page.textContent(`#evals-table tr[data-id="${evalId}"] .eval-mean`);
    assert.ok(Math.abs(Number(mean.replace(/,/g, "")) - result.mean) <=
                  Math.max(0.01, Math.abs(result.mean) * 0.01),
              `${mean} vs ${result.mean}`);
});

test("no console errors", async () => {
    // failed requests the page expects are logged by the browser: the 422 of the bad-input test,
    // 404 for the result and log of a job that has not run yet
    const left = b.problems.filter((p) => {
        const m =
            /Failed to load resource: the server responded with a status of (\d+)/.exec(p.text);
        return !(m && [404, 422].includes(Number(m[1])));
    });
    assert.deepEqual(left, []);
});

test("a task's metrics are shown with their std and 95% interval", async () => {
    // Acrobot reports success (0 or 1 an episode): its interval is Wilson's
    const acrobot = await d.submit({
        name: "web-eval-acrobot",
        task: "Acrobot",
        model: "simple",
        seed: 5,
        ppo: {envs_per_rank: 2, horizon: 256, minibatch: 128, epochs: 1},
        budget: {env_steps: 1024},
        eval: {every: 0},
        tags: ["web", "eval"]
    });
    await d.waitState(acrobot, ["succeeded"], 90000);
    const queued = await d.rest("POST", `/experiments/${acrobot}/evaluate`,
                                {episodes: 4, checkpoint: "last.ckpt", deterministic: false});
    assert.equal(queued.status, 201);
    const job = queued.json.id;
    await d.waitState(job, ["succeeded"], 90000);
    const result = (await d.rest("GET", `/experiments/${job}/evaluation`)).json;
    assert.ok("success" in result.metrics);
    await page.goto(`${d.base}/#/exp/${job}`);
    await page.waitForSelector('#eval-metrics tr[data-metric="success"]');
    const mean = await page.textContent('#eval-metrics tr[data-metric="success"] .metric-mean');
    assert.ok(Math.abs(Number(mean) - result.metrics.success) <= 0.005, `${mean}`);
    const ci = await page.textContent('#eval-metrics tr[data-metric="success"] .metric-ci');
    const [lo, hi] = result.metrics_ci95.success;
    const m = ci.match(/^\[(.+), (.+)\]$/);
    assert.ok(m, ci);
    assert.ok(Math.abs(Number(m[1]) - lo) <= 0.005 && Math.abs(Number(m[2]) - hi) <= 0.005, ci);
    // Wilson's interval stays within [0, 1] and is never a point
    assert.ok(lo >= 0 && hi <= 1 && hi > lo, JSON.stringify(result.metrics_ci95));
});

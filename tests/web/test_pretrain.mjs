// A pretrain job's page against a real angorad and angora-train: a tiny rendered dataset, a
// pretraining of four epochs queued over the API; its page draws the curve by epoch (the pose
// loss, training and held-out, the held-out position and rotation errors), one point per
// metric row, names the encoder checkpoint the API gives, shows none of a training run's
// charts, and logs no console errors.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {daemonStart, browserStart} from "./harness.mjs";

let d;
let b;
let page;
let id;
let exp;

before(async () => {
    d = await daemonStart({maxCores: 2});
    // 24 images of 16x16: rendered in about a second
    const dataSpec = path.join(d.dir, "data.json");
    const data = path.join(d.dir, "d.h5");
    fs.writeFileSync(dataSpec, JSON.stringify({samples: 24, image_size: 16, seed: 2}));
    const made = spawnSync(process.env.ANGORA_TRAIN,
                           ["--pretrain-data", dataSpec, "--out", data], {encoding: "utf8"});
    assert.equal(made.status, 0, made.stderr);
    const r = await d.rest("POST", "/pretrain",
                           {spec: {data, epochs: 4, batch_size: 8}, name: "web-pretrain"});
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    exp = await d.waitState(id, ["succeeded"], 60000);
    b = await browserStart();
    page = b.page;
    await page.goto(`${d.base}/#/signin`);
    await page.fill("#token", d.token);
    await page.click("#signin-button");
    await page.waitForSelector("#exp-table tbody tr[data-id]");
});

after(async () => {
    if (b)
        await b.stop();
    if (d)
        await d.stop();
});

test("a pretrain job's page draws its curve by epoch and names its encoder", async () => {
    await page.goto(`${d.base}/#/exp/${id}`);
    await page.waitForSelector('#exp-curves[data-kind="pretrain"]');
    // one point per epoch in every chart of the pretraining
    for (const c of ["loss", "position", "rotation", "grad"])
        await page.waitForFunction(
            (c) => Number(document.querySelector(`.chart[data-chart="${c}"]`)?.dataset.points) === 4,
            c);
    assert.equal(
        await page.$eval('.chart[data-chart="loss"]', (el) => el.dataset.lines), "2",
        "training and held-out loss");
    assert.equal(await page.$eval('.chart[data-chart="rotation"]', (el) => el.dataset.lines), "2");
    // none of a training run's charts, and the epoch on the x-axis
    for (const c of ["return", "policy_loss", "sps"])
        assert.equal(await page.$(`.chart[data-chart="${c}"]`), null, c);
    assert.equal(await page.$eval("#exp-x", (el) => el.value), "iteration");
    // comparing it with other pretrainings starts from the same curves, by epoch
    const compare = await page.getAttribute("#exp-compare", "href");
    assert.match(compare, /x=iteration/);
    assert.match(compare, /metrics=[^&]*holdout_position_rmse_mm/);
    await page.click("#exp-compare");
    await page.waitForFunction(
        () => [...document.querySelectorAll("#compare-charts .chart")].some(
            (c) => Number(c.dataset.points) === 4));
    await page.goto(`${d.base}/#/exp/${id}`);
    await page.waitForSelector('#exp-curves[data-kind="pretrain"]');
    // the encoder's path, as the API gives it
    assert.ok(exp.encoder_checkpoint.endsWith("/checkpoints/best.ckpt"));
    assert.equal(await page.textContent("#fact-encoder"), exp.encoder_checkpoint);
    assert.ok(fs.existsSync(exp.encoder_checkpoint));
});

test("a training run's page keeps its own charts", async () => {
    await page.goto(`${d.base}/#/`);
    const run = await d.submit({
        task: "CartPole",
        name: "web-pretrain-neighbour",
        seed: 1,
        ppo: {envs_per_rank: 2, horizon: 32, minibatch: 32, epochs: 1},
        budget: {env_steps: 128},
        eval: {every: 0}
    });
    await d.waitState(run, ["succeeded"], 60000);
    await page.goto(`${d.base}/#/exp/${run}`);
    await page.waitForFunction(
        () => Number(document.querySelector('.chart[data-chart="return"]')?.dataset.points) > 0);
    assert.equal(await page.$('.chart[data-chart="position"]'), null);
    assert.equal(await page.$("#fact-encoder"), null);
});

test("no console errors", async () => {
    assert.deepEqual(b.problems, []);
});

// The Analysis tab against a real angorad, angora-train and angora-analyze: two tiny CartPole
// runs (an LSTM and a feed-forward network); the new-analysis form shows the server's message at
// the field it names; an analysis goes through its phases and its result is drawn: the R^2
// heatmap (every cell's colour, text and hover value checked against analysis.json), the best
// layer per variable, PCA spectra and trajectories, the RDM with its hover value, and the files
// (a CSV and the HDF5 recording downloaded); the job's own page; two analyses side by side with
// the difference of their R^2; and no console errors.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {daemonStart, browserStart} from "./harness.mjs";
import {fmtR2, r2Colour, r2Grid} from "../../web/analysis-data.js";

// ANGORA_WEB_SCREENSHOTS=<dir> also writes the analysis screenshot used by the docs
const SHOTS = process.env.ANGORA_WEB_SCREENSHOTS || "";

// a thousand steps of a small network: about a second of training, and recordings of a few
// hundred steps
const base = {
    task: "CartPole",
    seed: 5,
    ppo: {envs_per_rank: 2, horizon: 64, minibatch: 64, epochs: 1},
    budget: {env_steps: 1024},
    eval: {every: 0},
    tags: ["web", "analysis"]
};
const LSTM = {
    ...base,
    name: "web-analysis-lstm",
    model: "simple_lstm"
};
const FF = {
    ...base,
    name: "web-analysis-ff",
    model: "simple"
};

let d;
let b;
let page;
let lstmId;
let ffId;
let jobId;

before(async () => {
    d = await daemonStart({maxCores: 2});
    lstmId = await d.submit(LSTM);
    ffId = await d.submit(FF);
    b = await browserStart();
    page = b.page;
    await page.goto(`${d.base}/#/signin`);
    await page.fill("#token", d.token);
    await page.click("#signin-button");
    await page.waitForSelector("#exp-table tbody tr[data-id]");
    await d.waitState(lstmId, ["succeeded"], 90000);
    await d.waitState(ffId, ["succeeded"], 90000);
});

after(async () => {
    if (b)
        await b.stop();
    if (d)
        await d.stop();
});

test("the new-analysis form shows the server's message at the field it names", async () => {
    await page.goto(`${d.base}/#/exp/${lstmId}`);
    await page.waitForSelector("#exp-tabs:not([hidden])");
    await page.click("#tab-analysis");
    assert.match(page.url(), /tab=analysis/);
    await page.waitForSelector("#analysis-form");
    await page.waitForSelector('#an-checkpoint option[value="last"]', {state: "attached"});
    await page.fill("#an-episodes", "0");
    await page.click("#an-submit");
    await page.waitForSelector("#an-error .banner.error");
    assert.match(await page.textContent("#an-error"), /episodes/);
    assert.ok(await page.$eval("#an-episodes", (el) => el.classList.contains("invalid")));
    await page.fill("#an-episodes", "6");
    await page.fill("#an-variables", "obs.state, not a name");
    await page.click("#an-submit");
    await page.waitForFunction(
        () => /variables\[1\]/.test(document.querySelector("#an-error").textContent));
    assert.ok(await page.$eval("#an-variables", (el) => el.classList.contains("invalid")));
    assert.ok(!(await page.$eval("#an-episodes", (el) => el.classList.contains("invalid"))));
    // nothing was queued
    assert.equal((await d.rest("GET", `/experiments/${lstmId}/analyses`)).json.items.length, 0);
});

test("an analysis runs through its phases and its heatmap shows every R^2", async () => {
    await page.fill("#an-variables", "");
    await page.check("#an-deterministic");
    await page.click("#an-submit");
    await page.waitForSelector("#an-error .banner.ok");
    jobId = Number((await page.textContent("#an-error")).match(/job (\d+)/)[1]);
    const job = (await d.rest("GET", `/experiments/${jobId}`)).json;
    assert.equal(job.kind, "analysis");
    assert.equal(job.spec.episodes, 6);
    assert.equal(job.spec.deterministic, true);
    assert.equal(job.spec.checkpoint, "last.ckpt");
    await page.waitForSelector(`#analyses-table tr[data-id="${jobId}"][data-state="succeeded"]`,
                               {timeout: 90000});
    // the phases are journaled
    const kinds =
        (await d.rest("GET", `/experiments/${jobId}/events`)).json.items.map((e) => e.kind);
    for (const k of ["started", "recording", "analyzing", "succeeded"])
        assert.ok(kinds.includes(k), `${k} in ${kinds}`);
    assert.equal((await d.rest("GET", `/experiments/${jobId}`)).json.phase, "done");
    // the finished job is shown
    await page.waitForSelector(`#analysis-view[data-job="${jobId}"][data-ready]`);
    const doc = (await d.rest("GET", `/experiments/${jobId}/analysis`)).json;
    const grid = r2Grid(doc);
    assert.ok(grid.layers.length >= 4 && grid.variables.length >= 4);
    const cells = await page.$$eval("#r2-heatmap td.hm-cell:not(.hm-empty)",
                                    (tds) => tds.map((td) => ({
                                                         row: td.dataset.row,
                                                         col: td.dataset.col,
                                                         r2: td.dataset.r2,
                                                         text: td.textContent,
                                                         bg: getComputedStyle(td).backgroundColor,
                                                     })));
    assert.equal(cells.length, grid.layers.length * grid.variables.length);
    for (const c of cells) {
        const v = grid.cells[grid.layers.indexOf(c.row)][grid.variables.indexOf(c.col)].r2;
        assert.equal(c.text, v === null ? "–" : v.toFixed(2), `${c.row} x ${c.col}`);
        assert.equal(c.r2, v === null ? "" : String(v));
        assert.equal(c.bg, r2Colour(v));
    }
    // hover values: the best cell, a negative or small one, and one more
    const flat = grid.layers
                     .flatMap((l, i) => grid.variables.map((v, j) => ({
                                                               l,
                                                               v,
                                                               c: grid.cells[i][j],
                                                           })))
                     .filter((x) => x.c && x.c.r2 !== null);
    flat.sort((x, y) => y.c.r2 - x.c.r2);
    for (const x of [flat[0], flat[flat.length - 1], flat[Math.floor(flat.length / 2)]]) {
        await page.hover(`#r2-heatmap td.hm-cell[data-row="${x.l}"][data-col="${x.v}"]`);
        const hover = await page.textContent("#r2-heatmap-hover");
        assert.ok(hover.startsWith(`${x.l} × ${x.v}: R² ${fmtR2(x.c.r2)} `), hover);
        assert.ok(hover.includes(`shuffled ${fmtR2(x.c.r2_shuffled)}`), hover);
        const title = await page.getAttribute(
            `#r2-heatmap td.hm-cell[data-row="${x.l}"][data-col="${x.v}"]`, "title");
        assert.equal(title, hover);
    }
    // the best layer of a variable is the row of its highest cell
    const best = flat[0];
    assert.equal(
        await page.textContent(`#best-table tr[data-variable="${best.v}"] td:nth-child(2)`),
        flat.filter((x) => x.v === best.v)[0].l);
    // spectra (one line per layer with PCA), trajectories, the RDM and its hover value
    assert.equal(Number(await page.getAttribute(".an-spectra", "data-series")),
                 doc.pca.filter((p) => Array.isArray(p.fractions)).length);
    assert.ok(await page.$(".an-spectra .uplot"));
    assert.equal((await page.$$("#an-trajectories canvas")).length,
                 doc.pca.filter((p) => p.trajectory).length);
    await page.selectOption("#rdm-layer", doc.rsa.rdms[0].layer);
    await page.locator("#rdm-canvas").scrollIntoViewIfNeeded();
    const box = await page.$eval("#rdm-canvas", (c) => {
        const r = c.getBoundingClientRect();
        return {x: r.left, y: r.top, w: r.width, h: r.height};
    });
    const k = doc.rsa.rdms[0].rdm.length;
    await page.mouse.move(box.x + box.w * (k - 0.5) / k, box.y + box.h * 0.5 / k);
    assert.match(await page.textContent("#rdm-hover"), new RegExp(`conditions 0 .* and ${k - 1} `));
    if (SHOTS) {
        // the tab with its form and list, then the heatmap of the chosen analysis
        await page.setViewportSize({width: 1440, height: 1400});
        await page.evaluate(() => document.querySelector("#exp-tabs").scrollIntoView());
        await page.mouse.move(0, 0);
        await page.screenshot({path: path.join(SHOTS, "analysis.png"), fullPage: false});
        await page.setViewportSize({width: 1440, height: 900});
    }
});

test("the result files download: a CSV table and the HDF5 recording", async () => {
    const [csv] = await Promise.all([
        page.waitForEvent("download"),
        page.click('#an-files button.an-csv[data-name="decoding.csv"]')
    ]);
    const text = fs.readFileSync(await csv.path(), "utf8");
    assert.ok(text.startsWith("layer,variable,r2,r2_shuffled,lambda\n"), text.slice(0, 80));
    const [h5] = await Promise.all([page.waitForEvent("download"), page.click("#an-files .an-h5")]);
    const bytes = fs.readFileSync(await h5.path());
    // the HDF5 signature
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok((await page.$$("#an-files button.an-png")).length >= 3);
});

test("the run's overview does not list its analyses as evaluations", async () => {
    await page.goto(`${d.base}/#/exp/${lstmId}`);
    await page.waitForSelector("#exp-state.succeeded");
    await page.waitForSelector("#tab-overview[aria-selected=true]");
    await page.waitForTimeout(1000);
    assert.ok(await page.isHidden("#exp-evals"));
    assert.equal(await page.$(`#evals-table tr[data-id="${jobId}"]`), null);
});

test("the job's own page shows its result", async () => {
    await page.goto(`${d.base}/#/exp/${jobId}`);
    await page.waitForSelector("#exp-state.succeeded");
    await page.waitForSelector("#exp-analysis-job[data-ready] #r2-heatmap");
    assert.equal(await page.textContent("#fact-phase"), "done");
    assert.ok(await page.isHidden("#exp-curves"));
    assert.ok(await page.isHidden("#exp-tabs"));
});

test("two analyses side by side: an LSTM against a feed-forward network", async () => {
    const r =
        await d.rest("POST", `/experiments/${ffId}/analyses`, {episodes: 6, deterministic: true});
    assert.equal(r.status, 201);
    const ffJob = r.json.id;
    await d.waitState(ffJob, ["succeeded"], 90000);
    // picked in the LSTM run's table, the FF one through the address
    await page.goto(`${d.base}/#/exp/${lstmId}?tab=analysis`);
    await page.waitForSelector(`#analyses-table tr[data-id="${jobId}"] input.an-pick`);
    await page.goto(`${d.base}/#/analyses?a=${jobId}&b=${ffJob}`);
    await page.waitForSelector("#r2-heatmap-a");
    await page.waitForSelector("#r2-heatmap-b");
    const a = r2Grid((await d.rest("GET", `/experiments/${jobId}/analysis`)).json);
    const bb = r2Grid((await d.rest("GET", `/experiments/${ffJob}/analysis`)).json);
    const layers = a.layers.filter((l) => bb.layers.includes(l));
    assert.ok(layers.length > 0, "the two models share their trunk layers");
    const cells = await page.$$("#diff-heatmap td.hm-cell");
    assert.equal(cells.length,
                 layers.length * a.variables.filter((v) => bb.variables.includes(v)).length);
    const l = layers[0];
    const v = a.variables[0];
    const ra = a.cells[a.layers.indexOf(l)][0].r2;
    const rb = bb.cells[bb.layers.indexOf(l)][bb.variables.indexOf(v)].r2;
    await page.hover(`#diff-heatmap td.hm-cell[data-row="${l}"][data-col="${v}"]`);
    assert.equal(await page.textContent("#diff-heatmap-hover"),
                 `${l} × ${v}: A ${fmtR2(ra)}, B ${fmtR2(rb)}, B − A ${
                     fmtR2(ra === null || rb === null ? null : rb - ra)}`);
    assert.match(await page.textContent("#cmp-side-a"), /web-analysis-lstm \(simple_lstm\)/);
    assert.match(await page.textContent("#cmp-side-b"), /web-analysis-ff \(simple\)/);
});

test("no console errors", async () => {
    // no page asked an analysis job for an evaluation's result
    assert.deepEqual(b.problems.filter((p) => /\/evaluation/.test(p.url || "")), []);
    // the 422s of the bad-input test and the 404s of results not there yet are expected
    const left = b.problems.filter((p) => {
        const m =
            /Failed to load resource: the server responded with a status of (\d+)/.exec(p.text);
        return !(m && [404, 422].includes(Number(m[1])));
    });
    assert.deepEqual(left, []);
});

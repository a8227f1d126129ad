// Browser tests of what the dashboard shows beyond the basics (issue 18's list), against a real
// angorad and angora-train running CartPole: axis labels that fit, legends with the latest
// values, exact 64-bit seeds, the evaluation page's long checkpoint path, the table at 1280 and
// 1400 px, the top bar below 500 px, the trainer's progress in the Log panel, progress with
// steps/s, duration and ETA on the list and the run page, smoothing with the raw curve, the
// metric picker, the log-scale toggle, CSV and PNG downloads, the seed-group view and editing
// tags and notes.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {browserStart, daemonStart, problemsBeyond, signIn} from "./harness.mjs";
import {ema} from "../../web/charts.js";
import {interpAt} from "../../web/group-data.js";

// ANGORA_WEB_SCREENSHOTS=<dir> also writes the screenshots of the fixed layouts used by the docs
const SHOTS = process.env.ANGORA_WEB_SCREENSHOTS || "";

async function shot(name, opts = {}) {
    if (SHOTS)
        await page.screenshot({path: path.join(SHOTS, name), fullPage: false, ...opts});
}

// two short runs of one seed group (same name and tag, seeds and lr differ)
const GROUP_SPEC = {
    name: "views-group",
    task: "CartPole",
    budget: {env_steps: 40000},
    tags: ["grp", "a-rather-long-tag-name", "classic-control", "seed-study"]
};
// long enough to be seen running (cancelled at the end)
const LONG_SPEC = {
    name: "views-long-running-experiment-with-a-long-name",
    task: "CartPole",
    budget: {env_steps: 3000000},
    ppo: {epochs: 10, minibatch: 64},
    seed: 9,
    tags: ["long", "web-views", "cartpole-budget-3m"]
};

let d;
let b;
let page;
let groupIds = [];
let longId;

async function shows(selector, fn, arg, ms = 30000) {
    await page.waitForSelector(selector);
    return page.waitForFunction(fn, arg, {timeout: ms});
}

// the text of every download the click on selector starts
async function download(selector) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
    return {name: dl.suggestedFilename(), bytes: fs.readFileSync(await dl.path())};
}

// the CSV text's rows as arrays of cells (no quoted commas in these files)
function csvRows(text) {
    return text.trim().split("\n").map((l) => l.split(","));
}

before(async () => {
    d = await daemonStart({maxCores: 2});
    groupIds.push(await d.submit({...GROUP_SPEC, seed: 1}));
    groupIds.push(await d.submit({...GROUP_SPEC, seed: 2, ppo: {lr: 0.001}}));
    for (const id of groupIds)
        await d.waitState(id, ["succeeded"], 90000);
    longId = await d.submit(LONG_SPEC);
    b = await browserStart();
    page = b.page;
    await signIn(page, d);
});

after(async () => {
    if (b)
        await b.stop();
    if (d)
        await d.stop();
});

// no ink in the leftmost columns of a chart's canvas: a y label wider than its axis is cut there
async function leftEdgeInk(selector) {
    return page.evaluate((sel) => {
        const c = document.querySelector(`${sel} canvas`);
        const g = c.getContext("2d");
        const img = g.getImageData(0, 0, 3, c.height).data;
        let ink = 0;
        for (let i = 3; i < img.length; i += 4)
            if (img[i] > 0)
                ink++;
        return ink;
    }, selector);
}

test("a y-axis is as wide as its longest label (six-figure throughput is not cut)", async () => {
    await page.goto(`${d.base}/#/experiments`);
    await page.waitForSelector("#exp-table");
    // a chart of the dashboard's own module with throughput-sized numbers
    await page.evaluate(async () => {
        const {chartCreate} = await import("/charts.js");
        const host = document.createElement("div");
        host.id = "axis-probe";
        host.style.width = "500px";
        document.querySelector("#view").append(host);
        const plot = chartCreate(host, [{label: "steps/s"}], "env_steps");
        plot.setData([[0, 1e5, 2e5, 3e5], [120000, 450000, 880000, 990000]]);
    });
    assert.equal(await leftEdgeInk("#axis-probe"), 0, "a y label reaches the canvas's left edge");
    // and the real throughput chart of a run
    await page.goto(`${d.base}/#/exp/${groupIds[0]}`);
    await shows('.chart[data-chart="sps"]',
                () =>
                    Number(document.querySelector('.chart[data-chart="sps"]').dataset.points) > 5);
    assert.equal(await leftEdgeInk('.chart[data-chart="sps"]'), 0);
});

test("legends show the latest values before any hover", async () => {
    await page.goto(`${d.base}/#/exp/${groupIds[0]}`);
    const exp = (await d.rest("GET", `/experiments/${groupIds[0]}`)).json;
    await shows(
        '.chart[data-chart="return"]',
        (n) => Number(document.querySelector('.chart[data-chart="return"]').dataset.points) === n,
        exp.metric_rows);
    const rows = (await d.rest("GET", `/experiments/${groupIds[0]}/metrics/export?limit=100000`))
                     .json.rows.map((r) => r.row);
    const lastReturn = rows[rows.length - 1].return_mean;
    const lastEval = rows.filter((r) => Number.isFinite(r.eval_return)).pop().eval_return;
    // the entries shown (the raw twins of smoothing are kept out of the legend)
    const values =
        await page.$$eval('.chart[data-chart="return"] .u-legend .u-series',
                          (rows) => rows.filter((r) => r.style.display !== "none")
                                        .map((r) => r.querySelector(".u-value").textContent));
    // the first entry is the x-axis (hidden); then training and evaluation
    assert.equal(Number(values[1].replace(/,/g, "")), Number(lastReturn.toPrecision(4)));
    assert.equal(Number(values[2].replace(/,/g, "")), Number(lastEval.toPrecision(4)));
    assert.ok(!values.slice(1).includes("–"));
    // a chart of one line has its legend too
    const entropy =
        await page.$eval('.chart[data-chart="entropy"] .u-legend .u-series:nth-child(2) .u-value',
                         (e) => e.textContent);
    assert.equal(Number(entropy), Number(rows[rows.length - 1].entropy.toPrecision(4)));
});

test(
    "the evaluation page prints the 64-bit seed exactly and keeps the checkpoint path in its column",
    async () => {
        const res = await d.rest("POST", `/experiments/${groupIds[0]}/evaluate`, {episodes: 2});
        assert.equal(res.status, 201);
        const evalId = res.json.id;
        await d.waitState(evalId, ["succeeded"], 60000);
        const result = (await d.rest("GET", `/experiments/${evalId}/evaluation`)).json;
        // the default evaluation seed mixes the run's seed into the high bits
        assert.equal(typeof result.seed, "string");
        assert.ok(BigInt(result.seed) > BigInt(Number.MAX_SAFE_INTEGER));
        await page.goto(`${d.base}/#/exp/${evalId}`);
        await page.waitForSelector("#eval-facts");
        const facts = await page.$$eval("#eval-facts > div", (divs) => divs.map((div) => {
            const r = div.getBoundingClientRect();
            const range = document.createRange();
            range.selectNodeContents(div);
            const t = range.getBoundingClientRect();
            return {
                label: div.querySelector("b").textContent,
                value: div.textContent.slice(div.querySelector("b").textContent.length),
                box: [r.left, r.top, r.right, r.bottom],
                text: [t.left, t.right],
            };
        }));
        const seed = facts.find((f) => f.label === "seed");
        assert.equal(seed.value, result.seed);
        const ckpt = facts.find((f) => f.label === "checkpoint");
        assert.ok(ckpt.value.length > 40, "the test needs a long path");
        for (const f of facts) {
            assert.ok(f.text[1] <= f.box[2] + 0.5, `${f.label} runs out of its column`);
            for (const g of facts)
                if (g !== f)
                    assert.ok(f.box[2] <= g.box[0] || g.box[2] <= f.box[0] ||
                                  f.box[3] <= g.box[1] || g.box[3] <= f.box[1],
                              `${f.label} overlaps ${g.label}`);
        }
    });

test("a seed typed in the spec editor reaches the server with every digit", async () => {
    await page.goto(`${d.base}/#/submit`);
    await page.waitForSelector("#submit-task option[value=CartPole]", {state: "attached"});
    const sent = [];
    await page.route("**/api/v1/validate", (route) => {
        sent.push(route.request().postData());
        route.continue();
    });
    await page.fill(
        "#submit-spec",
        '{\n  "task": "CartPole",\n  "seed": 9007199254740993,\n  "budget": {"env_steps": 4096}\n}');
    await page.click("#submit-validate");
    await page.waitForSelector("#submit-spec-error:not([hidden])");
    await page.unroute("**/api/v1/validate");
    assert.ok(sent.length > 0);
    assert.match(sent[sent.length - 1], /"seed":9007199254740993[,}]/);
    // 2^53 + 1: JSON.parse would have sent 2^53, which the server accepts; the exact value is
    // one past the largest seed it takes, and its answer names the seed
    assert.match(await page.textContent("#submit-spec-error"), /seed/);
});

test("the experiments table fits at 1400 and 1280 px, tags included", async () => {
    for (const width of [1400, 1280]) {
        await page.setViewportSize({width, height: 900});
        await page.goto(`${d.base}/#/experiments`);
        await page.waitForSelector(`#exp-table tr[data-id="${longId}"]`);
        const g = await page.evaluate(() => {
            const table = document.querySelector("#exp-table");
            const box = table.parentElement;
            const right = box.getBoundingClientRect().right;
            return {
                scroll: box.scrollWidth,
                client: box.clientWidth,
                tagsOut: [...table.querySelectorAll(".tag")]
                             .filter((t) => t.getBoundingClientRect().right > right + 0.5)
                             .length,
                tags: table.querySelectorAll(".tag").length,
            };
        });
        assert.ok(g.tags >= 8);
        assert.equal(g.tagsOut, 0, `tags cut off at ${width} px`);
        assert.ok(g.scroll <= g.client, `table wider than its panel at ${width} px`);
        if (width === 1400)
            await shot("experiments-1400.png");
    }
    await page.setViewportSize({width: 1440, height: 900});
});

test("the top bar stays on the screen from 640 px down to 360 px", async () => {
    for (const width of [640, 520, 480, 360]) {
        await page.setViewportSize({width, height: 800});
        await page.goto(`${d.base}/#/experiments`);
        await page.waitForSelector("#exp-table");
        const g = await page.evaluate(() => {
            const items = [...document.querySelectorAll(".topbar > *")].filter(
                (e) => e.getClientRects().length && e.getBoundingClientRect().width > 0);
            const rects = items.map((e) => e.getBoundingClientRect());
            const links = [...document.querySelectorAll(".topbar nav a, #signout")].map(
                (e) => e.getBoundingClientRect());
            let overlaps = 0;
            for (let i = 0; i < links.length; i++)
                for (let j = i + 1; j < links.length; j++) {
                    const a = links[i];
                    const c = links[j];
                    if (a.left < c.right - 0.5 && c.left < a.right - 0.5 &&
                        a.top < c.bottom - 0.5 && c.top < a.bottom - 0.5)
                        overlaps++;
                }
            const bar = document.querySelector(".topbar").getBoundingClientRect();
            return {
                right: Math.max(...rects.map((r) => r.right)),
                left: Math.min(...rects.map((r) => r.left)),
                below: Math.max(...rects.map((r) => r.bottom)) - bar.bottom,
                overlaps,
                width: innerWidth,
                docWidth: document.documentElement.scrollWidth,
            };
        });
        assert.ok(g.right <= g.width, `top bar reaches ${g.right} px of ${g.width}`);
        assert.ok(g.left >= 0);
        assert.ok(g.below <= 0.5, "an item hangs below the bar");
        assert.equal(g.overlaps, 0);
        assert.ok(g.docWidth <= g.width, `the page scrolls sideways at ${width} px`);
        if (width === 360)
            await shot("narrow-360.png");
    }
    await page.setViewportSize({width: 1440, height: 900});
});

test("a running run shows progress, steps/s, ETA and the trainer's progress in its log",
     async () => {
         await page.goto(`${d.base}/#/exp/${longId}`);
         await page.waitForSelector("#exp-state.running", {timeout: 30000});
         await page.waitForFunction(() =>
                                        /\d/.test(document.querySelector("#fact-eta").textContent),
                                    null, {timeout: 60000});
         const sps = Number((await page.textContent("#fact-sps")).replace(/,/g, ""));
         assert.ok(sps > 0, `steps/s ${sps}`);
         assert.match(await page.textContent("#fact-eta"),
                      /^\d+(\.\d)? s$|^\d+ min \d+ s$|^\d+ h \d+ min$/);
         assert.match(await page.textContent("#fact-steps"), /of 3\.00M/);
         assert.match(await page.textContent("#fact-duration"), /s$/);
         // the log: one line per iteration as it trains, newer lines as it goes on
         const progressLines = () =>
             page.evaluate(() => document.querySelector("#exp-log")
                                     .textContent.split("\n")
                                     .filter((l) => /^iteration \d+ · .* steps · return /.test(l))
                                     .length);
         await page.waitForFunction(() => document.querySelector("#exp-log")
                                              .textContent.split("\n")
                                              .filter((l) => /^iteration \d+ · /.test(l))
                                              .length >= 3,
                                    null, {timeout: 30000});
         const n = await progressLines();
         await page.waitForFunction((k) => document.querySelector("#exp-log")
                                               .textContent.split("\n")
                                               .filter((l) => /^iteration \d+ · /.test(l))
                                               .length > k,
                                    Math.min(n, 199), {timeout: 30000});
         assert.match(await page.textContent("#exp-log"), /angora-train/);
         if (SHOTS) {
             await shot("running.png");
             await page.evaluate(() => document.querySelector("#exp-log").scrollIntoView());
             await shot("log-progress.png");
         }
         // the list: ETA under the progress bar, steps/s and a duration
         await page.goto(`${d.base}/#/experiments`);
         const row = `#exp-table tr[data-id="${longId}"]`;
         await page.waitForSelector(row);
         await page.waitForFunction((sel) => /ETA \d/.test(document.querySelector(sel).textContent),
                                    row, {timeout: 20000});
         assert.ok(Number((await page.textContent(`${row} .sps`)).replace(/,/g, "")) > 0);
         assert.match(await page.textContent(`${row} .duration`), /s$/);
         assert.match(await page.textContent(`${row} .progress-cell`), / \/ 3\.00M/);
         // a finished run: its average pace, and no ETA
         const done = `#exp-table tr[data-id="${groupIds[0]}"]`;
         assert.ok(Number((await page.textContent(`${done} .sps`)).replace(/,/g, "")) > 0);
         assert.doesNotMatch(await page.textContent(done), /ETA/);
         assert.match(await page.textContent(`${done} .progress-cell`), /4\d\.\dk \/ 40\.0k/);
     });

test("smoothing draws the EMA over the raw curve, and the CSV holds both", async () => {
    await page.goto(`${d.base}/#/exp/${groupIds[0]}`);
    const exp = (await d.rest("GET", `/experiments/${groupIds[0]}`)).json;
    const sel = '.chart[data-chart="return"]';
    await shows(
        sel,
        (n) => Number(document.querySelector('.chart[data-chart="return"]').dataset.points) === n,
        exp.metric_rows);
    assert.equal(await page.getAttribute(sel, "data-raw-lines"), "0");
    await page.fill("#exp-smooth", "0.9");
    await page.waitForFunction(() => document.querySelector("#exp-smooth-value").textContent ===
                                     "0.90");
    await page.waitForSelector(`${sel}[data-raw-lines="2"]`);
    assert.match(page.url(), /smooth=0\.9/);
    if (SHOTS) {
        await page.evaluate(() => document.querySelector("#exp-curves").scrollIntoView());
        await shot("smoothing.png");
    }
    const {name, bytes} = await download(`${sel} .chart-csv`);
    assert.match(name, /views-group-return\.csv$/);
    const rows = csvRows(bytes.toString("utf8"));
    assert.deepEqual(rows[0], [
        "env_steps", "training", "evaluation", "training (smoothed 0.9)",
        "evaluation (smoothed 0.9)"
    ]);
    assert.equal(rows.length - 1, exp.metric_rows);
    const api = (await d.rest("GET", `/experiments/${groupIds[0]}/metrics/export?limit=100000`))
                    .json.rows.map((r) => r.row);
    const raw = api.map((r) => r.return_mean);
    const smooth = ema(raw, 0.9);
    for (let i = 0; i < raw.length; i++) {
        assert.equal(Number(rows[i + 1][0]), api[i].env_steps);
        assert.equal(Number(rows[i + 1][1]), raw[i]);
        assert.ok(Math.abs(Number(rows[i + 1][3]) - smooth[i]) < 1e-9);
    }
    // the smoothed line is smoother than the raw one: less total variation
    const tv = (ys) => ys.slice(1).reduce((a, y, i) => a + Math.abs(y - ys[i]), 0);
    assert.ok(tv(smooth) < tv(raw));
    // back to 0: no raw twins
    await page.fill("#exp-smooth", "0");
    await page.waitForSelector(`${sel}[data-raw-lines="0"]`);
});

test("a PNG of a chart downloads as a picture of it", async () => {
    const sel = '.chart[data-chart="return"]';
    const {name, bytes} = await download(`${sel} .chart-png`);
    assert.match(name, /\.png$/);
    assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    const canvas = await page.$eval(`${sel} canvas`, (c) => [c.width, c.height]);
    assert.equal(width, canvas[0]);
    assert.ok(height > canvas[1], "title and legend above and below the plot");
});

test("any stored metric can be charted, and stays picked", async () => {
    const exp = (await d.rest("GET", `/experiments/${groupIds[0]}`)).json;
    await page.waitForSelector('#exp-metric-add option[value="grad_norm"]', {state: "attached"});
    await page.selectOption("#exp-metric-add", "grad_norm");
    const sel = '.chart[data-chart="metric:grad_norm"]';
    await shows(sel,
                (n) => Number(document.querySelector('.chart[data-chart="metric:grad_norm"]')
                                  .dataset.points) === n,
                exp.metric_rows);
    assert.match(page.url(), /metrics=grad_norm/);
    // no longer offered once charted; still there after a reload
    assert.equal(await page.locator('#exp-metric-add option[value="grad_norm"]').count(), 0);
    await page.reload();
    await page.waitForSelector(sel);
    // compare offers the same
    await page.goto(`${d.base}/#/compare?ids=${groupIds.join(",")}`);
    await page.waitForSelector('#compare-metric-add option[value="grad_norm"]',
                               {state: "attached"});
    await page.selectOption("#compare-metric-add", "grad_norm");
    await page.waitForSelector('#compare-charts .chart[data-metric="grad_norm"][data-lines="2"]');
});

test("the log toggle gives a log axis, or a symmetric one for values <= 0", async () => {
    await page.goto(`${d.base}/#/exp/${groupIds[0]}`);
    const value = '.chart[data-chart="value_loss"]';
    const policy = '.chart[data-chart="policy_loss"]';
    await shows(
        policy,
        () =>
            Number(document.querySelector('.chart[data-chart="policy_loss"]').dataset.points) > 3);
    const before = await page.$eval(`${value} canvas`, (c) => c.toDataURL());
    await page.click(`${value} .chart-log`);
    await page.waitForSelector(`${value}[data-log="log"]`);
    assert.equal(await page.getAttribute(`${value} .chart-log`, "aria-pressed"), "true");
    await page.waitForFunction(
        () => Number(document.querySelector('.chart[data-chart="value_loss"]').dataset.points) > 3);
    const after = await page.$eval(`${value} canvas`, (c) => c.toDataURL());
    assert.notEqual(before, after, "the picture must change");
    // policy losses are negative: asinh
    await page.click(`${policy} .chart-log`);
    await page.waitForSelector(`${policy}[data-log="asinh"]`);
    await page.click(`${value} .chart-log`);
    await page.waitForSelector(`${value}[data-log=""]`);
});

test("the seed group shows mean +- std and the settings that differ", async () => {
    await page.goto(`${d.base}/#/experiments?tag=grp`);
    await page.click("#group-view");
    await page.waitForSelector('#group-chart .chart[data-runs="2"]');
    await shot("group.png");
    const head = await page.$$eval("#group-table th", (ths) => ths.map((t) => t.dataset.key || ""));
    assert.ok(head.includes("seed"));
    assert.ok(head.includes("ppo.lr"));
    assert.ok(!head.includes("task"));
    assert.ok(!head.includes("budget.env_steps"));
    const seeds = await page.$$eval('#group-table td[data-key="seed"]',
                                    (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(seeds, ["1", "2"]);
    // the band's CSV: the mean is the mean of the two runs' curves at each x
    const {bytes} = await download("#group-chart .chart-csv");
    const rows = csvRows(bytes.toString("utf8"));
    assert.deepEqual(rows[0], ["env_steps", "mean", "mean - std", "mean + std"]);
    const series = [];
    for (const id of groupIds)
        series.push(
            (await d.rest("GET", `/experiments/${
                                     id}/metrics/series?key=return_mean&x=env_steps&points=1000`))
                .json);
    for (const r of rows.slice(1).filter((_, i) => i % 37 === 0)) {
        const x = Number(r[0]);
        const ys = series.map((s) => interpAt(s.x, s.last, x));
        const mean = (ys[0] + ys[1]) / 2;
        const sd = Math.abs(ys[0] - ys[1]) / 2;
        assert.ok(Math.abs(Number(r[1]) - mean) < 1e-6, `mean at ${x}`);
        assert.ok(Math.abs(Number(r[3]) - (mean + sd)) < 1e-6, `band at ${x}`);
    }
    // by name from the run page
    await page.goto(`${d.base}/#/exp/${groupIds[1]}`);
    await page.click("#fact-group");
    await page.waitForSelector('#group-chart .chart[data-runs="2"]');
    assert.match(await page.textContent("#group-summary"), /2 training runs/);
});

// the daemon's count of answers it gave with this status (its Prometheus counters)
async function answered(status) {
    const res = await fetch(`${d.base}/metrics`, {headers: {Authorization: `Bearer ${d.token}`}});
    const pattern = new RegExp(`angora_http_requests_total\\{code="${status}"\\} (\\d+)`);
    const m = (await res.text()).match(pattern);
    return m ? Number(m[1]) : 0;
}

test("an unchanged series is asked for again with its ETag and drawn from the 304", async () => {
    await page.goto(`${d.base}/#/experiments?tag=grp`);
    await page.click("#group-view");
    await page.waitForSelector('#group-chart .chart[data-runs="2"]');
    const points = await page.$eval("#group-chart .chart", (c) => c.dataset.points);
    const statuses = [];
    const onResponse = (r) => {
        if (r.url().includes("/metrics/series"))
            statuses.push(r.status());
    };
    const before304 = await answered(304);
    // away and back: the finished runs' series have not changed since the browser kept them
    await page.goto(`${d.base}/#/experiments`);
    await page.waitForSelector("#exp-table tbody tr[data-id]");
    page.on("response", onResponse);
    await page.goBack();
    await page.waitForSelector('#group-chart .chart[data-runs="2"]');
    page.off("response", onResponse);
    assert.ok(statuses.length > 0, "no series request seen");
    // the server answered them with 304, the page got the kept body (a 200 to the script)
    const given = (await answered(304)) - before304;
    assert.ok(given >= statuses.length, `the daemon gave ${given} 304s for ${statuses.length} series`);
    assert.equal(await page.$eval("#group-chart .chart", (c) => c.dataset.points), points);
});

test("tags and notes are edited on the run page, and bad tags get the server's message",
     async () => {
         const id = groupIds[1];
         await page.goto(`${d.base}/#/exp/${id}`);
         await page.waitForSelector("#exp-tags-input");
         await page.waitForFunction(() => document.querySelector("#exp-tags-input").value !== "");
         await page.fill("#exp-tags-input", "grp, alpha beta,alpha");
         await page.click("#exp-tags-save");
         await page.waitForSelector("#exp-annotations-msg .banner.ok");
         assert.deepEqual((await d.rest("GET", `/experiments/${id}`)).json.tags,
                          ["grp", "alpha", "beta"]);
         await page.waitForFunction(
             () => /alpha/.test(document.querySelector("#fact-tags").textContent));
         await page.fill("#exp-notes-input", "lr 1e-3 learns faster here\nsecond line");
         await page.click("#exp-notes-save");
         await page.waitForFunction(
             () => /Notes saved/.test(document.querySelector("#exp-annotations-msg").textContent));
         assert.equal((await d.rest("GET", `/experiments/${id}`)).json.notes,
                      "lr 1e-3 learns faster here\nsecond line");
         // a tag the server refuses: its message, the field marked, nothing changed
         await page.fill("#exp-tags-input", "x".repeat(80));
         await page.click("#exp-tags-save");
         await page.waitForSelector("#exp-annotations-msg .banner.error");
         assert.match(await page.textContent("#exp-annotations-msg"), /tag/);
         assert.ok(await page.$eval("#exp-tags-input", (e) => e.classList.contains("invalid")));
         assert.deepEqual((await d.rest("GET", `/experiments/${id}`)).json.tags,
                          ["grp", "alpha", "beta"]);
         // a reload shows what was saved
         await page.reload();
         await page.waitForFunction(
             () => document.querySelector("#exp-notes-input").value.startsWith("lr 1e-3"));
     });

test("a live feed closed while its stream is still connecting logs nothing", async () => {
    // leaving a run page at once used to close a connecting websocket, which the browser logs
    const before = b.problems.length;
    const opened = await page.evaluate(async (id) => {
        const {RowFeed, infoGet} = await import("/api.js");
        const port = (await infoGet()).websocket_port;
        const feeds = [];
        for (let i = 0; i < 5; i++) {
            const f = new RowFeed(id, {onRow() {}});
            f.wsOpen(port);
            feeds.push(f);
        }
        const connecting = feeds.filter((f) => f.ws.readyState === WebSocket.CONNECTING).length;
        for (const f of feeds)
            f.close();
        return connecting;
    }, longId);
    assert.ok(opened > 0, "no socket was still connecting when closed");
    await page.waitForTimeout(1500);
    assert.deepEqual(b.problems.slice(before), []);
});

test("no console errors beyond the requests the tests made fail on purpose", async () => {
    // 422: the out-of-range seed and the refused tag; 404: the log and result of a queued job
    assert.deepEqual(problemsBeyond(b.problems, [404, 422]), []);
});

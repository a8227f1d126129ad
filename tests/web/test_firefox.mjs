// The dashboard in Firefox (WebDriver BiDi, headless): sign-in, the table, live charts, the
// submit form's server validation and compare work there as in Chromium, without console errors.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {daemonStart, firefoxStart} from "./harness.mjs";

const SHOTS = process.env.ANGORA_WEB_SCREENSHOTS || "";
let d;
let ff;
let liveId;
let quickId;

before(async () => {
    d = await daemonStart();
    ff = await firefoxStart();
    liveId = await d.submit({
        name: "ff-live",
        task: "CartPole",
        budget: {env_steps: 400000},
        ppo: {epochs: 10, minibatch: 64},
        seed: 4
    });
    quickId =
        await d.submit({name: "ff-quick", task: "CartPole", budget: {env_steps: 40000}, seed: 5});
});

after(async () => {
    if (ff)
        await ff.stop();
    if (d)
        await d.stop();
});

test("signs in with the token and lists the experiments", async () => {
    await ff.goto(`${d.base}/`);
    await ff.waitFor(`document.querySelector("#token") !== null`, "the sign-in form");
    await ff.eval(`(() => {
        document.querySelector("#token").value = "ang_${"f".repeat(64)}";
        document.querySelector("#signin-button").click();
    })()`);
    await ff.waitFor(
        `/rejected this token/.test(document.querySelector("#signin-error").textContent)`,
        "the sign-in error");
    await ff.eval(`(() => {
        document.querySelector("#token").value = ${JSON.stringify(d.token)};
        document.querySelector("#signin-button").click();
    })()`);
    await ff.waitFor(`document.querySelector('#exp-table tr[data-id="${liveId}"]') !== null`,
                     "the table row");
    assert.match(
        await ff.eval(`document.querySelector('#exp-table tr[data-id="${liveId}"]').textContent`),
        /ff-live/);
});

test("the experiment page draws the streamed rows", async () => {
    await ff.goto(`${d.base}/#/exp/${liveId}`);
    const pts =
        `Number(document.querySelector('.chart[data-chart="return"]')?.dataset.points || 0)`;
    await ff.waitFor(`${pts} > 0`, "the first points");
    const first = await ff.eval(pts);
    await ff.waitFor(`${pts} > ${first}`, "more points");
    // uPlot drew into a canvas of the chart's width
    assert.ok((await ff.eval(
                  `document.querySelector('.chart[data-chart="return"] canvas').width`)) > 200);
    assert.equal(await ff.eval(`document.querySelector("#conn").dataset.mode`), "live");
    await ff.waitFor(`document.querySelector("#exp-state").textContent === "succeeded"`,
                     "the final state", 90000);
    if (SHOTS)
        await ff.screenshot(path.join(SHOTS, "firefox-experiment.png"));
});

test("the submit form shows the server's validation message", async () => {
    await ff.goto(`${d.base}/#/submit`);
    await ff.waitFor(`document.querySelector("#submit-task option[value=CartPole]") !== null`,
                     "the catalogue");
    await ff.eval(`(() => {
        const ed = document.querySelector("#submit-spec");
        ed.value = JSON.stringify({task: "CartPole", ppo: {lr: 5}}, null, 2);
        document.querySelector("#submit-validate").click();
    })()`);
    await ff.waitFor(`!document.querySelector("#submit-spec-error").hidden`, "the error");
    const shown = await ff.eval(`document.querySelector("#submit-spec-error").textContent`);
    const server =
        (await d.rest("POST", "/validate", {spec: {task: "CartPole", ppo: {lr: 5}}})).json;
    assert.ok(shown.includes(server.detail), shown);
    assert.equal(await ff.eval(`document.querySelector("#submit-bad-line").textContent`), "4");
});

test("compare overlays two runs", async () => {
    await d.waitState(quickId, ["succeeded"]);
    await ff.goto(`${d.base}/#/compare?ids=${liveId},${quickId}&smooth=0.5`);
    await ff.waitFor(
        `document.querySelector('#compare-charts .chart[data-metric="return_mean"]')?.dataset.lines === "2"`,
        "two lines");
    assert.equal(await ff.eval(`document.querySelector("#compare-smooth-value").textContent`),
                 "0.50");
});

test("no console errors in Firefox", async () => {
    // Firefox logs no failed requests to the console; every error entry is a real fault
    assert.deepEqual(ff.logs.filter((l) => l.level === "error"), []);
});

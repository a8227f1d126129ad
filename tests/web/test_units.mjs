// The dashboard's pure functions, without a browser: EMA smoothing, number formats and the
// JSON-path-to-line lookup that puts the server's validation message at the right line.
import {test} from "node:test";
import assert from "node:assert/strict";
import {ema, fmtNum, fmtSteps} from "../../web/charts.js";
import {jsonKeyLines, jsonPathLine, jsonPathParent} from "../../web/jsonpath.js";

test("ema: weight 0 is the identity, a constant stays constant from the first point", () => {
    const ys = [3, 1, 4, 1, 5];
    assert.deepEqual(ema(ys, 0), ys);
    for (const v of ema([2, 2, 2, 2], 0.9))
        assert.ok(Math.abs(v - 2) < 1e-12, String(v));
});

test("ema: debiased average matches a hand computation", () => {
    // w = 0.5: acc1 = 0.5, acc2 = 0.25 + 1.5 = 1.75 -> 0.5/0.5 = 1, 1.75/0.75 = 7/3
    const out = ema([1, 3], 0.5);
    assert.ok(Math.abs(out[0] - 1) < 1e-12);
    assert.ok(Math.abs(out[1] - 7 / 3) < 1e-12);
    // a step is followed, not jumped: strictly between the old and new level
    const step = ema([0, 0, 0, 10, 10], 0.6);
    assert.ok(step[3] > 0 && step[3] < 10 && step[4] > step[3] && step[4] < 10);
});

test("ema: gaps (null, NaN) stay gaps and do not reset the average", () => {
    const out = ema([1, null, Number.NaN, 1], 0.8);
    assert.equal(out[1], null);
    assert.equal(out[2], null);
    assert.ok(Math.abs(out[3] - 1) < 1e-12);
});

test("number formats", () => {
    assert.equal(fmtNum(null), "–");
    assert.equal(fmtNum(Number.NaN), "–");
    assert.equal(fmtNum(500), "500");
    assert.equal(fmtNum(0.25), "0.25");
    assert.equal(fmtNum(12345.6), "12,346");
    assert.equal(fmtNum(2.5e-5), "2.50e-5");
    assert.equal(fmtSteps(999), "999");
    assert.equal(fmtSteps(250000), "250.0k");
    assert.equal(fmtSteps(20000000), "20.00M");
});

test("jsonKeyLines: nested objects, arrays and escaped strings", () => {
    const text =
        '{\n  "name": "a \\"quoted\\" {name}",\n  "ppo": {\n    "lr": -1,\n    "epochs": 4\n  },\n' +
        '  "tags": [\n    "x",\n    "y"\n  ],\n  "task": "CartPole"\n}';
    JSON.parse(text);
    const lines = jsonKeyLines(text);
    assert.equal(lines.get("name"), 2);
    assert.equal(lines.get("ppo"), 3);
    assert.equal(lines.get("ppo.lr"), 4);
    assert.equal(lines.get("ppo.epochs"), 5);
    assert.equal(lines.get("tags"), 7);
    assert.equal(lines.get("tags[1]"), 9);
    assert.equal(lines.get("task"), 11);
    // a compact one-line document puts everything on line 1
    assert.equal(jsonKeyLines('{"a":{"b":[1,{"c":2}]}}').get("a.b[1].c"), 1);
});

test("jsonPathLine: a key that is missing is shown at its nearest parent", () => {
    const text = '{\n  "task": "CartPole",\n  "ppo": {\n    "epochs": 4\n  }\n}';
    assert.equal(jsonPathLine(text, "ppo.epochs"), 4);
    assert.equal(jsonPathLine(text, "ppo.lr"), 3);
    assert.equal(jsonPathLine(text, "budget.env_steps"), 1);
    assert.equal(jsonPathLine(text, ""), 1);
    assert.equal(jsonPathLine("not json at all {", "ppo.lr"), 1);
    assert.equal(jsonPathParent("ppo.lr"), "ppo");
    assert.equal(jsonPathParent("tags[3]"), "tags");
    assert.equal(jsonPathParent("a.b[2].c"), "a.b[2]");
    assert.equal(jsonPathParent("ppo"), "");
});

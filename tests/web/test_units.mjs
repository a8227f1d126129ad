// The dashboard's pure functions, without a browser: EMA smoothing, number formats, the
// JSON-path-to-line lookup that puts the server's validation message at the right line, and what
// the analysis views compute from an analysis.json (grid, best layers, colours, spectra).
import {test} from "node:test";
import assert from "node:assert/strict";
import {ema, fmtNum, fmtSteps} from "../../web/charts.js";
import {executorFacts} from "../../web/executor.js";
import {jsonKeyLines, jsonPathLine, jsonPathParent} from "../../web/jsonpath.js";
import {
    bestPerVariable,
    fmtR2,
    gridDiff,
    outputPath,
    outputsOf,
    r2Colour,
    r2Grid,
    rdmOf,
    seqColour,
    spectra,
    textOn
} from "../../web/analysis-data.js";

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

// ---- analysis-data.js: what the analysis views compute from an analysis.json ----

const DOC = {
    decoding: {
        results: [
            {layer: "h", variable: "goal", r2: 0.9, r2_shuffled: -0.01, lambda: 0.1},
            {layer: "h", variable: "speed", r2: null, r2_shuffled: null, lambda: 1},
            {layer: "c", variable: "goal", r2: 0.95, r2_shuffled: 0.02, lambda: 1},
            {layer: "c", variable: "speed", r2: -0.2, r2_shuffled: -0.3, lambda: 10},
            {layer: "d", variable: "goal", r2: 0.5},
        ]
    },
    pca: [
        {layer: "h", participation_ratio: 1.5, fractions: [0.7, 0.2, 0.1, 0]},
        {layer: "c", participation_ratio: 2, fractions: [0.5, 0.5]},
        {layer: "big", skipped: "over 2048 units"},
    ],
    rsa: {rdms: [{layer: "h", rdm: [[0, 0.4], [0.4, 0]]}]},
    outputs: ["decoding.csv", "decoding.png", "rdm_policy.core.h.png", "../x.csv", "analysis.json"],
};

test("r2Grid: layers and variables in first-seen order, missing cells null", () => {
    const g = r2Grid(DOC);
    assert.deepEqual(g.layers, ["h", "c", "d"]);
    assert.deepEqual(g.variables, ["goal", "speed"]);
    assert.equal(g.cells[0][0].r2, 0.9);
    assert.equal(g.cells[0][1].r2, null);
    assert.equal(g.cells[1][1].r2_shuffled, -0.3);
    assert.equal(g.cells[2][1], null);
    assert.deepEqual(r2Grid({}), {layers: [], variables: [], cells: []});
});

test("bestPerVariable: the highest R^2, nothing where no layer has one", () => {
    const best = bestPerVariable(r2Grid(DOC));
    assert.deepEqual(best[0], {variable: "goal", layer: "c", r2: 0.95, r2_shuffled: 0.02});
    // speed: c's -0.2 is the only number, so it is the best (negative) layer
    assert.equal(best[1].layer, "c");
    const none = bestPerVariable(r2Grid({decoding: {results: [{layer: "a", variable: "v"}]}}));
    assert.deepEqual(none, [{variable: "v", layer: null, r2: null, r2_shuffled: null}]);
});

test("gridDiff: only shared layers and variables, B minus A", () => {
    const a = r2Grid(DOC);
    const b = r2Grid({
        decoding: {
            results: [
                {layer: "c", variable: "goal", r2: 0.75}, {layer: "x", variable: "goal", r2: 0.1},
                {layer: "h", variable: "goal", r2: 0.95}
            ]
        }
    });
    const d = gridDiff(a, b);
    assert.deepEqual(d.layers, ["h", "c"]);
    assert.deepEqual(d.variables, ["goal"]);
    assert.ok(Math.abs(d.cells[0][0].diff - 0.05) < 1e-12);
    assert.ok(Math.abs(d.cells[1][0].diff + 0.2) < 1e-12);
    assert.equal(gridDiff(a, r2Grid({})).layers.length, 0);
});

test("r2Colour: white at 0, deep blue at 1, red below 0, grey for none", () => {
    assert.equal(r2Colour(0), "rgb(247, 251, 255)");
    assert.equal(r2Colour(1), "rgb(8, 48, 107)");
    assert.equal(r2Colour(5), "rgb(8, 48, 107)");
    assert.equal(r2Colour(-1), "rgb(103, 0, 13)");
    assert.equal(r2Colour(null), "rgb(230, 230, 230)");
    assert.equal(r2Colour(Number.NaN), "rgb(230, 230, 230)");
    // monotone: darker (less light) as R^2 grows
    const light = (c) => c.match(/\d+/g).map(Number).reduce((s, v) => s + v, 0);
    assert.ok(light(r2Colour(0.2)) > light(r2Colour(0.6)));
    assert.equal(textOn(r2Colour(1)), "#fff");
    assert.equal(textOn(r2Colour(0)), "#1b2430");
    assert.equal(seqColour(0, 0, 1), "rgb(68, 1, 84)");
    assert.equal(seqColour(2, 0, 2), "rgb(253, 231, 37)");
    assert.equal(seqColour(1, 1, 1), "rgb(68, 1, 84)");
});

test("fmtR2, spectra, rdmOf, outputs", () => {
    assert.equal(fmtR2(0.91234), "0.912");
    assert.equal(fmtR2(null), "–");
    const s = spectra(DOC, 3);
    assert.deepEqual(s.x, [1, 2, 3]);
    assert.equal(s.series.length, 2);
    // a zero fraction has no place on a log scale; past a layer's components: null
    assert.deepEqual(s.series[0].ys, [0.7, 0.2, 0.1]);
    assert.deepEqual(s.series[1].ys, [0.5, 0.5, null]);
    assert.deepEqual(spectra({}).x, []);
    assert.deepEqual(rdmOf(DOC, "h"), {layer: "h", rdm: [[0, 0.4], [0.4, 0]], lo: 0, hi: 0.4});
    assert.equal(rdmOf(DOC, "nope"), null);
    const out = outputsOf(DOC);
    assert.deepEqual(out.tables, ["decoding.csv"]);
    assert.deepEqual(out.figures, ["decoding.png", "rdm_policy.core.h.png"]);
    assert.equal(outputPath(7, "analysis.json"), "/experiments/7/analysis");
    assert.equal(outputPath(7, "decoding.csv"), "/experiments/7/analysis/tables/decoding.csv");
    assert.equal(outputPath(7, "rdm_a.b.png"), "/experiments/7/analysis/figures/rdm_a.b.png");
});

test("executorFacts: a local run says so; a Slurm run its job, state with reason, and nodes", () => {
    assert.deepEqual(executorFacts({executor: "local"}), [["Executor", "local", "fact-executor"]]);
    assert.deepEqual(executorFacts({}), [["Executor", "local", "fact-executor"]]);
    assert.deepEqual(executorFacts({
                         executor: "slurm",
                         slurm_job_id: "42",
                         slurm_state: "PENDING",
                         slurm_reason: "Resources",
                         slurm_nodes: null
                     }),
                     [
                         ["Executor", "slurm", "fact-executor"],
                         ["Slurm job", "42", "fact-slurm-job"],
                         ["Slurm state", "PENDING (Resources)", "fact-slurm-state"],
                         ["Nodes", "–", "fact-slurm-nodes"]
                     ]);
    const running = executorFacts(
        {executor: "slurm", slurm_job_id: "7", slurm_state: "RUNNING", slurm_nodes: "node[1-2]"});
    assert.deepEqual(running[2], ["Slurm state", "RUNNING", "fact-slurm-state"]);
    assert.deepEqual(running[3], ["Nodes", "node[1-2]", "fact-slurm-nodes"]);
});

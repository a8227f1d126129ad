// The dashboard's pure functions, without a browser: EMA smoothing, number formats, exact 64-bit
// integers in JSON, rates and ETA, seed-group bands and differing settings, CSV text, the
// JSON-path-to-line lookup that puts the server's validation message at the right line, and what
// the analysis views compute from an analysis.json (grid, best layers, colours, spectra).
import {test} from "node:test";
import assert from "node:assert/strict";
import {csvText, ema, fmtNum, fmtSteps} from "../../web/charts.js";
import {executorFacts} from "../../web/executor.js";
import {groupBand, interpAt, specFlatten, specsDiffer} from "../../web/group-data.js";
import {jsonParseExact, jsonQuoteBigInts} from "../../web/json-exact.js";
import {RateMeter, etaSeconds, fmtDuration, rowsRate, runSeconds} from "../../web/progress.js";
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

test("jsonParseExact: integers beyond 2^53 keep every digit, the rest parses as JSON.parse", () => {
    const text = '{"seed": 18446744073709551615, "neg": -9007199254740993, "n": 42, "f": 1.5e300,' +
                 ' "s": "12345678901234567890", "a": [9007199254740991, 9007199254740992]}';
    const v = jsonParseExact(text);
    assert.equal(v.seed, "18446744073709551615");
    assert.equal(v.neg, "-9007199254740993");
    assert.equal(v.n, 42);
    assert.equal(v.f, 1.5e300);
    assert.equal(v.s, "12345678901234567890");
    // 2^53 - 1 is safe; 2^53 is not (2^53 + 1 reads as it)
    assert.deepEqual(v.a, [9007199254740991, "9007199254740992"]);
    assert.deepEqual(jsonParseExact('{"x": [1, 2.5, "a\\"1234567890123456789"]}'),
                     {x: [1, 2.5, 'a"1234567890123456789']});
    assert.throws(() => jsonParseExact('{"seed": 18446744073709551615'));
});

test("jsonQuoteBigInts: only integer literals outside strings are quoted", () => {
    assert.equal(jsonQuoteBigInts('[12345678901234567890, "12345678901234567890", 1e25]'),
                 '["12345678901234567890", "12345678901234567890", 1e25]');
    assert.equal(jsonQuoteBigInts('{"k\\\\": 99999999999999999}'), '{"k\\\\": "99999999999999999"}');
});

test("fmtDuration: seconds, minutes, hours", () => {
    assert.equal(fmtDuration(null), "–");
    assert.equal(fmtDuration(-1), "–");
    assert.equal(fmtDuration(42), "42.0 s");
    assert.equal(fmtDuration(200), "3 min 20 s");
    assert.equal(fmtDuration(7500), "2 h 5 min");
});

test("rowsRate: steps over wall time of the newest rows, a restarted clock ends the stretch", () => {
    const rows = [];
    for (let i = 0; i <= 10; i++)
        rows.push({env_steps: 1000 * i, wall_s: 2 * i});
    assert.equal(rowsRate(rows), 500);
    // only the last 4 s: 2 rows back
    assert.equal(rowsRate(rows, 4), 500);
    assert.equal(rowsRate(rows.slice(0, 1)), null);
    assert.equal(rowsRate([{env_steps: 1}, {env_steps: 2}]), null);
    // resumed: the clock starts again at 0; only the rows after it count
    const resumed = [...rows, {env_steps: 11000, wall_s: 0.5}, {env_steps: 12000, wall_s: 1.5},
                     {env_steps: 14000, wall_s: 2.5}];
    assert.equal(rowsRate(resumed), 1500);
});

test("etaSeconds: what remains at the rate; unknown without a rate or budget", () => {
    assert.equal(etaSeconds(1000, 11000, 500), 20);
    assert.equal(etaSeconds(12000, 11000, 500), 0);
    assert.equal(etaSeconds(1000, 11000, 0), null);
    assert.equal(etaSeconds(1000, null, 500), null);
});

test("RateMeter: the pace between refreshes, the average since the start before that", () => {
    const m = new RateMeter();
    const it = {id: 1, state: "running", started_at: 100, latest_env_steps: 5000};
    assert.equal(m.observe(it, 110), 500);
    assert.equal(m.observe({...it, latest_env_steps: 8000}, 112), 1500);
    assert.equal(m.observe({...it, latest_env_steps: 10000}, 114), 1250);
    // not running: forgotten
    assert.equal(m.observe({...it, state: "paused"}, 120), null);
    assert.equal(m.observe({...it, latest_env_steps: 10000}, 125), 10000 / 25);
});

test("runSeconds: until it finished, or until now while it runs", () => {
    assert.equal(runSeconds({started_at: 100, finished_at: 160}, 1000, true), 60);
    assert.equal(runSeconds({started_at: 100}, 130, false), 30);
    assert.equal(runSeconds({started_at: 100}, 130, true), null);
    assert.equal(runSeconds({}, 130, false), null);
});

test("interpAt and groupBand: mean and std over the range every run covers", () => {
    assert.equal(interpAt([0, 10], [0, 100], 2.5), 25);
    assert.equal(interpAt([0, 10], [0, 100], 11), null);
    assert.equal(interpAt([0, 10, 20], [0, null, 40], 5), null);
    const band = groupBand([{x: [0, 10, 20], y: [0, 10, 20]}, {x: [5, 15], y: [15, 25]}], 3);
    // the shared range is 5..15
    assert.deepEqual(band.x, [5, 10, 15]);
    assert.deepEqual(band.mean, [10, 15, 20]);
    assert.deepEqual(band.lo, [5, 10, 15]);
    assert.deepEqual(band.hi, [15, 20, 25]);
    assert.equal(band.n, 2);
    assert.deepEqual(groupBand([{x: [0, 1], y: [0, 1]}, {x: [2, 3], y: [0, 1]}]).x, []);
});

test("specsDiffer: the leaves that are not the same in every spec", () => {
    const a = {task: "CartPole", seed: 1, ppo: {lr: 0.001, epochs: 4}, tags: ["x"]};
    const b = {task: "CartPole", seed: 2, ppo: {lr: 0.001, epochs: 4}, tags: ["x", "y"]};
    const c = {task: "CartPole", seed: 3, ppo: {lr: 0.001}, tags: ["x"]};
    assert.deepEqual(specsDiffer([a, b]), ["seed", "tags"]);
    assert.deepEqual(specsDiffer([a, b, c]), ["ppo.epochs", "seed", "tags"]);
    assert.deepEqual(specFlatten({ppo: {lr: 0.5}, name: "n"}), {"ppo.lr": "0.5", name: "n"});
});

test("csvText: a header, empty cells for gaps, quoted labels", () => {
    assert.equal(csvText(["x", 'a "b", c'], [[1, 2], [0.5, null]]),
                 'x,"a ""b"", c"\n1,0.5\n2,\n');
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

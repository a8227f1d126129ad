// angora dashboard: analysis jobs (docs/analysis.md). The Analysis tab of a training run lists
// its analyses with their state and phase, queues new ones (the server's message appears at the
// field it names) and shows a finished one; an analysis job's own page shows its result. A
// result is drawn from analysis.json: the R^2 heatmap of layer x variable (a table, the value of
// a cell on hover), the best layer per variable, the PCA spectra (uPlot, log scale) and
// trajectories, the RDMs (canvas, the value of a cell on hover), and the files to download.
// analysis-compare.js puts two results side by side with the same pieces.

/* global uPlot */

import {api, stateIsTerminal} from "./api.js";
import {PALETTE, fmtNum} from "./charts.js";
import {
    bestPerVariable,
    fmtR2,
    outputPath,
    outputsOf,
    r2Colour,
    r2Grid,
    rdmOf,
    seqColour,
    spectra,
    textOn
} from "./analysis-data.js";
import {go} from "./router.js";
import {banner, downloadFile, errText, fmtDuration, fmtTime, h, mount, stateBadge} from "./ui.js";

// ---- the pieces of a result ----

// A heatmap as a table: rows x cols, cell(i, j) -> {text, colour, title, data} or null. Hovering
// a cell writes its title into the hover line (and the browser shows it as a tooltip).
export function heatmap({id, rows, cols, cell, hoverText}) {
    const hover = h("div", {class: "hm-hover muted", id: `${id}-hover`}, hoverText || "");
    const head = h("tr", {}, h("th", {class: "hm-corner"}, "layer \\ variable"),
                   cols.map((c) => h("th", {class: "hm-col", title: c}, h("span", {}, c))));
    const body =
        rows.map((r, i) => h("tr", {}, h("th", {class: "hm-row", title: r}, r), cols.map((c, j) => {
                     const v = cell(i, j);
                     if (!v)
                         return h("td", {class: "hm-cell hm-empty"}, "");
                     const td = h("td", {
                         class: "hm-cell",
                         title: v.title,
                         style: `background:${v.colour};color:${textOn(v.colour)}`,
                         dataset: {row: r, col: c, ...(v.data || {})},
                     },
                                  v.text);
                     td.addEventListener("mouseenter", () => {
                         hover.textContent = v.title;
                         hover.dataset.row = r;
                         hover.dataset.col = c;
                     });
                     return td;
                 })));
    const table = h("table", {class: "heatmap", id}, h("thead", {}, head), h("tbody", {}, body));
    return h("div", {class: "hm-box"}, h("div", {class: "hm-scroll"}, table), hover);
}

// the colour scale of R^2 from -1 to 1
export function r2Legend(label = "R²") {
    const stops = [-1, -0.5, 0, 0.25, 0.5, 0.75, 1];
    const gradient = stops.map((v, i) => `${r2Colour(v)} ${(i / (stops.length - 1)) * 100}%`);
    return h("div", {class: "hm-legend"}, h("span", {}, `${label} −1`),
             h("span", {class: "hm-bar", style: `background:linear-gradient(90deg,${gradient})`}),
             h("span", {}, "1"),
             h("small", {class: "muted"}, " below 0: worse than the training mean"));
}

// the R^2 heatmap of a result
export function r2Heatmap(doc, id = "r2-heatmap") {
    const grid = r2Grid(doc);
    if (!grid.layers.length)
        return h("p", {class: "muted"}, "No decoding results (every layer was skipped).");
    return h("div", {}, heatmap({
                 id,
                 rows: grid.layers,
                 cols: grid.variables,
                 hoverText: "Point at a cell for its value.",
                 cell: (i, j) => {
                     const c = grid.cells[i][j];
                     if (!c)
                         return null;
                     return {
                         text: c.r2 === null ? "–" : c.r2.toFixed(2),
                         colour: r2Colour(c.r2),
                         title: `${grid.layers[i]} × ${grid.variables[j]}: R² ${fmtR2(c.r2)} ` +
                                    `(shuffled ${fmtR2(c.r2_shuffled)}, λ ${fmtNum(c.lambda)})`,
                         data: {r2: c.r2 === null ? "" : String(c.r2)},
                     };
                 },
             }),
             r2Legend());
}

// the best layer of each variable as a table
function bestTable(doc) {
    const best = bestPerVariable(r2Grid(doc));
    return h(
        "table", {class: "grid", id: "best-table"},
        h("thead", {},
          h("tr", {}, ["Variable", "Best layer", "R²", "R² shuffled"].map((l) => h("th", {}, l)))),
        h("tbody", {},
          best.map((b) => h("tr", {dataset: {variable: b.variable}}, h("td", {}, b.variable),
                            h("td", {}, b.layer || "–"), h("td", {class: "num"}, fmtR2(b.r2)),
                            h("td", {class: "num"}, fmtR2(b.r2_shuffled))))));
}

// a log axis labels powers of ten only ("1e-3"), every other one or fewer when they are many
function decades(u, splits) {
    const exp = (v) => {
        const e = Math.log10(v);
        return Math.abs(e - Math.round(e)) < 1e-9 ? Math.round(e) : null;
    };
    const step = Math.max(1, Math.ceil(splits.filter((v) => exp(v) !== null).length / 6));
    return splits.map((v) => (exp(v) !== null && exp(v) % step === 0 ? `1e${exp(v)}` : ""));
}

// the explained-variance spectra on a log scale; returns {el, plot}
export function spectraChart(doc, title = "PCA spectra") {
    const s = spectra(doc);
    const box = h("div", {class: "chart an-spectra"}, h("h2", {}, title));
    if (!s.x.length || typeof uPlot === "undefined") {
        box.append(h("p", {class: "muted"}, "No PCA results."));
        return {el: box, plot: null};
    }
    const host = h("div");
    box.append(host);
    const opts = {
        width: 460,
        height: 240,
        legend: {show: true, live: false},
        scales: {x: {time: false}, y: {distr: 3}},
        axes: [
            {
                label: "component",
                labelSize: 18,
                size: 32,
                font: "11px system-ui",
                labelFont: "11px system-ui"
            },
            {values: decades, size: 48, font: "11px system-ui"},
        ],
        series: [
            {label: "component"},
            ...s.series.map((p, i) => ({
                                label: `${p.layer} (PR ${fmtNum(p.pr)})`,
                                stroke: PALETTE[i % PALETTE.length],
                                width: 1.4,
                                points: {show: true, size: 4},
                                value: (u, v) => fmtNum(v),
                            })),
        ],
    };
    const plot = new uPlot(opts, [s.x, ...s.series.map((p) => p.ys)], host);
    box.dataset.series = String(s.series.length);
    return {el: box, plot};
}

// one canvas per layer: the kept episode on PC1 x PC2, coloured by time, start a dot, end a
// square
function trajectories(doc) {
    const pcs = ((doc && doc.pca) || []).filter((p) => p.trajectory && p.trajectory.components);
    const wrap = h("div", {class: "an-trajs", id: "an-trajectories"});
    for (const p of pcs) {
        const pts = p.trajectory.components.filter((c) => Array.isArray(c) && c.length >= 2);
        const canvas = h("canvas", {width: 200, height: 170, dataset: {layer: p.layer}});
        wrap.append(h("figure", {}, canvas,
                      h("figcaption", {title: p.layer},
                        `${p.layer} · episode ${p.trajectory.episode} · ${pts.length} steps`)));
        const g = canvas.getContext("2d");
        if (!g || pts.length < 1)
            continue;
        const xs = pts.map((c) => c[0]);
        const ys = pts.map((c) => c[1]);
        const [x0, x1, y0, y1] =
            [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
        const sx = (v) => 10 + ((v - x0) / (x1 - x0 || 1)) * 180;
        const sy = (v) => 160 - ((v - y0) / (y1 - y0 || 1)) * 150;
        g.lineWidth = 1.5;
        for (let i = 1; i < pts.length; i++) {
            g.strokeStyle = seqColour(i, 0, pts.length - 1);
            g.beginPath();
            g.moveTo(sx(xs[i - 1]), sy(ys[i - 1]));
            g.lineTo(sx(xs[i]), sy(ys[i]));
            g.stroke();
        }
        g.fillStyle = seqColour(0, 0, 1);
        g.beginPath();
        g.arc(sx(xs[0]), sy(ys[0]), 4, 0, 2 * Math.PI);
        g.fill();
        g.fillStyle = seqColour(1, 0, 1);
        g.fillRect(sx(xs[xs.length - 1]) - 4, sy(ys[ys.length - 1]) - 4, 8, 8);
    }
    if (!pcs.length)
        wrap.append(h("p", {class: "muted"}, "No trajectories."));
    return wrap;
}

// the RDM of a chosen layer on a canvas, the value under the pointer in a hover line
function rdmView(doc) {
    const layers = ((doc && doc.rsa && doc.rsa.rdms) || []).map((r) => r.layer);
    const bins = (doc && doc.rsa && doc.rsa.bins) || [];
    const sel = h("select", {id: "rdm-layer"}, layers.map((l) => h("option", {value: l}, l)));
    const canvas = h("canvas", {id: "rdm-canvas", width: 260, height: 260});
    const hover = h("div", {class: "hm-hover muted", id: "rdm-hover"}, "Point at a cell.");
    const legend = h("div", {class: "hm-legend"});
    const binText = (i) => (bins[i] ? `${fmtNum(bins[i].lo)}…${fmtNum(bins[i].hi)}` : `#${i}`);
    let cur = null;
    const draw = () => {
        cur = rdmOf(doc, sel.value);
        const g = canvas.getContext("2d");
        if (!g)
            return;
        g.clearRect(0, 0, canvas.width, canvas.height);
        if (!cur)
            return;
        const k = cur.rdm.length;
        const s = canvas.width / Math.max(1, k);
        cur.rdm.forEach((row, i) => row.forEach((v, j) => {
            g.fillStyle = seqColour(v, cur.lo, cur.hi);
            g.fillRect(j * s, i * s, Math.ceil(s), Math.ceil(s));
        }));
        legend.replaceChildren(h("span", {}, "1 − r: 0"), h("span", {
                                   class: "hm-bar",
                                   style: `background:linear-gradient(90deg,${seqColour(0, 0, 1)},${
                                       seqColour(0.5, 0, 1)},${seqColour(1, 0, 1)})`
                               }),
                               h("span", {}, fmtNum(cur.hi)));
    };
    canvas.addEventListener("mousemove", (ev) => {
        if (!cur)
            return;
        const k = cur.rdm.length;
        const rect = canvas.getBoundingClientRect();
        const j = Math.floor(((ev.clientX - rect.left) / rect.width) * k);
        const i = Math.floor(((ev.clientY - rect.top) / rect.height) * k);
        if (i < 0 || j < 0 || i >= k || j >= k)
            return;
        hover.textContent =
            `conditions ${i} (${binText(i)}) and ${j} (${binText(j)}): ${fmtNum(cur.rdm[i][j])}`;
    });
    sel.addEventListener("change", draw);
    setTimeout(draw, 0);
    const variable = doc && doc.rsa ? `${doc.rsa.variable}[${doc.rsa.column}]` : "";
    if (!layers.length)
        return h("p", {class: "muted"}, "No RDMs.");
    return h(
        "div", {},
        h("div", {class: "row"}, h("label", {}, "Layer", sel),
          h("span", {class: "muted"}, `${bins.length} conditions: quantile bins of ${variable}`)),
        h("div", {class: "row", style: "align-items:flex-start;margin-top:8px"}, canvas,
          h("div", {}, legend, hover)));
}

// buttons that download the result's files (the token is needed, so they are fetched)
function filesView(id, doc, onError) {
    const out = outputsOf(doc);
    const button = (label, path, name, cls) => h("button", {
        class: `download ${cls}`,
        dataset: {name},
        onclick: async () => {
            try {
                await downloadFile(path, `analysis-${id}-${name}`);
            } catch (e) {
                if (e.status !== 401)
                    onError(`Download failed: ${errText(e)}`);
            }
        },
    },
                                                 label);
    return h("div", {class: "an-files", id: "an-files"},
             h("div", {class: "row"}, h("b", {}, "Data"),
               button("analysis.json", `/experiments/${id}/analysis`, "analysis.json", "an-json"),
               button("activations.h5 (HDF5)", `/experiments/${id}/analysis/recording`,
                      "activations.h5", "an-h5")),
             h("div", {class: "row"}, h("b", {}, "Tables"),
               out.tables.map((n) => button(n, outputPath(id, n), n, "an-csv"))),
             h("div", {class: "row"}, h("b", {}, "Figures"),
               out.figures.map((n) => button(n, outputPath(id, n), n, "an-png"))));
}

// a finished job's result into box; returns a cleanup (charts)
export async function resultRender(id, box) {
    let doc;
    let job;
    try {
        [doc, job] = await Promise.all(
            [api("GET", `/experiments/${id}/analysis`), api("GET", `/experiments/${id}`)]);
    } catch (e) {
        box.replaceChildren(h("p", {class: "error"}, `Analysis ${id}: ${errText(e)}`));
        return () => {};
    }
    const msg = h("div");
    const spec = job.spec || {};
    const analysed = doc.analysed || {};
    const f = (label, value) => h("div", {}, h("b", {}, label), h("span", {}, value));
    const sp = spectraChart(doc);
    box.replaceChildren();
    mount(box,
          h("div", {class: "row"}, h("h2", {style: "margin:0"}, `Analysis ${id}`),
            h("a", {href: `#/exp/${id}`, class: "muted"}, "job page"),
            job.parent_id ? h("a", {href: `#/analyses?a=${id}`, class: "btn"}, "Compare with…")
                          : null),
          msg,
          h("div", {class: "facts", id: "an-facts", dataset: {job: String(id)}},
            f("Checkpoint", spec.checkpoint || "–"), f("Episodes", String(analysed.episodes)),
            f("Steps", String(analysed.steps)), f("Folds", String(spec.folds || "–")),
            f("Actions", spec.deterministic ? "deterministic" : "sampled"),
            f("Task", (doc.input && doc.input.task) || job.task),
            f("Analysed in", fmtDuration(doc.seconds))),
          h("h3", {}, "Decoding: cross-validated R² of each variable from each layer"),
          r2Heatmap(doc), h("h3", {}, "Best layer per variable"), bestTable(doc),
          h("h3", {}, "Population structure"),
          h("div", {class: "row", style: "align-items:flex-start"}, sp.el, trajectories(doc)),
          h("h3", {}, "Representational dissimilarity"), rdmView(doc), h("h3", {}, "Files"),
          filesView(id, doc, (text) => msg.replaceChildren(banner("error", text))));
    box.dataset.ready = "1";
    return () => {
        if (sp.plot)
            sp.plot.destroy();
    };
}

// ---- a job's state ----

function phaseText(j) {
    if (j.state === "running")
        return j.phase || "starting";
    if (j.state === "succeeded")
        return "done";
    return j.phase ? `${j.state} while ${j.phase}` : j.state;
}

// an analysis job's own page: its result, or where it stands
export function analysisJobView(id, exp, box) {
    let cleanup = () => {};
    const render = async (e) => {
        cleanup();
        cleanup = () => {};
        box.hidden = false;
        if (e.state === "succeeded") {
            cleanup = await resultRender(id, box);
            return;
        }
        box.replaceChildren(h("h2", {}, "Analysis"),
                            h("p", {id: "an-status"}, stateBadge(e.state), ` ${phaseText(e)}`,
                              e.parent_id
                                  ? h("span", {}, " · of ",
                                      h("a", {href: `#/exp/${e.parent_id}?tab=analysis&job=${id}`},
                                        `experiment ${e.parent_id}`))
                                  : null),
                            e.error ? banner("error", e.error) : null);
    };
    render(exp);
    return {update: render, close: () => cleanup()};
}

// ---- the Analysis tab of a training run ----

export function analysisTab(runId, box, opts = {}) {
    let closed = false;
    let timer = null;
    let jobs = [];
    let shown = opts.job ? Number(opts.job) : null;
    let resultCleanup = () => {};
    const picked = new Set();

    // the new-analysis form
    const ckpt = h("select", {id: "an-checkpoint"}, h("option", {value: "last"}, "last"));
    const episodes = h("input", {id: "an-episodes", type: "number", min: 3, value: "20"});
    const det = h("input", {id: "an-deterministic", type: "checkbox"});
    const variables = h("input", {id: "an-variables", placeholder: "all (or a,b)"});
    const layers = h("input", {id: "an-layers", placeholder: "all (or x,y)"});
    const formErr = h("div", {id: "an-error"});
    const names = (text) => text.split(",").map((s) => s.trim()).filter((s) => s);
    const form =
        h("form", {
            class: "row an-form",
            id: "analysis-form",
            novalidate: true,
            onsubmit: async (ev) => {
                ev.preventDefault();
                formErr.replaceChildren();
                for (const el of [ckpt, episodes, variables, layers])
                    el.classList.remove("invalid");
                const body = {
                    checkpoint: ckpt.value,
                    episodes: Number(episodes.value),
                    deterministic: det.checked,
                };
                if (names(variables.value).length)
                    body.variables = names(variables.value);
                if (names(layers.value).length)
                    body.layers = names(layers.value);
                try {
                    const res = await api("POST", `/experiments/${runId}/analyses`, body);
                    formErr.replaceChildren(banner("ok", `Analysis queued as job ${res.id}.`));
                    shown = res.id;
                    listLoad();
                } catch (e) {
                    if (e.status === 401)
                        return;
                    formErr.replaceChildren(banner("error", errText(e)));
                    const el = {checkpoint: ckpt,
                                episodes,
                                folds: episodes,
                                variables,
                                layers}[String(e.field || "").replace(/\[.*$/, "")];
                    if (el)
                        el.classList.add("invalid");
                }
            },
        },
          h("label", {}, "Checkpoint", ckpt), h("label", {}, "Episodes", episodes),
          h("label", {}, "Variables", variables), h("label", {}, "Layers", layers),
          h("label", {class: "check"}, det, " deterministic actions"),
          h("button", {type: "submit", class: "primary", id: "an-submit"}, "New analysis"));

    const listBox = h("div", {id: "analyses"});
    const compareBtn = h("button", {
        id: "an-compare",
        disabled: true,
        onclick: () => go(`#/analyses?a=${[...picked][0]}&b=${[...picked][1]}`),
    },
                         "Compare selected");
    const resultBox = h("div", {class: "panel", id: "analysis-view", hidden: true});

    const show = async (jobId) => {
        shown = jobId;
        history.replaceState(null, "", `#/exp/${runId}?tab=analysis&job=${jobId}`);
        resultCleanup();
        resultCleanup = () => {};
        resultBox.hidden = false;
        resultBox.dataset.job = String(jobId);
        delete resultBox.dataset.ready;
        resultBox.replaceChildren(h("p", {class: "muted"}, "loading…"));
        const cleanup = await resultRender(jobId, resultBox);
        if (closed || shown !== jobId)
            cleanup();
        else
            resultCleanup = cleanup;
    };

    const listRender = () => {
        if (!jobs.length) {
            listBox.replaceChildren(
                h("p", {class: "muted"}, "No analyses yet: queue one with the form above."));
            return;
        }
        listBox.replaceChildren(h(
            "table", {class: "grid", id: "analyses-table"},
            h("thead", {},
              h("tr", {},
                [
                    "", "Job", "State", "Phase", "Checkpoint", "Episodes", "Actions", "Submitted",
                    "Duration", ""
                ].map((l) => h("th", {}, l)))),
            h("tbody", {}, jobs.map((j) => {
                const s = j.spec || {};
                const end = j.finished_at || (j.started_at ? Date.now() / 1000 : null);
                const pick = h("input", {
                    type: "checkbox",
                    class: "an-pick",
                    checked: picked.has(j.id),
                    disabled: j.state !== "succeeded",
                    title: "compare two analyses",
                    onchange: (ev) => {
                        if (ev.target.checked)
                            picked.add(j.id);
                        else
                            picked.delete(j.id);
                        compareBtn.disabled = picked.size !== 2;
                    },
                });
                return h(
                    "tr", {dataset: {id: j.id, state: j.state}, class: j.id === shown ? "sel" : ""},
                    h("td", {}, pick), h("td", {}, h("a", {href: `#/exp/${j.id}`}, `#${j.id}`)),
                    h("td", {}, stateBadge(j.state)),
                    h("td", {class: "an-phase", title: j.error || ""}, phaseText(j)),
                    h("td", {}, s.checkpoint || "–"),
                    h("td", {class: "num"}, String(s.episodes ?? "–")),
                    h("td", {}, s.deterministic ? "deterministic" : "sampled"),
                    h("td", {}, fmtTime(j.submitted_at)),
                    h("td", {}, j.started_at && end ? fmtDuration(end - j.started_at) : "–"),
                    h("td", {},
                      j.state === "succeeded"
                          ? h("button", {class: "an-view", onclick: () => show(j.id)}, "View")
                          : (j.error ? h("span", {class: "error"}, j.error) : "")));
            }))));
    };

    const listLoad = async () => {
        clearTimeout(timer);
        try {
            jobs = (await api("GET", `/experiments/${runId}/analyses`)).items;
        } catch (e) {
            if (!closed && e.status !== 401)
                listBox.replaceChildren(h("p", {class: "error"}, errText(e)));
            return;
        }
        if (closed)
            return;
        for (const id of [...picked])
            if (!jobs.some((j) => j.id === id && j.state === "succeeded"))
                picked.delete(id);
        compareBtn.disabled = picked.size !== 2;
        listRender();
        const cur = jobs.find((j) => j.id === shown);
        if (cur && cur.state === "succeeded" && resultBox.dataset.job !== String(cur.id))
            show(cur.id);
        if (jobs.some((j) => !stateIsTerminal(j.state)))
            timer = setTimeout(listLoad, 2000);
    };

    const ckptLoad = async () => {
        try {
            const items = (await api("GET", `/experiments/${runId}/checkpoints`)).items;
            const files = items.map((c) => c.name);
            const opts = [];
            if (files.includes("best.ckpt"))
                opts.push(["best", "best (best.ckpt)"]);
            if (files.includes("last.ckpt"))
                opts.push(["last", "last (last.ckpt)"]);
            for (const n of files.filter((n) => n !== "best.ckpt" && n !== "last.ckpt").sort())
                opts.push([n, n]);
            if (opts.length && !closed)
                ckpt.replaceChildren(...opts.map(([v, l]) => h("option", {value: v}, l)));
        } catch {
            // "last" stays; the server says what is missing
        }
    };

    mount(box,
          h("div", {class: "panel"}, h("h2", {}, "New analysis"),
            h("p", {class: "muted"},
              "Records every layer's activity and the task variables over fresh episodes of a " +
                  "checkpoint, then decodes each variable from each layer and computes PCA, " +
                  "RSA and timescales."),
            form, formErr),
          h("div", {class: "panel"},
            h("div", {class: "row", style: "margin-bottom:8px"},
              h("h2", {style: "margin:0"}, "Analyses"), h("span", {class: "spacer"}), compareBtn),
            listBox),
          resultBox);
    ckptLoad();
    listLoad();
    return () => {
        closed = true;
        clearTimeout(timer);
        resultCleanup();
    };
}

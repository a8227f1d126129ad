// angora dashboard: the compare view: the curves of several experiments on shared charts, with
// a common x-axis, EMA smoothing (raw curves drawn faintly), any stored metric picked by name and
// per chart a log toggle and CSV/PNG downloads, kept in the hash so a comparison can be linked.

/* global uPlot */

import {api, stateIsTerminal} from "./api.js";
import {ChartPanel, metricPicker, smoothControl, xAxisControl} from "./chart-panel.js";
import {PALETTE, X_AXES} from "./charts.js";
import {STANDARD_KEYS, banner, errText, h, mount, pool, stateBadge, view} from "./ui.js";

const COMPARE_METRICS = [
    ["return_mean", "Return"],
    ["eval_return", "Evaluation return"],
    ["episode_length_mean", "Episode length"],
    ["success_rate", "Success rate"],
    ["policy_loss", "Policy loss"],
    ["value_loss", "Value loss"],
    ["entropy", "Entropy"],
    ["approx_kl", "Approximate KL"],
    ["clip_fraction", "Clip fraction"],
    ["explained_variance", "Explained variance"],
    ["sps", "Throughput (steps/s)"],
];

export function viewCompare(params) {
    let ids = (params.get("ids") || "")
                  .split(",")
                  .map(Number)
                  .filter((n) => Number.isInteger(n) && n > 0);
    ids = [...new Set(ids)];
    let xKey = X_AXES[params.get("x")] ? params.get("x") : "env_steps";
    let smooth = Math.min(0.99, Math.max(0, Number(params.get("smooth")) || 0));
    const extra = (params.get("metrics") || "").split(",").filter((k) => /^[\w./-]{1,64}$/.test(k));
    let closed = false;
    let timer = null;
    const runs = new Map();   // id -> {exp, color}
    const series = new Map(); // `${id}/${key}` -> {x, y}
    let metrics = [];
    let charts = [];

    const msg = h("div");
    const chips = h("div", {class: "picker", id: "compare-runs"});
    const addSel = h("select", {id: "compare-add"}, h("option", {value: ""}, "add an experiment…"));
    const grid = h("div", {class: "charts", id: "compare-charts"});
    const xControl = xAxisControl("compare-x", xKey, (x) => {
        xKey = x;
        hashSave();
        dataLoad(true);
    });
    const smoothIn = smoothControl("compare", smooth, (w) => {
        smooth = w;
        hashSave();
        for (const c of charts)
            c.panel.setSmooth(smooth);
    });
    // any other stored metric of the runs
    let allKeys = [];
    const picker = metricPicker("compare-metric-add", (k) => {
        if (!extra.includes(k)) {
            extra.push(k);
            hashSave();
            dataLoad(true);
        }
    });
    const pickerFill = () => {
        const shown = new Set(metrics.map(([k]) => k));
        picker.fill(allKeys.filter((k) => !shown.has(k)));
    };

    const hashSave = () => {
        const q = new URLSearchParams({ids: ids.join(","), x: xKey});
        if (smooth)
            q.set("smooth", smooth);
        if (extra.length)
            q.set("metrics", extra.join(","));
        history.replaceState(null, "", `#/compare?${q}`);
    };

    const chipsRender = () => {
        chips.replaceChildren(
            ...(ids.length ? ids.map((id) => {
                const r = runs.get(id);
                return h("span", {class: "chip", dataset: {id}},
                         h("i", {style: `background:${r ? r.color : "#999"}`}),
                         h("a", {href: `#/exp/${id}`},
                           r && r.exp ? `${r.exp.name || "experiment"} #${id}` : `#${id}`),
                         r && r.exp ? stateBadge(r.exp.state) : null,
                         h("button", {title: "remove", onclick: () => runRemove(id)}, "×"));
            })
                           : [h("span", {class: "muted"},
                                "Pick experiments below or tick them in the experiments table.")]),
        );
    };

    const runRemove = (id) => {
        ids = ids.filter((x) => x !== id);
        runs.delete(id);
        hashSave();
        dataLoad(true);
    };

    const chartsBuild = () => {
        for (const c of charts)
            c.panel.destroy();
        charts = [];
        grid.replaceChildren();
        for (const [key, label] of metrics) {
            const panel = new ChartPanel({
                title: label,
                series: ids.map((id) => ({
                                    label: `#${id} ${runs.get(id)?.exp?.name || ""}`.trim(),
                                    color: runs.get(id)?.color
                                })),
                xKey,
                fileName: `compare-${key}`,
                dataset: {metric: key, series: String(ids.length)},
            });
            panel.setSmooth(smooth);
            grid.append(panel.box);
            panel.build();
            charts.push({key, panel});
        }
    };

    // the runs' curves on the union of their x values (uPlot.join leaves gaps where a run has
    // no point)
    const chartsDraw = () => {
        for (const c of charts) {
            const tables = ids.map((id) => {
                const s = series.get(`${id}/${c.key}`) || {x: [], y: []};
                return [s.x, s.y];
            });
            const data = tables.length ? uPlot.join(tables) : [[]];
            c.panel.setData(data[0], data.slice(1));
        }
    };

    const dataLoad = async (rebuild) => {
        clearTimeout(timer);
        try {
            await pool(ids, 4, async (id) => {
                const exp = await api("GET", `/experiments/${id}`);
                const prev = runs.get(id);
                runs.set(
                    id,
                    {exp, color: prev ? prev.color : PALETTE[ids.indexOf(id) % PALETTE.length]});
            });
            const keySets = await Promise.all(ids.map(
                (id) => api("GET", `/experiments/${id}/metrics/keys`).then((r) => r.keys || r)));
            const seen = new Set(keySets.flat());
            const next = COMPARE_METRICS.filter(([k]) => seen.has(k));
            for (const k of [...seen].sort())
                if (k.endsWith("_mean") && !STANDARD_KEYS.has(k))
                    next.push([k, k.replace(/_mean$/, "").replace(/_/g, " ")]);
            for (const k of extra)
                if (seen.has(k) && !next.some(([m]) => m === k))
                    next.push([k, k.replace(/_/g, " ")]);
            allKeys =
                [...seen].filter((k) => !["iteration", "env_steps", "wall_s"].includes(k)).sort();
            const jobs = [];
            for (const id of ids)
                for (const [k] of next)
                    if (seen.has(k))
                        jobs.push([id, k]);
            await pool(jobs, 6, async ([id, k]) => {
                try {
                    const s = await api("GET", `/experiments/${id}/metrics/series?key=${
                                                   encodeURIComponent(k)}&x=${xKey}&points=1000`);
                    series.set(`${id}/${k}`, {x: s.x, y: s.last});
                } catch (e) {
                    if (e.status === 401)
                        throw e;
                    series.set(`${id}/${k}`, {x: [], y: []});
                }
            });
            if (closed)
                return;
            msg.replaceChildren();
            const changed = rebuild || next.length !== metrics.length ||
                            next.some(([k], i) => metrics[i][0] !== k);
            metrics = next;
            chipsRender();
            pickerFill();
            if (changed)
                chartsBuild();
            chartsDraw();
            if (!ids.length)
                grid.replaceChildren();
        } catch (e) {
            if (closed || e.status === 401)
                return;
            msg.replaceChildren(banner("error", `Could not load the comparison: ${errText(e)}`));
        }
        // live runs keep their curves moving
        if (!closed && [...runs.values()].some((r) => !stateIsTerminal(r.exp.state)))
            timer = setTimeout(() => dataLoad(false), 5000);
    };

    api("GET", "/experiments?limit=200")
        .then((res) => {
            if (closed)
                return;
            for (const it of res.items)
                addSel.append(h("option", {value: String(it.id)},
                                `#${it.id} ${it.name || ""} (${it.task}, ${it.state})`));
        })
        .catch(() => {});
    addSel.addEventListener("change", () => {
        const id = Number(addSel.value);
        addSel.value = "";
        if (id && !ids.includes(id)) {
            ids.push(id);
            hashSave();
            dataLoad(true);
        }
    });

    mount(
        view,
        h("div", {class: "head"}, h("h1", {}, "Compare experiments")),
        msg,
        h("div", {class: "panel"}, h("div", {class: "row", style: "margin-bottom:10px"}, chips),
          h("div", {class: "row"}, addSel, picker.el, h("span", {class: "spacer"}), xControl,
            smoothIn)),
        grid,
    );
    chipsRender();
    const onResize = () => {
        for (const c of charts)
            c.panel.fit();
    };
    window.addEventListener("resize", onResize);
    dataLoad(true);
    return () => {
        closed = true;
        clearTimeout(timer);
        window.removeEventListener("resize", onResize);
        for (const c of charts)
            c.panel.destroy();
    };
}

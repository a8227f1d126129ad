// angora dashboard: the learning curves of one run (the run page's charts): the standard charts,
// any other stored metric picked by name, a common x-axis, EMA smoothing with the raw curves
// drawn faintly, and per chart a log toggle and CSV/PNG downloads (chart-panel.js). The curves
// are drawn from the run's metric rows, which carry every key. A pretrain job (one row per
// epoch) has charts of its own: the training and held-out loss, and the held-out position and
// rotation errors, against the epoch.

import {ChartPanel, metricPicker, smoothControl, xAxisControl} from "./chart-panel.js";
import {PALETTE, X_AXES} from "./charts.js";
import {h, taskMetricKeys} from "./ui.js";

const EXP_CHARTS = [
    {
        id: "return",
        title: "Return",
        keys: [["return_mean", "training"], ["eval_return", "evaluation"]]
    },
    {id: "length", title: "Episode length", keys: [["episode_length_mean", "mean length"]]},
    {id: "task", title: "Task metric", keys: null},
    {id: "policy_loss", title: "Policy loss", keys: [["policy_loss", "policy loss"]]},
    {id: "value_loss", title: "Value loss", keys: [["value_loss", "value loss"]]},
    {id: "entropy", title: "Entropy", keys: [["entropy", "entropy"]]},
    {id: "kl", title: "Approximate KL", keys: [["approx_kl", "KL"]]},
    {id: "clip", title: "Clip fraction", keys: [["clip_fraction", "clip fraction"]]},
    {id: "ev", title: "Explained variance", keys: [["explained_variance", "explained variance"]]},
    {id: "sps", title: "Throughput (steps/s)", keys: [["sps", "steps/s"]]},
];
// a vision pretraining's curve (angora-train --pretrain, one row per epoch as "iteration")
const PRETRAIN_CHARTS = [
    {id: "loss", title: "Pose loss", keys: [["train_loss", "training"], ["holdout_loss", "held-out"]]},
    {
        id: "position",
        title: "Held-out position RMSE (mm)",
        keys: [["holdout_position_rmse_mm", "position RMSE"]]
    },
    {
        id: "rotation",
        title: "Held-out rotation error (deg)",
        keys: [["holdout_rotation_median_deg", "median"], ["holdout_rotation_mean_deg", "mean"]]
    },
    {id: "grad", title: "Gradient norm", keys: [["grad_norm", "gradient norm"]]},
];
// keys no chart of their own is worth: the axes
const AXIS_KEYS = new Set(["iteration", "env_steps", "wall_s"]);

// the curves section; state (x-axis, smoothing, picked metrics) lives in the page's hash
// parameters through onState. Returns {el, rowsSet(rows), fit(), close()}.
export function runCurves(id, params, onState, nameOf) {
    let charts = EXP_CHARTS;
    let xDefault = "env_steps";
    let xKey = X_AXES[params.get("x")] ? params.get("x") : xDefault;
    let smooth = Math.min(0.99, Math.max(0, Number(params.get("smooth")) || 0));
    const picked =
        (params.get("metrics") || "").split(",").filter((k) => /^[\w./-]{1,64}$/.test(k));
    let rows = [];
    const panels = new Map(); // chart id -> {def, keys, panel}
    const grid = h("div", {class: "charts", id: "charts"});

    const stateSave = () => onState({
        x: xKey === xDefault ? "" : xKey,
        smooth: smooth ? String(smooth) : "",
        metrics: picked.join(",")
    });

    const order = (chartId) => {
        const i = charts.findIndex((d) => d.id === chartId);
        return i >= 0 ? i : charts.length + picked.indexOf(chartId.replace(/^metric:/, ""));
    };

    const ensure = (def, keys) => {
        if (panels.has(def.id))
            return;
        const panel = new ChartPanel({
            title: def.title,
            series: keys.map(([, label], i) => ({label, color: PALETTE[i]})),
            xKey,
            fileName: () => `${nameOf()}-${def.id.replace(/^metric:/, "")}`,
            dataset: {chart: def.id, metric: keys[0][0]},
        });
        panel.setSmooth(smooth);
        // keep the order of EXP_CHARTS, then the picked metrics, however late a chart appears
        const after = [...grid.children].find((c) => order(c.dataset.chart) > order(def.id));
        grid.insertBefore(panel.box, after || null);
        panel.build();
        panels.set(def.id, {def, keys, panel});
    };

    const pickedEnsure = (key) =>
        ensure({id: `metric:${key}`, title: key.replace(/_/g, " ")}, [[key, key]]);

    const draw = () => {
        const last = rows[rows.length - 1];
        const tk = taskMetricKeys(last);
        if (charts === EXP_CHARTS && tk.length && !panels.has("task")) {
            const def = EXP_CHARTS.find((d) => d.id === "task");
            const title = tk[0] === "success_rate" ? "Success rate"
                                                   : tk[0].replace(/_mean$/, "").replace(/_/g, " ");
            ensure({...def, title}, tk.map((k) => [k, k]));
        }
        pickerFill();
        const xs = rows.map((r) => r[xKey] ?? null);
        for (const {keys, panel} of panels.values())
            panel.setData(
                xs, keys.map(([k]) => rows.map((r) => (Number.isFinite(r[k]) ? r[k] : null))));
    };

    const build = () => {
        for (const {panel} of panels.values())
            panel.destroy();
        panels.clear();
        grid.replaceChildren();
        for (const def of charts)
            if (def.keys)
                ensure(def, def.keys);
        for (const k of picked)
            pickedEnsure(k);
        draw();
    };

    // the metric picker: every numeric key the rows hold that no chart shows yet
    const picker = metricPicker("exp-metric-add", (k) => {
        if (picked.includes(k))
            return;
        picked.push(k);
        stateSave();
        pickedEnsure(k);
        draw();
    });
    const pickerFill = () => {
        const shown = new Set();
        for (const {keys} of panels.values())
            for (const [k] of keys)
                shown.add(k);
        const keys = new Set();
        for (const r of rows.slice(-50))
            for (const [k, v] of Object.entries(r))
                if (typeof v === "number" && !AXIS_KEYS.has(k) && !shown.has(k))
                    keys.add(k);
        picker.fill([...keys].sort());
    };
    const xControl = xAxisControl("exp-x", xKey, (x) => {
        xKey = x;
        stateSave();
        for (const {panel} of panels.values())
            panel.setXKey(xKey);
        draw();
    });
    const smoothIn = smoothControl("exp", smooth, (w) => {
        smooth = w;
        stateSave();
        for (const {panel} of panels.values())
            panel.setSmooth(smooth);
    });
    const compareLink = h("a", {class: "btn", id: "exp-compare", href: `#/compare?ids=${id}`},
                          "Compare with…");
    const el = h("div", {id: "exp-curves"},
                 h("div", {class: "row", style: "margin-bottom:8px"},
                   h("h2", {style: "margin:0"}, "Learning curves"), h("span", {class: "spacer"}),
                   picker.el, smoothIn, xControl,
                   compareLink),
                 grid);

    return {
        el,
        build,
        // the run's kind, once known: a pretrain job's charts, against the epoch unless the
        // page's hash names another x-axis
        kindSet(kind) {
            const next = kind === "pretrain" ? PRETRAIN_CHARTS : EXP_CHARTS;
            if (next === charts)
                return;
            charts = next;
            xDefault = kind === "pretrain" ? "iteration" : "env_steps";
            if (!X_AXES[params.get("x")]) {
                xKey = xDefault;
                xControl.querySelector("select").value = xKey;
            }
            el.dataset.kind = kind;
            // other pretrainings are compared on the same curves, by epoch
            if (kind === "pretrain")
                compareLink.href = `#/compare?ids=${id}&x=iteration&metrics=${
                    PRETRAIN_CHARTS.flatMap((d) => d.keys.map(([k]) => k)).join(",")}`;
            build();
        },
        rowsSet(next) {
            rows = next;
            draw();
        },
        fit() {
            for (const {panel} of panels.values())
                panel.fit();
        },
        close() {
            for (const {panel} of panels.values())
                panel.destroy();
            panels.clear();
        },
    };
}

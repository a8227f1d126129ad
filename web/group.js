// angora dashboard: the seed-group view (#/group?tag=T or ?name=N): the training runs that share
// a tag or a name, one metric drawn as their mean with a band of +- one standard deviation, and a
// table of the spec settings that differ between them (seed, learning rate, ...) with each run's
// last value.

import {api, stateIsTerminal} from "./api.js";
import {ChartPanel, xAxisControl} from "./chart-panel.js";
import {PALETTE, X_AXES, faint, fmtNum, lastValue} from "./charts.js";
import {groupBand, specFlatten, specsDiffer} from "./group-data.js";
import {banner, errText, h, mount, pool, stateBadge, view} from "./ui.js";

const GROUP_MAX = 50;

export function viewGroup(params) {
    const tag = params.get("tag") || "";
    const name = params.get("name") || "";
    let key = /^[\w./-]{1,64}$/.test(params.get("key") || "") ? params.get("key") : "return_mean";
    let xKey = X_AXES[params.get("x")] ? params.get("x") : "env_steps";
    let closed = false;
    let timer = null;
    let panel = null;
    let runs = []; // [{exp, x, y}]

    const what = tag ? `tag “${tag}”` : `name “${name}”`;
    const msg = h("div");
    const summary = h("p", {class: "muted", id: "group-summary"}, "loading…");
    const chartBox = h("div", {id: "group-chart"});
    const table = h("div", {id: "group-params"});
    const keySel = h("select", {
        id: "group-key",
        onchange: () => {
            key = keySel.value;
            hashSave();
            load(true);
        }
    },
                     h("option", {value: key}, key));
    const xControl = xAxisControl("group-x", xKey, (x) => {
        xKey = x;
        hashSave();
        load(true);
    });

    const hashSave = () => {
        const q = new URLSearchParams(tag ? {tag} : {name});
        q.set("key", key);
        q.set("x", xKey);
        history.replaceState(null, "", `#/group?${q}`);
    };

    const members = async () => {
        const q = new URLSearchParams({limit: "200"});
        if (tag)
            q.set("tag", tag);
        else
            q.set("q", name);
        const res = await api("GET", `/experiments?${q}`);
        return res.items
            .filter((it) => (it.kind || "train") === "train" && (tag || it.name === name))
            .slice(0, GROUP_MAX);
    };

    const chartDraw = (rebuild) => {
        const band = groupBand(runs.map((r) => ({x: r.x, y: r.y})));
        if (rebuild || !panel) {
            if (panel)
                panel.destroy();
            const color = PALETTE[0];
            // series 1 the mean, 2 and 3 the band's edges; the band fills between 3 and 2
            panel = new ChartPanel({
                title: `${key.replace(/_/g, " ")}: mean ± std of ${runs.length} runs`,
                series: [
                    {label: "mean", color},
                    {label: "mean - std", color: faint(color), legend: false},
                    {label: "mean + std", color: faint(color), legend: false}
                ],
                xKey,
                fileName: `group-${tag || name}-${key}`,
                dataset: {metric: key},
                smoothable: false,
                bands: [{series: [3, 2], fill: faint(color, "30")}],
            });
            chartBox.replaceChildren(panel.box);
            panel.build();
        }
        panel.setTitle(`${key.replace(/_/g, " ")}: mean ± std of ${band.n} runs`);
        panel.box.dataset.runs = String(band.n);
        panel.setData(band.x, [band.mean, band.lo, band.hi]);
    };

    const tableDraw = () => {
        table.replaceChildren();
        const specs = runs.map((r) => r.exp.spec || {});
        const keys = specsDiffer(specs).filter((k) => k !== "name" || !name);
        const flat = specs.map((s) => specFlatten(s));
        mount(
            table, h("h2", {}, "Settings that differ"),
            keys.length
                ? null
                : h("p", {class: "muted"}, "Every run has the same spec apart from its name."),
            h("div", {style: "overflow-x:auto"},
              h("table", {class: "grid", id: "group-table"},
                h("thead", {},
                  h("tr", {}, h("th", {}, "Run"), h("th", {}, "State"),
                    keys.map((k) => h("th", {dataset: {key: k}}, k)), h("th", {}, `Last ${key}`))),
                h("tbody", {},
                  runs.map((r, i) => h("tr", {dataset: {id: r.exp.id}},
                                       h("td", {},
                                         h("a", {href: `#/exp/${r.exp.id}`},
                                           `#${r.exp.id} ${r.exp.name || ""}`.trim())),
                                       h("td", {}, stateBadge(r.exp.state)),
                                       keys.map((k) => h("td", {dataset: {key: k}},
                                                         k in flat[i] ? flat[i][k] : "–")),
                                       h("td", {class: "num last"}, fmtNum(lastValue(r.y)))))))));
    };

    const load = async (rebuild) => {
        clearTimeout(timer);
        try {
            const items = await members();
            const next = [];
            await pool(items, 4, async (it) => {
                const [exp, s] = await Promise.all([
                    api("GET", `/experiments/${it.id}`),
                    api("GET", `/experiments/${it.id}/metrics/series?key=${
                                   encodeURIComponent(key)}&x=${xKey}&points=1000`)
                        .catch((e) => {
                            if (e.status === 401)
                                throw e;
                            return {x: [], last: []};
                        }),
                ]);
                next.push({exp, x: s.x, y: s.last});
            });
            if (closed)
                return;
            runs = next.sort((a, b) => a.exp.id - b.exp.id);
            if (runs.length && keySel.options.length <= 1) {
                const keys = await api("GET", `/experiments/${runs[0].exp.id}/metrics/keys`);
                const list = (keys.keys || keys)
                                 .filter((k) => !["iteration", "env_steps", "wall_s"].includes(k));
                keySel.replaceChildren(...list.map((k) => h("option", {value: k}, k)));
                if (!list.includes(key))
                    keySel.append(h("option", {value: key}, key));
                keySel.value = key;
            }
            summary.textContent =
                runs.length
                    ? `${runs.length} training run${runs.length > 1 ? "s" : ""} with ${what}${
                          runs.length === GROUP_MAX ? ` (the first ${GROUP_MAX})` : ""}.`
                                                    : `No training run has ${what}.`;
            msg.replaceChildren();
            chartDraw(rebuild);
            tableDraw();
        } catch (e) {
            if (closed || e.status === 401)
                return;
            msg.replaceChildren(banner("error", `Could not load the group: ${errText(e)}`));
        }
        if (!closed && runs.some((r) => !stateIsTerminal(r.exp.state)))
            timer = setTimeout(() => load(false), 5000);
    };

    const inline = "flex-direction:row;align-items:center;gap:6px";
    mount(view, h("div", {class: "head"}, h("h1", {}, `Seed group: ${what}`)), msg,
          h("div", {class: "panel"}, summary,
            h("div", {class: "row"}, h("label", {style: inline}, "metric", keySel), xControl)),
          chartBox, h("div", {class: "panel", style: "margin-top:14px"}, table));
    const onResize = () => panel && panel.fit();
    window.addEventListener("resize", onResize);
    if (!tag && !name)
        summary.textContent = "Open a group from a tag (#/group?tag=T) or a name (#/group?name=N).";
    else
        load(true);
    return () => {
        closed = true;
        clearTimeout(timer);
        window.removeEventListener("resize", onResize);
        if (panel)
            panel.destroy();
    };
}

// angora dashboard: two analyses side by side (#/analyses?a=ID&b=ID), e.g. two checkpoints of
// one run, or an LSTM run against a feed-forward one: for each its facts, R^2 heatmap and PCA
// spectra, then the difference of R^2 (B - A) on the layers and variables both have. Any two
// finished analysis jobs can be compared; the ids are in the address, so a comparison can be
// bookmarked.

import {api} from "./api.js";
import {diffColour, fmtR2, gridDiff, r2Grid} from "./analysis-data.js";
import {heatmap, r2Heatmap, r2Legend, spectraChart} from "./analysis.js";
import {go} from "./router.js";
import {banner, errText, h, mount, view} from "./ui.js";

// one analysis with its job and the run it analyses (names for the headings)
async function analysisLoad(id) {
    const [doc, job] = await Promise.all(
        [api("GET", `/experiments/${id}/analysis`), api("GET", `/experiments/${id}`)]);
    let run = null;
    if (job.parent_id) {
        try {
            run = await api("GET", `/experiments/${job.parent_id}`);
        } catch {
            run = null;
        }
    }
    return {id, doc, job, run};
}

function runText(a) {
    const model = a.run && a.run.spec && a.run.spec.model;
    const name = a.run ? a.run.name || `experiment ${a.run.id}` : "a deleted run";
    const modelText = typeof model === "string" ? model : model && model.name ? model.name : "";
    return `${name}${modelText ? ` (${modelText})` : ""}, ${(a.job.spec || {}).checkpoint || "?"}`;
}

export function viewAnalysisCompare(params) {
    let closed = false;
    const plots = [];
    const aIn = h("input", {id: "cmp-a", type: "number", min: 1, value: params.get("a") || ""});
    const bIn = h("input", {id: "cmp-b", type: "number", min: 1, value: params.get("b") || ""});
    const body = h("div", {id: "cmp-body"});
    mount(view,
          h("div", {class: "head"}, h("h1", {}, "Compare analyses"),
            h("span", {class: "muted"}, "two finished analysis jobs, by id")),
          h("form", {
              class: "row panel",
              onsubmit: (ev) => {
                  ev.preventDefault();
                  go(`#/analyses?a=${aIn.value}&b=${bIn.value}`);
              },
          },
            h("label", {}, "Analysis A", aIn), h("label", {}, "Analysis B", bIn),
            h("button", {type: "submit", class: "primary", id: "cmp-show"}, "Compare")),
          body);

    const a = Number(params.get("a"));
    const b = Number(params.get("b"));
    if (!(a > 0 && b > 0)) {
        body.append(h("p", {class: "muted"},
                      "Give two analysis job ids (a job's page and its " +
                          "run's Analysis tab show them)."));
        return () => {};
    }
    body.append(h("p", {class: "muted"}, "loading…"));
    Promise.all([analysisLoad(a), analysisLoad(b)])
        .then(([A, B]) => {
            if (closed)
                return;
            const side = (x, label) => {
                const sp = spectraChart(x.doc, `PCA spectra of ${label}`);
                if (sp.plot)
                    plots.push(sp.plot);
                return h(
                    "div", {class: "panel cmp-side", id: `cmp-side-${label.toLowerCase()}`},
                    h("h2", {}, `${label}: analysis `, h("a", {href: `#/exp/${x.id}`}, `#${x.id}`)),
                    h("p", {class: "muted"}, runText(x),
                      ` · ${x.doc.analysed.episodes} ` +
                          `episodes, ${x.doc.analysed.steps} steps`),
                    r2Heatmap(x.doc, `r2-heatmap-${label.toLowerCase()}`), sp.el);
            };
            const d = gridDiff(r2Grid(A.doc), r2Grid(B.doc));
            const diff =
                d.layers.length && d.variables.length
                    ? heatmap({
                          id: "diff-heatmap",
                          rows: d.layers,
                          cols: d.variables,
                          hoverText: "Point at a cell for both values.",
                          cell: (i, j) => {
                              const c = d.cells[i][j];
                              return {
                                  text: c.diff === null
                                            ? "–"
                                            : `${c.diff > 0 ? "+" : ""}${c.diff.toFixed(2)}`,
                                  colour: diffColour(c.diff),
                                  title: `${d.layers[i]} × ${d.variables[j]}: A ${fmtR2(c.a)}, B ${
                                      fmtR2(c.b)}, B − A ${fmtR2(c.diff)}`,
                                  data: {diff: c.diff === null ? "" : String(c.diff)},
                              };
                          },
                      })
                    : h("p", {class: "muted", id: "diff-none"},
                        "The two analyses have no layer and variable in common (a " +
                            "different model or task): compare them side by side above.");
            body.replaceChildren();
            mount(body, h("div", {class: "cols"}, side(A, "A"), side(B, "B")),
                  h("div", {class: "panel"}, h("h2", {}, "R² of B minus A"), diff,
                    d.layers.length ? r2Legend("B − A") : null));
        })
        .catch((e) => {
            if (!closed && e.status !== 401)
                body.replaceChildren(banner("error", `Cannot compare: ${errText(e)}`));
        });
    return () => {
        closed = true;
        for (const p of plots)
            p.destroy();
    };
}

// angora dashboard: the entry module (index.html loads it). It wires the session (a refused
// token leads to sign-in, the sign-out button), the live-updates indicator, and the views to
// the hash router. Every view has its own module:
//   router.js       the hash router, go() and the one-time message for the next view
//   ui.js           the view element, DOM helpers, formats, the task catalogue
//   signin.js       sign-in with a token
//   experiments.js  the experiments table
//   experiment.js   one experiment
//   compare.js      several experiments on shared charts
//   group.js        runs sharing a tag or a name: mean +- std and the settings that differ
//   analysis-compare.js  two analyses side by side
//   submit.js       the spec editor
// api.js (REST and live rows), charts.js (uPlot), chart-panel.js (a chart with its buttons),
// run-curves.js (the run page's charts), progress.js (rates and ETA), annotations.js (tags and
// notes), json-exact.js (64-bit integers), group-data.js (bands), jsonpath.js (spec lines),
// analysis.js (the Analysis tab and an analysis's result) and analysis-data.js (what those compute)
// serve them.

import {viewAnalysisCompare} from "./analysis-compare.js";
import {connListen, infoForget, onUnauthorized, tokenClear} from "./api.js";
import {viewCompare} from "./compare.js";
import {viewExperiment} from "./experiment.js";
import {viewExperiments} from "./experiments.js";
import {viewGroup} from "./group.js";
import {go, routerStart} from "./router.js";
import {viewSignin} from "./signin.js";
import {viewSubmit} from "./submit.js";

onUnauthorized(() => {
    tokenClear();
    infoForget();
    const next = location.hash.startsWith("#/signin") ? "#/experiments" : location.hash;
    go(`#/signin?${
        new URLSearchParams(
            {next, reason: "The server no longer accepts your token (401). Sign in again."})}`);
});

const conn = document.getElementById("conn");
connListen((mode) => {
    conn.className = `conn ${mode}`;
    conn.textContent = mode === "live"         ? "live"
                       : mode === "poll"       ? "polling"
                       : mode === "connecting" ? "reconnecting…"
                                               : "";
    conn.dataset.mode = mode;
});

document.getElementById("signout").addEventListener("click", () => {
    tokenClear();
    infoForget();
    go("#/signin");
});

routerStart({
    signin: viewSignin,
    experiments: viewExperiments,
    experiment: viewExperiment,
    compare: viewCompare,
    group: viewGroup,
    analyses: viewAnalysisCompare,
    submit: viewSubmit,
});

// angora dashboard: the page of one experiment: its facts (progress, steps/s, ETA, duration), live
// learning curves (run-curves.js; websocket rows or polling), log with the trainer's progress,
// tags and notes (annotations.js), checkpoints, events and spec; pause, resume, cancel and
// evaluate; for an evaluation job its result and recording, for a training run its evaluation
// jobs and, in its Analysis tab (analysis.js), its analyses; for an analysis job its result; for a
// pretrain job its curve by epoch and the path of its encoder.

import {analysisJobView, analysisTab} from "./analysis.js";
import {annotationsPanel} from "./annotations.js";
import {api, RowFeed, stateIsTerminal} from "./api.js";
import {fmtNum, fmtSteps} from "./charts.js";
import {etaSeconds, rowsRate, runSeconds} from "./progress.js";
import {runCurves} from "./run-curves.js";
import {executorFacts} from "./executor.js";
import {flashSet, flashTake, go} from "./router.js";
import {
    banner,
    confirmButton,
    downloadFile,
    errText,
    fmtDuration,
    fmtTime,
    h,
    mount,
    pool,
    progressBar,
    stateBadge,
    taskMetricText,
    view
} from "./ui.js";

function progressOf(spec, row) {
    const budget = spec && spec.budget ? spec.budget.env_steps : null;
    if (!budget)
        return null;
    const done = row ? row.env_steps || 0 : 0;
    return {frac: Math.min(1, done / budget), done, budget};
}

export function viewExperiment(id, params = new URLSearchParams()) {
    let exp = null;
    let rows = []; // metric rows in iteration order
    let closed = false;
    let drawTimer = null;
    let logTimer = null;
    let feed = null;
    // the page's hash keeps the tab and the curves' settings (x-axis, smoothing, metrics)
    const hashState = {
        tab: params.get("tab") || "",
        x: params.get("x") || "",
        smooth: params.get("smooth") || "",
        metrics: params.get("metrics") || ""
    };
    const hashSave = (patch) => {
        Object.assign(hashState, patch);
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(hashState))
            if (v)
                q.set(k, v);
        const qs = q.toString();
        history.replaceState(null, "", `#/exp/${id}${qs ? `?${qs}` : ""}`);
    };
    const annotations = annotationsPanel(id, (e) => {
        exp = e;
        factsRender();
    });
    const curves = runCurves(id, params, hashSave, () => (exp && exp.name) || `experiment-${id}`);

    const title = h("h1", {id: "exp-title"}, `Experiment ${id}`);
    const badge = stateBadge("…", "exp-state");
    const msg = h("div", {id: "exp-message"});
    const facts = h("div", {class: "facts", id: "exp-facts"});
    const specPre = h("pre", {class: "box", id: "exp-spec"}, "loading…");
    const logPre = h("pre", {class: "box", id: "exp-log"}, "loading…");
    const ckptList = h("ul", {class: "plain", id: "exp-checkpoints"});
    const eventList = h("ul", {class: "plain", id: "exp-events"});
    const evalBox = h("div", {id: "exp-evaluation", hidden: true});
    const logSel = h("select", {id: "log-file", onchange: () => logLoad()},
                     h("option", {value: "train"}, "train.log"),
                     h("option", {value: "worker"}, "process output"));

    const act = async (what, body) => {
        msg.replaceChildren();
        try {
            const res = await api("POST", `/experiments/${id}/${what}`, body);
            if (what === "evaluate") {
                flashSet(`Evaluation queued as experiment ${res.id}.`);
                go(`#/exp/${res.id}`);
                return;
            }
            msg.replaceChildren(banner(
                "ok", what === "cancel"  ? "Cancel requested."
                      : what === "pause" ? "Pause requested: the run checkpoints and stops."
                                         : "Resumed: queued to continue from its checkpoint."));
            expLoad();
        } catch (e) {
            if (e.status !== 401)
                msg.replaceChildren(banner("error", `${what} failed: ${errText(e)}`));
        }
    };
    const pauseBtn = h("button", {id: "btn-pause", onclick: () => act("pause")}, "Pause");
    const resumeBtn = h("button", {id: "btn-resume", onclick: () => act("resume")}, "Resume");
    const cancelBtn =
        confirmButton("Cancel run", "Click again to cancel", "danger", () => act("cancel"));
    cancelBtn.id = "btn-cancel";
    // the Evaluate dialog: episodes, checkpoint, deterministic actions, a recorded episode
    const evalEpisodes = h("input", {id: "eval-episodes", type: "number", min: 1, value: "10"});
    const evalCkpt =
        h("select", {id: "eval-checkpoint"}, h("option", {value: "last.ckpt"}, "last.ckpt"));
    const evalDet = h("input", {id: "eval-deterministic", type: "checkbox", checked: true});
    const evalRec = h("input", {id: "eval-record", type: "checkbox"});
    const evalErr = h("div", {id: "eval-error"});
    const evalDialog = h(
        "dialog", {id: "eval-dialog", class: "panel"}, h("h2", {}, "Evaluate"),
        h("form", {
            method: "dialog",
            class: "stack",
            novalidate: true, // the server's message names what is wrong
            onsubmit: async (ev) => {
                ev.preventDefault();
                evalErr.replaceChildren();
                for (const el of [evalEpisodes, evalCkpt, evalRec])
                    el.classList.remove("invalid");
                const body = {
                    episodes: Number(evalEpisodes.value),
                    checkpoint: evalCkpt.value,
                    deterministic: evalDet.checked,
                    record: evalRec.checked,
                };
                try {
                    const res = await api("POST", `/experiments/${id}/evaluate`, body);
                    evalDialog.close();
                    flashSet(`Evaluation queued as experiment ${res.id}.`);
                    go(`#/exp/${res.id}`);
                } catch (e) {
                    if (e.status === 401)
                        return;
                    evalErr.replaceChildren(banner("error", errText(e)));
                    // a checkpoint the run lacks, a recording of a task that draws nothing
                    const el = {episodes: evalEpisodes,
                                checkpoint: evalCkpt,
                                record: evalRec}[String(e.field || "").replace(/^\$\./, "")];
                    if (el)
                        el.classList.add("invalid");
                }
            },
        },
          h("label", {}, "Episodes", evalEpisodes), h("label", {}, "Checkpoint", evalCkpt),
          h("label", {class: "check"}, evalDet, " deterministic actions (the mean of the policy)"),
          h("label", {class: "check"}, evalRec,
            " record one episode (video and trajectory; MuJoCo tasks)"),
          evalErr,
          h("div", {class: "row"}, h("span", {class: "spacer"}),
            h("button", {type: "button", id: "eval-cancel", onclick: () => evalDialog.close()},
              "Close"),
            h("button", {type: "submit", class: "primary", id: "eval-submit"},
              "Queue evaluation"))));
    const evalBtn = h("button", {
        id: "btn-evaluate",
        title: "evaluate a checkpoint of this run",
        onclick: async () => {
            evalErr.replaceChildren();
            evalDialog.showModal();
            try {
                const res = await api("GET", `/experiments/${id}/checkpoints`);
                const names = res.items.map((c) => c.name);
                if (names.length) {
                    const cur = evalCkpt.value;
                    evalCkpt.replaceChildren(...names.map((n) => h("option", {value: n}, n)));
                    evalCkpt.value = names.includes(cur)           ? cur
                                     : names.includes("last.ckpt") ? "last.ckpt"
                                                                   : names[0];
                }
            } catch {
                // the default last.ckpt stays; the server checks it
            }
        },
    },
                      "Evaluate…");
    const objectUrls = []; // video and trajectory blobs, released when the page closes
    const blobUrl = async (path) => {
        const url = URL.createObjectURL(await api("GET", path, undefined, {blob: true}));
        objectUrls.push(url);
        return url;
    };
    const evalsBox = h("div", {class: "panel", id: "exp-evals", hidden: true});
    let evalsTimer = null;
    // a training run's tabs: everything above, or its analyses (made when first shown)
    const overviewBox = h("div", {id: "exp-overview"});
    const analysisBox = h("div", {id: "exp-analysis", hidden: true});
    const jobBox = h("div", {class: "panel", id: "exp-analysis-job", hidden: true});
    let analysisClose = null;
    let jobView = null;
    let jobTimer = null;
    const tabButton = (tab, label) => h("button", {
        class: "tab",
        id: `tab-${tab}`,
        role: "tab",
        onclick: () => tabShow(tab),
    },
                                        label);
    const tabsBar = h("div", {class: "tabs", id: "exp-tabs", role: "tablist", hidden: true},
                      tabButton("overview", "Overview"), tabButton("analysis", "Analysis"));
    const tabShow = (tab) => {
        const analysis = tab === "analysis";
        overviewBox.hidden = analysis;
        analysisBox.hidden = !analysis;
        for (const b of tabsBar.children)
            b.setAttribute("aria-selected", String(b.id === `tab-${tab}`));
        hashSave({tab: analysis ? "analysis" : ""});
        if (analysis && !analysisClose)
            analysisClose = analysisTab(id, analysisBox, {job: params.get("job")});
        if (!analysis)
            onResize();
    };
    // an analysis job's page follows its phases until it ends
    const jobLoad = async () => {
        clearTimeout(jobTimer);
        if (!exp || exp.kind !== "analysis" || closed)
            return;
        curves.el.hidden = true;
        if (!jobView)
            jobView = analysisJobView(id, exp, jobBox);
        else
            jobView.update(exp);
        if (!stateIsTerminal(exp.state))
            jobTimer = setTimeout(async () => {
                if (await expLoad())
                    jobLoad();
            }, 2000);
    };

    const buttonsSet = (state) => {
        pauseBtn.disabled = !(state === "queued" || state === "running");
        resumeBtn.disabled = state !== "paused";
        cancelBtn.disabled = !(state === "queued" || state === "running" || state === "paused");
        evalBtn.disabled = !exp || exp.kind !== "train" || !exp.last_seq;
    };

    const factsRender = () => {
        if (!exp)
            return;
        const last = rows.length ? rows[rows.length - 1] : null;
        const p = progressOf(exp.spec, last);
        const live = !stateIsTerminal(exp.state);
        // while it runs: the last minute's pace; once it ended: the pace of its last stretch
        const rate = rowsRate(rows, live ? 60 : Infinity);
        const eta = p && exp.state === "running" ? etaSeconds(p.done, p.budget, rate) : null;
        const etaText = eta !== null                ? fmtDuration(eta)
                        : exp.state === "succeeded" ? "done"
                        : exp.state === "paused"    ? "paused"
                                                    : "–";
        const f = (label, value, fid) =>
            h("div", {}, h("b", {}, label), h("span", {id: fid}, value));
        facts.replaceChildren();
        mount(
            facts,
            f("Task", exp.task),
            f("Preset", (exp.spec && exp.spec.preset) || "–"),
            f("Progress", progressBar(p), "fact-progress"),
            f("Iteration", last ? String(last.iteration) : "–", "fact-iteration"),
            f("Environment steps",
              last ? `${fmtSteps(last.env_steps)}${p ? ` of ${fmtSteps(p.budget)}` : ""}` : "–",
              "fact-steps"),
            f("Latest return", last ? fmtNum(last.return_mean) : "–", "fact-return"),
            f("Task metric", taskMetricText(last)),
            f("Steps/s", rate ? fmtNum(rate) : "–", "fact-sps"),
            f("ETA", etaText, "fact-eta"),
            f("Submitted", fmtTime(exp.submitted_at)),
            f("Started", fmtTime(exp.started_at)),
            f("Finished", fmtTime(exp.finished_at)),
            f("Duration", fmtDuration(runSeconds(exp, Date.now() / 1000, !live)), "fact-duration"),
            f("Ranks / attempts", `${exp.ranks} / ${exp.attempts}`),
            ...executorFacts(exp).map(([label, text, fid]) => f(label, text, fid)),
            // a tag or the name leads to the seed group of the runs that share it
            f("Tags",
              (exp.tags || []).length
                  ? exp.tags.map((t) => h("a", {
                                     class: "tag",
                                     href: `#/group?tag=${encodeURIComponent(t)}`,
                                     title: "the runs with this tag, as a seed group"
                                 },
                                          t))
                  : "–",
              "fact-tags"),
            exp.name && exp.kind === "train"
                ? f("Seed group",
                    h("a", {href: `#/group?name=${encodeURIComponent(exp.name)}`, id: "fact-group"},
                      "runs with this name"))
                : null,
            exp.parent_id ? f(exp.kind === "evaluate"   ? "Evaluates"
                              : exp.kind === "analysis" ? "Analyses"
                                                        : "Parent",
                              h("a", {href: `#/exp/${exp.parent_id}`, id: "fact-parent"},
                                `experiment ${exp.parent_id}`))
                          : null,
            exp.kind === "analysis" ? f("Phase", exp.phase || "–", "fact-phase") : null,
            // where a pretrain job's encoder is, to name as model.encoder.checkpoint
            exp.encoder_checkpoint
                ? f("Encoder", h("code", {id: "fact-encoder"}, exp.encoder_checkpoint))
                : null,
            exp.error ? f("Error", h("span", {class: "error"}, exp.error)) : null,
        );
    };

    // the facts are redrawn with the charts so the two never disagree
    const chartsDraw = () => {
        drawTimer = null;
        factsRender();
        curves.rowsSet(rows);
        logProgressRender();
    };

    const drawSoon = () => {
        if (!drawTimer)
            drawTimer = setTimeout(chartsDraw, 200);
    };

    const rowAdd = (row) => {
        // a resumed run rewrites history from its checkpoint: a repeated iteration replaces the
        // tail
        while (rows.length && rows[rows.length - 1].iteration >= row.iteration)
            rows.pop();
        rows.push(row);
        drawSoon();
    };

    const expLoad = async () => {
        try {
            exp = await api("GET", `/experiments/${id}`);
        } catch (e) {
            if (e.status !== 401 && !closed)
                view.replaceChildren(
                    banner("error", e.status === 404
                                        ? `There is no experiment ${id}.`
                                        : `Could not load experiment ${id}: ${errText(e)}`),
                    h("a", {href: "#/experiments"}, "← Experiments"));
            return false;
        }
        if (closed)
            return false;
        title.textContent = exp.name || `Experiment ${id}`;
        badge.textContent = exp.state;
        badge.className = `state ${exp.state}`;
        buttonsSet(exp.state);
        factsRender();
        annotations.update(exp);
        specPre.textContent = JSON.stringify(exp.spec, null, 2);
        return true;
    };

    const ckptLoad = async () => {
        try {
            const res = await api("GET", `/experiments/${id}/checkpoints`);
            if (closed)
                return;
            ckptList.replaceChildren(
                ...(res.items.length
                        ? res.items.map(
                              (c) => h(
                                  "li",
                                  {},
                                  h("button", {
                                      class: "download",
                                      dataset: {name: c.name},
                                      onclick: async () => {
                                          try {
                                              await downloadFile(
                                                  `/experiments/${id}/checkpoints/${
                                                      encodeURIComponent(c.name)}`,
                                                  `${exp ? exp.name || id : id}-${c.name}`);
                                          } catch (e) {
                                              if (e.status !== 401)
                                                  msg.replaceChildren(banner(
                                                      "error", `Download failed: ${errText(e)}`));
                                          }
                                      },
                                  },
                                    "Download"),
                                  ` ${c.name} `,
                                  h("span", {class: "muted"},
                                    `${(c.size / 1024).toFixed(1)} KiB · ${fmtTime(c.modified)}`),
                                  ),
                              )
                        : [h("li", {class: "muted"}, "No checkpoints yet.")]),
            );
        } catch (e) {
            if (!closed && e.status !== 401)
                ckptList.replaceChildren(h("li", {class: "error"}, errText(e)));
        }
    };

    const eventsLoad = async () => {
        try {
            const res = await api("GET", `/experiments/${id}/events`);
            if (closed)
                return;
            eventList.replaceChildren(...res.items.map(
                (ev) => h("li", {}, h("span", {class: "muted"}, fmtTime(ev.at)), ` ${ev.kind} `,
                          h("span", {class: "muted"}, ev.detail || ""))));
        } catch {
            // events are secondary; the rest of the page still works
        }
    };

    // the Log panel: the log file, and under train.log of a training run the trainer's progress
    // as its metric rows tell it (train.log itself has a line at the start and one at the end)
    let logText = "loading…";
    const progressText = () => {
        if (logSel.value !== "train" || !exp || exp.kind !== "train" || !rows.length)
            return "";
        const budget = exp.spec && exp.spec.budget ? exp.spec.budget.env_steps : null;
        const lines = rows.slice(-200).map((r) => {
            const parts = [
                `iteration ${r.iteration}`,
                `${fmtSteps(r.env_steps)}${budget ? ` of ${fmtSteps(budget)}` : ""} steps`,
                `return ${fmtNum(r.return_mean)}`
            ];
            const tm = taskMetricText(r);
            if (tm !== "–")
                parts.push(tm);
            if (Number.isFinite(r.eval_return))
                parts.push(`evaluation ${fmtNum(r.eval_return)}`);
            if (Number.isFinite(r.sps))
                parts.push(`${fmtNum(r.sps)} steps/s`);
            return parts.join(" · ");
        });
        return `\n── progress (from the metric rows${
            rows.length > 200 ? ", the last 200" : ""}) ──\n${lines.join("\n")}`;
    };
    const logShow = () => {
        const atEnd = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 20;
        logPre.textContent = logText + progressText();
        if (atEnd)
            logPre.scrollTop = logPre.scrollHeight;
    };
    const logProgressRender = () => {
        if (logSel.value === "train")
            logShow();
    };

    const logLoad = async () => {
        try {
            const text = await api("GET", `/experiments/${id}/log?file=${logSel.value}&tail=32768`,
                                   undefined, {text: true});
            if (closed)
                return;
            logText = text || "(empty)";
        } catch (e) {
            if (closed || e.status === 401)
                return;
            logText = e.status === 404 ? "(no log yet)" : errText(e);
        }
        logShow();
    };

    const logLoop = async () => {
        await logLoad();
        if (!closed && exp && !stateIsTerminal(exp.state))
            logTimer = setTimeout(logLoop, 4000);
    };

    const ciText = (res) => Array.isArray(res.ci95) && res.ci95[0] !== null
                                ? `[${fmtNum(res.ci95[0])}, ${fmtNum(res.ci95[1])}]`
                                : "–";

    // a task's metrics (success, consecutive goals): mean, std and 95% interval over the episodes
    const metricsRender = (res) => {
        const names = Object.keys(res.metrics || {});
        if (!names.length)
            return null;
        const ci = (k) => {
            const c = (res.metrics_ci95 || {})[k];
            return Array.isArray(c) && c[0] !== null ? `[${fmtNum(c[0])}, ${fmtNum(c[1])}]` : "–";
        };
        const std = (k) => {
            const v = (res.metrics_std || {})[k];
            return typeof v === "number" ? fmtNum(v) : "–";
        };
        return h("table", {id: "eval-metrics", style: "margin-top:10px"},
                 h("thead", {},
                   h("tr", {}, h("th", {}, "task metric"), h("th", {}, "mean"), h("th", {}, "std"),
                     h("th", {}, "95% CI"))),
                 h("tbody", {}, names.map((k) => h("tr", {"data-metric": k},
                                                    h("td", {}, k.replace(/_/g, " ")),
                                                    h("td", {class: "metric-mean"},
                                                      fmtNum(res.metrics[k])),
                                                    h("td", {}, std(k)),
                                                    h("td", {class: "metric-ci"}, ci(k))))));
    };

    // the recorded episode of an evaluation job: the video needs the bearer token, so it is
    // fetched as a blob and shown from an object URL
    const recordingRender = (res) => {
        if (!res.recording)
            return null;
        const box = h("div", {id: "eval-recording", style: "margin-top:10px"});
        const video = h("video", {
            id: "eval-video",
            controls: true,
            muted: true,
            playsinline: true,
            preload: "auto",
            style: "max-width:100%;background:#000"
        });
        const trajLink =
            h("a", {id: "eval-trajectory", class: "btn", href: "#", "aria-disabled": "true"},
              "Download trajectory");
        trajLink.addEventListener("click", async (ev) => {
            if (trajLink.dataset.ready)
                return;
            ev.preventDefault();
        });
        mount(box, res.recording.video ? video : h("p", {class: "muted"}, "No video was recorded."),
              h("div", {class: "row", style: "margin-top:6px"},
                res.recording.trajectory ? trajLink : null,
                h("span", {class: "muted"},
                  `return ${fmtNum(res.recording.return)} · ${res.recording.length} steps`)));
        if (res.recording.video)
            blobUrl(`/experiments/${id}/evaluation/video`)
                .then((url) => {
                    if (!closed)
                        video.src = url;
                })
                .catch((e) => {
                    if (!closed && e.status !== 401)
                        video.replaceWith(h("p", {class: "error"}, `Video: ${errText(e)}`));
                });
        if (res.recording.trajectory)
            blobUrl(`/experiments/${id}/evaluation/trajectory`)
                .then((url) => {
                    trajLink.href = url;
                    trajLink.download = `${exp ? exp.name || id : id}-trajectory.json`;
                    trajLink.dataset.ready = "1";
                    trajLink.removeAttribute("aria-disabled");
                })
                .catch(() => {});
        return box;
    };

    const evalLoad = async () => {
        if (!exp || exp.kind !== "evaluate")
            return;
        evalBox.hidden = false;
        // an evaluation job writes no training rows: its result replaces the curves
        curves.el.hidden = true;
        if (evalBox.dataset.done)
            return;
        try {
            const res = await api("GET", `/experiments/${id}/evaluation`);
            if (closed)
                return;
            const simple =
                Object.entries(res).filter(([, v]) => typeof v !== "object" || v === null);
            evalBox.dataset.done = "1";
            evalBox.replaceChildren(
                h("h2", {}, "Evaluation"),
                h("div", {class: "facts", id: "eval-facts"},
                  simple.map(([k, v]) =>
                                 h("div", {}, h("b", {}, k.replace(/_/g, " ")),
                                   typeof v === "number" && k !== "seed" ? fmtNum(v) : String(v))),
                  h("div", {}, h("b", {}, "95% CI"), h("span", {id: "eval-ci"}, ciText(res)))),
                metricsRender(res),
                recordingRender(res),
                h("details", {style: "margin-top:10px"}, h("summary", {}, "Result JSON"),
                  h("pre", {class: "box"}, JSON.stringify(res, null, 2))));
        } catch (e) {
            evalBox.replaceChildren(h("h2", {}, "Evaluation"),
                                    h("p", {class: "muted"},
                                      e.status === 404 || e.status === 409
                                          ? "No result yet: it appears when the evaluation has run."
                                          : errText(e)));
        }
    };

    // the evaluation jobs of a training run, with their results
    const evalResults = new Map(); // job id -> result of a finished job
    const evalsLoad = async () => {
        clearTimeout(evalsTimer);
        if (!exp || exp.kind !== "train" || closed)
            return;
        let jobs;
        try {
            // the run's jobs of every kind: its analyses have their own tab
            jobs = (await api("GET", `/experiments?parent=${id}&limit=50`))
                       .items.filter((j) => j.kind === "evaluate");
        } catch (e) {
            if (!closed && e.status !== 401) {
                evalsBox.hidden = false;
                evalsBox.replaceChildren(h("h2", {}, "Evaluations"),
                                         h("p", {class: "error"}, errText(e)));
            }
            return;
        }
        if (closed)
            return;
        await pool(
            jobs.filter((j) => j.state === "succeeded" && !evalResults.has(j.id)), 4, async (j) => {
                try {
                    evalResults.set(j.id, await api("GET", `/experiments/${j.id}/evaluation`));
                } catch {
                    // shown without numbers
                }
            });
        if (closed)
            return;
        evalsBox.hidden = jobs.length === 0;
        const cell = (j, f) => (evalResults.has(j.id) ? f(evalResults.get(j.id)) : "–");
        evalsBox.replaceChildren(
            h("h2", {}, "Evaluations"),
            h("table", {class: "grid", id: "evals-table"},
              h("thead", {},
                h("tr", {},
                  ["Job", "State", "Checkpoint", "Episodes", "Mean", "Std", "95% CI", "Recording"]
                      .map((l) => h("th", {}, l)))),
              h("tbody", {},
                jobs.map((j) => h(
                             "tr",
                             {dataset: {id: j.id, state: j.state}},
                             h("td", {}, h("a", {href: `#/exp/${j.id}`}, `#${j.id}`)),
                             h("td", {}, stateBadge(j.state)),
                             h("td", {}, cell(j, (r) => (r.checkpoint || "–").split("/").pop())),
                             h("td", {class: "num"}, cell(j, (r) => String(r.episodes))),
                             h("td", {class: "num eval-mean"}, cell(j, (r) => fmtNum(r.mean))),
                             h("td", {class: "num"}, cell(j, (r) => fmtNum(r.std))),
                             h("td", {}, cell(j, ciText)),
                             h("td", {},
                               cell(j, (r) => (r.recording && r.recording.video
                                                   ? h("a", {href: `#/exp/${j.id}`}, "video")
                                                   : "–"))),
                             )))));
        if (jobs.some((j) => !stateIsTerminal(j.state)))
            evalsTimer = setTimeout(evalsLoad, 3000);
    };

    const note = flashTake();
    mount(
        view,
        h("div", {class: "head"}, h("a", {href: "#/experiments"}, "← Experiments"), title, badge,
          h("span", {class: "muted"}, `#${id}`), h("span", {class: "spacer"}), evalBtn, pauseBtn,
          resumeBtn, cancelBtn),
        note ? banner("ok", note) : null,
        msg,
        h("div", {class: "panel"}, facts),
        tabsBar,
        overviewBox,
        analysisBox,
        evalDialog,
    );
    mount(overviewBox, evalBox, jobBox, curves.el, evalsBox,
          h("div", {class: "cols", style: "margin-top:16px"},
            h("div", {class: "panel"},
              h("div", {class: "row", style: "margin-bottom:8px"},
                h("h2", {style: "margin:0"}, "Log"), h("span", {class: "spacer"}), logSel),
              logPre),
            h("div", {}, annotations.el,
              h("div", {class: "panel"}, h("h2", {}, "Checkpoints"), ckptList),
              h("div", {class: "panel"}, h("h2", {}, "Events"), eventList))),
          h("div", {class: "panel"}, h("h2", {}, "Spec"), specPre));
    curves.build();
    const onResize = () => curves.fit();
    window.addEventListener("resize", onResize);

    expLoad().then((ok) => {
        if (!ok)
            return;
        curves.kindSet(exp.kind);
        // a pretraining writes no train.log: its process output is its log
        if (exp.kind === "pretrain")
            logSel.value = "worker";
        if (exp.kind === "train") {
            tabsBar.hidden = false;
            tabShow(params.get("tab") === "analysis" ? "analysis" : "overview");
        }
        ckptLoad();
        eventsLoad();
        evalLoad();
        evalsLoad();
        jobLoad();
        logLoop();
        feed = new RowFeed(id, {
            onRow: rowAdd,
            onReset: () => {
                rows = [];
                drawSoon();
            },
            onState: async (state) => {
                if (exp && state === exp.state)
                    return;
                await expLoad();
                if (closed)
                    return;
                ckptLoad();
                eventsLoad();
                evalLoad();
                evalsLoad();
                jobLoad();
                clearTimeout(logTimer);
                logLoop();
            },
        });
        feed.start();
    });

    return () => {
        closed = true;
        if (feed)
            feed.close();
        clearTimeout(drawTimer);
        clearTimeout(logTimer);
        clearTimeout(evalsTimer);
        clearTimeout(jobTimer);
        if (analysisClose)
            analysisClose();
        if (jobView)
            jobView.close();
        for (const url of objectUrls)
            URL.revokeObjectURL(url);
        if (evalDialog.open)
            evalDialog.close();
        window.removeEventListener("resize", onResize);
        curves.close();
    };
}

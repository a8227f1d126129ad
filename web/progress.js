// angora dashboard: how far a run is and how long it has to go, from what the API gives: steps of
// the budget, steps per second (from the metric rows' wall_s on the run page, from successive
// list refreshes in the table), duration and ETA. Pure functions: the unit tests run them in node.

// "42.0 s", "3 min 20 s", "2 h 5 min"; "–" for nothing
export function fmtDuration(s) {
    if (s === null || s === undefined || !Number.isFinite(s) || s < 0)
        return "–";
    if (s < 60)
        return `${s.toFixed(1)} s`;
    if (s < 3600) {
        const m = Math.floor(s / 60);
        const r = Math.floor(s % 60);
        return `${m} min ${r} s`;
    }
    const hours = Math.floor(s / 3600);
    return `${hours} h ${Math.floor((s % 3600) / 60)} min`;
}

// environment steps per second over the newest rows: the steps between the first and the last
// of the rows in the last `windowS` seconds of wall_s, over their wall time. A resumed run's wall
// clock may start again: only the newest stretch where wall_s grows counts. null when the rows
// cannot tell (fewer than two, no wall_s).
export function rowsRate(rows, windowS = 60) {
    const n = rows.length;
    if (n < 2)
        return null;
    const last = rows[n - 1];
    if (!Number.isFinite(last.wall_s) || !Number.isFinite(last.env_steps))
        return null;
    let first = null;
    for (let i = n - 2; i >= 0; i--) {
        const r = rows[i];
        if (!Number.isFinite(r.wall_s) || !Number.isFinite(r.env_steps) ||
            r.wall_s >= (first || last).wall_s || r.env_steps > (first || last).env_steps)
            break;
        first = r;
        if (last.wall_s - r.wall_s >= windowS)
            break;
    }
    if (!first || last.wall_s <= first.wall_s)
        return null;
    return (last.env_steps - first.env_steps) / (last.wall_s - first.wall_s);
}

// seconds left for the steps that remain at this rate; null when unknown, 0 when done
export function etaSeconds(done, budget, rate) {
    if (!budget || !Number.isFinite(done))
        return null;
    if (done >= budget)
        return 0;
    if (!rate || !(rate > 0))
        return null;
    return (budget - done) / rate;
}

// Steps per second of the runs in the experiments table, from how far each got between two
// refreshes of the list (the list items carry no wall clock of their own). A run that was
// seen only once, or did not move, falls back to its steps over the time since it started.
export class RateMeter {
    constructor(keep = 12) {
        this.keep = keep;
        this.seen = new Map(); // id -> [{t, steps}] oldest first
    }

    // records an item of the list at time now (seconds) and returns its rate or null
    observe(item, now) {
        const steps = item.latest_env_steps;
        if (item.state !== "running" || !Number.isFinite(steps)) {
            this.seen.delete(item.id);
            return null;
        }
        let list = this.seen.get(item.id) || [];
        // a run that went back (resumed from an older checkpoint) starts a new history
        if (list.length && steps < list[list.length - 1].steps)
            list = [];
        if (!list.length || steps !== list[list.length - 1].steps)
            list.push({t: now, steps});
        while (list.length > this.keep)
            list.shift();
        this.seen.set(item.id, list);
        if (list.length >= 2) {
            const a = list[0];
            const b = list[list.length - 1];
            if (b.t > a.t)
                return (b.steps - a.steps) / (b.t - a.t);
        }
        if (item.started_at && now > item.started_at && steps > 0)
            return steps / (now - item.started_at);
        return null;
    }
}

// the running time of an experiment: until it finished, or until now while it runs
export function runSeconds(exp, now, terminal) {
    if (!exp || !exp.started_at)
        return null;
    const end = exp.finished_at || (!terminal ? now : null);
    return end ? end - exp.started_at : null;
}

// angora dashboard: the hash router. "#/experiments", "#/exp/<id>[?tab=analysis]", "#/compare",
// "#/group?tag=<t>|name=<n>", "#/analyses?a=<id>&b=<id>", "#/submit" and "#/signin" each show
// one view; a view returns its
// cleanup (timers, feeds, charts), which runs before the next view. A message for the next view
// (flashSet) is shown once by the view that takes it (flashTake).

import {connReport, tokenGet} from "./api.js";
import {view} from "./ui.js";

let views = null; // {signin, experiments, experiment, compare, group, analyses, submit}
let cleanup = null;
let flash = null; // message shown once on the next view

export function flashSet(text) {
    flash = text;
}

// the message for this view, once
export function flashTake() {
    const text = flash;
    flash = null;
    return text;
}

function hashParse() {
    const raw = location.hash.replace(/^#/, "") || "/experiments";
    const q = raw.indexOf("?");
    return {
        path: q < 0 ? raw : raw.slice(0, q),
        params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)),
    };
}

export function go(hash) {
    if (location.hash === hash)
        route();
    else
        location.hash = hash;
}

function navShow(signedIn, active) {
    document.getElementById("nav").hidden = !signedIn;
    document.getElementById("signout").hidden = !signedIn;
    for (const a of document.querySelectorAll("#nav a"))
        a.classList.toggle("active", a.dataset.nav === active);
}

function route() {
    if (cleanup) {
        cleanup();
        cleanup = null;
    }
    connReport("");
    const {path, params} = hashParse();
    view.replaceChildren();
    if (path === "/signin" || !tokenGet()) {
        navShow(false, "");
        cleanup =
            views.signin(path === "/signin" ? params : new URLSearchParams({next: location.hash}));
        return;
    }
    let m;
    if ((m = path.match(/^\/exp\/(\d+)$/))) {
        navShow(true, "experiments");
        cleanup = views.experiment(Number(m[1]), params);
    } else if (path === "/analyses") {
        navShow(true, "compare");
        cleanup = views.analyses(params);
    } else if (path === "/compare") {
        navShow(true, "compare");
        cleanup = views.compare(params);
    } else if (path === "/group") {
        navShow(true, "compare");
        cleanup = views.group(params);
    } else if (path === "/submit") {
        navShow(true, "submit");
        cleanup = views.submit();
    } else {
        navShow(true, "experiments");
        cleanup = views.experiments(params);
    }
}

// shows the view of the current hash and follows its changes; the views are passed in so that
// they can import go and flashSet from here without an import cycle
export function routerStart(viewFns) {
    views = viewFns;
    window.addEventListener("hashchange", route);
    route();
}

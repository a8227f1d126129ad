// angora dashboard: the sign-in view. A token is checked against the server before it is kept
// in local storage; then the page goes on to where it was headed.

import {api, infoForget, tokenSet} from "./api.js";
import {go} from "./router.js";
import {banner, catalogueForget, errText, h, mount, view} from "./ui.js";

export function viewSignin(params) {
    const reason = params.get("reason");
    const input = h("input", {
        id: "token",
        type: "password",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "ang_…"
    });
    const msg = h("div", {id: "signin-error", class: "banner error", role: "alert", hidden: true});
    const button = h("button", {class: "primary", type: "submit", id: "signin-button"}, "Sign in");
    const fail = (text) => {
        msg.textContent = text;
        msg.hidden = false;
        input.classList.add("invalid");
        input.focus();
    };
    const form = h(
        "form",
        {
            class: "panel signin",
            onsubmit: async (ev) => {
                ev.preventDefault();
                const t = input.value.trim();
                msg.hidden = true;
                input.classList.remove("invalid");
                if (!/^ang_[0-9a-f]{64}$/.test(t)) {
                    fail(
                        "That is not an angora token: a token is ang_ followed by 64 hexadecimal digits.");
                    return;
                }
                button.disabled = true;
                try {
                    await api("GET", "/info", undefined, {token: t, quiet401: true});
                    tokenSet(t);
                    infoForget();
                    catalogueForget();
                    const next = params.get("next");
                    go(next && !next.startsWith("#/signin") ? next : "#/experiments");
                } catch (e) {
                    if (e.status === 401)
                        fail(
                            "The server rejected this token (401 Unauthorized): it is unknown or has been revoked.");
                    else
                        fail(`Sign-in failed: ${errText(e)}`);
                } finally {
                    button.disabled = false;
                }
            },
        },
        h("h1", {}, "Sign in to angora"),
        h("p", {class: "muted"}, "Paste an access token. angorad writes a full-access token to ",
          h("code", {}, "<data dir>/token"), " on its first start; ",
          h("code", {}, "angoractl token create"),
          " makes more. The token is kept in this browser's local storage."),
        reason ? banner("error", reason) : null,
        msg,
        h("label", {}, "Token", input),
        h("div", {class: "row", style: "margin-top:12px"}, button),
    );
    mount(view, form);
    input.focus();
    return null;
}

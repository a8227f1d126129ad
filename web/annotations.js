// angora dashboard: a run's tags and notes, edited in place on its page (PUT .../tags and
// PUT .../notes); the server's message is shown at the field it names.

import {api} from "./api.js";
import {banner, errText, h} from "./ui.js";

// "a, b c" -> ["a", "b", "c"]: tags are separated by commas or spaces, repeats dropped
export function tagsParse(text) {
    return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

// the panel; onSaved(exp) gets the experiment as the server answers after a change
export function annotationsPanel(id, onSaved) {
    let exp = null;
    const tagsIn = h("input", {
        id: "exp-tags-input",
        size: 40,
        placeholder: "tags, separated by commas or spaces",
        "aria-label": "tags"
    });
    const notesIn = h("textarea", {
        id: "exp-notes-input",
        rows: 3,
        placeholder: "notes on this run",
        "aria-label": "notes",
        style: "width:100%;resize:vertical"
    });
    const msg = h("div", {id: "exp-annotations-msg"});
    const save = async (what) => {
        msg.replaceChildren();
        tagsIn.classList.remove("invalid");
        notesIn.classList.remove("invalid");
        const body = what === "tags" ? {tags: tagsParse(tagsIn.value)} : {notes: notesIn.value};
        try {
            exp = await api("PUT", `/experiments/${id}/${what}`, body);
            fill(exp, true);
            msg.replaceChildren(banner("ok", what === "tags" ? "Tags saved." : "Notes saved."));
            onSaved(exp);
        } catch (e) {
            if (e.status === 401)
                return;
            (what === "tags" ? tagsIn : notesIn).classList.add("invalid");
            msg.replaceChildren(banner("error", `Could not save the ${what}: ${errText(e)}`));
        }
    };
    const tagsBtn = h("button", {id: "exp-tags-save", onclick: () => save("tags")}, "Save tags");
    const notesBtn =
        h("button", {id: "exp-notes-save", onclick: () => save("notes")}, "Save notes");
    // what the user is typing is not overwritten by a refresh
    const dirty = (el, saved) => el.value !== saved;
    let savedTags = "";
    let savedNotes = "";
    const fill = (e, force) => {
        exp = e;
        const tags = (e.tags || []).join(", ");
        const notes = e.notes || "";
        if (force || !dirty(tagsIn, savedTags))
            tagsIn.value = tags;
        if (force || !dirty(notesIn, savedNotes))
            notesIn.value = notes;
        savedTags = tags;
        savedNotes = notes;
    };
    const el =
        h("div", {class: "panel", id: "exp-annotations"}, h("h2", {}, "Tags and notes"),
          h("div", {class: "row", style: "margin-bottom:8px"}, tagsIn, tagsBtn),
          h("div", {style: "margin-bottom:6px"}, notesIn), h("div", {class: "row"}, notesBtn), msg);
    return {el, update: (e) => fill(e, false)};
}

// angora dashboard: where a JSON path ("spec.ppo.lr", "tags[1]") sits in a JSON text, so the
// server's validation message can be shown at the line of the key it names.

// line of every key path ("ppo.lr", "tags[1]") in a JSON text that JSON.parse accepted
export function jsonKeyLines(text) {
    const lines = new Map();
    let i = 0;
    let line = 1;
    const ws = () => {
        while (i < text.length && /\s/.test(text[i])) {
            if (text[i] === "\n")
                line++;
            i++;
        }
    };
    const str = () => {
        let s = "";
        i++;
        while (i < text.length && text[i] !== '"') {
            if (text[i] === "\\") {
                s += text[i + 1];
                i += 2;
            } else
                s += text[i++];
        }
        i++;
        return s;
    };
    const val = (path) => {
        ws();
        const c = text[i];
        if (c === "{") {
            i++;
            ws();
            if (text[i] === "}") {
                i++;
                return;
            }
            for (;;) {
                ws();
                const at = line;
                const k = str();
                const p = path ? `${path}.${k}` : k;
                lines.set(p, at);
                ws();
                i++;
                val(p);
                ws();
                if (text[i++] !== ",")
                    return;
            }
        } else if (c === "[") {
            i++;
            ws();
            if (text[i] === "]") {
                i++;
                return;
            }
            for (let n = 0;; n++) {
                ws();
                lines.set(`${path}[${n}]`, line);
                val(`${path}[${n}]`);
                ws();
                if (text[i++] !== ",")
                    return;
            }
        } else if (c === '"')
            str();
        else
            while (i < text.length && !/[,\]}\s]/.test(text[i]))
                i++;
    };
    val("");
    return lines;
}

// "ppo.lr" -> "ppo", "tags[1]" -> "tags", "ppo" -> ""
export function jsonPathParent(path) {
    const m = path.match(/^(.*?)(\.[^.[\]]+|\[\d+\])$/);
    return m ? m[1] : "";
}

// the line of `path` in `text`, or of its nearest parent the text has (1 when none is there)
export function jsonPathLine(text, path) {
    let lines;
    try {
        lines = jsonKeyLines(text);
    } catch {
        return 1;
    }
    let p = path;
    while (p && !lines.has(p))
        p = jsonPathParent(p);
    return p ? lines.get(p) : 1;
}

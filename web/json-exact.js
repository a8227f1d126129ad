// angora dashboard: JSON text read without losing integers. A JavaScript number holds integers
// exactly only up to 2^53 - 1, and seeds are unsigned 64-bit integers: JSON.parse would round
// 18446744073709551615 to 18446744073709552000. Here an integer beyond the safe range keeps its
// decimal text: as a string when read for display, and as JSON.rawJSON (written back verbatim
// by JSON.stringify) when read to be sent again, where the browser has it.

const hasSource = (() => {
    let seen = false;
    try {
        JSON.parse("1", (k, v, ctx) => {
            seen = Boolean(ctx && typeof ctx.source === "string");
            return v;
        });
    } catch {
        seen = false;
    }
    return seen;
})();

// the text of every integer literal outside strings that a double cannot hold, quoted (for
// engines whose JSON.parse does not give the source text to a reviver)
export function jsonQuoteBigInts(text) {
    let out = "";
    let from = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === '"') {
            for (i++; i < text.length && text[i] !== '"'; i++)
                if (text[i] === "\\")
                    i++;
            continue;
        }
        if (c !== "-" && (c < "0" || c > "9"))
            continue;
        let j = i + 1;
        while (j < text.length && /[0-9.eE+-]/.test(text[j]))
            j++;
        const tok = text.slice(i, j);
        if (/^-?\d+$/.test(tok) && !Number.isSafeInteger(Number(tok))) {
            out += `${text.slice(from, i)}"${tok}"`;
            from = j;
        }
        i = j - 1;
    }
    return out + text.slice(from);
}

// JSON.parse, except that integers beyond 2^53 - 1 keep every digit: decimal strings, or with
// {raw: true} JSON.rawJSON values so that JSON.stringify writes the same digits back
export function jsonParseExact(text, {raw = false} = {}) {
    // no run of 16 digits: every integer in it is exact already
    if (!/\d{16}/.test(text))
        return JSON.parse(text);
    if (hasSource)
        return JSON.parse(text, (k, v, ctx) => {
            if (typeof v !== "number" || Number.isSafeInteger(v) || !ctx ||
                !/^-?\d+$/.test(ctx.source))
                return v;
            return raw && typeof JSON.rawJSON === "function" ? JSON.rawJSON(ctx.source)
                                                             : ctx.source;
        });
    return JSON.parse(jsonQuoteBigInts(text));
}

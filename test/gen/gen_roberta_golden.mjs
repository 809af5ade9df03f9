#!/usr/bin/env node
// Golden RoBERTa tokenizations made by Hugging Face tokenizers' Rust core.
//
// Usage (from the repository root; see test/gen/README.md):
//   node test/gen/gen_roberta_golden.mjs [--tokenizers DIR] [--refdata DIR] [--out DIR]
//                                        [--python PYTHON]
//
// --tokenizers  the installed @anush008/tokenizers package (or a node_modules
//               directory holding it); without it the package is found
//               through NODE_PATH.
// --refdata     shared reference data (default ../shared/refdata).
// --out         where golden-<variant>.jsonl go (default
//               test/fixtures/tokenizers/roberta).
// --python      the python3 that runs make_roberta_tokenizer.py.
//
// The three tokenizer directories of make_roberta_tokenizer.py are made in a
// temporary directory. "json" and "prefix" are read from their tokenizer.json;
// "files" is built the way transformers' RobertaTokenizerFast is built from
// vocab.json + merges.txt (HF's own vocab.json/merges.txt reader, ByteLevel
// pre-tokenizer, RobertaProcessing(trim_offsets=true), the specials added with
// <mask> lstrip), so it checks the tokenizer.json of "json" independently.
// Every text is encoded with the special tokens added. The script checks its
// own output (see selfCheck) and fails rather than write doubtful data.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const VARIANTS = ["json", "files", "prefix"];
const PAIR_STEP = 5; // refdata pairs: lines 0, 5, 10, ... each with the next line
const SPECIAL_STRINGS = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"];

// Own strings: RoBERTa's specifics (the lstrip of <mask>, special tokens in
// the text, spaces that trim_offsets removes from offsets, the prefix space).
const EXTRA = [
  "", " ", "  ", "   ", "\n", "\n\n", "\t", " \n ", "\r\n",
  "leading", " leading", "  two leading", "   three leading", "trailing ", "trailing  ",
  " both ", "multiple   inner    spaces", "tab\tand\t\ttabs", "line1\nline2", "line1\n\nline2\n",
  "a \n b", " \nstarts with newline", "\nstarts with newline",
  "<mask>", " <mask>", "  <mask>", "<mask> ", "<mask><mask>", "<mask> <mask>", " <mask>  <mask> ",
  "Hello <mask>!", "Hello<mask>world", "Hello  <mask> world", "Hello   <mask>", "Hello\t<mask>",
  "Hello\n<mask>", "Hello \n <mask>", "The capital of France is <mask>.", "<mask> starts the text",
  "x<mask>", "<mask>x", "a <mask> b <mask> c", "Hello\u00a0<mask>", "Hello\u3000<mask>",
  "Hello\u2003<mask>", "\u00a0<mask>", "<MASK> is not special", "<mask", "mask>", "< mask >",
  "<s>", "</s>", "<s></s>", "<s> hi </s>", "a</s></s>b", " <s>", "<s> ", "<pad><unk>", "a <pad> b",
  "x <unk> y", "<S> and </S>", "<s", "</s", "<|endoftext|> is plain text here",
  "I'm", " don't", "They'll've", "supercalifragilisticexpialidocious", "12345678",
  "café", " café", "naïve résumé", "Ünïcödé  spaces  ", "e\u0301", "日本語のテキスト",
  " 😀", "😀 😀", "😀  ", "👨‍👩‍👧 family", "ℌ𝔢𝔩𝔩𝔬", "\u00a0nbsp", "x\u2003y", "x \u2003 y",
  "\u3000ideographic", "trailing nbsp\u00a0",
  // after an added token the prefix space is trimmed by one character, whatever its UTF-8 length
  "a<mask>é", "a<mask>日本", "<s>Հայ", "a</s>😀", "x <mask>\u00a0y", "<pad>\u3000z",
];
// max_length cases (HF's LongestFirst truncation of the texts, specials kept):
// [text or refdata id, pair or refdata id or null, max_length]; "LONG1"/"LONG2"
// are the two refdata texts with the most GPT-2 tokens.
const TRUNCATE = [
  ["LONG1", null, 5], ["LONG1", null, 2], [" <mask> one two three", null, 4],
  ["LONG1", "LONG2", 9], ["LONG1", "LONG2", 10], ["LONG1", "LONG2", 4], ["LONG2", "Hi", 8],
  ["Hi", "LONG2", 8], ["Hello <mask> world and more words", "a b c d e f", 11],
];
const EXTRA_PAIRS = [
  ["Hello <mask>", "world"], [" leading", "trailing "], ["", ""], ["", "x"], ["x", ""],
  ["<s>", "</s>"], ["café", " 😀 "], ["How old are you?", "I'm 6 years old."], ["a\n", "\nb"],
  ["  ", "   "], ["one two", " <mask> three"], ["a<mask>b", "c<mask>d"], ["日本", "語"],
  ["  spaced  ", "  spaced  "],
];

function parseArgs(argv) {
  const opt = { refdata: path.resolve(ROOT, "..", "shared", "refdata"), out: null,
                tokenizers: null, python: process.env.PYTHON || "python3" };
  for (let i = 0; i < argv.length; i++) {
    const [key, inline] = argv[i].split(/=(.*)/s);
    const name = key.replace(/^--/, "");
    if (!(name in opt) || !key.startsWith("--")) {
      throw new Error(`unknown option ${argv[i]} (--tokenizers, --refdata, --out, --python)`);
    }
    opt[name] = inline !== undefined ? inline : argv[++i];
    if (opt[name] === undefined) throw new Error(`${key} needs a value`);
  }
  opt.out = opt.out || path.join(ROOT, "test", "fixtures", "tokenizers", "roberta");
  return opt;
}

function loadTokenizers(where) {
  const require = createRequire(import.meta.url);
  const candidates = where
    ? [where, path.join(where, "@anush008", "tokenizers"),
       path.join(where, "node_modules", "@anush008", "tokenizers")]
    : ["@anush008/tokenizers"];
  for (const c of candidates) {
    try {
      return require(path.isAbsolute(c) || c.startsWith(".") ? path.resolve(c) : c);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  throw new Error("@anush008/tokenizers not found: install it in a scratch directory " +
                  "(npm install @anush008/tokenizers) and pass --tokenizers DIR or set NODE_PATH");
}

// The "files" variant as transformers builds RobertaTokenizerFast from
// vocab.json + merges.txt (convert_slow_tokenizer.RobertaConverter).
async function filesTokenizer(hf, dir) {
  const model = await hf.BPE.fromFile(path.join(dir, "vocab.json"), path.join(dir, "merges.txt"));
  const tok = new hf.Tokenizer(model);
  tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"));
  tok.setPostProcessor(hf.robertaProcessing(["</s>", vocab["</s>"]], ["<s>", vocab["<s>"]], true, false));
  const added = ["<s>", "<pad>", "</s>", "<unk>"].map(
    (t) => new hf.AddedToken(t, true, { leftStrip: false, rightStrip: false, normalized: false }));
  added.push(new hf.AddedToken("<mask>", true, { leftStrip: true, rightStrip: false, normalized: false }));
  tok.addAddedTokens(added);
  return tok;
}

async function encode(tok, text, pair) {
  const e = await tok.encode(text, pair === undefined ? null : pair, { addSpecialTokens: true });
  return {
    ids: e.getIds(),
    type_ids: e.getTypeIds(),
    sequence_ids: e.getSequenceIds().map((s) => (s === null || s === undefined ? -1 : s)),
    offsets: e.getOffsets().map((o) => [o[0], o[1]]),
    special_tokens_mask: e.getSpecialTokensMask(),
    tokens: e.getTokens(),
  };
}

const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function fail(msg) {
  throw new Error("self-check: " + msg);
}

// What trim_offsets does (tokenizers' byte_level::process_offsets), on the
// code-point offsets of a plain GPT-2 encoding: leading/trailing "Ġ" or white
// space characters of the token string leave the offsets, except one leading
// space of the first token when add_prefix_space is set.
function trim(tokens, offsets, addPrefixSpace) {
  const ws = (c) => c === "\u0120" || /\s/u.test(c);
  return offsets.map(([b, e], i) => {
    const chars = [...tokens[i]];
    let lead = 0;
    while (lead < chars.length && ws(chars[lead])) lead++;
    let tail = 0;
    while (tail < chars.length && ws(chars[chars.length - 1 - tail])) tail++;
    if (lead > 0) {
      if ((i === 0 || b === 0) && addPrefixSpace && lead === 1) lead = 0;
      b = Math.min(b + lead, e);
    }
    if (tail > 0 && e >= tail) e = Math.max(e - tail, b);
    return [b, e];
  });
}

// The structure RobertaProcessing gives: <s> A </s> or <s> A </s></s> B </s>,
// type ids all 0, specials (0,0) with sequence id -1 and mask 1.
function checkStructure(where, r, nA, nB) {
  const n = r.ids.length;
  const specials = nB === null ? [0, n - 1] : [0, nA + 1, nA + 2, n - 1];
  if (n !== nA + (nB === null ? 2 : nB + 4)) fail(`${where}: length ${n}`);
  if (r.type_ids.some((t) => t !== 0)) fail(`${where}: type ids ${r.type_ids}`);
  for (let i = 0; i < n; i++) {
    const special = specials.includes(i);
    const seq = special ? -1 : i <= nA ? 0 : 1;
    if (r.sequence_ids[i] !== seq) fail(`${where}: sequence id ${i}`);
    if (r.special_tokens_mask[i] !== (special ? 1 : 0)) fail(`${where}: special mask ${i}`);
    if (special) {
      const want = i === 0 ? 0 : 2;
      if (r.ids[i] !== want || !eq(r.offsets[i], [0, 0])) fail(`${where}: special ${i}`);
    }
  }
}

function hasSpecialString(text) {
  return SPECIAL_STRINGS.some((s) => text.includes(s));
}

function selfCheck(results, refLines) {
  // "json" (tokenizer.json) and "files" (vocab.json + merges.txt) are one
  // tokenizer: the same ids and offsets everywhere.
  for (let k = 0; k < results.json.length; k++) {
    const a = results.json[k], b = results.files[k];
    for (const f of ["ids", "type_ids", "sequence_ids", "offsets", "special_tokens_mask"]) {
      if (!eq(a.r[f], b.r[f])) fail(`json and files differ in ${f} for ${JSON.stringify(a.key)}`);
    }
  }
  for (const v of VARIANTS) {
    const single = new Map();
    for (const { key, r } of results[v]) {
      if (key.pair === undefined && !key.maxLength) single.set(key.text, r);
    }
    for (const { key, r } of results[v]) {
      const where = `${v} ${JSON.stringify(key.label)}`;
      if (key.maxLength) {
        // truncated: the template around prefixes of the texts' own tokens
        const nA = r.sequence_ids.filter((s) => s === 0).length;
        const nB = key.pair === undefined ? null : r.sequence_ids.filter((s) => s === 1).length;
        checkStructure(where, r, nA, nB);
        if (r.ids.length > key.maxLength) fail(`${where}: longer than max_length`);
        const a = single.get(key.text), b = key.pair === undefined ? null : single.get(key.pair);
        if (!eq(r.ids.slice(1, 1 + nA), a.ids.slice(1, 1 + nA)) ||
            !eq(r.offsets.slice(1, 1 + nA), a.offsets.slice(1, 1 + nA))) fail(`${where}: not a prefix of A`);
        if (b && !eq(r.ids.slice(nA + 3, -1), b.ids.slice(1, 1 + nB))) fail(`${where}: not a prefix of B`);
        continue;
      }
      if (key.pair === undefined) {
        checkStructure(where, r, r.ids.length - 2, null);
        continue;
      }
      // a pair is the two single encodings around </s></s>, offsets unchanged
      const a = single.get(key.text), b = single.get(key.pair);
      if (!a || !b) fail(`${where}: a pair text is not also encoded alone`);
      checkStructure(where, r, a.ids.length - 2, b.ids.length - 2);
      const inner = (x) => ({ ids: x.ids.slice(1, -1), offsets: x.offsets.slice(1, -1) });
      const want = { ids: [0, ...inner(a).ids, 2, 2, ...inner(b).ids, 2],
                     offsets: [[0, 0], ...inner(a).offsets, [0, 0], [0, 0], ...inner(b).offsets, [0, 0]] };
      if (!eq(r.ids, want.ids) || !eq(r.offsets, want.offsets)) fail(`${where}: not A + B`);
    }
    // refdata texts: GPT-2's golden ids shifted by 4 (<|endoftext|> is plain
    // text here) and GPT-2's offsets trimmed; with the prefix space, the ids of
    // " " + text when the text does not start with a space.
    for (const line of refLines) {
      if (hasSpecialString(line.text)) continue;
      const r = single.get(line.text).ids.slice(1, -1);
      const gids = (line.ids_special_as_text || line.ids).map((i) => i + 4);
      const tokens = line.tokens_special_as_text || line.tokens;
      if (v !== "prefix") {
        if (!eq(r, gids)) fail(`${v} line ${line.id}: ids are not GPT-2's + 4`);
        if (!line.ids_special_as_text) {
          const want = trim(tokens, line.offsets, false);
          const got = single.get(line.text).offsets.slice(1, -1);
          if (!eq(got, want)) fail(`${v} line ${line.id}: offsets ${JSON.stringify(got)} ` +
                                   `are not GPT-2's trimmed ${JSON.stringify(want)}`);
        }
      } else if (line.text !== "" && !line.text.startsWith(" ")) {
        const plain = results.json.find((x) => x.key.pair === undefined && x.key.text === " " + line.text);
        if (plain && !eq(r, plain.r.ids.slice(1, -1))) fail(`prefix line ${line.id}`);
      }
    }
  }
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const hf = loadTokenizers(opt.tokenizers);
  const goldenPath = path.join(opt.refdata, "tokenizers", "golden", "gpt2.jsonl");
  const refLines = fs.readFileSync(goldenPath, "utf8").split("\n").filter((l) => l)
    .map((l) => JSON.parse(l));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roberta-golden-"));
  try {
    execFileSync(opt.python, [path.join(HERE, "make_roberta_tokenizer.py"), "--refdata", opt.refdata,
                              "--out", tmp], { stdio: ["ignore", "ignore", "inherit"] });
    const toks = {
      json: hf.Tokenizer.fromFile(path.join(tmp, "json", "tokenizer.json")),
      files: await filesTokenizer(hf, path.join(tmp, "files")),
      prefix: hf.Tokenizer.fromFile(path.join(tmp, "prefix", "tokenizer.json")),
    };

    // inputs: keys say how a line names its texts
    const inputs = [];
    for (const l of refLines) inputs.push({ label: { id: l.id }, text: l.text });
    for (let i = 0; i + 1 < refLines.length; i += PAIR_STEP) {
      const a = refLines[i], b = refLines[i + 1];
      inputs.push({ label: { id: a.id, pair_id: b.id }, text: a.text, pair: b.text });
    }
    const own = new Set(EXTRA);
    for (const [a, b] of EXTRA_PAIRS) {
      for (const t of [a, b]) if (!own.has(t)) { own.add(t); EXTRA.push(t); }
    }
    for (const t of EXTRA) inputs.push({ label: { text: t }, text: t, own: true });
    for (const [a, b] of EXTRA_PAIRS) inputs.push({ label: { text: a, pair: b }, text: a, pair: b, own: true });
    // truncation: LONG1/LONG2 are the refdata texts with the most tokens
    const byLength = refLines.filter((l) => !hasSpecialString(l.text))
      .sort((x, y) => y.ids.length - x.ids.length || x.id - y.id);
    const named = { LONG1: byLength[0], LONG2: byLength[1] };
    for (const [a, b, maxLength] of TRUNCATE) {
      const label = {};
      const inp = { maxLength };
      for (const [v, idKey, textKey, field] of [[a, "id", "text", "text"], [b, "pair_id", "pair", "pair"]]) {
        if (v === null) continue;
        if (named[v]) { label[idKey] = named[v].id; inp[field] = named[v].text; }
        else {
          label[textKey] = v; inp[field] = v;
          if (!own.has(v)) { own.add(v); EXTRA.push(v); inputs.push({ label: { text: v }, text: v, own: true }); }
        }
      }
      label.max_length = maxLength;
      inp.label = label;
      inp.own = label.text !== undefined || label.pair !== undefined;
      inputs.push(inp);
    }
    // the prefix check above wants " " + text of the refdata texts in "json"
    const probes = refLines.filter((l) => l.text && !l.text.startsWith(" ")).map((l) => " " + l.text);

    const results = {};
    for (const v of VARIANTS) {
      results[v] = [];
      for (const inp of inputs) {
        if (inp.maxLength) toks[v].setTruncation(inp.maxLength, { strategy: "LongestFirst" });
        const r = await encode(toks[v], inp.text, inp.pair);
        if (inp.maxLength) toks[v].disableTruncation();
        results[v].push({ key: { label: inp.label, text: inp.text, pair: inp.pair,
                                 maxLength: inp.maxLength }, own: inp.own, r });
      }
    }
    for (const t of probes) {
      results.json.push({ key: { label: null, text: t }, probe: true, r: await encode(toks.json, t) });
      results.files.push({ key: { label: null, text: t }, probe: true, r: await encode(toks.files, t) });
    }
    selfCheck(results, refLines);

    fs.mkdirSync(opt.out, { recursive: true });
    let total = 0;
    for (const v of VARIANTS) {
      const lines = results[v].filter((x) => !x.probe).map(({ key, own: isOwn, r }) => {
        const o = { ...key.label, ids: r.ids, type_ids: r.type_ids, sequence_ids: r.sequence_ids,
                    offsets: r.offsets, special_tokens_mask: r.special_tokens_mask };
        if (isOwn) o.tokens = r.tokens; // the texts are here anyway: tokens help a reader
        return JSON.stringify(o);
      });
      const file = path.join(opt.out, `golden-${v}.jsonl`);
      const data = lines.join("\n") + "\n";
      fs.writeFileSync(file, data);
      total += Buffer.byteLength(data);
      console.log(`${file}: ${lines.length} lines, ${Buffer.byteLength(data)} bytes`);
    }
    console.log(`total ${total} bytes`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`gen_roberta_golden.mjs: ${e.message}`);
  process.exit(1);
});

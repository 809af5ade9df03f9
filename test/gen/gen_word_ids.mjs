#!/usr/bin/env node
// Golden word ids (Encoding.word_ids) made by Hugging Face tokenizers' Rust core.
//
// Usage (from the repository root; see test/gen/README.md):
//   node test/gen/gen_word_ids.mjs [--tokenizers DIR] [--refdata DIR] [--out DIR]
//
// For the real BERT (uncased) and GPT-2 tokenizers of the shared reference
// data and the repository's RoBERTa fixture, every text of the reference
// golden files (stored by its id only: the texts stay in refdata) and the own
// strings below are encoded with special tokens, alone and in pairs, and the
// ids and word ids written to <out>/<name>.jsonl, one object per line:
//   {"ref": id} or {"text": "..."}, optional "pair_ref"/"pair", "ids", "word_ids"
// with -1 where Hugging Face gives no word (special tokens).
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");

// Where words begin and end: punctuation runs, added tokens inside words,
// spaces of every kind, scripts without spaces, accents, numbers.
const OWN = [
  "", " ", "Hello, world!", "don't stop--now...", "e-mail: a.b@c.com", "3.14159 and 2,718",
  "New York-based", "(parenthesised) [bracketed] {braced}", "über naïve café", "日本語のテキスト",
  "mixed日本text", "emoji 😀 here😀", "tab\tnew\nline", "  leading and trailing  ",
  "[CLS] inside [SEP] text [MASK]", "a[MASK]b", "<mask> and <s> inside", "x<mask>y",
  "<|endoftext|>tail", "supercalifragilisticexpialidocious", "U.S.A. vs. U.K.", "I'm here, you're there.",
  "\u00a0nbsp\u2003em space", "a\u0301 combining", "Ω≈ç√∫", "$100.00!", "#hashtag @mention",
];
const PAIRS = [
  ["How old are you?", "I'm 6 years old."], ["Who wrote it?", "It was written by J. R. R. Tolkien."],
  ["", "x"], ["x", ""], ["a[MASK]b", "c<mask>d"],
];

function parseArgs(argv) {
  const opt = { refdata: path.resolve(ROOT, "..", "shared", "refdata"), tokenizers: null,
                out: path.join(ROOT, "test", "fixtures", "tokenizers", "word-ids") };
  for (let i = 0; i < argv.length; i++) {
    const [key, inline] = argv[i].split(/=(.*)/s);
    const name = key.replace(/^--/, "");
    if (!(name in opt) || !key.startsWith("--")) throw new Error(`unknown option ${argv[i]}`);
    opt[name] = inline !== undefined ? inline : argv[++i];
  }
  return opt;
}

function loadTokenizers(where) {
  const require = createRequire(import.meta.url);
  const candidates = where ? [where, path.join(where, "node_modules", "@anush008", "tokenizers")]
                           : ["@anush008/tokenizers"];
  for (const c of candidates) {
    try {
      return require(path.isAbsolute(c) ? c : c.startsWith(".") ? path.resolve(c) : c);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
    }
  }
  throw new Error("@anush008/tokenizers not found: pass --tokenizers DIR or set NODE_PATH");
}

async function encode(tok, text, pair) {
  const e = await tok.encode(text, pair === undefined ? null : pair, { addSpecialTokens: true });
  const words = e.getWordIds().map((w) => (w === null || w === undefined ? -1 : w));
  const seqs = e.getSequenceIds().map((s) => (s === null || s === undefined ? -1 : s));
  // self-check: a word's tokens are consecutive and specials have no word
  for (let i = 0; i < words.length; i++) {
    if ((words[i] < 0) !== (seqs[i] < 0)) throw new Error(`word/sequence mismatch in ${text}`);
    for (let j = i + 2; j < words.length && words[i] >= 0; j++) {
      if (seqs[j] === seqs[i] && words[j] === words[i] && words[j - 1] !== words[i]) {
        throw new Error(`word ${words[i]} not consecutive in ${JSON.stringify(text)}`);
      }
    }
  }
  return { ids: e.getIds(), word_ids: words };
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const hf = loadTokenizers(opt.tokenizers);
  const refdata = path.join(opt.refdata, "tokenizers");
  const sets = [
    ["bert-base-uncased", path.join(refdata, "bert-base-uncased", "tokenizer.json"), "bert-base-uncased"],
    ["gpt2", path.join(refdata, "gpt2", "tokenizer.json"), "gpt2"],
    ["roberta-tiny", path.join(ROOT, "test", "fixtures", "roberta-tiny", "tokenizer.json"), "gpt2"],
  ];
  fs.mkdirSync(opt.out, { recursive: true });
  for (const [name, file, golden] of sets) {
    const tok = hf.Tokenizer.fromFile(file);
    const lines = fs.readFileSync(path.join(refdata, "golden", `${golden}.jsonl`), "utf8")
      .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    const out = [];
    for (const r of lines) out.push({ ref: r.id, ...(await encode(tok, r.text)) });
    for (let k = 0; k + 1 < lines.length; k += 7) {
      out.push({ ref: lines[k].id, pair_ref: lines[k + 1].id,
                 ...(await encode(tok, lines[k].text, lines[k + 1].text)) });
    }
    for (const t of OWN) out.push({ text: t, ...(await encode(tok, t)) });
    for (const [a, b] of PAIRS) out.push({ text: a, pair: b, ...(await encode(tok, a, b)) });
    fs.writeFileSync(path.join(opt.out, `${name}.jsonl`),
                     out.map((o) => JSON.stringify(o)).join("\n") + "\n");
    console.log(`${name}: ${out.length} encodings (${golden} reference texts by id)`);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});

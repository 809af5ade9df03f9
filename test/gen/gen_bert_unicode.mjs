#!/usr/bin/env node
// What Hugging Face tokenizers' BertNormalizer and BertPreTokenizer do to every
// code point, as compact data: test/fixtures/tokenizers/bert-unicode/.
//
// Usage (from the repository root; see test/gen/README.md):
//   node test/gen/gen_bert_unicode.mjs [--tokenizers DIR] [--refdata DIR] [--out DIR]
//
// --tokenizers  the installed @anush008/tokenizers package (or a node_modules
//               directory holding it); without it the package is found
//               through NODE_PATH.
// --refdata     shared reference data (default ../shared/refdata): the BERT
//               tokenizer.json probed is tokenizers/bert-base-uncased.
// --out         default test/fixtures/tokenizers/bert-unicode.
//
// Hugging Face's character tables are its own: is_control / is_punctuation and
// the Mn test come from the unicode_categories crate (old Unicode), NFD and the
// combining classes from unicode-normalization-alignments, white space and
// lowercase from Rust's std. The script asks the Rust core about each code
// point U+0000..U+10FFFF (surrogates aside), one step at a time:
//   - clean text + CJK spacing (normalizer with lowercase and strip_accents
//     off): a character is deleted, becomes ' ', gets ' ' on both sides, or
//     stays;
//   - the pre-tokenizer on "a" + c + "a": c is removed (white space), isolated
//     (punctuation) or part of the word;
//   - NFD alone (HF's NFD normalizer, the one BertNormalizer uses);
//   - strip_accents alone (NFD then drop Mn): on a character NFD keeps, an
//     empty result means Mn;
//   - the canonical combining class, from how NFD reorders c against marks of
//     known classes (only the order matters, and it is what is measured);
//   - Lowercase alone (NormalizedString::lowercase, as BertNormalizer's).
// It writes:
//   hf_bert_chars.txt   the classes as ranges, the NFD and lowercase maps
//                       where they are not the identity (format in its header);
//   hf_bert_probes.txt  multi-character strings (marks after letters, mark
//                       reordering, decomposition + lowercase, Hangul, full
//                       width, ...) with HF's pre-tokenized words for the three
//                       normalizer configurations.
// Before writing, it predicts from the data alone the normalized text and the
// words of every code point under the three configurations (uncased: the
// tokenizer.json as is, lowercase + strip accents; cased: neither; strip:
// strip accents without lowercase) and fails unless all 3 x 1,112,064
// predictions equal what Hugging Face returns.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");

function args() {
  const a = { refdata: path.resolve(ROOT, "..", "shared", "refdata"),
              out: path.join(ROOT, "test", "fixtures", "tokenizers", "bert-unicode") };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!["tokenizers", "refdata", "out"].includes(k) || i + 1 >= argv.length)
      throw new Error(`usage: gen_bert_unicode.mjs [--tokenizers DIR] [--refdata DIR] [--out DIR]`);
    a[k] = path.resolve(argv[i + 1]);
  }
  return a;
}

function loadTokenizers(dir) {
  const require = createRequire(import.meta.url);
  if (!dir) return require("@anush008/tokenizers");
  const nested = path.join(dir, "@anush008", "tokenizers");
  return require(fs.existsSync(nested) ? nested : dir);
}

const A = args();
const hf = loadTokenizers(A.tokenizers);
const hfVersion = (() => {
  const req = createRequire(import.meta.url);
  try {
    const base = A.tokenizers && fs.existsSync(path.join(A.tokenizers, "@anush008", "tokenizers"))
      ? path.join(A.tokenizers, "@anush008", "tokenizers") : A.tokenizers;
    const pj = base ? JSON.parse(fs.readFileSync(path.join(base, "package.json"), "utf8"))
                    : req("@anush008/tokenizers/package.json");
    return pj.version;
  } catch { return "unknown"; }
})();

// ---- the tokenizer.json and its three normalizer configurations ---------------

const tjPath = path.join(A.refdata, "tokenizers", "bert-base-uncased", "tokenizer.json");
const tj = JSON.parse(fs.readFileSync(tjPath, "utf8"));
if (tj.normalizer?.type !== "BertNormalizer" || tj.pre_tokenizer?.type !== "BertPreTokenizer")
  throw new Error(`${tjPath}: not a BertNormalizer + BertPreTokenizer tokenizer`);
function variant(norm) {
  const j = structuredClone(tj);
  Object.assign(j.normalizer, norm);
  return hf.Tokenizer.fromString(JSON.stringify(j));
}
const CONFIGS = [
  // name, tokenizer, strip, lower
  ["uncased", variant({}), true, true],
  ["cased", variant({ lowercase: false, strip_accents: false }), false, false],
  ["strip", variant({ lowercase: false, strip_accents: true }), true, false],
];
const preTok = CONFIGS[0][1].getPreTokenizer();
const cleanOnly = CONFIGS[1][1].getNormalizer(); // clean text + CJK spacing
const nfdNorm = hf.nfdNormalizer();
const stripOnly = hf.bertNormalizer({ cleanText: false, handleChineseChars: false,
                                      stripAccents: true, lowercase: false });
const lowerNorm = hf.lowercase();

// One mark per canonical combining class (Unicode's values are stable); a
// class HF's tables do not know is dropped below.
const CCC_REFS = [[1, 0x0334], [6, 0x16FF0], [7, 0x093C], [8, 0x3099], [9, 0x094D], [10, 0x05B0],
  [11, 0x05B1], [12, 0x05B2], [13, 0x05B3], [14, 0x05B4], [15, 0x05B5], [16, 0x05B6], [17, 0x05B7],
  [18, 0x05B8], [19, 0x05B9], [20, 0x05BB], [21, 0x05BC], [22, 0x05BD], [23, 0x05BF], [24, 0x05C1],
  [25, 0x05C2], [26, 0xFB1E], [27, 0x064B], [28, 0x064C], [29, 0x064D], [30, 0x0618], [31, 0x0619],
  [32, 0x061A], [33, 0x0651], [34, 0x0652], [35, 0x0670], [36, 0x0711], [84, 0x0C55], [91, 0x0C56],
  [103, 0x0E38], [107, 0x0E48], [118, 0x0EB8], [122, 0x0EC8], [129, 0x0F71], [130, 0x0F72],
  [132, 0x0F74], [202, 0x0321], [214, 0x1DCE], [216, 0x031B], [218, 0x302A], [220, 0x0316],
  [222, 0x059A], [224, 0x302E], [226, 0x1D16D], [228, 0x05AE], [230, 0x0300], [232, 0x0315],
  [233, 0x035C], [234, 0x035D], [240, 0x0345]];

const S = String.fromCodePoint;
const cps = (s) => Array.from(s, (ch) => ch.codePointAt(0));
const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, "0");
const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff;
const N = 0x110000;

// ---- probing, one code point at a time ------------------------------------------

const DEL = 1, SPACE = 2, PUNCT = 4, CJK = 8, MN = 16;
const cls = new Uint8Array(N);
const ccc = new Uint8Array(N);
const nfd = new Map();   // cp -> [cps], where NFD is not the identity
const lower = new Map(); // cp -> [cps], where lowercase is not the identity
let count = 0;

// NFD of "a" + x + y; true when HF put y before x.
function swapped(x, y) {
  const out = cps(nfdNorm.normalizeString("a" + S(x) + S(y)));
  return out.length === 3 && out[1] === y && out[2] === x;
}

const t0 = Date.now();
for (let cp = 0; cp < N; cp++) {
  if (isSurrogate(cp)) continue;
  count++;
  const c = S(cp);
  const clean = cleanOnly.normalizeString(c);
  if (clean === "") cls[cp] |= DEL;
  else if (clean === " ") cls[cp] |= SPACE;
  else if (clean === " " + c + " ") cls[cp] |= CJK;
  else if (clean !== c) throw new Error(`U+${hex(cp)}: clean text gave ${JSON.stringify(clean)}`);
  const words = preTok.preTokenizeString("a" + c + "a").map((w) => w[0]);
  const pws = words.length === 2 && words[0] === "a" && words[1] === "a";
  const ppunct = words.length === 3 && words[1] === c;
  if (!pws && !ppunct && !(words.length === 1 && words[0] === "a" + c + "a"))
    throw new Error(`U+${hex(cp)}: pre-tokenizer gave ${JSON.stringify(words)}`);
  // the normalizer's white space is the pre-tokenizer's, less what it deletes first
  if (pws !== ((cls[cp] & SPACE) !== 0 || cp === 0x20) && !(pws && cls[cp] & DEL))
    throw new Error(`U+${hex(cp)}: white space of the pre-tokenizer and the normalizer differ`);
  if (pws) cls[cp] |= SPACE;
  if (ppunct) cls[cp] |= PUNCT;
  const d = nfdNorm.normalizeString(c);
  if (d !== c) nfd.set(cp, cps(d));
  const low = lowerNorm.normalizeString(c);
  if (low !== c) lower.set(cp, cps(low));
  if (d === c) {
    if (stripOnly.normalizeString(c) === "") cls[cp] |= MN;
    // a non-zero class is below 240 (U+0345 after c moves first) or above 1
    if (cp !== 0x334 && cp !== 0x345 && (swapped(0x345, cp) || swapped(cp, 0x334))) ccc[cp] = 255;
  }
}
process.stderr.write(`probed ${count} code points in ${(Date.now() - t0) / 1000} s\n`);

// Decomposed characters: Mn when nothing survives strip_accents (what the
// library's table says of them is never asked, since they are decomposed
// first; this keeps the ranges whole).
for (const [cp] of nfd) if (stripOnly.normalizeString(S(cp)) === "") cls[cp] |= MN;

// Combining classes: the value of each non-zero one, from its order against
// one mark per class.
const refs = CCC_REFS.filter(([, r]) => ccc[r] === 255 || r === 0x334 || r === 0x345);
for (let i = 1; i < refs.length; i++)
  if (!swapped(refs[i][1], refs[i - 1][1]) || swapped(refs[i - 1][1], refs[i][1]))
    throw new Error(`combining classes of U+${hex(refs[i - 1][1])} and U+${hex(refs[i][1])} out of order`);
for (let cp = 0; cp < N; cp++) {
  if (ccc[cp] !== 255 && cp !== 0x334 && cp !== 0x345) continue;
  const eq = refs.filter(([v, r]) => r === cp || (!swapped(cp, r) && !swapped(r, cp)));
  if (eq.length !== 1) throw new Error(`U+${hex(cp)}: combining class not among the reference marks`);
  const v = eq[0][0];
  for (const [w, r] of refs)
    if (w !== v && swapped(cp, r) !== (v > w))
      throw new Error(`U+${hex(cp)}: order against U+${hex(r)} is not that of class ${v}`);
  ccc[cp] = v;
}
// A decomposed character's class is never asked either: give it its first
// part's, which keeps runs of marks whole.
for (const [cp, d] of nfd) ccc[cp] = ccc[d[0]];

// ---- the model the data describes: prediction of HF's output ------------------

const SB = 0xac00, LB = 0x1100, VB = 0x1161, TB = 0x11a7, NCOUNT = 588, SCOUNT = 11172;
function hangul(cp) {
  const s = cp - SB;
  const out = [LB + Math.floor(s / NCOUNT), VB + Math.floor((s % NCOUNT) / 28)];
  if (s % 28) out.push(TB + (s % 28));
  return out;
}
for (let cp = SB; cp < SB + SCOUNT; cp++) {
  const d = nfd.get(cp);
  if (!d || d.join() !== hangul(cp).join()) throw new Error(`U+${hex(cp)}: not the Hangul decomposition`);
}
const nfdOf = (cp) => nfd.get(cp) ?? [cp];
function predictNormalized(cp, strip, low) {
  if (cls[cp] & DEL) return [];
  if (cls[cp] & SPACE) return [0x20];
  let body = [cp];
  if (strip) body = nfdOf(cp).filter((x) => !(cls[x] & MN));
  if (low) body = body.flatMap((x) => lower.get(x) ?? [x]);
  return cls[cp] & CJK ? [0x20, ...body, 0x20] : body;
}
function predictWords(norm) {
  const words = [];
  let w = [];
  for (const x of norm) {
    if (cls[x] & (SPACE | PUNCT)) {
      if (w.length) words.push(w);
      w = [];
      if (!(cls[x] & SPACE)) words.push([x]);
    } else {
      w.push(x);
    }
  }
  if (w.length) words.push(w);
  return words.map((x) => S(...x));
}
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

const t1 = Date.now();
for (const [name, tok, strip, low] of CONFIGS) {
  const norm = tok.getNormalizer();
  for (let cp = 0; cp < N; cp++) {
    if (isSurrogate(cp)) continue;
    const got = norm.normalizeString(S(cp));
    const want = S(...predictNormalized(cp, strip, low));
    if (got !== want)
      throw new Error(`${name} U+${hex(cp)}: HF ${JSON.stringify(got)}, data ${JSON.stringify(want)}`);
    if (got === S(cp) && got !== " ") continue; // the pre-tokenizer was asked above
    const gw = preTok.preTokenizeString(got).map((w) => w[0]);
    const ww = predictWords(cps(got));
    if (!same(gw, ww))
      throw new Error(`${name} U+${hex(cp)} words: HF ${JSON.stringify(gw)}, data ${JSON.stringify(ww)}`);
  }
}
process.stderr.write(`checked 3 x ${count} predictions in ${(Date.now() - t1) / 1000} s\n`);

// ---- hf_bert_chars.txt ----------------------------------------------------------

function ranges(pred) {
  const out = [];
  for (let cp = 0; cp < N; cp++) {
    if (!pred(cp)) continue;
    let e = cp;
    while (e + 1 < N && pred(e + 1)) e++;
    out.push([cp, e]);
    cp = e;
  }
  return out;
}
const lines = [];
const fmtRange = ([a, b]) => (a === b ? hex(a) : `${hex(a)} ${hex(b)}`);
const CLASSES = [["D", DEL], ["S", SPACE], ["P", PUNCT], ["J", CJK], ["M", MN]];
for (const [tag, bit] of CLASSES)
  for (const r of ranges((cp) => (cls[cp] & bit) !== 0)) lines.push(`${tag} ${fmtRange(r)}`);
for (let cp = 0; cp < N; cp++) {
  if (!ccc[cp]) continue;
  let e = cp;
  while (e + 1 < N && ccc[e + 1] === ccc[cp]) e++;
  lines.push(`C ${hex(cp)} ${hex(e)} ${ccc[cp]}`);
  cp = e;
}
lines.push(`H ${hex(SB)} ${hex(SB + SCOUNT - 1)}`);
for (const [cp, d] of [...nfd].sort((a, b) => a[0] - b[0]))
  if (cp < SB || cp >= SB + SCOUNT) lines.push(`N ${hex(cp)} ${d.map(hex).join(" ")}`);
// lowercase: runs of one delta over every code point (step 1) or every other one (step 2)
const singles = [...lower].filter(([, l]) => l.length === 1).map(([cp, l]) => [cp, l[0] - cp]);
singles.sort((a, b) => a[0] - b[0]);
for (let i = 0; i < singles.length;) {
  const [first, delta] = singles[i];
  let step = 1, j = i + 1;
  if (j < singles.length && singles[j][1] === delta && singles[j][0] - first <= 2) {
    step = singles[j][0] - first;
    while (j < singles.length && singles[j][1] === delta && singles[j][0] === singles[j - 1][0] + step) j++;
  }
  const last = singles[j - 1][0];
  lines.push(`L ${hex(first)} ${hex(last)} ${delta} ${step}`);
  i = j;
}
for (const [cp, l] of [...lower].filter(([, l]) => l.length !== 1))
  lines.push(`X ${hex(cp)} ${l.map(hex).join(" ")}`);

const header = `# Hugging Face tokenizers ${"(npm @anush008/tokenizers " + hfVersion + ")"}: BertNormalizer and
# BertPreTokenizer on every code point U+0000..U+10FFFF but the surrogates.
# Written by test/gen/gen_bert_unicode.mjs; do not edit. One record a line, code points in hex:
#   D a [b]      deleted by clean_text (NUL, U+FFFD, HF's Cc/Cf/Co but tab, LF, CR)
#   S a [b]      white space: the pre-tokenizer splits there and drops it; ' ' after clean_text
#                unless D (U+000B, U+000C and U+0085 are both)
#   P a [b]      punctuation: the pre-tokenizer makes it a word of its own
#   J a [b]      CJK: handle_chinese_chars puts ' ' before and after it
#   M a [b]      Mn: strip_accents drops it after NFD
#   C a b v      canonical combining class v (0 elsewhere), the order NFD sorts marks by
#   H a b        Hangul syllables, decomposed by NFD's algorithm
#   N c d...     NFD of c (all other code points are their own NFD)
#   L a b d s    lowercase of c is c + d, for c = a, a + s, ... b (all others: themselves)
#   X c l...     lowercase of c is more than one code point
# Under a configuration, a code point becomes: nothing (D), ' ' (S), else its NFD less M when
# stripping accents, each of those lowercased when lowercasing, the whole between two ' ' (J).
`;
fs.mkdirSync(A.out, { recursive: true });
fs.writeFileSync(path.join(A.out, "hf_bert_chars.txt"), header + lines.join("\n") + "\n");

// ---- hf_bert_probes.txt ---------------------------------------------------------

const PROBES = [
  "e\u0301", "E\u0301", "e\u0301\u0323", "e\u0323\u0301", "a\u0316\u0300", "a\u0300\u0316",
  "\u0301", " \u0301", "\u0301a", "a \u0301b", "\u4e2d\u0301", "a\u200d\u0301", "a\u00ad\u0301b",
  "\u0130", "\u0130stanbul", "I\u0307", "i\u0307", "\u0131", "\u1e9e", "STRA\u1e9eE", "Stra\u00dfe",
  "\u212b", "\u00c5", "A\u030a", "\u2126", "\u212a", "\u03a3", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
  "\u1f82", "\u1f88", "\u1fbc", "\u03d3", "\u03d4", "\u0344", "\u0f73", "\u0f75", "\u0f81",
  "\u0f40\u0f74\u0f72", "\u0f40\u0f72\u0f74", "\u{1d15e}", "\u{1d160}", "a\u{1d16d}\u{1d165}", "a\u{1d165}\u{1d16d}",
  "\u{1d15e}\u{1d16d}", "\u{1d160}\u0301", "\u01c4", "\u01c5", "\u01f1", "\u1e9b\u0323",
  "\ud55c\uad6d\uc5b4", "\ud55c\u0301", "\u1100\u1161\u11a8", "\uac00\u11a8",
  "\uff21\uff22\uff23\uff11\uff12\uff13\uff01", "\uff26\uff35\uff2c\uff2c\u3000\uff37\uff29\uff24\uff34\uff28",
  "\u2160\u216b", "\u24b6\u24b7", "\ufb01", "\ufb2c", "\ufb1d", "\u{1d400}\u{1d401}", "\uf900\uf901",
  "\u{2f800}", "\u00c9COLE", "\u00c9cole \u00e9t\u00e9", "na\u00efve r\u00e9sum\u00e9", "\u1ea0\u0306",
  "a\u{1e944}\u{1e94a}", "a\u{1e94a}\u{1e944}", "a\u08d4\u0316", "e\u0898", "e\u1ab0", "e\u1dfa\u0300",
  "a\u{11442}\u{11446}", "a\u{16ff0}\u0334", "a\u0334\u{16ff0}", "x\u{1e000}\u0300",
  "\u0915\u093c\u094d\u0937", "\u0958", "\u09cb", "\u0b4c", "\u0dda", "\u1026", "\u1b06", "\u{1109a}",
  "\u{1112e}", "\u{1134b}", "\u{114bc}", "\u{115ba}", "\u{11938}", "\u3094\u3099", "\u304b\u3099",
  "\u30ac", "\u2adc", "\u{1d1bb}", "\u0340\u0341", "\u0374\u037e\u0387", "\u2000\u2001",
  "a\u00a0b\u2028c\u3000d\u0085e", "a\u200bb\u2060c\ufeffd\u{e0001}e", "a\ufffdb\u0000c",
  "\u{e000}\u{f0000}x", "a\u2e4fb\u2e50c", "x\u{1f10d}y", "x\u{1f3fb}y", "\u{1f468}\u200d\u{1f469}",
  "a-b_c.d", "\u00bf\u00a1hola!?", "\u3002\u3001\u300c\u300d", "\u0f14\u0f15", "\u{10fffd}\u{10ffff}",
  "x\u{2b820}y\u{2b920}z", "\u4e00\u9fff\u9fa6\u{2ceb0}\u{30000}", "\u{1e94b}\u{1e900}",
  "\u0587", "\u1e96", "\u1f50\u0301", "\u0390", "\u03b0", "A\u0308\u0304", "\u01de", "\u01d5\u0301",
];
// and every mark HF sorts that strip_accents keeps (the order of the others
// is lost with them), after a letter, against each class of such marks
const keptMarks = [];
for (let cp = 0; cp < N; cp++) if (ccc[cp] && !(cls[cp] & MN) && !nfd.has(cp)) keptMarks.push(cp);
const keptClasses = [...new Map(keptMarks.map((cp) => [ccc[cp], cp])).values()];
const run = S(...keptClasses); // a run of kept marks, one per class
for (const x of keptMarks) PROBES.push(`a${S(x)}${run}\u0301b`, `A${[...run].reverse().join("")}${S(x)}`);

const plines = [];
for (const p of PROBES) {
  plines.push(`T ${cps(p).map(hex).join(" ")}`);
  for (const [name, tok] of CONFIGS) {
    const norm = tok.getNormalizer().normalizeString(p);
    const words = preTok.preTokenizeString(norm).map((w) => cps(w[0]).map(hex).join(" "));
    plines.push(`${name[0].toUpperCase()} ${words.join(" / ")}`.trimEnd());
  }
}
const pheader = `# Hugging Face tokenizers (npm @anush008/tokenizers ${hfVersion}): the words BertNormalizer +
# BertPreTokenizer make of multi-character strings. Written by test/gen/gen_bert_unicode.mjs; do not edit.
#   T c...            the text, code points in hex
#   U|C|S w / w ...   its words (code points in hex, words separated by '/') under the uncased
#                     (lowercase + strip accents), cased (neither) and strip (strip accents only)
#                     configurations
`;
fs.writeFileSync(path.join(A.out, "hf_bert_probes.txt"), pheader + plines.join("\n") + "\n");
const size = (f) => fs.statSync(path.join(A.out, f)).size;
process.stderr.write(`wrote ${lines.length} records (${size("hf_bert_chars.txt")} bytes), ` +
                     `${PROBES.length} probes (${size("hf_bert_probes.txt")} bytes) to ${A.out}\n`);

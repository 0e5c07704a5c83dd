// Parses Mermaid diagrams with the real Mermaid parser, the way a Markdown renderer would.
//
// Usage: node parse.mjs FILE...   (or a diagram on standard input when no FILE is given)
// A file is one diagram, or Markdown whose ```mermaid fences each hold one.
// Exit code 0 when every diagram parses, 1 when one does not (the parser's message goes to
// standard error), 2 on a usage or setup error.
//
// Mermaid expects a browser: jsdom provides `window` and `document`, as a test page would.
import { readFile } from "node:fs/promises";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "SVGElement", "Node", "DOMParser", "XMLSerializer"]) {
  if (globalThis[key] === undefined && dom.window[key] !== undefined) {
    globalThis[key] = dom.window[key];
  }
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

let mermaid;
try {
  mermaid = (await import("mermaid")).default;
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
} catch (e) {
  console.error(`cannot load mermaid: ${e?.stack ?? e}`);
  process.exit(2);
}

const files = process.argv.slice(2);
const inputs = files.length === 0
  ? [["<stdin>", await readStdin()]]
  : await Promise.all(files.map(async (f) => [f, await readFile(f, "utf8")]));

// The diagrams of one input: its ```mermaid fences, or the whole text when it has none.
function diagrams(name, text) {
  const fence = /^```mermaid[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm;
  const found = [...text.matchAll(fence)].map((m, i) => [`${name}#${i + 1}`, m[1]]);
  return found.length > 0 ? found : [[name, text]];
}

let failed = 0;
for (const [name, text] of inputs.flatMap(([n, t]) => diagrams(n, t))) {
  try {
    // suppressErrors: false makes a bad diagram throw instead of returning false.
    const result = await mermaid.parse(text, { suppressErrors: false });
    if (!result || result.diagramType !== "sequence") {
      console.error(`${name}: parsed, but as ${result?.diagramType ?? "nothing"}, not a sequence diagram`);
      failed++;
    } else {
      console.log(`${name}: ok (${result.diagramType})`);
    }
  } catch (e) {
    console.error(`${name}: ${e?.message ?? e}`);
    failed++;
  }
}
process.exitCode = failed === 0 ? 0 : 1;

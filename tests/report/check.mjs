// Opens ktrail's HTML reports in the system's Chromium, headless, through the DevTools protocol
// (puppeteer-core; no browser is downloaded), and checks what a reader relies on.
//
// Usage: node check.mjs MANIFEST.json
// The manifest is a list of cases:
//   { "name", "html": path, "lanes": n, "stories": n,
//     "filter": { "select": "f-ns", "value": "3", "count": n },
//     "screenshots": dir, "maxInteractiveMs": n (optional),
//     "hostile": ["text that must show as text", ...] (optional) }
// Prints one line per check; exit code 0 when every check passed, 1 when one failed, 2 on a
// setup error (no browser, bad manifest).
import { readFile, mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

let puppeteer;
try {
  puppeteer = (await import("puppeteer-core")).default;
} catch (e) {
  console.error(`cannot load puppeteer-core: ${e?.message ?? e}`);
  process.exit(2);
}

const manifest = JSON.parse(await readFile(process.argv[2], "utf8"));
const executablePath = process.env.KTRAIL_CHROMIUM ?? "/usr/bin/chromium";
const profile = await mkdtemp(join(tmpdir(), "ktrail-chromium-"));
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
};

let browser;
try {
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
    defaultViewport: { width: 1280, height: 800 },
  });
} catch (e) {
  console.error(`cannot start ${executablePath}: ${e?.message ?? e}`);
  await rm(profile, { recursive: true, force: true });
  process.exit(2);
}

async function runCase(c) {
  const url = pathToFileURL(resolve(c.html)).href;
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
  page.on("requestfailed", (r) => { if (r.url() !== url) requests.push(`failed ${r.url()}`); });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  // Interactive: the script ran and showed the controls (they are hidden without it).
  await page.waitForFunction(() => {
    const f = document.getElementById("controls");
    return !f || !f.hidden;
  });
  const n = c.name;
  // Interactive: the script has drawn the swimlane and wired the controls (it stamps the time
  // since navigation on <html>). On a machine shared with other work the best of three loads
  // is the report's own time.
  const readyMs = async () => Number(await page.evaluate(() => document.documentElement.dataset.ready));
  let interactiveMs = await readyMs();
  console.log(`     ${n}: interactive after ${interactiveMs} ms (${Date.now() - t0} ms with the browser's own work)`);
  if (c.maxInteractiveMs) {
    for (let k = 0; k < 2 && interactiveMs >= c.maxInteractiveMs; k++) {
      await page.reload({ waitUntil: "load" });
      interactiveMs = Math.min(interactiveMs, await readyMs());
    }
    check(interactiveMs < c.maxInteractiveMs, `${n}: interactive in ${interactiveMs} ms (best of up to three loads; < ${c.maxInteractiveMs})`);
  }

  const counts = await page.evaluate(() => ({
    lanes: document.querySelectorAll("#lanes g.lane").length,
    stories: document.querySelectorAll("section.story").length,
    shown: document.getElementById("shown")?.dataset.count,
    // Hovering a lane shows its facts: the SVG tooltip, the lane's first child.
    tooltips: [...document.querySelectorAll("#lanes g.lane")]
      .every((g) => g.firstElementChild?.tagName === "title" && g.firstElementChild.textContent.includes("\n")),
  }));
  check(counts.tooltips, `${n}: every bar has its facts as a tooltip`);
  check(counts.lanes === c.lanes, `${n}: ${counts.lanes} swimlane bars, timeline -o json has ${c.lanes}`);
  check(counts.stories === c.stories, `${n}: ${counts.stories} story sections, expected ${c.stories}`);
  if (c.lanes > 0) check(Number(counts.shown) === c.lanes, `${n}: ${counts.shown} shown before filtering`);

  // Nothing but the report's own code: no element that loads or runs anything, no handler
  // attribute, no link out of the document.
  const foreign = await page.evaluate(() => {
    const bad = [];
    const code = [...document.querySelectorAll("script")].filter((s) => s.type !== "application/json");
    if (code.length !== 1 || code[0].src) bad.push(`${code.length} scripts`);
    if (document.querySelectorAll("style").length !== 1) bad.push("style count");
    document.querySelectorAll("img,iframe,object,embed,link,base,video,audio,source,foreignObject,form[action]")
      .forEach((e) => bad.push(e.tagName));
    document.querySelectorAll("*").forEach((e) => {
      for (const a of e.attributes) {
        if (/^on/i.test(a.name)) bad.push(`${e.tagName}[${a.name}]`);
        if (a.name === "style") bad.push(`${e.tagName}[style]`);
        if ((a.name === "href" || a.name === "xlink:href" || a.name === "src") && !a.value.startsWith("#")) bad.push(`${e.tagName}[${a.name}=${a.value}]`);
      }
    });
    return bad;
  });
  check(foreign.length === 0, `${n}: only the report's own code and in-document links${foreign.length ? ": " + foreign.slice(0, 5).join(", ") : ""}`);

  await mkdir(c.screenshots, { recursive: true });
  await page.screenshot({ path: join(c.screenshots, `${n}-overview.png`) });
  await page.evaluate(() => document.getElementById("pods")?.scrollIntoView());
  await page.screenshot({ path: join(c.screenshots, `${n}-swimlane.png`) });

  if (c.filter) {
    const shown = await page.evaluate((f) => {
      const s = document.getElementById(f.select);
      s.value = f.value;
      s.dispatchEvent(new Event("change"));
      const visible = [...document.querySelectorAll("#lanes g.lane")].filter((g) => g.getAttribute("display") !== "none").length;
      return { count: Number(document.getElementById("shown").dataset.count), visible };
    }, c.filter);
    check(shown.count === c.filter.count && shown.visible === c.filter.count,
      `${n}: filter ${c.filter.select}=${c.filter.value} shows ${shown.count} (${shown.visible} bars), expected ${c.filter.count}`);
    await page.screenshot({ path: join(c.screenshots, `${n}-filtered.png`) });
    // Zoom to the first tenth of the log: the bars are redrawn, none leaves the plot.
    const zoom = await page.evaluate(() => {
      const to = document.getElementById("z-to");
      to.value = 100;
      to.dispatchEvent(new Event("input"));
      const svg = document.getElementById("lanes");
      const x1 = Number(svg.dataset.x1) + 0.5;
      return [...svg.querySelectorAll("rect.seg")].every((r) => Number(r.getAttribute("x")) + Number(r.getAttribute("width")) <= x1 + 1);
    });
    check(zoom, `${n}: zoomed bars stay within the plot`);
    // Sorted by created → ready, slowest first: the lanes from the top down never get slower,
    // and those without the latency come last.
    const sorted = await page.evaluate(() => {
      document.getElementById("z-reset").click();
      const s = document.getElementById("f-sort");
      s.value = "c2r";
      s.dispatchEvent(new Event("change"));
      const pods = JSON.parse(document.getElementById("ktrail-data").textContent).pods;
      const y = (g) => Number(/translate\(0,(\d+)\)/.exec(g.getAttribute("transform"))[1]);
      const order = [...document.querySelectorAll("#lanes g.lane")]
        .filter((g) => g.getAttribute("display") !== "none")
        .sort((a, b) => y(a) - y(b))
        .map((g) => pods[Number(g.id.slice(5))][9]);
      s.value = "";
      s.dispatchEvent(new Event("change"));
      return order.every((v, k) => k === 0 || v === null || (order[k - 1] !== null && order[k - 1] >= v));
    });
    check(sorted, `${n}: sorted by created → ready, slowest first`);
    await page.evaluate(() => {
      document.getElementById("z-reset").click();
      const s = document.getElementById("f-ns");
      s.value = "";
      s.dispatchEvent(new Event("change"));
    });
  }

  if (c.stories > 0) {
    // Open a story by clicking its bar.
    const lane = await page.evaluate(() => {
      const a = document.querySelector("#lanes g.lane a");
      if (!a) return null;
      a.closest("g.lane").scrollIntoView({ block: "center" });
      return a.closest("g.lane").id.slice(5);
    });
    if (lane === null) {
      check(false, `${n}: a bar links to a story`);
    } else {
      await page.click(`#lane-${lane} a text.name`);
      await page.waitForFunction((i) => document.querySelector(`#story-${i} details`)?.open
        && document.querySelector(`#story-${i} svg.seq line.m`), { timeout: 5000 }, lane);
      const opened = await page.evaluate((i) => ({
        hash: location.hash,
        open: document.querySelector(`#story-${i} details`).open,
        svg: document.querySelectorAll(`#story-${i} svg.seq line.m`).length,
        events: document.querySelectorAll(`#story-${i} table.events tbody tr`).length,
      }), lane);
      check(opened.open && opened.hash === `#story-${lane}`, `${n}: clicking bar ${lane} opens its story`);
      check(opened.svg > 0 && opened.events > 0, `${n}: the story has ${opened.events} events and ${opened.svg} arrows`);
      await page.screenshot({ path: join(c.screenshots, `${n}-story.png`) });
    }
  }

  if (c.hostile) {
    // Hover and click every bar, open every story: no handler may run.
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => { d.open = true; }));
    const lanes = await page.$$("#lanes g.lane");
    for (const l of lanes) await l.hover();
    const seen = await page.evaluate(() => {
      const texts = [...document.querySelectorAll("#lanes text.name, #lanes title, .story .pod, .story td, .story dd, table.webhooks th, svg.seq text, svg.seq title")]
        .map((e) => e.textContent);
      return { pwned: typeof window.__pwned, text: texts.join("\n") };
    });
    check(seen.pwned === "undefined", `${n}: window.__pwned is ${seen.pwned}`);
    for (const t of c.hostile) check(seen.text.includes(t), `${n}: shows ${JSON.stringify(t)} as text`);
    await page.screenshot({ path: join(c.screenshots, `${n}-hostile.png`), fullPage: false });
  }

  check(errors.length === 0, `${n}: no console error${errors.length ? ": " + errors.slice(0, 3).join(" | ") : ""}`);
  check(requests.length === 0, `${n}: no network request${requests.length ? ": " + requests.slice(0, 3).join(" ") : ""}`);
  await page.close();
}

try {
  for (const c of manifest) {
    try {
      await runCase(c);
    } catch (e) {
      check(false, `${c.name}: ${e?.stack ?? e}`);
    }
  }
} finally {
  await browser.close();
  await rm(profile, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);

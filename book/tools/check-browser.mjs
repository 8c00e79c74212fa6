// The built book, opened in a real browser: Debian's chromium, headless, driven
// by playwright-core (pinned in book/package.json). scripts/check-book.sh runs
// it after `mdbook build`; it exits 1 with one line per problem found.
//
// What a reader would hit and mdbook's build does not see:
//   - a page listed in SUMMARY.md that does not load, or logs a console error
//     or an uncaught exception, or asks for a file the server does not have;
//   - a diagram that did not draw: each ```mermaid block in a page's source
//     must have become an <svg>, and none may be mermaid's error picture;
//   - a broken link between pages, or a broken #anchor (a heading id mdbook
//     made, on this page or another), or an image that did not load;
//   - search that does not work: "high watermark" typed into mdbook's search
//     box must list a result in 06-replication.
//
// The pages are served by a small HTTP server on 127.0.0.1 started and stopped
// in this process, as a reader's browser would get them (search's index is
// fetched, which file:// URLs would not show). Links to other sites are not
// followed: the check must pass offline.
//
//     node book/tools/check-browser.mjs [BOOK_DIR]   # default: book/

import { readFileSync, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const BOOK_DIR = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const SRC_DIR = join(BOOK_DIR, "src");
const OUT_DIR = join(BOOK_DIR, "book");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Generous: CI machines are shared, and a loaded one takes seconds per page.
const WAIT_MS = 30_000;
// Pages open this many at a time (the machine has few cores; more only queue).
const PAGES_AT_ONCE = 3;
const SEARCH_WORDS = "high watermark";
const SEARCH_PAGE = "06-replication.html";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
};

const problems = new Set(); // a page that asks twice for a missing file is one problem
const problem = (msg) => problems.add(msg);

/** The pages of SUMMARY.md, as [source path, html path] relative to src/. */
function summaryPages() {
  const summary = readFileSync(join(SRC_DIR, "SUMMARY.md"), "utf8");
  const pages = [...summary.matchAll(/\]\(([^)]+\.md)\)/g)].map((m) => m[1]);
  return pages.map((md) => [md, md.replace(/\.md$/, ".html")]);
}

/** How many ```mermaid blocks a page's source holds: the pictures it must show. */
function diagramSources(md) {
  const text = readFileSync(join(SRC_DIR, md), "utf8");
  return (text.match(/^```mermaid\s*$/gm) ?? []).length;
}

/** Serves OUT_DIR on 127.0.0.1 at a port the kernel picks; resolves to the server. */
function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(OUT_DIR, path));
    if (!file.startsWith(OUT_DIR + sep) && file !== OUT_DIR) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": "max-age=600", // one download of the scripts for all pages
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** Every id in a built page, read from the file: the targets its #anchors may name. */
const idsCache = new Map();
function idsOf(htmlPath) {
  if (!idsCache.has(htmlPath)) {
    const file = join(OUT_DIR, htmlPath);
    const html = existsSync(file) ? readFileSync(file, "utf8") : "";
    idsCache.set(htmlPath, new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])));
  }
  return idsCache.get(htmlPath);
}

/** Records the console errors, exceptions and missing files of one page load. */
function watch(page, name) {
  page.on("console", (m) => m.type() === "error" && problem(`${name}: console error: ${m.text()}`));
  page.on("pageerror", (e) => problem(`${name}: uncaught exception: ${e.message}`));
  page.on("requestfailed", (r) => problem(`${name}: request failed: ${r.url()}`));
  page.on("response", (r) => r.status() >= 400 && problem(`${name}: HTTP ${r.status()} for ${r.url()}`));
}

/** What a loaded page shows: its diagrams, links and images, read in the page. */
function inspect() {
  const main = document.querySelector("main") ?? document.body;
  const diagrams = Array.from(document.querySelectorAll("pre.mermaid"));
  return {
    state: document.documentElement.dataset.diagrams ?? "missing",
    sources: document.querySelectorAll("code.language-mermaid").length,
    drawn: diagrams.filter((d) => d.querySelector(":scope > svg")).length,
    errors: diagrams.filter((d) => d.querySelector('svg[aria-roledescription="error"]') ||
      /Syntax error|Parse error/i.test(d.textContent)).length,
    links: Array.from(main.querySelectorAll("a[href]"), (a) => a.href),
    images: Array.from(main.querySelectorAll("img"), (i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 })),
  };
}

/** Opens one page and checks its diagrams and images; returns its links. */
async function checkPage(context, base, md, html) {
  const page = await context.newPage();
  watch(page, html);
  const loaded = await page.goto(base + html, { waitUntil: "load", timeout: WAIT_MS }).catch((e) => {
    problem(`${html}: did not load: ${e.message.split("\n")[0]}`);
  });
  if (!loaded) {
    await page.close();
    return [];
  }
  await page.waitForFunction(() => document.documentElement.dataset.diagrams, null,
    { timeout: WAIT_MS }).catch(() => {});
  const seen = await page.evaluate(inspect);
  const want = diagramSources(md);
  if (seen.state !== "done") problem(`${html}: diagrams ${seen.state}`);
  if (seen.drawn !== want || seen.sources !== 0) {
    problem(`${html}: ${want} diagram source(s), ${seen.drawn} drawn as <svg>`);
  }
  if (seen.errors) problem(`${html}: ${seen.errors} diagram(s) drew mermaid's error text`);
  for (const img of seen.images) if (!img.ok) problem(`${html}: image did not load: ${img.src}`);
  await page.close();
  return seen.links;
}

/** A link inside the book must reach a built file, and its #anchor an id there. */
function checkLink(from, href, base) {
  if (!href.startsWith(base)) return; // another site: not followed offline
  const url = new URL(href);
  const path = decodeURIComponent(url.pathname).replace(/^\//, "") || "index.html";
  if (!existsSync(join(OUT_DIR, path))) {
    problem(`${from}: broken link ${href.slice(base.length)}: no ${path}`);
    return;
  }
  const anchor = decodeURIComponent(url.hash.replace(/^#/, ""));
  if (anchor && path.endsWith(".html") && !idsOf(path).has(anchor)) {
    problem(`${from}: broken anchor ${href.slice(base.length)}: no id "${anchor}" in ${path}`);
  }
}

/** Types SEARCH_WORDS into mdbook's search box; a result must link to SEARCH_PAGE. */
async function checkSearch(context, base) {
  const page = await context.newPage();
  watch(page, "search");
  try {
    await page.goto(base + "index.html", { waitUntil: "load", timeout: WAIT_MS });
    await page.click("#mdbook-search-toggle", { timeout: WAIT_MS });
    // The index (several MB) loads on the first toggle; type once it is there,
    // key by key as a reader does (mdbook searches on keyup).
    await page.waitForFunction(() => window.search, null, { timeout: WAIT_MS });
    await page.locator("#mdbook-searchbar").pressSequentially(SEARCH_WORDS);
    const hrefs = await page.waitForFunction((p) => {
      const links = Array.from(document.querySelectorAll("#mdbook-searchresults a"), (a) => a.href);
      return links.some((h) => h.includes(p)) && links;
    }, SEARCH_PAGE, { timeout: WAIT_MS });
    return (await hrefs.jsonValue()).length;
  } catch (e) {
    problem(`search: "${SEARCH_WORDS}" listed no result in ${SEARCH_PAGE}: ${e.message.split("\n")[0]}`);
    return 0;
  } finally {
    await page.close();
  }
}

/** Runs `check` over `items`, `width` at a time, keeping the results in order. */
async function pool(items, width, check) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await check(items[i]);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

async function main() {
  const started = Date.now();
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const context = await browser.newContext(); // one cache, as one reader's browser
  let links = 0;
  let diagrams = 0;
  try {
    const pages = summaryPages();
    const found = await pool(pages, PAGES_AT_ONCE, ([md, html]) => checkPage(context, base, md, html));
    pages.forEach(([md, html], i) => {
      diagrams += diagramSources(md);
      for (const href of found[i]) checkLink(html, href, base);
      links += found[i].length;
    });
    const results = await checkSearch(context, base);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`check-browser: ${summaryPages().length} pages, ${diagrams} diagrams, ` +
      `${links} links, search "${SEARCH_WORDS}": ${results} results, in ${secs}s`);
  } finally {
    await browser.close();
    server.close();
  }
  for (const p of problems) console.error(`check-browser: ${p}`);
  process.exit(problems.size ? 1 : 0);
}

await main();

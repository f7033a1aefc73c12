// Opens a kubeward report in the system's Firefox (headless, WebDriver BiDi through puppeteer-core,
// no geckodriver, no browser download) and does what a reader does: load, look at the graph, click
// a workload, search. Prints one JSON document on stdout for tests/test_report_firefox.py to judge.
//
//   node report-in-firefox.mjs SCENARIO.json
//
// SCENARIO: {"firefox": path, "profile": empty dir, "html": report file, "shots": dir,
//            "prefs": {Firefox preferences}, "env": {Firefox's environment additions},
//            "click": node id, "searches": [text, ...]}
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const scenario = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { console: [], requests: [], steps: [] };
const text = (page, selector) => page.$eval(selector, (e) => e.innerText);

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: scenario.firefox,
  userDataDir: scenario.profile,
  headless: true,
  extraPrefsFirefox: scenario.prefs,
  env: { ...process.env, ...(scenario.env ?? {}) },
  defaultViewport: { width: 1440, height: 900 },
  timeout: 20_000,
});
try {
  out.version = await browser.version();
  const page = await browser.newPage();
  page.on("console", (m) => out.console.push([m.type(), m.text()]));
  page.on("pageerror", (e) => out.console.push(["pageerror", String(e)]));
  page.on("request", (r) => out.requests.push(r.url()));
  out.url = pathToFileURL(scenario.html).href;
  const started = Date.now();
  await page.goto(out.url);
  await page.waitForSelector("body[data-graph-ready='1']", { timeout: 20_000 });
  out.interactive_ms = Date.now() - started;
  out.nodes = await page.evaluate(() => window.kubewardReport.graph().nodes().map((n) => n.id()).sort());
  out.layout = await page.evaluate(() => {
    const box = (id) => {
      const r = document.getElementById(id).getBoundingClientRect();
      return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
    };
    const cy = window.kubewardReport.graph(), ext = cy.elements().renderedBoundingBox();
    return { cy: box("cy"), panel: box("panel"), search: box("search"), scroll_width: document.documentElement.scrollWidth,
             graph: [Math.round(ext.x1), Math.round(ext.y1), Math.round(ext.w), Math.round(ext.h)] };
  });
  await page.screenshot({ path: `${scenario.shots}/report-shop-firefox.png` });

  // a real mouse click on the node's place in the canvas
  const at = await page.evaluate((id) => {
    const cy = window.kubewardReport.graph(), n = cy.getElementById(id);
    cy.center(n);
    const p = n.renderedPosition(), box = cy.container().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  }, scenario.click);
  await page.mouse.click(at.x, at.y);
  out.clicked_panel = await text(page, "#panel");
  await page.screenshot({ path: `${scenario.shots}/report-shop-api-firefox.png` });

  out.searches = {};
  for (const query of scenario.searches) {
    await page.locator("#search").fill(query);
    out.searches[query] = await text(page, "#search-results");
  }
  await page.click("#search-results li:first-child");
  out.search_click_panel = await text(page, "#panel");
  await page.close();
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));

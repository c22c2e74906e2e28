// Opens Moon's /docs in headless Chromium, checks the live collection is rendered, runs
// "Try it out" on its :list operation and expects a 200; saves a screenshot.
// Env: MOON_URL, MOON_TOKEN, SCREENSHOT (path), COLLECTION.
import { chromium } from "playwright-core";

const base = process.env.MOON_URL;
const token = process.env.MOON_TOKEN;
const collection = process.env.COLLECTION || "products";
const shot = process.env.SCREENSHOT || "docs.png";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/docs`);
  await page.evaluate((t) => window.localStorage.setItem("moon_token", t), token);
  await page.goto(`${base}/docs`);
  const operation = `#operations-${collection}-${collection}_list`;
  await page.waitForSelector(operation, { timeout: 20000 });
  await page.click(`${operation} .opblock-summary`);
  // The page opens operations ready to try; press "Try it out" only if it is not.
  if (!(await page.isVisible(`${operation} button.execute`))) {
    await page.click(`${operation} button.try-out__btn`);
  }
  await page.click(`${operation} button.execute`);
  const status = await page.waitForSelector(`${operation} .live-responses-table tbody .response-col_status`, { timeout: 20000 });
  const code = (await status.textContent()).trim();
  await page.screenshot({ path: shot, fullPage: false });
  if (code !== "200") {
    console.error(`try it out answered ${code}`);
    process.exit(1);
  }
  console.log(`try it out: ${code}`);
} finally {
  await browser.close();
}

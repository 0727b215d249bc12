// Lighthouse's accessibility and best-practices audits of some pages, in one headless Chromium.
// Called by tools/lighthouse.py: reads {chromePath, chromeFlags, pages: [{name, url, cookie}]} as JSON on stdin,
// writes [{name, url, scores: {accessibility, "best-practices"}, failed: [{id, title, category}]}] as JSON on stdout.
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

const CATEGORIES = ['accessibility', 'best-practices'];
// Server-rendered pages on loopback: no need for the default second of quiet after each load (these categories
// judge the page once it has loaded, not its speed).
const CONFIG = {
  extends: 'lighthouse:default',
  settings: {
    pauseAfterFcpMs: 100,
    pauseAfterLoadMs: 100,
    networkQuietThresholdMs: 250,
    cpuQuietThresholdMs: 250,
    disableFullPageScreenshot: true,
  },
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function failedAudits(lhr) {
  const failed = [];
  for (const category of CATEGORIES) {
    for (const ref of lhr.categories[category].auditRefs) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
        failed.push({id: ref.id, title: audit.title, category, score: audit.score});
      }
    }
  }
  return failed;
}

const input = await readStdin();
const chrome = await chromeLauncher.launch({chromePath: input.chromePath, chromeFlags: input.chromeFlags});
const results = [];
try {
  for (const page of input.pages) {
    const flags = {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: CATEGORIES,
      formFactor: 'desktop',
      screenEmulation: {mobile: false, width: 1350, height: 940, deviceScaleFactor: 1, disabled: false},
      throttlingMethod: 'provided',
      disableStorageReset: false,
      extraHeaders: page.cookie ? {Cookie: page.cookie} : undefined,
    };
    const started = Date.now();
    const {lhr} = await lighthouse(page.url, flags, CONFIG);
    process.stderr.write(`${page.name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (lhr.runtimeError) throw new Error(`${page.url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    const scores = Object.fromEntries(CATEGORIES.map((c) => [c, lhr.categories[c].score]));
    results.push({name: page.name, url: lhr.finalDisplayedUrl, scores, failed: failedAudits(lhr)});
  }
} finally {
  await chrome.kill();
}
process.stdout.write(JSON.stringify(results));

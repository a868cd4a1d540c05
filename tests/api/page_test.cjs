// The live page in a real browser (issue 12): Debian's chromium, driven by
// playwright-core, loads tickd api's / against a running `tickd run`, waits
// for the chart, and checks through the chart's own API (series.data()) that
// every closed candle it draws is /ohlcv's bar of that window, that the
// forming candle moves as trades arrive and, once its window closes, is
// /ohlcv's bar exactly; then switches symbol and timeframe and checks again;
// screenshots along the way.  Any page error or failed request fails it.
//
// With TICKD and SHM (the run's binary and segment) it also checks the
// forming candle against the tick log: the trades of its window up to the
// newest the page applied make exactly its open, high, low, close, volume.
//
// usage: node page_test.cjs WEB_DIR BASE_URL OUT_DIR [TICKD SHM]
"use strict";
const path = require("path");
const { execFileSync } = require("child_process");
const [webDir, base, out, tickd, shm] = process.argv.slice(2);
const { chromium } = require(path.join(webDir, "node_modules", "playwright-core"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function fail(msg) { throw new Error(msg); }

async function api(url) {
  const r = await fetch(base + url);
  if (!r.ok) fail(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

// The candles the page has drawn, and its view (symbol, timeframe, which windows are closed).
async function drawn(page) {
  return page.evaluate(() => {
    const p = window.tickdPage, v = p.view;
    return { symbol: v.symbol, tf: v.tf, ms: v.ms, loaded: v.loaded, closed: [...v.closed],
             candles: p.candles.data().map((c) => ({ ...c })), volume: p.volume.data().map((c) => ({ ...c })) };
  });
}

// Every closed candle drawn equals the /ohlcv bar of its window (every
// field drawn: OHLC and volume); at least `atLeast` of them.
async function checkClosed(page, atLeast) {
  const d = await drawn(page);
  const rows = (await api(`/ohlcv/${d.tf}?symbol=${encodeURIComponent(d.symbol)}` +
    `&from=${d.candles.length ? d.candles[0].time * 1000 : 0}&to=${Date.now() + 86400e3}&limit=5000`)).rows;
  const byT = new Map(rows.map((r) => [r.window_start, r]));
  const vol = new Map(d.volume.map((v) => [v.time, v.value]));
  let n = 0;
  for (const c of d.candles) {
    const t = c.time * 1000;
    if (!d.closed.includes(t)) continue;
    const r = byT.get(t);
    if (!r) fail(`${d.symbol} ${d.tf}: candle ${t} is drawn closed but /ohlcv has no bar of it`);
    const want = { time: c.time, open: r.open, high: r.high, low: r.low, close: r.close };
    for (const k of Object.keys(want))
      if (c[k] !== want[k]) fail(`${d.symbol} ${d.tf} ${t}: ${k} drawn ${c[k]}, /ohlcv ${want[k]}`);
    if (vol.get(c.time) !== r.volume) fail(`${d.symbol} ${d.tf} ${t}: volume drawn ${vol.get(c.time)}, /ohlcv ${r.volume}`);
    n++;
  }
  // Every /ohlcv bar inside the drawn span is drawn.
  const first = d.candles.length ? d.candles[0].time * 1000 : Infinity;
  const lastClosed = Math.max(...d.closed);
  for (const r of rows)
    if (r.window_start >= first && r.window_start <= lastClosed && !d.closed.includes(r.window_start))
      fail(`${d.symbol} ${d.tf}: /ohlcv bar ${r.window_start} is not drawn closed`);
  if (n < atLeast) fail(`${d.symbol} ${d.tf}: only ${n} closed candles drawn (want ${atLeast})`);
  return { n, d };
}

// The forming (newest, not closed) candle: the log's trades of its window
// up to the page's newest, each once, none missing.
async function checkForming(page) {
  const f = await page.evaluate(() => {
    const p = window.tickdPage, v = p.view, c = p.candles.data(), l = c[c.length - 1];
    return { symbol: v.symbol, ms: v.ms, maxSeq: v.drawnSeq, closed: v.closed.has(l.time * 1000), c: { ...l },
             vol: p.volume.data()[p.volume.data().length - 1].value };
  });
  if (f.closed) return checkForming(page); // a window just closed: the next one
  const t0 = f.c.time * 1000;
  const log = execFileSync(tickd, ["tail", "ticks.0", "--shm-path", shm, "--from-start", "--no-follow",
                                   "--symbol", f.symbol], { maxBuffer: 1 << 28 }).toString().trim().split("\n")
    .map((l) => JSON.parse(l)).filter((t) => t.price !== undefined && t.ts >= t0 && t.ts < t0 + f.ms && t.seq <= f.maxSeq);
  if (!log.length) fail(`forming candle ${t0}: no trade of it in the log up to seq ${f.maxSeq}`);
  const want = { open: log[0].price, high: Math.max(...log.map((t) => t.price)), low: Math.min(...log.map((t) => t.price)),
                 close: log[log.length - 1].price };
  for (const k of Object.keys(want))
    if (f.c[k] !== want[k]) fail(`forming candle ${t0}: ${k} drawn ${f.c[k]}, the log's ${log.length} trades up to seq ${f.maxSeq} make ${want[k]}`);
  const vol = log.reduce((a, t) => a + t.size, 0);
  if (Math.abs(f.vol - vol) > 1e-9 * vol) fail(`forming candle ${t0}: volume drawn ${f.vol}, the log's ${vol}`);
  console.log(`page: the forming candle ${t0} = the log's ${log.length} trades of its window up to seq ${f.maxSeq}`);
}

async function waitReady(page, want) {
  await page.waitForFunction((w) => document.body.dataset.ready === w, want, { timeout: 20000 });
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                          args: ["--no-sandbox", "--disable-gpu"] });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    // A symbol without an open bar now is a 404 of /ohlcv/{tf}/open: expected, and logged by the browser.
    page.on("console", (m) => {
      if (m.type() === "error" && !/\/open\?/.test(m.location().url || "")) errors.push(`console: ${m.text()} ${m.location().url}`);
    });
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} ${r.failure().errorText}`));
    page.on("response", (r) => { if (r.status() >= 400 && !/\/open\?/.test(r.url())) errors.push(`${r.status()} ${r.url()}`); });

    const syms = await api("/symbols");
    const first = syms.symbols[0].symbol, tf0 = syms.timeframes[0];
    await page.goto(base + "/");
    await waitReady(page, `${first}/${tf0}`);
    // Right away: the forming candle is the open bar read from the live state
    // plus the trades the stream brought after its last_seq.
    if (tickd) await checkForming(page);
    // The pickers hold /symbols' symbols and timeframes.
    const opts = await page.evaluate(() => [[...document.querySelectorAll("#symbol option")].map((o) => o.value),
                                             [...document.querySelectorAll("#tf option")].map((o) => o.value)]);
    if (JSON.stringify(opts[0]) !== JSON.stringify(syms.symbols.map((s) => s.symbol))) fail(`symbol picker: ${opts[0]}`);
    if (JSON.stringify(opts[1]) !== JSON.stringify(syms.timeframes)) fail(`timeframe picker: ${opts[1]}`);
    await page.waitForFunction(() => window.tickdPage.candles.data().length >= 5, null, { timeout: 20000 });
    let r = await checkClosed(page, 3);
    console.log(`page: ${first} ${tf0}: ${r.n} closed candles drawn equal /ohlcv`);

    // A new trade moves the last candle: its close or its window changes, and
    // the tape shows the trade.
    const before = r.d.candles[r.d.candles.length - 1];
    await page.waitForFunction((b) => {
      const c = window.tickdPage.candles.data();
      const l = c[c.length - 1];
      return l.time !== b.time || l.close !== b.close || l.high !== b.high || l.low !== b.low;
    }, before, { timeout: 15000 });
    const tape = await page.evaluate(() => document.querySelectorAll("#tape tbody tr").length);
    if (tape < 1) fail("the tape shows no trade");
    if (tickd) await checkForming(page);
    // The forming candle of a window, once closed, is /ohlcv's: after a few
    // windows every one drawn closed (the forming ones included) still equals it.
    const formed = r.d.candles[r.d.candles.length - 1].time * 1000;
    await page.waitForFunction((t) => window.tickdPage.view.closed.has(t), formed, { timeout: 20000 });
    r = await checkClosed(page, r.n + 1);
    console.log(`page: the last candle moved with the trades (tape ${tape} rows); window ${formed} closed as /ohlcv's bar; ${r.n} equal`);
    // More windows, then the signals: each of /signals/recent's inside the
    // drawn span is a marker (by its sequence), and the feed shows connected.
    await page.waitForFunction(() => window.tickdPage.view.closed.size >= 20, null, { timeout: 40000 });
    r = await checkClosed(page, 20);
    const span = r.d.candles[0].time * 1000;
    const sig = (await api(`/signals/recent?symbol=${encodeURIComponent(first)}&from=${span}&to=${Date.now() + 60e3}&limit=400`))
      .rows.filter((s) => s.ts - 1 >= span);
    await sleep(300); // a frame, for what the stream brought since
    const shown = new Set(await page.evaluate(() => window.tickdPage.markers.markers().map((m) => m.id)));
    const missing = sig.filter((s) => !shown.has(String(s.seq)));
    if (missing.length) fail(`signals not drawn as markers: ${JSON.stringify(missing.slice(0, 3))}`);
    const feed = await page.textContent("#feed");
    if (!/connected/.test(feed) || /disconnected/.test(feed)) fail(`the feed status says: ${feed}`);
    console.log(`page: ${r.n} closed candles equal /ohlcv; ${sig.length} signals drawn as markers; ${feed}`);
    await page.screenshot({ path: path.join(out, "page.png") });

    // Switch the symbol, then the timeframe, through the pickers.
    const second = syms.symbols[1].symbol, tf1 = syms.timeframes[1];
    await page.selectOption("#symbol", second);
    await waitReady(page, `${second}/${tf0}`);
    await page.waitForFunction(() => window.tickdPage.candles.data().length >= 3, null, { timeout: 20000 });
    r = await checkClosed(page, 1);
    if (r.d.symbol !== second) fail(`symbol switch: the page shows ${r.d.symbol}`);
    console.log(`page: switched to ${second}: ${r.n} closed candles equal /ohlcv`);
    await page.selectOption("#tf", tf1);
    await waitReady(page, `${second}/${tf1}`);
    await page.waitForFunction(() => window.tickdPage.candles.data().length >= 1, null, { timeout: 20000 });
    r = await checkClosed(page, 0);
    const hash = await page.evaluate(() => location.hash);
    if (hash !== `#${encodeURIComponent(second)}/${tf1}`) fail(`the address says ${hash}`);
    console.log(`page: switched to ${tf1}: ${r.d.candles.length} candles (${r.n} closed, equal /ohlcv), address ${hash}`);
    await page.screenshot({ path: path.join(out, "page-" + tf1 + ".png") });

    // An engine stopped while the page loads a view: the page waits until the
    // engine has applied the log's head /health gave after the ack (it is not
    // ready while the engine is stopped), so the forming candle still holds
    // every trade from its window's start to the stream's.
    if (tickd) {
      const eng = Number(execFileSync("pgrep", ["-f", `tickd engine --shm-path ${shm} `]).toString().trim().split("\n")[0]);
      let early;
      process.kill(eng, "SIGSTOP");
      try {
        await page.selectOption("#symbol", first);
        await sleep(1500);
        early = await page.evaluate(() => document.body.dataset.ready);
      } finally {
        process.kill(eng, "SIGCONT");
      }
      if (early === `${first}/${tf1}`) fail("the page drew its open bar while the engine was stopped");
      await waitReady(page, `${first}/${tf1}`);
      await checkForming(page);
      console.log(`page: ${first} ${tf1} loaded while the engine was stopped 1.5 s: ready only after it resumed`);
    }
    if (errors.length) fail(errors.join("\n"));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error("FAIL: page: " + e.message); process.exit(1); });

// The live page of tickd api: candles and volume of one symbol and timeframe,
// history from /ohlcv and the open bar from /ohlcv/{tf}/open, then /ws keeps
// them moving: trades grow the forming candles, each closed bar replaces its
// window's, signals become markers.  Plain script, no build step.
//
// The order matters.  The page subscribes first and keeps what the stream
// sends; once the server has acknowledged the subscription it reads the
// history and the open bar (whose last_seq is the last trade it holds), then
// applies what it kept: a trade is counted once, whether it arrived before or
// after the history was read.
"use strict";
(() => {
  const LWC = window.LightweightCharts;
  const $ = (id) => document.getElementById(id);
  const TAPE_ROWS = 20, EVENTS_MAX = 50, HISTORY_BARS = 500, MARKERS_MAX = 400;
  const UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
  const tfMs = (tf) => Number(tf.slice(0, -1)) * UNITS[tf.slice(-1)];

  const chart = LWC.createChart($("chart"), {
    autoSize: true,
    layout: { background: { color: "#131722" }, textColor: "#d1d4dc", attributionLogo: true },
    grid: { vertLines: { color: "#1e222d" }, horzLines: { color: "#1e222d" } },
    timeScale: { timeVisible: true, secondsVisible: true, rightOffset: 4, barSpacing: 9 },
    crosshair: { mode: LWC.CrosshairMode.Normal },
  });
  const candles = chart.addSeries(LWC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false,
  });
  const volume = chart.addSeries(LWC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "volume" });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  const markers = LWC.createSeriesMarkers(candles, []);

  // What the chart shows: bars by window start (ms), each closed or forming.
  let view = null;
  let gen = 0; // bumps at every (re)selection: answers of an older one are dropped
  let ws = null, wsUp = false, retry = 500;
  const tape = [];
  let dirty = false, restructure = false;

  function newView(symbol, tf) {
    return { symbol, tf, ms: tfMs(tf), bars: new Map(), order: [], closed: new Set(), lastSeq: -1, maxSeq: -1, drawnSeq: -1,
             kept: [], loaded: false, loading: false, signals: [], signalKeys: new Set(), gen: ++gen };
  }

  function barOf(b, closed) {
    return { t: b.window_start, o: b.open, h: b.high, l: b.low, c: b.close, v: b.volume, n: b.trade_count, closed };
  }

  function put(bar) {
    const v = view;
    const last = v.order.length ? v.order[v.order.length - 1] : -Infinity;
    if (!v.bars.has(bar.t)) {
      if (bar.t < last) {
        v.order.push(bar.t);
        v.order.sort((a, b) => a - b);
        restructure = true;
      } else {
        v.order.push(bar.t);
      }
    } else if (bar.t !== last) {
      restructure = true;
    }
    v.bars.set(bar.t, bar);
    if (bar.closed) v.closed.add(bar.t);
    dirty = true;
  }

  function applyTrade(t) {
    const v = view;
    if (t.seq <= v.lastSeq) return; // already in the open bar read from the live state
    const w = Math.floor(t.ts / v.ms) * v.ms;
    if (v.closed.has(w)) return; // the closed bar is the engine's word (a late trade it dropped)
    const b = v.bars.get(w);
    const last = v.order.length ? v.order[v.order.length - 1] : -Infinity;
    if (b) {
      b.h = Math.max(b.h, t.price); b.l = Math.min(b.l, t.price); b.c = t.price; b.v += t.size; b.n++;
      if (w !== last) restructure = true;
      dirty = true;
    } else if (w > last) {
      put({ t: w, o: t.price, h: t.price, l: t.price, c: t.price, v: t.size, n: 1, closed: false });
    }
    v.maxSeq = Math.max(v.maxSeq, t.seq); // the forming candles hold every trade up to here
    // An older window without a bar yet: its closed bar is on its way.
  }

  function applyBar(b) {
    put(barOf(b, true));
  }

  function signalMarker(s) {
    // A signal's ts is the end of the window that raised it.
    const w = Math.floor((s.ts - 1) / view.ms) * view.ms;
    const up = s.direction === "up";
    return { time: w / 1000, position: up ? "belowBar" : "aboveBar", shape: up ? "arrowUp" : "arrowDown",
             color: up ? "#26a69a" : "#ef5350", text: s.type, id: String(s.seq) };
  }

  // A signal is of one timeframe: the chart's are drawn, each once (the
  // history and the stream may both bring it).
  const signalKey = (s) => `${s.symbol}|${s.tf}|${s.type}|${s.ts}`;
  function applySignal(s) {
    const v = view;
    if (s.tf !== v.tf || v.signalKeys.has(signalKey(s))) return;
    v.signalKeys.add(signalKey(s));
    v.signals.push(s);
    if (v.signals.length > MARKERS_MAX) v.signalKeys.delete(signalKey(v.signals.shift()));
    restructure = true; dirty = true;
  }

  function render() {
    requestAnimationFrame(render);
    if (view && view.loaded && dirty) {
      const v = view;
      const cs = (b) => ({ time: b.t / 1000, open: b.o, high: b.h, low: b.l, close: b.c });
      const vs = (b) => ({ time: b.t / 1000, value: b.v, color: b.c >= b.o ? "#26a69a80" : "#ef535080" });
      if (restructure) {
        const all = v.order.map((t) => v.bars.get(t));
        candles.setData(all.map(cs));
        volume.setData(all.map(vs));
        const first = v.order.length ? v.order[0] : Infinity;
        markers.setMarkers(v.signals.map(signalMarker).filter((m) => m.time * 1000 >= first)
          .sort((a, b) => a.time - b.time));
      } else if (v.order.length) {
        const b = v.bars.get(v.order[v.order.length - 1]);
        candles.update(cs(b));
        volume.update(vs(b));
      }
      document.body.dataset.bars = String(v.order.length);
      v.drawnSeq = v.maxSeq; // what the candles drawn hold
      dirty = restructure = false;
    }
    renderTape();
  }

  let tapeDirty = false;
  function renderTape() {
    if (!tapeDirty) return;
    tapeDirty = false;
    const body = $("tape").tBodies[0];
    body.replaceChildren(...tape.map((t, i) => {
      const tr = document.createElement("tr");
      const prev = tape[i + 1];
      tr.className = prev && t.price > prev.price ? "up" : prev && t.price < prev.price ? "down" : "";
      for (const x of [new Date(t.ts).toISOString().slice(11, 23), t.price, t.size]) {
        const td = document.createElement("td");
        td.textContent = String(x);
        tr.appendChild(td);
      }
      return tr;
    }));
    const q = tape[0];
    if (q) $("quote").textContent = `${view.symbol} ${q.price}`;
  }

  function event(text, cls) {
    const li = document.createElement("li");
    li.textContent = `${new Date().toISOString().slice(11, 19)} ${text}`;
    if (cls) li.className = cls;
    const ol = $("events");
    ol.prepend(li);
    while (ol.children.length > EVENTS_MAX) ol.lastChild.remove();
  }

  function onMessage(m) {
    const v = view;
    if (m.type === "subscribed") {
      if (v && !v.loaded && !v.loading && m.symbols.includes(v.symbol) && m.channels.includes("bars." + v.tf)) {
        v.loading = true; // one load per view: a second ack must not reset what the first applied
        load(v);
      }
      return;
    }
    if (m.type === "error") { event("stream error: " + m.error, "gap"); return; }
    if (m.type === "gap") {
      event(`missed ${m.channel} ${m.from}..${m.to} (too slow): reloading`, "gap");
      if (v) select(v.symbol, v.tf);
      return;
    }
    if (!m.channel || !v) return;
    const d = m.data;
    if (m.channel === "trades" && d.type === "gap") {
      event(`feed gap ${new Date(d.from).toISOString()} .. ${new Date(d.to).toISOString()}`, "gap");
      return;
    }
    if (d.symbol !== v.symbol) return; // of the subscription before
    if (m.channel === "trades") {
      tape.unshift(d);
      if (tape.length > TAPE_ROWS) tape.pop();
      tapeDirty = true;
    }
    if (!v.loaded) { v.kept.push(m); return; }
    route(m);
  }

  function route(m) {
    if (m.channel === "trades") applyTrade(m.data);
    else if (m.channel === "bars." + view.tf) applyBar(m.data);
    else if (m.channel === "signals") applySignal(m.data);
  }

  // /health answers 503 when degraded, with the same body; anything else
  // (429, a proxy's page, no answer in time) is an error.
  async function health(ms) {
    const r = await fetch("/health", { signal: AbortSignal.timeout(Math.max(1, ms)) });
    if (!r.ok && r.status !== 503) throw new Error(`/health: ${r.status}`);
    const h = await r.json();
    if (!Array.isArray(h.engine)) throw new Error("/health: no engine list");
    return h;
  }

  // Until every running engine worker's seq reaches the log's head as
  // /health gives it now (after the ack: at or past where the stream
  // started). seq moves at the engine's checkpoint (250 ms); 5 s at most, a
  // change of view or an error of /health ends the wait, and the page goes
  // on with the open bar as it is.
  async function engineAt(v) {
    const until = Date.now() + 5000;
    try {
      const heads = (await health(until - Date.now())).engine.filter((e) => e.running && e.lag > 0)
        .map((e) => ({ worker: e.worker, log: e.log, head: e.seq + e.lag }));
      while (heads.length && v === view && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        const h = await health(until - Date.now());
        if (!heads.some((x) => h.engine.some((e) => e.running && e.worker === x.worker && e.log === x.log && e.seq < x.head))) return;
      }
    } catch (e) {
      event(`${e.message}: the open bar is read without waiting for the engine`, "gap");
    }
  }

  async function getJSON(url) {
    const r = await fetch(url);
    if (!r.ok && r.status !== 404) throw new Error(`${url}: ${r.status}`);
    return r.ok ? r.json() : null;
  }

  async function load(v) {
    const sym = encodeURIComponent(v.symbol);
    try {
      const syms = await getJSON("/symbols");
      const info = syms.symbols.find((s) => s.symbol === v.symbol);
      const to = (info && info.last_ts ? info.last_ts : Date.now()) + v.ms;
      const from = to - (HISTORY_BARS + 2) * v.ms;
      // The stream starts at the log's head as the server acknowledged;
      // the open bar must hold every trade before it: wait until every
      // engine worker has applied the head as /health tells it after the ack.
      await engineAt(v);
      if (v !== view) return;
      const [hist, open, sig] = await Promise.all([
        getJSON(`/ohlcv/${v.tf}?symbol=${sym}&from=${from}&to=${to}&limit=${HISTORY_BARS}`),
        getJSON(`/ohlcv/${v.tf}/open?symbol=${sym}`),
        getJSON(`/signals/recent?symbol=${sym}&tf=${v.tf}&from=${from}&to=${to}&limit=${MARKERS_MAX}`),
      ]);
      if (v !== view) return;
      for (const b of hist ? hist.rows : []) put(barOf(b, true));
      const last = v.order.length ? v.order[v.order.length - 1] : -Infinity;
      if (open && open.window_start > last) {
        put(barOf(open, false));
        v.lastSeq = v.maxSeq = open.last_seq;
      } else if (open) {
        v.lastSeq = v.maxSeq = open.last_seq; // its window closed meanwhile: the stream brings the bar
      }
      v.loaded = true;
      for (const s of sig ? sig.rows : []) applySignal(s);
      restructure = dirty = true;
      for (const m of v.kept) route(m);
      v.kept = [];
      chart.timeScale().applyOptions({ secondsVisible: v.ms < 60e3 });
      document.body.dataset.ready = `${v.symbol}/${v.tf}`;
      event(`${v.symbol} ${v.tf}: ${hist ? hist.count : 0} bars of history${open ? " + the open one" : ""}`);
    } catch (e) {
      event(`history of ${v.symbol} ${v.tf}: ${e.message}; retrying`, "gap");
      setTimeout(() => { if (v === view) select(v.symbol, v.tf); }, 2000);
    }
  }

  function send(o) { if (wsUp) ws.send(JSON.stringify(o)); }

  function channels(v) { return ["trades", "bars." + v.tf, "signals"]; }

  function select(symbol, tf) {
    const old = view;
    if (old) send({ action: "unsubscribe", channels: channels(old), symbols: [old.symbol] });
    view = newView(symbol, tf);
    delete document.body.dataset.ready;
    candles.setData([]); volume.setData([]); markers.setMarkers([]);
    if (!old || old.symbol !== symbol) { tape.length = 0; tapeDirty = true; }
    history.replaceState(null, "", `#${encodeURIComponent(symbol)}/${tf}`);
    $("symbol").value = symbol; $("tf").value = tf;
    send({ action: "subscribe", channels: channels(view), symbols: [symbol] });
  }

  function connect() {
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.onopen = () => {
      wsUp = true; retry = 500;
      $("stream").textContent = "stream: live"; $("stream").className = "status ok";
      if (view) select(view.symbol, view.tf); // what was missed while away: from the history again
    };
    ws.onmessage = (e) => { for (const m of JSON.parse(e.data)) onMessage(m); };
    ws.onclose = (e) => {
      wsUp = false;
      $("stream").textContent = `stream: closed (${e.code}), retrying`; $("stream").className = "status bad";
      event(`stream closed (${e.code}${e.reason ? " " + e.reason : ""})`, "gap");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  async function pollHealth() {
    try {
      const h = await (await fetch("/health")).json();
      const f = h.feeds || [];
      const ok = f.length > 0 && f.every((x) => x.running && x.connected);
      $("feed").textContent = "feed: " + (f.length ? f.map((x) =>
        `${x.source} ${x.connected ? "connected" : "disconnected"}, ${x.gaps} gap${x.gaps === 1 ? "" : "s"}, ` +
        `last message ${x.last_message_age_ms} ms ago`).join("; ") : "none");
      $("feed").className = "status " + (ok ? "ok" : "bad");
      for (const x of f) {
        if (pollHealth.gaps[x.feed] !== undefined && x.gaps > pollHealth.gaps[x.feed])
          event(`feed ${x.feed} reported ${x.gaps - pollHealth.gaps[x.feed]} new gap(s)`, "gap");
        pollHealth.gaps[x.feed] = x.gaps;
      }
    } catch (e) {
      $("feed").textContent = "feed: API unreachable"; $("feed").className = "status bad";
    }
  }
  pollHealth.gaps = {};

  async function start() {
    let syms = null;
    while (!syms) {
      try { syms = await getJSON("/symbols"); } catch (e) { await new Promise((r) => setTimeout(r, 1000)); }
    }
    const fill = (sel, items) => sel.replaceChildren(...items.map((x) => new Option(x, x)));
    fill($("symbol"), syms.symbols.map((s) => s.symbol));
    fill($("tf"), syms.timeframes);
    // The address: #SYMBOL/TF (a symbol may hold a '/': the last one splits).
    const h = location.hash.slice(1), cut = h.lastIndexOf("/");
    let hs = "", ht = "";
    try { hs = decodeURIComponent(h.slice(0, cut)); ht = h.slice(cut + 1); } catch (e) { /* a bad address: defaults */ }
    const symbol = syms.symbols.some((s) => s.symbol === hs) ? hs : (syms.symbols[0] || {}).symbol;
    const tf = syms.timeframes.includes(ht) ? ht : syms.timeframes[0]; // the shortest: candles from the first seconds
    $("symbol").onchange = () => select($("symbol").value, view ? view.tf : $("tf").value);
    $("tf").onchange = () => { if (view) select(view.symbol, $("tf").value); };
    if (symbol) view = newView(symbol, tf);
    $("symbol").value = symbol || ""; $("tf").value = tf;
    connect();
    setInterval(pollHealth, 2000);
    pollHealth();
    // New symbols appear as the feed trades them (every 10 s; every second
    // while there is none yet to show).
    const pollSymbols = async () => {
      try {
        const s = await getJSON("/symbols");
        if (s.symbols.length !== $("symbol").options.length) {
          fill($("symbol"), s.symbols.map((x) => x.symbol));
          if (view) $("symbol").value = view.symbol;
          else if (s.symbols.length) select(s.symbols[0].symbol, $("tf").value); // the first trade has come
        }
      } catch (e) { /* the stream status says it */ }
      setTimeout(pollSymbols, view ? 10000 : 1000);
    };
    setTimeout(pollSymbols, view ? 10000 : 1000);
    requestAnimationFrame(render);
  }

  window.tickdPage = { chart, candles, volume, markers, get view() { return view; } };
  start();
})();

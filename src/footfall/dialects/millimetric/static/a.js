/* Footfall browser snippet: see docs/clients/browser.md */
(function () {
  "use strict";
  var w = window, d = document, n = navigator, L = location;
  if (w.footfall && w.footfall.v) return;
  var el = d.currentScript || d.querySelector('script[data-key][src*="/v1/a.js"]');
  if (!el) return;
  var key = el.getAttribute("data-key") || "";
  var host = (el.getAttribute("data-host") || new URL(el.src, L.href).origin).replace(/\/+$/, "");
  var warn = function (m) { if (w.console) console.warn("footfall: " + m); };
  var done = function () { return Promise.resolve(); };
  if (!key) warn("no data-key");
  if (!key || (el.getAttribute("data-respect-dnt") !== "false" && (n.doNotTrack === "1" ||
      n.doNotTrack === "yes" || w.doNotTrack === "1" || n.globalPrivacyControl === true))) {
    w.footfall = { v: 1, track: function () { return null; }, identify: done, page: done, flush: done,
      reset: function () {}, getAnonymousId: function () { return null; } };
    return; // Do-Not-Track/GPC: send nothing, store nothing
  }
  var mem = {}, ls = function (f) { try { return f(w.localStorage); } catch (e) { return null; } };
  var get = function (k) { var v = ls(function (s) { return s.getItem(k); }); return v !== null ? v : mem[k] || null; };
  var set = function (k, v) { mem[k] = v; ls(function (s) { s.setItem(k, v); }); };
  var del = function (k) { delete mem[k]; ls(function (s) { s.removeItem(k); }); };
  var bytes = function (s) { return new Blob([s]).size; };
  var clip = function (s, max) { return s ? String(s).slice(0, max) : undefined; };
  var uuid = function () {
    var c = w.crypto, b = new Uint8Array(16);
    if (c.randomUUID) return c.randomUUID(); // secure contexts only
    c.getRandomValues(b); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  };
  var anon = get("footfall_aid") || uuid(), user = get("footfall_uid");
  set("footfall_aid", anon);
  var queue = [], idents = [], timer = 0, sending = null, retryAt = 0, backoff = 0;
  var last = null, referrer = d.referrer;

  var props = function (p) { // a JSON snapshot of a plain object; at most 8 KB
    if (!p || typeof p !== "object" || Array.isArray(p)) return undefined;
    try { var s = JSON.stringify(p); if (bytes(s) <= 8000) return JSON.parse(s); } catch (e) { /* cyclic */ }
    warn("properties over 8 KB or not JSON; dropped");
    return { $dropped: "properties" };
  };
  var client = function () {
    var c = {}, s = w.screen || {}, k = n.connection || {}, o = {};
    var put = function (f, v) { if (v !== undefined && v !== null && v === v && v !== "") c[f] = v; };
    try { o = Intl.DateTimeFormat().resolvedOptions(); } catch (e) { /* no Intl */ }
    put("locale", o.locale); put("language", n.language);
    if (n.languages && n.languages.length) put("languages", [].slice.call(n.languages, 0, 10));
    put("timezone", o.timeZone); put("timezoneOffsetMinutes", new Date().getTimezoneOffset());
    put("platform", clip((n.userAgentData && n.userAgentData.platform) || n.platform, 64));
    put("screenWidth", s.width); put("screenHeight", s.height);
    put("viewportWidth", w.innerWidth); put("viewportHeight", w.innerHeight);
    put("pixelRatio", w.devicePixelRatio); put("colorDepth", s.colorDepth);
    put("cookiesEnabled", n.cookieEnabled); put("touchPoints", n.maxTouchPoints);
    put("deviceMemoryGb", n.deviceMemory); put("hardwareConcurrency", n.hardwareConcurrency);
    put("connectionType", k.type); put("connectionEffectiveType", k.effectiveType);
    put("connectionDownlinkMbps", k.downlink); put("connectionRttMs", k.rtt);
    return c;
  };
  var enqueue = function (name, properties) {
    var e = { event: String(name).slice(0, 128), event_id: uuid(), timestamp: new Date().toISOString(),
      anonymous_id: anon, user_id: user || undefined, url: clip(L.href, 2048),
      path: clip(L.pathname, 2048), referrer: clip(referrer, 2048), properties: properties };
    queue.push(e);
    if (queue.length > 1000) queue.shift(); // bounded: drop the oldest
    if (queue.length < 20) schedule(); else if (!sending) flush();
    return e.event_id;
  };
  var schedule = function () {
    if (!timer) timer = setTimeout(function () { timer = 0; flush(); }, Math.max(2000, retryAt - Date.now()));
  };
  var take = function () { // the oldest events that fit one request (keepalive/beacon: < 64 KB)
    for (var out = [], size = 16, i = 0; i < queue.length && out.length < 100; i++) {
      size += bytes(JSON.stringify(queue[i])) + 1;
      if (out.length && size > 60000) break;
      out.push(queue[i]);
    }
    return out;
  };
  var drop = function (sent) { queue = queue.filter(function (e) { return sent.indexOf(e) < 0; }); };
  var post = async function (path, body) { // true: done with it; false: retry later
    var json = JSON.stringify(body), res, wait;
    try {
      res = await fetch(host + path, { method: "POST", body: json, keepalive: bytes(json) < 60000,
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + key } });
      if (res.ok) { backoff = retryAt = 0; return true; }
    } catch (e) { res = null; } // network error
    if (res && res.status !== 429 && res.status !== 408 && res.status < 500) {
      warn(path + " answered " + res.status + "; dropped"); // a retry cannot help
      return true;
    }
    backoff = Math.min(backoff * 2 || 2000, 60000);
    wait = res && res.headers.get("Retry-After");
    wait = wait ? (isNaN(wait) ? Date.parse(wait) - Date.now() : wait * 1000) : backoff;
    retryAt = Date.now() + Math.min(Math.max(wait || backoff, 500), 600000);
    return false;
  };
  var drain = async function () {
    while (idents.length && Date.now() >= retryAt && await post("/v1/identify", idents[0])) idents.shift();
    while (queue.length && Date.now() >= retryAt) {
      var chunk = take();
      if (!(await post("/v1/batch", { events: chunk }))) break;
      drop(chunk);
    }
  };
  var flush = function () { // resolves once what was queued is sent (or waits for a retry)
    clearTimeout(timer); timer = 0;
    if (sending) return sending.then(flush);
    return (sending = drain().catch(function () {}).then(function () {
      sending = null;
      if (queue.length || idents.length) schedule();
    }));
  };
  var beacon = function () { // the page may be going away: hand what is left to the browser
    var send = function (path, body) { // ?key=: sendBeacon cannot set headers; text/plain: no preflight
      try { return n.sendBeacon(host + path + "?key=" + encodeURIComponent(key),
        new Blob([JSON.stringify(body)], { type: "text/plain" })); } catch (e) { return false; }
    };
    if (!n.sendBeacon) return;
    idents = idents.filter(function (b) { return !send("/v1/identify", b); });
    for (var chunk; queue.length && send("/v1/batch", { events: (chunk = take()) });) drop(chunk);
  };
  var page = function () {
    if (last !== null) referrer = last; // in a single-page app the previous view refers
    last = L.href;
    enqueue("$pageview", { $client: client() });
    return done();
  };
  // One view per new address: popstate + hashchange of one step count once; replaceState only
  // counts a new path (not a tidied query or hash).
  var route = function (replace) {
    if (L.href !== last && !(replace && last && new URL(last).pathname === L.pathname)) page();
    else last = L.href;
  };
  ["pushState", "replaceState"].forEach(function (m) {
    var orig = history[m];
    history[m] = function () { var r = orig.apply(this, arguments); route(m === "replaceState"); return r; };
  });
  w.addEventListener("popstate", function () { route(); });
  w.addEventListener("hashchange", function () { route(); });
  w.addEventListener("pageshow", function (e) { if (e.persisted) page(); }); // back/forward cache
  w.addEventListener("pagehide", beacon);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });

  w.footfall = {
    v: 1,
    track: function (name, properties) { return name ? enqueue(name, props(properties)) : null; },
    identify: function (id, traits) {
      if (id === undefined || id === null || id === "") return done();
      id = String(id).slice(0, 256);
      if (id === user && traits === undefined) return done(); // already linked
      user = id; set("footfall_uid", id);
      idents.push({ anonymous_id: anon, user_id: id, traits: props(traits) });
      return flush();
    },
    page: page,
    flush: flush,
    getAnonymousId: function () { return anon; },
    reset: function () { user = null; del("footfall_uid"); set("footfall_aid", (anon = uuid())); }, // on logout
  };
  if (d.prerendering) d.addEventListener("prerenderingchange", page, { once: true }); else page();
})();

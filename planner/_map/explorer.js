/* planner scenario explorer: re-scores a choice of open counters from the run's travel-time matrix, the way
   planner run does (minimum over the open counters; population-weighted figures; unreachable residents are
   beyond and left out of the mean; the 95th percentile is the weighted inverted CDF).  Every text from a data
   file is set with textContent or as an attribute value, never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("planner-data").textContent);
  var stations = data.stations;
  var S = stations.length;
  var pop = data.points.population, old = data.points.old, wardOf = data.points.ward;
  var N = pop.length;
  var wardFeatures = data.wards.features;
  var W = wardFeatures.length;
  var byId = Object.create(null);  // no inherited keys: a counter id "__proto__" or "constructor" is just unknown
  stations.forEach(function (s, j) { byId[s.id] = j; });
  var small = window.matchMedia("(max-width: 640px)").matches;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fmt(n, digits) {
    if (n === null || n === undefined || Number.isNaN(n)) { return "no estimate"; }
    if (n === Infinity) { return "no counter reachable"; }
    return Number(n).toLocaleString("en-GB", { maximumFractionDigits: digits || 0, minimumFractionDigits: digits || 0 });
  }
  function signed(n, digits) {
    if (n === null || !isFinite(n)) { return "\u2013"; }
    var shown = fmt(Math.abs(n), digits);
    if (Number(shown.replace(/,/g, "")) === 0) { return "no change"; }
    return (n > 0 ? "+" : "\u2212") + shown;
  }
  // minutes as given (45, 44.996): never rounded, so two thresholds never share a label
  function mins(t) { return String(Number(t)); }
  // a number of minutes as typed: plain decimals only (no exponent, hex, sign or list), above 0 and at most 600
  function parseMinutes(text) {
    var clean = String(text).trim();
    if (!/^\d+(\.\d+)?$/.test(clean)) { return null; }
    var t = Number(clean);
    return t > 0 && t <= 600 ? t : null;
  }
  function message(text) {
    document.getElementById("explorer-message").textContent = text || "";
  }

  // --- the model: minutes as float32, point-major (one row of S counters per point) ---
  var minutes = (function () {
    var bin = atob(data.minutes);
    var view = new DataView(new ArrayBuffer(bin.length));
    for (var i = 0; i < bin.length; i++) { view.setUint8(i, bin.charCodeAt(i)); }
    var out = new Float32Array(N * S);
    for (var k = 0; k < N * S; k++) { out[k] = view.getFloat32(4 * k, true); }
    return out;
  })();
  if (minutes.length !== N * S) { throw new Error("travel-time matrix does not match its points and counters"); }
  var total = 0;
  for (var p0 = 0; p0 < N; p0++) { total += pop[p0]; }

  function score(open) {
    var cols = [];
    for (var j = 0; j < S; j++) { if (open[j]) { cols.push(j); } }
    var best = new Float64Array(N);
    var C = cols.length;
    for (var p = 0; p < N; p++) {
      var m = Infinity, base = p * S;
      for (var c = 0; c < C; c++) { var v = minutes[base + cols[c]]; if (v < m) { m = v; } }
      best[p] = m;
    }
    var order = new Int32Array(N);
    for (var q = 0; q < N; q++) { order[q] = q; }
    order.sort(function (a, b) { return best[a] - best[b] || a - b; });
    var reach = 0, weighted = 0, wardSum = new Float64Array(W), wardPop = new Float64Array(W), wardAll = new Float64Array(W);
    for (var i = 0; i < N; i++) {
      wardAll[wardOf[i]] += pop[i];
      if (best[i] !== Infinity) {
        reach += pop[i];
        weighted += best[i] * pop[i];
        wardSum[wardOf[i]] += best[i] * pop[i];
        wardPop[wardOf[i]] += pop[i];
      }
    }
    var p95 = NaN;
    if (total > 0) {
      var cum = 0;
      for (var r = 0; r < N; r++) {
        cum += pop[order[r]];
        if (cum / total >= 0.95 && cum > 0) { p95 = best[order[r]]; break; }
        if (r === N - 1) { p95 = best[order[r]]; }
      }
    }
    var wardMean = new Array(W);
    for (var w = 0; w < W; w++) { wardMean[w] = wardPop[w] > 0 ? wardSum[w] / wardPop[w] : null; }
    return { best: best, mean: reach > 0 ? weighted / reach : NaN, p95: p95, wardMean: wardMean, wardAll: wardAll };
  }
  function beyond(result, t) {
    var all = 0, aged = 0, ward = new Float64Array(W);
    for (var p = 0; p < N; p++) {
      if (!(result.best[p] <= t)) { all += pop[p]; aged += old[p]; ward[wardOf[p]] += pop[p]; }
    }
    return { beyond: all, old: aged, within: total > 0 ? 100 * (1 - all / total) : NaN, ward: ward };
  }

  // --- state ---
  function planState() { return stations.map(function (s) { return s.plan ? 1 : 0; }); }
  var open = planState();
  var history = [];
  var threshold = data.threshold;
  var refOpen = stations.map(function (s) { return s.reference ? 1 : 0; });
  var refResult = score(refOpen);
  var current = null;

  // --- the map ---
  var map = null, wardLayer = null, markers = [];
  if (typeof L === "undefined") {
    document.getElementById("planner-nomap").hidden = false;
  } else {
    map = L.map("map", { attributionControl: false, zoomSnap: 0.5 }).setView([51.49, -0.11], small ? 9 : 10);
    L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
    var credits = L.control({ position: "bottomright" });
    credits.onAdd = function () {
      var box = el("details", "planner-credits leaflet-control-attribution");
      box.appendChild(el("summary", null, "Data sources and licences"));
      data.attribution.forEach(function (line) { box.appendChild(el("p", null, line)); });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    credits.addTo(map);
    var legend = L.control({ position: "topright" });
    legend.onAdd = function () {
      var box = el("details", "planner-legend");
      box.open = !small;
      box.appendChild(el("summary", null, "Mean minutes to the nearest open counter"));
      data.bands.concat([{ color: "#bdbdbd", label: "No estimate" }]).forEach(function (b) {
        var row = el("div");
        var sw = el("span", "swatch");
        sw.style.background = b.color;
        row.appendChild(sw);
        row.appendChild(document.createTextNode(b.label));
        box.appendChild(row);
      });
      [["xc xc-open", "Open counter"], ["xc xc-open xc-247", "Open 24/7"], ["xc xc-closed", "Closed"],
        ["xc xc-open xc-changed", "Changed from the reference"]].forEach(function (k) {
        var row = el("div");
        var sym = el("span", "sym");
        sym.appendChild(el("span", k[0]));
        row.appendChild(sym);
        row.appendChild(document.createTextNode(k[1]));
        box.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    legend.addTo(map);
    map.createPane("wards").style.zIndex = 350;
    map.createPane("counters").style.zIndex = 650;
    wardLayer = L.geoJSON(data.wards, {
      pane: "wards",
      style: function () { return { color: "#555", weight: 0.5, fillOpacity: 0.7, fillColor: "#bdbdbd" }; }
    }).addTo(map);
    L.geoJSON(data.borough_lines, { pane: "wards", interactive: false, style: { color: "#222", weight: 1.5, fill: false } }).addTo(map);
    var i = 0;
    wardLayer.eachLayer(function (layer) {
      var w = i++;
      layer.feature.index = w;
      layer.bindTooltip(function () { return wardTip(w); }, { sticky: true });
      // Leaflet's tooltip focus listeners make each SVG path a tab stop in Chromium: 629 of them before the
      // panel. The wards' figures are in the panel, so the paths stay out of the tab order.
      var path = layer.getElement();
      if (path) { path.setAttribute("tabindex", "-1"); }
    });
    try { map.fitBounds(wardLayer.getBounds(), { padding: [4, 4] }); } catch (e) { /* no wards */ }
    stations.forEach(function (s, j) {
      var marker = L.marker([s.lat, s.lon], {
        pane: "counters",
        title: s.name,
        keyboard: true,
        icon: L.divIcon({ className: "xc-hit", html: "", iconSize: [22, 22] })
      });
      marker.on("click", function () { toggle(j); });
      marker.addTo(map);
      var node = marker.getElement();
      node.appendChild(el("span", "xc"));
      node.setAttribute("role", "button");
      node.addEventListener("keydown", function (ev) {  // Leaflet's own Enter only opens popups
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); ev.stopPropagation(); toggle(j); }
      });
      markers.push(marker);
    });
  }
  function wardTip(w) {
    var f = wardFeatures[w].properties;
    var box = el("div");
    box.appendChild(el("strong", null, f.ward_name + ", " + f.borough_name));
    var now = current ? current.wardMean[w] : null;
    var before = refResult.wardMean[w];
    box.appendChild(el("div", null, "Mean minutes: " + fmt(now, 1) + (data.reference !== null || changed() ? " (reference " + fmt(before, 1) + ")" : "")));
    if (current && current.wardAll[w] > 0) {
      var share = 100 * current.beyondNow.ward[w] / current.wardAll[w];
      box.appendChild(el("div", null, fmt(share, 1) + "% of residents beyond " + mins(threshold) + " minutes"));
    }
    return box;
  }
  function band(minutes) {
    if (minutes === null || minutes === undefined) { return "#bdbdbd"; }
    for (var b = 0; b < data.bands.length; b++) { if (minutes <= data.bands[b].upto) { return data.bands[b].color; } }
    return data.bands[data.bands.length - 1].color;
  }
  function changed() { for (var j = 0; j < S; j++) { if (open[j] !== refOpen[j]) { return true; } } return false; }

  // --- the panel ---
  (function engineNote() {
    var box = document.getElementById("explorer-engine");
    box.appendChild(el("span", null, "Minutes " + data.engine.words + ", engine " + data.engine.label +
      ", from each LSOA's population-weighted centre. Residents who can reach no counter count as beyond every " +
      "threshold, as in planner run. "));
    var more = el("details", "explorer-params");
    more.appendChild(el("summary", null, "Engine parameters"));
    var dl = el("dl");
    Object.keys(data.engine.parameters).sort().forEach(function (k) {
      dl.appendChild(el("dt", null, k));
      dl.appendChild(el("dd", null, String(data.engine.parameters[k])));
    });
    data.engine.timetables.forEach(function (line) { dl.appendChild(el("dt", null, "timetable")); dl.appendChild(el("dd", null, line)); });
    more.appendChild(dl);
    box.appendChild(more);
  })();
  document.getElementById("explorer-ref-head").textContent = data.reference !== null ? "Reference (" + data.reference + ")" : "The plan (" + data.plan + ")";
  var thresholdInput = document.getElementById("explorer-threshold");
  thresholdInput.value = String(threshold);
  var thresholdButtons = document.getElementById("explorer-threshold-buttons");
  data.thresholds.forEach(function (t) {
    var b = el("button", "explorer-t", mins(t) + " min");
    b.type = "button";
    b.setAttribute("data-t", String(t));
    b.addEventListener("click", function () { setThreshold(t); });
    thresholdButtons.appendChild(b);
  });
  thresholdInput.addEventListener("change", function () {
    var t = parseMinutes(thresholdInput.value);
    if (t === null) {
      message("The threshold must be a number of minutes above 0 and at most 600.");
      thresholdInput.value = String(threshold);
      return;
    }
    setThreshold(t);
  });
  function setThreshold(t) { threshold = t; thresholdInput.value = String(t); message(""); update(); }

  var list = document.getElementById("explorer-counters");
  var listOrder = stations.map(function (s, j) { return j; }).sort(function (a, b) {
    return stations[a].name.localeCompare(stations[b].name, "en-GB") || (stations[a].id < stations[b].id ? -1 : 1);
  });
  var buttons = new Array(S);
  listOrder.forEach(function (j) {
    var s = stations[j];
    var li = el("li");
    var b = el("button", "explorer-counter");
    b.type = "button";
    b.setAttribute("data-id", s.id);
    b.appendChild(el("span", "explorer-counter-name", s.name));
    b.appendChild(el("span", "explorer-counter-state"));
    b.addEventListener("click", function () { toggle(j); });
    li.appendChild(b);
    list.appendChild(li);
    buttons[j] = b;
  });

  function toggle(j) {
    var s = stations[j];
    if (open[j] && s.required) {
      message(s.name + " is required by the scenario (counters.required), so it cannot be closed.");
      return;
    }
    if (!open[j] && s.forbidden) {
      message(s.name + " is forbidden by the scenario (counters.forbidden), so it cannot be opened.");
      return;
    }
    var openCount = open.reduce(function (a, b) { return a + b; }, 0);
    if (open[j] && openCount === 1) {
      message("At least one counter must stay open.");
      return;
    }
    history.push(open.slice());
    open[j] = open[j] ? 0 : 1;
    message("");
    update();
  }
  document.getElementById("explorer-undo").addEventListener("click", function () {
    if (!history.length) { message("Nothing to undo."); return; }
    open = history.pop();
    message("");
    update();
  });
  document.getElementById("explorer-reset").addEventListener("click", function () {
    if (!history.length && !changedFromPlan()) { message("This is the plan already."); return; }
    history.push(open.slice());
    open = planState();
    message("");
    update();
  });
  function changedFromPlan() { for (var j = 0; j < S; j++) { if (open[j] !== (stations[j].plan ? 1 : 0)) { return true; } } return false; }

  function figureRows(t, fig, ref) {
    return [
      ["Residents beyond " + mins(t) + " minutes", fig.beyond, ref.beyond, 0, "beyond_" + t],
      ["Aged 65+ beyond " + mins(t) + " minutes", fig.old, ref.old, 0, "beyond_65_plus_" + t],
      ["Share within " + mins(t) + " minutes (%)", fig.within, ref.within, 2, "pct_within_" + t]
    ];
  }
  function renderFigures() {
    var body = document.querySelector("#explorer-figures tbody");
    body.textContent = "";
    var shown = data.thresholds.slice();
    if (shown.indexOf(threshold) < 0) { shown.push(threshold); }
    var rows = [];
    shown.forEach(function (t) {
      var fig = t === threshold ? current.beyondNow : beyond(current, t);
      rows = rows.concat(figureRows(t, fig, beyond(refResult, t)));
    });
    rows.push(["Mean minutes", current.mean, refResult.mean, 1, "mean_minutes"]);
    rows.push(["95th percentile minutes", current.p95, refResult.p95, 1, "p95_minutes"]);
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.setAttribute("data-figure", r[4]);
      tr.appendChild(el("th", null, r[0])).setAttribute("scope", "row");
      var now = el("td", null, fmt(r[1], r[3]));
      now.setAttribute("data-value", String(r[1]));
      tr.appendChild(now);
      tr.appendChild(el("td", null, fmt(r[2], r[3])));
      tr.appendChild(el("td", null, signed(r[1] - r[2], r[3])));
      body.appendChild(tr);
    });
    var opened = open.reduce(function (a, b) { return a + b; }, 0);
    document.getElementById("explorer-caption").textContent = opened + " counter" + (opened === 1 ? "" : "s") + " open of " + S;
  }
  function renderNo247() {
    var have = Object.create(null);
    stations.forEach(function (s, j) { if (open[j] && s.all_day) { have[s.borough_code] = true; } });
    var missing = data.boroughs.filter(function (b) { return !have[b.code]; }).map(function (b) { return b.name; });
    var box = document.getElementById("explorer-no247");
    box.textContent = missing.length ? missing.length + ": " + missing.join(", ") : "None: every borough has one.";
    box.setAttribute("data-count", String(missing.length));
    box.className = missing.length ? "explorer-flag" : "";
  }
  function renderWorse() {
    var rows = [];
    for (var w = 0; w < W; w++) {
      var before = refResult.wardMean[w], now = current.wardMean[w];
      if (before === null) { continue; }
      var d = now === null ? Infinity : now - before;
      if (d > 0.05) { rows.push([d, w]); }
    }
    rows.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    var listNode = document.getElementById("explorer-worse");
    listNode.textContent = "";
    if (!rows.length) { listNode.appendChild(el("li", null, "No ward is slower than under the reference.")); }
    rows.slice(0, 10).forEach(function (r) {
      var f = wardFeatures[r[1]].properties;
      var before = refResult.wardMean[r[1]], now = current.wardMean[r[1]];
      var text = f.ward_name + ", " + f.borough_name + ": " + (now === null ? "no counter reachable" :
        signed(r[0], 1) + " min (" + fmt(before, 1) + " \u2192 " + fmt(now, 1) + ")");
      listNode.appendChild(el("li", null, text));
    });
  }
  function renderCounters() {
    stations.forEach(function (s, j) {
      var isOpen = !!open[j];
      var state = (isOpen ? "open" : "closed") + (isOpen && s.all_day ? ", 24/7" : "") +
        (s.required ? ", required" : "") + (s.forbidden ? ", forbidden" : "") +
        " \u00b7 reference: " + (refOpen[j] ? "open" : "closed");
      var b = buttons[j];
      b.setAttribute("aria-pressed", isOpen ? "true" : "false");
      b.querySelector(".explorer-counter-state").textContent = state;
      b.classList.toggle("is-open", isOpen);
      b.classList.toggle("is-changed", isOpen !== !!refOpen[j]);
      if (markers.length) {
        var node = markers[j].getElement();
        var dot = node.firstChild;
        dot.className = "xc " + (isOpen ? "xc-open" : "xc-closed") + (isOpen && s.all_day ? " xc-247" : "") +
          (isOpen !== !!refOpen[j] ? " xc-changed" : "");
        node.setAttribute("aria-label", s.name + ": " + state + ". Press to " + (isOpen ? "close" : "open") + ".");
        node.setAttribute("aria-pressed", isOpen ? "true" : "false");
      }
    });
  }
  function renderWards() {
    if (!wardLayer) { return; }
    wardLayer.eachLayer(function (layer) {
      layer.setStyle({ fillColor: band(current.wardMean[layer.feature.index]) });
    });
  }
  function renderButtons() {
    Array.prototype.forEach.call(thresholdButtons.children, function (b) {
      b.setAttribute("aria-pressed", Number(b.getAttribute("data-t")) === threshold ? "true" : "false");
    });
  }

  // --- the choice in the URL fragment: #open=ID,ID&close=ID&t=45, against the plan ---
  function diffFromPlan() {
    var opened = [], closed = [];
    stations.forEach(function (s, j) {
      if (open[j] && !s.plan) { opened.push(s.id); }
      if (!open[j] && s.plan) { closed.push(s.id); }
    });
    return { opened: opened.sort(), closed: closed.sort() };
  }
  function writeHash() {
    var d = diffFromPlan();
    var parts = [];
    if (d.opened.length) { parts.push("open=" + d.opened.map(encodeURIComponent).join(",")); }
    if (d.closed.length) { parts.push("close=" + d.closed.map(encodeURIComponent).join(",")); }
    if (threshold !== data.threshold) { parts.push("t=" + encodeURIComponent(String(threshold))); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (location.hash !== hash) { history_replace(hash); }
  }
  function history_replace(hash) {
    try { window.history.replaceState(null, "", hash || location.pathname + location.search); } catch (e) { /* file: pages may refuse */ }
  }
  function applyChanges(opened, closed, source) {
    var unknown = opened.concat(closed).filter(function (id) { return !(id in byId); });
    if (unknown.length) {
      return source + " names " + (unknown.length === 1 ? "a counter" : "counters") + " this page does not have: " +
        unknown.join(", ") + ". Nothing was changed; check the link or file, or open it on the page of the run it came from.";
    }
    var both = opened.filter(function (id) { return closed.indexOf(id) >= 0; });
    if (both.length) {
      return source + " both opens and closes " + both.join(", ") + ". Nothing was changed.";
    }
    var next = planState();
    var bad = [];
    opened.forEach(function (id) { var j = byId[id]; if (stations[j].forbidden) { bad.push(stations[j].name + " (forbidden, cannot be opened)"); } next[j] = 1; });
    closed.forEach(function (id) { var j = byId[id]; if (stations[j].required) { bad.push(stations[j].name + " (required, cannot be closed)"); } next[j] = 0; });
    if (bad.length) { return source + " breaks the scenario's rules: " + bad.join("; ") + ". Nothing was changed."; }
    if (next.reduce(function (a, b) { return a + b; }, 0) === 0) { return source + " closes every counter. Nothing was changed."; }
    history.push(open.slice());
    open = next;
    return null;
  }
  function readHash() {
    var hash = location.hash.replace(/^#/, "");
    if (!hash) { return; }
    var opened = [], closed = [], t = data.threshold, problem = null, seen = Object.create(null);
    hash.split("&").forEach(function (part) {
      if (!part) { return; }  // a trailing or doubled "&"
      var kv = part.split("=");
      var key = kv[0], values = kv.slice(1).join("=");
      var ids;
      if (seen[key]) { problem = problem || "The link gives its " + key + " part twice."; return; }
      seen[key] = true;
      try { ids = values ? values.split(",").map(decodeURIComponent) : []; } catch (e) { problem = "The link's " + key + " part is not readable."; return; }
      if (key === "open") { opened = ids; }
      else if (key === "close") { closed = ids; }
      else if (key === "t") {
        t = parseMinutes(values);
        if (t === null) { problem = "The link's threshold t=" + values + " is not a number of minutes above 0 and at most 600."; }
      }
      else { problem = "The link has a part this page does not know: " + key + "."; }
    });
    if (!problem) { problem = applyChanges(opened, closed, "The link"); }
    if (problem) {
      message(problem + " The plan is shown.");
      threshold = data.threshold;
      thresholdInput.value = String(threshold);
      return;
    }
    message("");
    threshold = t;
    thresholdInput.value = String(t);
  }
  window.addEventListener("hashchange", function () {
    var before = location.hash;
    open = planState();
    threshold = data.threshold;
    readHash();
    update();
    if (location.hash !== before) { writeHash(); }
  });

  // --- out and back in: a scenario file planner run accepts ---
  var nameInput = document.getElementById("explorer-name");
  nameInput.value = (data.plan + "-what-if").slice(0, 80);
  function tomlString(s) { return JSON.stringify(String(s)).replace(/\u007f/g, "\\u007F"); }
  function tomlArray(items) {
    return items.length ? "[\n" + items.map(function (i) { return "    " + tomlString(i) + ",\n"; }).join("") + "]" : "[]";
  }
  function union(a, b) { var seen = Object.create(null); a.concat(b).forEach(function (x) { seen[x] = true; }); return Object.keys(seen).sort(); }
  function minus(a, b) { return a.filter(function (x) { return b.indexOf(x) < 0; }); }
  function planToml(name) {
    var d = diffFromPlan();
    var sel = data.selection, ph = data.placeholders;
    var add = minus(union(sel.add, d.opened), d.closed);
    var remove = minus(union(sel.remove, d.closed), d.opened);
    var shut247 = stations.filter(function (s, j) { return s.all_day && !open[j]; }).map(function (s) { return s.id; });
    var names = function (ids) { return ids.map(function (id) { return stations[byId[id]].name; }).join(", "); };
    var description = "Made in the scenario explorer from " + data.plan + ": " +
      (d.opened.length ? "opened " + names(d.opened) : "opened none") + "; " +
      (d.closed.length ? "closed " + names(d.closed) : "closed none") + ".";
    var text = data.toml;
    var swap = function (token, value) { text = text.split(token).join(value); };
    swap('"' + ph.name + '"', tomlString(name));
    swap('"' + ph.description + '"', tomlString(description));
    text = text.replace(new RegExp('\\[\\s*"' + ph.add + '",?\\s*\\]'), function () { return tomlArray(add); });
    text = text.replace(new RegExp('\\[\\s*"' + ph.remove + '",?\\s*\\]'), function () { return tomlArray(remove); });
    if (sel.has_24_7) {
      text = text.replace(new RegExp('\\[\\s*"' + ph.remove_24_7 + '",?\\s*\\]'), function () { return tomlArray(union(sel.remove_24_7, shut247)); });
    }
    return text;
  }
  document.getElementById("explorer-save").addEventListener("click", function () {
    var name = nameInput.value.trim();
    if (!new RegExp(data.name_pattern).test(name) || name.length > 80) {
      message("The plan name must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (at most 80): it names the run's folder.");
      nameInput.focus();
      return;
    }
    if (name === data.plan) {
      message("Give the plan a name of its own: " + name + " is the run's scenario, whose folder planner run would replace.");
      nameInput.focus();
      return;
    }
    var blob = new Blob([planToml(name)], { type: "application/toml" });
    var a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = name + ".toml";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    message("");
  });
  function parseArray(section, key) {
    var m = new RegExp("^" + key + "\\s*=\\s*\\[([\\s\\S]*?)\\]", "m").exec(section);
    if (!m) { return []; }
    var out = [], re = /"((?:[^"\\]|\\.)*)"/g, hit;
    while ((hit = re.exec(m[1])) !== null) { out.push(JSON.parse('"' + hit[1] + '"')); }
    return out;
  }
  function arrayIn(text, table, key, token) {
    var start = text.search(new RegExp("^\\[" + table.replace(/\./g, "\\.") + "\\]\\s*$", "m"));
    if (start < 0) { return text; }
    var bodyStart = text.indexOf("\n", start) + 1;
    var next = text.slice(bodyStart).search(/^\[/m);
    var end = next < 0 ? text.length : bodyStart + next;
    var body = text.slice(bodyStart, end).replace(new RegExp("^" + key + " = \\[[\\s\\S]*?\\]$", "m"),
      key + ' = [\n    "' + token + '",\n]');
    return text.slice(0, bodyStart) + body + text.slice(end);
  }
  // the file with its name, description and changed counters put back as placeholders: the run's own template
  function templateOf(text) {
    var ph = data.placeholders;
    var out = text.replace(/\r\n/g, "\n");
    out = out.replace(/^name = "(?:[^"\\]|\\.)*"$/m, 'name = "' + ph.name + '"');
    out = out.replace(/^description = "(?:[^"\\]|\\.)*"$/m, 'description = "' + ph.description + '"');
    out = arrayIn(out, "counters.open", "add", ph.add);
    out = arrayIn(out, "counters.open", "remove", ph.remove);
    if (data.selection.has_24_7) { out = arrayIn(out, "counters.twenty_four_seven", "remove", ph.remove_24_7); }
    return out;
  }
  function readPlanFile(text) {
    if (text.indexOf("scenario explorer of run " + data.plan + ":") < 0) {
      return "This file was not downloaded from the explorer of " + data.plan + ": open it with planner run, or open it on the page of its own run.";
    }
    var start = text.search(/^\[counters\.open\]\s*$/m);
    if (start < 0) { return "The file has no [counters.open] table, so it names no counters to open or close."; }
    var rest = text.slice(start).split("\n").slice(1);
    var end = rest.findIndex(function (line) { return /^\[/.test(line); });
    var section = (end < 0 ? rest : rest.slice(0, end)).join("\n");
    if (templateOf(text) !== data.toml) {
      return "The file changes more than which counters are open: its other settings (engine, thresholds, " +
        "selection, hubs ...) differ from " + data.plan + "'s scenario, which this page's minutes come from. " +
        "Nothing was changed; run the file with planner run instead.";
    }
    var add = parseArray(section, "add"), remove = parseArray(section, "remove");
    var sel = data.selection;
    return applyChanges(minus(minus(add, sel.add), remove), minus(remove, sel.remove), "The file");
  }
  document.getElementById("explorer-load").addEventListener("change", function (ev) {
    var file = ev.target.files && ev.target.files[0];
    if (!file) { return; }
    file.text().then(function (text) {
      var problem = readPlanFile(text);
      message(problem || "");
      update();
    });
  });

  // --- one re-score for every change ---
  function update() {
    var start = performance.now();
    current = score(open);
    current.beyondNow = beyond(current, threshold);
    renderFigures();
    renderNo247();
    renderWorse();
    renderCounters();
    renderWards();
    renderButtons();
    writeHash();
    document.body.setAttribute("data-score-ms", (performance.now() - start).toFixed(2));
    document.body.setAttribute("data-ready", "true");
  }
  var panel = document.getElementById("explorer-panel");
  if (small) { panel.open = false; }
  document.querySelector(".explorer-skip").addEventListener("click", function (ev) {
    ev.preventDefault();
    panel.open = true;
    document.getElementById("explorer-body").focus();
  });
  readHash();
  update();
  window.plannerExplorer = {
    toggle: function (id) { if (!(id in byId)) { throw new Error("unknown counter " + id); } toggle(byId[id]); },
    planToml: function () { return planToml(nameInput.value.trim()); },
    readPlanFile: function (text) { var p = readPlanFile(text); message(p || ""); update(); return p; }
  };
})();

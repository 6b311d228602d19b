/* planner maps: builds the map from the JSON data block.  Every text from a data file is set with
   textContent or as an attribute value, never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("planner-data").textContent);
  if (typeof L === "undefined") {
    document.getElementById("planner-nomap").hidden = false;
    return;
  }
  var small = window.matchMedia("(max-width: 640px)").matches;
  var map = L.map("map", { attributionControl: false, zoomControl: true, zoomSnap: 0.5 }).setView([51.49, -0.11], small ? 9 : 10);
  var byId = {};
  var onWard = null;  // the resident view's ward answer

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fmt(n, digits) {
    if (n === null || n === undefined || Number.isNaN(n)) { return "no data"; }
    return Number(n).toLocaleString("en-GB", { maximumFractionDigits: digits || 0, minimumFractionDigits: digits || 0 });
  }
  function bandOf(minutes, bands) {
    if (minutes === null || minutes === undefined) { return bands.length; }
    for (var i = 0; i < bands.length; i++) { if (minutes <= bands[i].upto) { return i; } }
    return bands.length - 1;
  }
  function pane(name, z) {
    var p = map.createPane(name);
    p.style.zIndex = z;
    return name;
  }
  function definitionList(rows) {
    var dl = el("dl", "planner-popup");
    rows.forEach(function (r) { dl.appendChild(el("dt", null, r[0])); dl.appendChild(el("dd", null, r[1])); });
    return dl;
  }

  // scale bar bottom left, our attribution (all required lines) bottom right, collapsed on phones
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  var credits = L.control({ position: "bottomright" });
  credits.onAdd = function () {
    var box = el("details", "planner-credits leaflet-control-attribution");
    if (!small) { box.open = false; }
    box.appendChild(el("summary", null, "Data sources and licences"));
    var lines = data.attribution.slice();
    if (data.postcodes) { lines.push(data.postcodes.attribution); }
    lines.forEach(function (line) { box.appendChild(el("p", null, line)); });
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  credits.addTo(map);

  // street tiles only when a probe tile really loads within the timeout; otherwise a plain background
  var tileNote = el("p", "planner-tilenote", "");
  function tryTiles() {
    if (!data.tiles || tryTiles.started) { return; }
    tryTiles.started = true;
    var probe = new Image();
    var timer = setTimeout(function () {
      probe.src = "";
      tryTiles.started = false;
      document.body.setAttribute("data-tiles", "none");
    }, data.tiles.timeout_ms);
    probe.onload = function () {
      clearTimeout(timer);
      L.tileLayer(data.tiles.url, { maxZoom: 19 }).addTo(map).bringToBack();
      document.body.setAttribute("data-tiles", "loaded");
    };
    probe.onerror = function () { clearTimeout(timer); tryTiles.started = false; document.body.setAttribute("data-tiles", "none"); };
    probe.src = data.tiles.probe;
  }
  document.body.setAttribute("data-tiles", "none");
  window.addEventListener("load", function () { if (navigator.onLine) { tryTiles(); } });
  window.addEventListener("online", tryTiles);

  var overlays = {};
  var bases = {};
  var bands = data.bands;

  function wardStyle(values) {
    return function (feature) {
      var v = values[feature.properties.ward_code];
      var b = bandOf(v === undefined ? null : v.minutes, bands);
      return { pane: "wards", color: "#555", weight: 0.6, fillOpacity: 0.72,
               fillColor: b < bands.length ? bands[b].color : "#bbbbbb" };
    };
  }
  function wardLayer(values, label) {
    return L.geoJSON(data.wards, {
      pane: "wards",
      style: wardStyle(values),
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        var v = values[p.ward_code] || {};
        if (data.kind === "residents") {
          layer.on("click", function () { if (onWard) { onWard(p.ward_code); } });
        } else {
          layer.bindPopup(function () {
            var box = el("div");
            box.appendChild(el("strong", null, p.ward_name + " (" + p.borough_name + ")"));
            if (label) { box.appendChild(el("div", null, label)); }
            box.appendChild(definitionList([
              ["Population", fmt(p.population)],
              ["Travel time to nearest counter", v.minutes === undefined ? "no data" : fmt(v.minutes, 1) + " min"],
              ["Nearest counter", v.nearest || "none"],
              ["Residents beyond " + data.threshold + " min", v.share === undefined ? "no data" : fmt(100 * v.share, 1) + "%"]
            ]));
            return box;
          });
        }
        byId[p.ward_code] = layer;
      }
    });
  }

  function boroughLayer() {
    return L.geoJSON(data.boroughs, { pane: "boroughs", interactive: false,
      style: function () { return { pane: "boroughs", color: "#222", weight: 2, fill: false }; } });
  }

  // markers at (nearly) the same spot are spread side by side, so none hides another (re-done at each zoom)
  function spread(markers) {
    function place() {
      var placed = [];
      markers.forEach(function (m) {
        if (!map.hasLayer(m)) { return; }
        var pt = map.latLngToLayerPoint(m.getLatLng());
        var group = null;
        for (var i = 0; i < placed.length; i++) {
          if (placed[i].pt.distanceTo(pt) < 16) { group = placed[i]; break; }
        }
        if (group) { group.members.push(m); } else { placed.push({ pt: pt, members: [m] }); }
      });
      placed.forEach(function (g) {
        g.members.forEach(function (m, i) {
          var node = m.getElement() && m.getElement().firstChild;
          if (!node) { return; }
          var dx = (i - (g.members.length - 1) / 2) * 20;
          node.style.translate = dx ? dx + "px 0" : "";  // the CSS translate property leaves transforms alone
        });
      });
    }
    map.on("zoomend", place);
    map.on("layeradd", function () { setTimeout(place, 0); });
    setTimeout(place, 0);
  }

  var counterById = {};
  function counterPopup(c) {
    var box = el("div");
    box.appendChild(el("strong", "counter-name", c.name));
    box.appendChild(definitionList([
      ["Address", c.address], ["Borough", c.borough], ["Under this plan", c.status_label], ["Opening hours", c.hours_label],
      ["Location accuracy", c.accuracy ? "within about " + fmt(c.accuracy) + " m" : "unknown"]
    ]));
    return box;
  }
  function counterLayer(counters) {
    var group = L.layerGroup();
    var markers = [];
    // closing counters first, so open and new ones are drawn on top
    counters.slice().sort(function (a, b) { return (a.status === "closing" ? 0 : 1) - (b.status === "closing" ? 0 : 1); })
      .forEach(function (c) {
        var cls = "counter counter-" + c.status + (c.all_day ? " counter-247" : "");
        var icon = L.divIcon({ className: "counter-hit", html: "", iconSize: [28, 28] });
        var marker = L.marker([c.lat, c.lon], { icon: icon, pane: "counters", keyboard: true,
          title: c.name, alt: c.name + " (" + c.status_label + ")" });
        marker.on("add", function () {
          var node = marker.getElement();
          node.setAttribute("aria-label", c.name + ", " + c.status_label);
          node.appendChild(el("div", cls, c.status === "closing" ? "\u00d7" : ""));
        });
        marker.bindPopup(function () { return counterPopup(c); });
        counterById[c.id] = { info: c, marker: marker };
        markers.push(marker);
        group.addLayer(marker);
      });
    spread(markers);
    return group;
  }

  // legend: collapsible (closed at first on phones); can be redrawn when the layer shown changes
  var legendBox = null;
  function legend(items, heading, extra) {
    if (!legendBox) {
      var control = L.control({ position: "bottomright" });
      control.onAdd = function () {
        legendBox = el("details", "planner-legend");
        legendBox.open = !small;
        legendBox.setAttribute("data-legend", data.kind);
        L.DomEvent.disableClickPropagation(legendBox);
        L.DomEvent.disableScrollPropagation(legendBox);
        return legendBox;
      };
      control.addTo(map);
    }
    var open = legendBox.open;
    legendBox.textContent = "";
    legendBox.open = open;
    legendBox.appendChild(el("summary", null, heading));
    items.forEach(function (it) {
      var row = el("div");
      var sw = el("span", "swatch");
      sw.style.background = it.color;
      row.appendChild(sw);
      row.appendChild(el("span", null, it.label));
      legendBox.appendChild(row);
    });
    (extra || []).forEach(function (it) {
      var row = el("div");
      var sym = el("span", "sym");
      var key = el("span", it.cls, it.text || "");
      key.style.display = "inline-block";
      sym.appendChild(key);
      row.appendChild(sym);
      row.appendChild(el("span", null, it.label));
      legendBox.appendChild(row);
    });
  }

  var counterKey = [
    { cls: "counter counter-open counter-247", label: "Open, 24 hours" },
    { cls: "counter counter-open", label: "Open, limited or unknown hours" },
    { cls: "counter counter-new", label: "New counter" },
    { cls: "counter counter-closing", text: "\u00d7", label: "Closing under this plan" }
  ];
  function minuteItems() { return bands.map(function (b) { return { color: b.color, label: b.label }; }); }

  pane("wards", 410);
  pane("boroughs", 420);
  pane("hubs", 415);
  pane("counters", 650);

  if (data.kind === "access" || data.kind === "residents") {
    var wards = wardLayer(data.values, null).addTo(map);
    var boroughs = boroughLayer().addTo(map);
    var counters = counterLayer(data.counters).addTo(map);
    overlays["Wards: travel time"] = wards;
    overlays["Borough boundaries"] = boroughs;
    overlays["Front counters"] = counters;
    var extra = counterKey.slice();
    if (data.marginal) {
      pane("marginal", 640);
      var most = Math.max.apply(null, data.marginal.map(function (m) { return m.lost; }).concat([1]));
      var marginal = L.layerGroup();
      data.marginal.forEach(function (m) {
        var circle = L.circleMarker([m.lat, m.lon], { pane: "marginal", radius: 4 + 26 * Math.sqrt(m.lost / most),
          color: "#6a0dad", weight: 2, fillColor: "#6a0dad", fillOpacity: 0.25 });
        circle.bindPopup(function () {
          var box = el("div");
          box.appendChild(el("strong", "counter-name", m.name));
          box.appendChild(el("div", null, fmt(m.lost) + " residents would be beyond " + data.threshold +
                                           " minutes if this counter alone closed"));
          return box;
        });
        marginal.addLayer(circle);
      });
      overlays["Marginal value (residents losing access if it alone closes)"] = marginal.addTo(map);
      extra.push({ cls: "marginal-key", label: "Marginal value: larger circle, more residents lose access" });
    }
    var minutesHeading = data.kind === "residents" ? "Time to the nearest front counter" :
      "Minutes to nearest open counter (" + data.engine + ")";
    if (data.group_layer) {
      // one equality group's residents beyond the threshold, by ward: off until switched on
      var g = data.group_layer;
      var what = g.label + ": residents beyond " + data.threshold + " min, by ward" + (g.estimate ? " (estimates)" : "");
      var groupLayer = L.geoJSON(data.wards, {
        pane: "hubs",
        style: function (f) {
          var v = g.values[f.properties.ward_code];
          var n = v ? v.beyond : null;
          var b = n === null ? g.bands.length : bandOf(n, g.bands);
          return { pane: "hubs", color: "#555", weight: 0.6, fillOpacity: 0.92,
                   fillColor: b < g.bands.length ? g.bands[b].color : "#bbbbbb" };
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          var v = g.values[p.ward_code];
          layer.bindPopup(function () {
            var box = el("div");
            box.appendChild(el("strong", null, p.ward_name + " (" + p.borough_name + ")"));
            box.appendChild(el("div", null, g.label));
            box.appendChild(definitionList([
              ["Residents in the group", v ? fmt(v.residents) : "no data"],
              ["Beyond " + data.threshold + " min", v ? fmt(v.beyond) : "no data"]
            ]));
            if (g.estimate) { box.appendChild(el("div", null, "Estimated from Census 2011 shares.")); }
            return box;
          });
        }
      });
      overlays[what] = groupLayer;
      var showLegend = function () {
        if (map.hasLayer(groupLayer)) {
          legend(g.bands.map(function (b) { return { color: b.color, label: b.label }; }), what, extra);
        } else {
          legend(minuteItems(), minutesHeading, extra);
        }
      };
      map.on("overlayadd overlayremove", showLegend);
      showLegend();
    } else {
      legend(minuteItems(), minutesHeading, extra);
    }
  } else if (data.kind === "change") {
    data.scenarios.forEach(function (s, i) {
      var layer = wardLayer(s.values, s.name);
      bases[s.name] = layer;
      if (i === data.scenarios.length - 1) { layer.addTo(map); }
    });
    var change = L.geoJSON(data.wards, {
      pane: "hubs",
      style: function (f) {
        var d = data.change[f.properties.ward_code];
        return { pane: "hubs", color: "#555", weight: 0.6, fillOpacity: 0.75, fillColor: changeColour(d) };
      },
      onEachFeature: function (f, layer) {
        var d = data.change[f.properties.ward_code];
        layer.bindPopup(function () {
          var box = el("div");
          box.appendChild(el("strong", null, f.properties.ward_name + " (" + f.properties.borough_name + ")"));
          box.appendChild(definitionList([
            [data.reference, d && d.before !== null ? fmt(d.before, 1) + " min" : "no data"],
            [data.proposal, d && d.after !== null ? fmt(d.after, 1) + " min" : "no data"],
            ["Change", d && d.change !== null ? (d.change > 0 ? "+" : "") + fmt(d.change, 1) + " min" : "no data"]
          ]));
          return box;
        });
      }
    });
    var changeName = "Change: " + data.reference + " \u2192 " + data.proposal;
    overlays[changeName] = change.addTo(map);
    overlays["Borough boundaries"] = boroughLayer().addTo(map);
    overlays["Front counters (" + data.proposal + ")"] = counterLayer(data.counters).addTo(map);
    // the legend follows the layer shown: change bands while the change layer is on, else minutes
    var showChangeLegend = function () {
      if (map.hasLayer(change)) {
        legend(data.change_bands.map(function (b) { return { color: b.color, label: b.label }; }),
               "Change in minutes", counterKey);
      } else {
        var shown = data.scenarios.filter(function (s) { return map.hasLayer(bases[s.name]); })[0];
        legend(minuteItems(), "Minutes to nearest open counter" + (shown ? ": " + shown.name : ""), counterKey);
      }
    };
    map.on("overlayadd overlayremove baselayerchange", showChangeLegend);
    showChangeLegend();
  } else if (data.kind === "hubs") {
    var hubs = L.geoJSON(data.hubs, {
      pane: "hubs",
      style: function (f) { return { pane: "hubs", color: "#333", weight: 1, fillOpacity: 0.6, fillColor: f.properties.colour }; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(function () {
          var box = el("div");
          box.appendChild(el("strong", null, "Ward hub based in " + p.site_ward_name + " (" + p.borough_name + ")"));
          box.appendChild(definitionList([
            ["Wards served", p.ward_names],
            ["Residents", fmt(p.population)], ["Mean travel to the hub site", fmt(p.mean_minutes, 1) + " min"],
            ["Longest travel to the hub site", fmt(p.max_minutes, 1) + " min"]
          ]));
          return box;
        });
      }
    }).addTo(map);
    var sites = L.layerGroup();
    var siteMarkers = [];
    data.sites.forEach(function (s) {
      var icon = L.divIcon({ className: "counter-hit", html: "", iconSize: [28, 28] });
      var m = L.marker([s.lat, s.lon], { icon: icon, pane: "counters", keyboard: true,
        title: "Hub site: " + s.name, alt: "Hub site: " + s.name });
      m.on("add", function () {
        m.getElement().setAttribute("aria-label", "Hub site: " + s.name);
        m.getElement().appendChild(el("div", "hub-site"));
      });
      m.bindPopup(function () {
        var box = el("div");
        box.appendChild(el("strong", null, "Hub site: " + s.name));
        box.appendChild(definitionList([["Wards served", s.wards]]));
        return box;
      });
      siteMarkers.push(m);
      sites.addLayer(m);
    });
    spread(siteMarkers);
    overlays["Ward hubs"] = hubs;
    overlays["Hub sites"] = sites.addTo(map);
    overlays["Borough boundaries"] = boroughLayer().addTo(map);
    legend([], "Ward hubs (" + data.hub_count + ")", [{ cls: "hub-site", label: "Hub site (where ward officers are based); tap for its wards" }]);
  }

  function changeColour(d) {
    if (!d || d.change === null) { return "#bbbbbb"; }
    for (var i = 0; i < data.change_bands.length; i++) {
      if (d.change <= data.change_bands[i].upto) { return data.change_bands[i].color; }
    }
    return data.change_bands[data.change_bands.length - 1].color;
  }

  L.control.layers(bases, overlays, { collapsed: small, position: "topright" }).addTo(map);
  map.fitBounds(L.geoJSON(data.boroughs).getBounds(), { padding: [4, 4] });
  if (window.ResizeObserver) { new ResizeObserver(function () { map.invalidateSize(); }).observe(document.getElementById("map")); }

  window.plannerMap = { map: map, byId: byId, counters: counterById };
  if (data.kind === "residents") { resident(); }

  // ---------------------------------------------------------------- resident view
  function resident() {
    var input = document.getElementById("planner-search-input");
    var form = document.getElementById("planner-search");
    var list = document.getElementById("planner-search-results");
    var status = document.getElementById("planner-search-status");
    var panel = document.getElementById("planner-summary");
    var body = document.getElementById("planner-summary-body");
    var pc = data.postcodes || null;
    var you = null;
    var selected = null;
    var MAX = 12;
    // the longest query looked at (the page's maxlength; pasted or scripted values can pass it) and the most of
    // it ever repeated in the status line: matching is quadratic in the query's length
    var MAXLEN = input.maxLength > 0 ? input.maxLength : 100;
    var ECHO = 40;
    function echo(q) {
      var chars = Array.from(q);
      return chars.length > ECHO ? chars.slice(0, ECHO).join("").trim() + "\u2026" : q;
    }

    function norm(s) {
      return String(s).toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "")
        .replace(/['\u2018\u2019`\u00b4]/g, "").replace(/&/g, " and ").replace(/[^a-z0-9]+/g, " ").trim();
    }
    function distance(a, b) {  // optimal string alignment (edits and swaps of neighbours)
      var d = [];
      for (var i = 0; i <= a.length; i++) { d.push([i]); }
      for (var j = 1; j <= b.length; j++) { d[0][j] = j; }
      for (i = 1; i <= a.length; i++) {
        for (j = 1; j <= b.length; j++) {
          var cost = a[i - 1] === b[j - 1] ? 0 : 1;
          d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) { d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1); }
        }
      }
      return d[a.length][b.length];
    }
    var wardIndex = data.wards.features.map(function (f) {
      var p = f.properties;
      return { code: p.ward_code, name: norm(p.ward_name), borough: norm(p.borough_name),
               label: p.ward_name + ", " + p.borough_name };
    }).sort(function (a, b) { return a.label < b.label ? -1 : 1; });
    var cityEntry = { code: "city", name: "city of london", borough: "city of london", label: "City of London" };

    var labels = [];
    function label(at, text, side) {
      var node = el("span", null, text);
      return L.tooltip({ permanent: true, direction: side, className: "planner-label", offset: [side === "left" ? -12 : 0, 0] })
        .setLatLng(at).setContent(node).addTo(map);
    }
    function clearAnswer() {
      labels.forEach(function (t) { map.removeLayer(t); });
      labels = [];
      closePanel();
      body.textContent = "";
      if (selected) { selected.setStyle({ weight: 0.6, color: "#555" }); selected = null; }
      if (you) { map.removeLayer(you); you = null; }
    }
    function say(text) { status.textContent = text; }
    function showPanel(heading, lines, attrs) {
      body.textContent = "";
      var h = el("h2", null, heading);
      h.id = "planner-summary-heading";
      body.appendChild(h);
      lines.forEach(function (line) { body.appendChild(el("p", null, line)); });
      Object.keys(attrs || {}).forEach(function (k) { panel.setAttribute("data-" + k, attrs[k]); });
      panel.hidden = false;
      document.body.classList.add("answer-open");
      if (legendBox) { legendBox.open = false; }  // the answer and its map need the room
      panel.focus();
    }
    function padding() {
      var h = panel.hidden ? 0 : panel.offsetHeight;
      return small ? { paddingTopLeft: [90, 30], paddingBottomRight: [90, h + 30] }
                   : { paddingTopLeft: [Math.min(panel.offsetWidth + 40, 700), 40], paddingBottomRight: [60, 60] };
    }
    function highlight(code) {
      if (selected) { selected.setStyle({ weight: 0.6, color: "#555" }); }
      selected = byId[code] || null;
      if (selected) { selected.setStyle({ weight: 5, color: "#000" }); selected.bringToFront(); }
    }
    function showWard(code) {
      clearAnswer();
      list.textContent = "";
      if (code === "city") {
        showPanel("City of London", [cityLine, "Type a postcode in the City for its nearest Met front counter."], {});
        return;
      }
      var s = data.summaries[code];
      if (!s) { return; }
      ["postcode", "plan-minutes", "today-minutes", "plan-counter", "today-counter"].forEach(function (k) { panel.removeAttribute("data-" + k); });
      var lines = s.lines.slice();
      if (data.hub_lines[code]) { lines.splice(lines.length - 1, 0, data.hub_lines[code]); }
      showPanel(s.heading, lines, { ward: code });
      highlight(code);
      if (selected) { map.fitBounds(selected.getBounds(), L.extend({ maxZoom: 14 }, padding())); }
    }
    var cityLine = "The City of London has its own police force, the City of London Police; this plan covers the Metropolitan Police area only.";

    // ---- postcodes: packed per sector, decoded when typed
    var sectorKeys = pc ? Object.keys(pc.sectors) : [];
    function num(s) {
      var v = 0;
      for (var i = 0; i < s.length; i++) { v = v * pc.digits.length + pc.digits.indexOf(s[i]); }
      return v;
    }
    function decode(sector) {
      var packed = pc.sectors[sector];
      var out = [];
      for (var at = 0; at < packed.length; at += out[out.length - 1].width) {
        var rec = {}, pos = at;
        pc.fields.forEach(function (f) {
          if (f[0] === "todayMin" && rec.today === none(fieldWidth("today")) - 1) {  // same as the plan
            rec.today = rec.plan;
            rec.todayMin = rec.planMin;
            return;
          }
          var chunk = packed.substr(pos, f[1]);
          rec[f[0]] = f[0] === "unit" ? chunk : num(chunk);
          pos += f[1];
        });
        rec.postcode = sector + rec.unit;
        rec.width = pos - at;
        out.push(rec);
      }
      return out;
    }
    function none(w) { return Math.pow(pc.digits.length, w) - 1; }
    function fieldWidth(name) { return pc.fields.filter(function (f) { return f[0] === name; })[0][1]; }
    function findPostcode(code) {
      var sector = code.slice(0, -2);
      if (!pc || !pc.sectors[sector]) { return null; }
      return decode(sector).filter(function (r) { return r.postcode === code; })[0] || null;
    }
    function wardOf(rec) { return rec.ward === none(2) ? null : pc.wards[rec.ward]; }
    function answer(rec, name) {
      if (rec[name] === none(fieldWidth(name))) { return null; }
      return { counter: data.counters[rec[name]], minutes: rec[name + "Min"] / 10 };
    }
    function minutesWords(m) {
      var shown = Math.max(1, Math.round(m));
      if (m > data.threshold && shown <= data.threshold) { return "just over " + data.threshold + " minutes"; }
      return "about " + shown + (shown === 1 ? " minute" : " minutes");
    }
    function thresholdWords(m) {
      return m > data.threshold ? "That is more than " + data.threshold + " minutes."
                                : "That is " + data.threshold + " minutes or less.";
    }
    function showPostcode(rec) {
      clearAnswer();
      list.textContent = "";
      var ward = wardOf(rec);
      var feature = ward && byId[ward] ? byId[ward].feature.properties : null;
      var plan = answer(rec, "plan");
      var today = pc.fields.some(function (f) { return f[0] === "today"; }) ? answer(rec, "today") : null;
      var words = data.engine ? " " + data.engine : "";
      var lines = [];
      lines.push(feature ? "You live in " + feature.ward_name + " ward, " + feature.borough_name + "." : cityLine);
      if (!plan) {
        lines.push("We have no travel-time estimate for this postcode.");
      } else {
        if (today) {
          lines.push("Today your nearest front counter is " + today.counter.name + ", " + minutesWords(today.minutes) + words + ".");
          lines.push("Under the proposal it would " + (today.counter.id === plan.counter.id ? "still be " : "be ") +
                     plan.counter.name + ", " + minutesWords(plan.minutes) + ". " + thresholdWords(plan.minutes));
        } else {
          lines.push("Your nearest front counter is " + plan.counter.name + ", " + minutesWords(plan.minutes) + words + ". " +
                     thresholdWords(plan.minutes));
        }
        lines.push(plan.counter.name + ": " + plan.counter.address + ". Opening hours: " + plan.counter.hours_label + ".");
        if (today && today.counter.id !== plan.counter.id) {
          lines.push(today.counter.name + " (" + today.counter.status_label.toLowerCase() + "): " + today.counter.address + ".");
        }
      }
      if (ward && data.hub_lines[ward]) { lines.push(data.hub_lines[ward]); }
      lines.push("Times are estimates from the postcode's centre point.");
      var attrs = { postcode: rec.postcode, ward: ward || "" };
      if (plan) { attrs["plan-minutes"] = plan.minutes.toFixed(1); attrs["plan-counter"] = plan.counter.id; }
      if (today) { attrs["today-minutes"] = today.minutes.toFixed(1); attrs["today-counter"] = today.counter.id; }
      showPanel(rec.postcode, lines, attrs);
      if (ward) { highlight(ward); }
      // the postcode and its counter(s) together on the map
      var e = (pc.origin[0] + rec.e) * pc.grid, n = (pc.origin[1] + rec.n) * pc.grid;
      var ll = bngToLatLng(e, n);
      you = L.marker(ll, { icon: L.divIcon({ className: "you-hit", html: "", iconSize: [26, 26] }), pane: "counters",
                           keyboard: false, title: "Your postcode " + rec.postcode, zIndexOffset: 1000 }).addTo(map);
      you.getElement().appendChild(el("div", "you", ""));
      you.getElement().setAttribute("aria-hidden", "true");
      labels.push(label(ll, rec.postcode, "left"));
      var pts = [ll];
      [plan, today].forEach(function (a) {
        if (a && !pts.some(function (p) { return p.c === a.counter.id; })) {
          var at = [a.counter.lat, a.counter.lon];
          at.c = a.counter.id;
          pts.push(at);
          labels.push(label(at, a.counter.name + (a.counter.status === "closing" ? " (closing)" : ""), "auto"));
        }
      });
      map.fitBounds(L.latLngBounds(pts), L.extend({ maxZoom: 15 }, padding()));
    }

    // OSGB36 national grid -> WGS84 (Helmert; within about 5 m, plenty for a marker)
    function bngToLatLng(E, N) {
      var a = 6377563.396, b = 6356256.909, F0 = 0.9996012717, lat0 = 49 * Math.PI / 180, lon0 = -2 * Math.PI / 180;
      var N0 = -100000, E0 = 400000, e2 = 1 - (b * b) / (a * a), n = (a - b) / (a + b), lat = lat0, M = 0;
      do {
        lat = (N - N0 - M) / (a * F0) + lat;
        var Ma = (1 + n + 1.25 * n * n + 1.25 * n * n * n) * (lat - lat0);
        var Mb = (3 * n + 3 * n * n + 2.625 * n * n * n) * Math.sin(lat - lat0) * Math.cos(lat + lat0);
        var Mc = (1.875 * n * n + 1.875 * n * n * n) * Math.sin(2 * (lat - lat0)) * Math.cos(2 * (lat + lat0));
        var Md = (35 / 24) * n * n * n * Math.sin(3 * (lat - lat0)) * Math.cos(3 * (lat + lat0));
        M = b * F0 * (Ma - Mb + Mc - Md);
      } while (N - N0 - M >= 0.00001);
      var s = Math.sin(lat), c = Math.cos(lat), t = Math.tan(lat);
      var nu = a * F0 / Math.sqrt(1 - e2 * s * s), rho = a * F0 * (1 - e2) / Math.pow(1 - e2 * s * s, 1.5), eta2 = nu / rho - 1;
      var VII = t / (2 * rho * nu), VIII = t / (24 * rho * nu * nu * nu) * (5 + 3 * t * t + eta2 - 9 * t * t * eta2);
      var IX = t / (720 * rho * Math.pow(nu, 5)) * (61 + 90 * t * t + 45 * t * t * t * t);
      var X = 1 / (c * nu), XI = 1 / (c * 6 * nu * nu * nu) * (nu / rho + 2 * t * t);
      var XII = 1 / (c * 120 * Math.pow(nu, 5)) * (5 + 28 * t * t + 24 * t * t * t * t);
      var XIIA = 1 / (c * 5040 * Math.pow(nu, 7)) * (61 + 662 * t * t + 1320 * Math.pow(t, 4) + 720 * Math.pow(t, 6));
      var dE = E - E0;
      lat = lat - VII * dE * dE + VIII * Math.pow(dE, 4) - IX * Math.pow(dE, 6);
      var lon = lon0 + X * dE - XI * Math.pow(dE, 3) + XII * Math.pow(dE, 5) - XIIA * Math.pow(dE, 7);
      // OSGB36 -> WGS84 via cartesian coordinates and a Helmert shift
      var H = 0, x1 = (nu / F0 + H) * Math.cos(lat) * Math.cos(lon), y1 = (nu / F0 + H) * Math.cos(lat) * Math.sin(lon);
      var z1 = ((1 - e2) * nu / F0 + H) * Math.sin(lat);
      var sc = -20.4894e-6, tx = 446.448, ty = -125.157, tz = 542.060;
      var rx = 0.1502 / 3600 * Math.PI / 180, ry = 0.2470 / 3600 * Math.PI / 180, rz = 0.8421 / 3600 * Math.PI / 180;
      var x2 = tx + (1 + sc) * x1 - rz * y1 + ry * z1, y2 = ty + rz * x1 + (1 + sc) * y1 - rx * z1;
      var z2 = tz - ry * x1 + rx * y1 + (1 + sc) * z1;
      var a2 = 6378137, b2 = 6356752.3142, e22 = 1 - (b2 * b2) / (a2 * a2), p = Math.sqrt(x2 * x2 + y2 * y2);
      var phi = Math.atan2(z2, p * (1 - e22)), phiP = 2 * Math.PI;
      while (Math.abs(phi - phiP) > 1e-12) {
        var nu2 = a2 / Math.sqrt(1 - e22 * Math.sin(phi) * Math.sin(phi));
        phiP = phi;
        phi = Math.atan2(z2 + e22 * nu2 * Math.sin(phi), p);
      }
      return [phi * 180 / Math.PI, Math.atan2(y2, x2) * 180 / Math.PI];
    }

    // ---- the result list: buttons; arrow keys move between them, Enter picks
    function results(items, total, what) {
      list.textContent = "";
      items.slice(0, MAX).forEach(function (it) {
        var li = el("li");
        var b = el("button", null, it.label);
        b.type = "button";
        b.addEventListener("click", function () { it.pick(); });
        li.appendChild(b);
        list.appendChild(li);
      });
      var n = total === undefined ? items.length : total;
      say(n > MAX ? MAX + " of " + n + " " + what + " shown: type more to narrow the list" : n + " " + what + (n === 1 ? "" : "s").replace(/^s$/, "") + " found");
    }
    function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
    function wardMatches(q) {
      var nq = norm(q);
      if (nq.length < 2) { return []; }
      var words = nq.split(" ");
      var scored = [];
      wardIndex.concat([cityEntry]).forEach(function (w) {
        var text = w.name + " " + w.borough;
        var score = null;
        if (w.name === nq) { score = 0; }
        else if (w.name.indexOf(nq) === 0) { score = 1; }
        else if (words.every(function (t) { return (" " + text).indexOf(" " + t) >= 0; })) { score = 2; }
        else if (text.indexOf(nq) >= 0) { score = 3; }
        if (score !== null) { scored.push({ w: w, s: score }); }
      });
      if (!scored.length && nq.length >= 4) {  // small typos: edit distance against ward and borough names
        var limit = nq.length >= 8 ? 2 : 1;
        wardIndex.concat([cityEntry]).forEach(function (w) {
          var d = Math.min(distance(nq, w.name), distance(nq, w.name.slice(0, nq.length)), distance(nq, w.borough));
          if (d <= limit) { scored.push({ w: w, s: 4 + d }); }
        });
      }
      scored.sort(function (a, b) { return a.s - b.s || (a.w.label < b.w.label ? -1 : 1); });
      return scored.map(function (x) { return x.w; });
    }
    var FULL = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;
    var DISTRICT = /^[A-Z]{1,2}[0-9][A-Z0-9]?$/;
    function sectorsOf(district) { return sectorKeys.filter(function (k) { return k.split(" ")[0] === district; }); }
    function partial(compact) {
      if (!pc) { return null; }
      var m = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9])$/.exec(compact);
      if (m && pc.sectors[m[1] + " " + m[2]]) { return { sector: m[1] + " " + m[2] }; }
      if (DISTRICT.test(compact) && sectorsOf(compact).length) { return { district: compact }; }
      return null;
    }
    function wardsIn(recs) {
      var count = {};
      recs.forEach(function (r) { var w = wardOf(r) || "city"; count[w] = (count[w] || 0) + 1; });
      return Object.keys(count).sort(function (a, b) { return count[b] - count[a]; }).map(function (code) {
        var f = byId[code] ? byId[code].feature.properties : null;
        var label = f ? f.ward_name + ", " + f.borough_name : "City of London";
        return { label: label + " (" + plural(count[code], "postcode") + ")", pick: function () { showWard(f ? code : "city"); } };
      });
    }
    function search(submit) {
      if (input.value.length > MAXLEN) { input.value = input.value.slice(0, MAXLEN); }
      var q = input.value.trim();
      if (!norm(q)) {  // nothing to look for (empty, spaces, punctuation): the last answer and list go too
        clearAnswer();
        list.textContent = "";
        say(submit ? (pc ? "Type your postcode, ward or borough." : "Type your ward or borough.") : "");
        return;
      }
      var compact = q.toUpperCase().replace(/[^A-Z0-9]/g, "");
      var full = FULL.exec(compact);
      if (full && !pc) {
        clearAnswer();
        list.textContent = "";
        say("This map was made without postcode data, so it cannot look up postcodes. Type your ward or borough name instead.");
        return;
      }
      if (full) {
        var code = full[1] + " " + full[2];
        var rec = findPostcode(code);
        if (rec) {
          say("Postcode " + code + " found.");
          if (submit) { showPostcode(rec); } else { results([{ label: "Postcode " + code, pick: function () { showPostcode(rec); } }], 1, "postcode"); }
          return;
        }
        clearAnswer();
        list.textContent = "";
        say("Postcode " + code + " not found: it is not a London postcode we know (or it is no longer used). " +
            "Check it, or type your ward or borough name instead.");
        return;
      }
      var part = partial(compact);
      if (part && part.district) {
        var sectors = sectorsOf(part.district);
        results(sectors.map(function (k) {
          return { label: k + " (" + plural(decode(k).length, "postcode") + ")", pick: function () { input.value = k; search(false); focusFirst(); } };
        }), sectors.length, "postcode area");
        say(part.district + " has " + plural(sectors.length, "area") + (sectors.length > MAX ? ", " + MAX + " of " + sectors.length + " shown" : "") +
            ". Type your full postcode, e.g. " + sectors[0] + decode(sectors[0])[0].unit + ".");
        return;
      }
      if (part && part.sector) {
        var recs = decode(part.sector);
        var items = wardsIn(recs);
        results(items, items.length, "ward");
        say(part.sector + " has " + plural(recs.length, "postcode") + " in " + plural(items.length, "ward") +
            (items.length > MAX ? " (" + MAX + " of " + items.length + " shown)" : "") + ". Type your full postcode, e.g. " + recs[0].postcode + ".");
        return;
      }
      var found = wardMatches(q);
      if (norm(q).length < 2) { list.textContent = ""; say(""); return; }
      if (!found.length) {
        clearAnswer();
        list.textContent = "";
        say("No ward, borough or postcode matches \u201c" + echo(q) + "\u201d. Check the spelling, or type your postcode (e.g. " +
            (pc ? pc.example : "HA9 0WS") + ").");
        return;
      }
      if (submit && found.length === 1) { showWard(found[0].code); say("1 ward found."); return; }
      results(found.map(function (w) { return { label: w.label, pick: function () { showWard(w.code); } }; }), found.length, "ward");
      if (found.length > MAX) { say(MAX + " of " + found.length + " wards shown: type more to narrow the list"); }
      else { say(plural(found.length, "ward") + " found."); }
    }
    function focusFirst() { var b = list.querySelector("button"); if (b) { b.focus(); } }
    input.addEventListener("input", function () { search(false); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      search(true);
      if (panel.hidden) {
        var first = list.querySelector("button");
        if (first && list.children.length === 1) { first.click(); } else { focusFirst(); }
      }
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); focusFirst(); }
    });
    list.addEventListener("keydown", function (ev) {
      var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
      var i = buttons.indexOf(document.activeElement);
      if (ev.key === "ArrowDown" && i < buttons.length - 1) { ev.preventDefault(); buttons[i + 1].focus(); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); if (i > 0) { buttons[i - 1].focus(); } else { input.focus(); } }
      else if (ev.key === "Escape") { input.focus(); }
    });
    function closePanel() { panel.hidden = true; document.body.classList.remove("answer-open"); }
    document.getElementById("planner-summary-close").addEventListener("click", function () { closePanel(); input.focus(); });
    panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { closePanel(); input.focus(); } });
    window.plannerMap.search = function (text) { input.value = text; search(true); };
    window.plannerMap.showWard = showWard;
    onWard = showWard;
  }
})();

/* planner maps: builds the layers from the JSON data block.  Every text from a data file is set with
   textContent or as an attribute value, never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("planner-data").textContent);
  var map = window[data.mapName];
  var byId = {};

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

  // title
  var title = el("div", "planner-title", data.title);
  title.setAttribute("role", "heading");
  map.getContainer().appendChild(title);
  if (data.kind === "residents") { document.body.classList.add("resident"); }

  // tiles only when the browser says it is online; added later if it comes online
  function addTiles() {
    if (!data.tiles || addTiles.done) { return; }
    addTiles.done = true;
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution, maxZoom: 19 }).addTo(map).bringToBack();
  }
  if (navigator.onLine) { addTiles(); } else { window.addEventListener("online", addTiles); }

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
        if (data.kind === "residents") {
          layer.on("click", function () { showSummary(p.ward_code); });
        }
        byId[p.ward_code] = layer;
      }
    });
  }

  function boroughLayer() {
    return L.geoJSON(data.boroughs, { pane: "boroughs", interactive: false,
      style: function () { return { pane: "boroughs", color: "#222", weight: 2, fill: false }; } });
  }

  function counterLayer(counters) {
    var group = L.layerGroup();
    counters.forEach(function (c) {
      var cls = "counter counter-" + c.status + (c.all_day ? " counter-247" : "");
      var icon = L.divIcon({ className: "", html: "", iconSize: [18, 18] });
      var marker = L.marker([c.lat, c.lon], { icon: icon, pane: "counters", keyboard: true, title: c.name });
      marker.on("add", function () {
        var node = marker.getElement();
        var inner = el("div", cls, c.status === "closing" ? "\u00d7" : "");
        inner.setAttribute("aria-label", c.name);
        node.appendChild(inner);
      });
      marker.bindPopup(function () {
        var box = el("div");
        box.appendChild(el("strong", "counter-name", c.name));
        box.appendChild(definitionList([
          ["Borough", c.borough], ["Under this plan", c.status_label], ["Hours", c.hours_label],
          ["Location accuracy", c.accuracy ? "within about " + fmt(c.accuracy) + " m" : "unknown"]
        ]));
        return box;
      });
      group.addLayer(marker);
    });
    return group;
  }

  function legend(items, heading, extra) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div", "planner-legend");
      box.appendChild(el("h4", null, heading));
      items.forEach(function (it) {
        var row = el("div");
        var sw = el("span", "swatch");
        sw.style.background = it.color;
        row.appendChild(sw);
        row.appendChild(el("span", null, it.label));
        box.appendChild(row);
      });
      (extra || []).forEach(function (it) {
        var row = el("div");
        var sym = el("span", "sym");
        sym.appendChild(el("div", it.cls, it.text || ""));
        sym.firstChild.style.display = "inline-block";
        row.appendChild(sym);
        row.appendChild(el("span", null, it.label));
        box.appendChild(row);
      });
      box.setAttribute("data-legend", data.kind);
      return box;
    };
    control.addTo(map);
  }

  var counterKey = [
    { cls: "counter counter-open counter-247", label: "Open, 24 hours" },
    { cls: "counter counter-open", label: "Open, limited or unknown hours" },
    { cls: "counter counter-new", label: "New counter" },
    { cls: "counter counter-closing", text: "\u00d7", label: "Closing under this plan" }
  ];

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
    legend(bands.map(function (b) { return { color: b.color, label: b.label }; }),
           data.kind === "residents" ? "Time to the nearest front counter" : "Minutes to nearest open counter (" + data.engine + ")",
           extra);
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
    overlays["Change: " + data.reference + " \u2192 " + data.proposal] = change.addTo(map);
    overlays["Borough boundaries"] = boroughLayer().addTo(map);
    overlays["Front counters (" + data.proposal + ")"] = counterLayer(data.counters).addTo(map);
    legend(data.change_bands.map(function (b) { return { color: b.color, label: b.label }; }),
           "Change in minutes", counterKey);
  } else if (data.kind === "hubs") {
    var hubs = L.geoJSON(data.hubs, {
      pane: "hubs",
      style: function (f) { return { pane: "hubs", color: "#333", weight: 1, fillOpacity: 0.6, fillColor: f.properties.colour }; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(function () {
          var box = el("div");
          box.appendChild(el("strong", null, "Hub " + p.hub_id));
          box.appendChild(definitionList([
            ["Borough", p.borough_name], ["Hub site", p.site_ward_name], ["Wards", p.ward_names],
            ["Residents", fmt(p.population)], ["Mean travel to site", fmt(p.mean_minutes, 1) + " min"],
            ["Longest travel to site", fmt(p.max_minutes, 1) + " min"]
          ]));
          return box;
        });
      }
    }).addTo(map);
    var sites = L.layerGroup();
    data.sites.forEach(function (s) {
      var icon = L.divIcon({ className: "", html: "", iconSize: [14, 14] });
      var m = L.marker([s.lat, s.lon], { icon: icon, pane: "counters", title: "Hub " + s.hub_id + ": " + s.name });
      m.on("add", function () { m.getElement().appendChild(el("div", "hub-site")); });
      sites.addLayer(m);
    });
    overlays["Ward hubs"] = hubs;
    overlays["Hub sites"] = sites.addTo(map);
    overlays["Borough boundaries"] = boroughLayer().addTo(map);
    legend([], "Ward hubs (" + data.hub_count + ")", [{ cls: "hub-site", label: "Hub site (where ward officers are based)" }]);
  }

  function changeColour(d) {
    if (!d || d.change === null) { return "#bbbbbb"; }
    for (var i = 0; i < data.change_bands.length; i++) {
      if (d.change <= data.change_bands[i].upto) { return data.change_bands[i].color; }
    }
    return data.change_bands[data.change_bands.length - 1].color;
  }

  L.control.layers(bases, overlays, { collapsed: false, position: "topright" }).addTo(map);
  map.attributionControl.addAttribution(data.attribution);

  // resident view: search and plain-language summary
  var summary = null;
  function showSummary(code) {
    var s = data.summaries[code];
    if (!s || !summary) { return; }
    summary.hidden = false;
    summary.textContent = "";
    summary.appendChild(el("h3", null, s.heading));
    s.lines.forEach(function (line) { summary.appendChild(el("p", null, line)); });
    var layer = byId[code];
    if (showSummary.selected) { showSummary.selected.setStyle({ weight: 0.6, color: "#555" }); }
    if (layer) {
      layer.setStyle({ weight: 5, color: "#000" });
      layer.bringToFront();
      showSummary.selected = layer;
      map.fitBounds(layer.getBounds(), { maxZoom: 14, paddingBottomRight: [0, 220] });
    }
  }
  if (data.kind === "residents") {
    summary = el("div", "planner-summary");
    summary.hidden = true;
    summary.setAttribute("aria-live", "polite");
    summary.id = "planner-summary";
    document.body.appendChild(summary);
    var box = el("div", "planner-search");
    var label = el("label", null, "Find your ward");
    label.setAttribute("for", "planner-search-input");
    var input = el("input");
    input.id = "planner-search-input";
    input.type = "search";
    input.placeholder = "Type a ward or borough name";
    input.autocomplete = "off";
    var list = el("ul");
    list.id = "planner-search-results";
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(list);
    document.body.appendChild(box);
    L.DomEvent.disableClickPropagation(box);
    var index = data.wards.features.map(function (f) {
      var p = f.properties;
      return { code: p.ward_code, text: (p.ward_name + " " + p.borough_name).toLowerCase(),
               label: p.ward_name + ", " + p.borough_name };
    });
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      list.textContent = "";
      if (q.length < 2) { return; }
      index.filter(function (w) { return w.text.indexOf(q) >= 0; }).slice(0, 12).forEach(function (w) {
        var li = el("li");
        var b = el("button", null, w.label);
        b.type = "button";
        b.addEventListener("click", function () { list.textContent = ""; input.value = w.label; showSummary(w.code); });
        li.appendChild(b);
        list.appendChild(li);
      });
    });
  }
  window.plannerMap = { byId: byId, showSummary: showSummary };
})();

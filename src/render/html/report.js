"use strict";
(function () {
  // Every value from the log arrives here as JSON data and is only ever compared or shown as
  // text (textContent); nothing is parsed as markup or used as a URL.
  var el = document.getElementById("ktrail-data");
  var svg = document.getElementById("lanes");
  var form = document.getElementById("controls");
  if (!el || !svg || !form) return;
  var data = JSON.parse(el.textContent);
  var pods = data.pods;
  var X0 = +svg.dataset.x0, X1 = +svg.dataset.x1, ROW = +svg.dataset.row, TOP = +svg.dataset.top;
  var lanes = [];
  for (var i = 0; i < pods.length; i++) lanes.push(document.getElementById("lane-" + i));
  // The script runs before the stories are parsed (the swimlane is usable while they load), so
  // a story is looked up when it is needed, and the page is brought up to date once parsed.
  function story(i) { return document.getElementById("story-" + i); }
  var $ = function (id) { return document.getElementById(id); };
  var fNs = $("f-ns"), fName = $("f-name"), fNode = $("f-node"), fSched = $("f-sched"),
    fHook = $("f-hook"), fSort = $("f-sort"), zFrom = $("z-from"), zTo = $("z-to"),
    zText = $("z-text"), shown = $("shown"), axis = $("axis");
  var STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  var SVGNS = "http://www.w3.org/2000/svg";

  function windowMs() {
    var a = Math.min(+zFrom.value, +zTo.value), b = Math.max(+zFrom.value, +zTo.value);
    if (b - a < 1) b = Math.min(1000, a + 1);
    return [data.len * a / 1000, data.len * b / 1000];
  }
  function hhmmss(ms) {
    return new Date(data.t0 + ms).toISOString().slice(11, 19);
  }
  function keyOf(p, sort) {
    switch (sort) {
      case "created": return p[5];
      case "c2b": return p[7];
      case "b2r": return p[8];
      case "c2r": return p[9];
    }
    return null;
  }
  function matches(p, w) {
    if (fNs.value !== "" && p[0] !== +fNs.value) return false;
    if (fSched.value !== "" && p[3] !== +fSched.value) return false;
    if (fHook.value !== "" && p[4].indexOf(+fHook.value) < 0) return false;
    var name = fName.value.trim().toLowerCase();
    if (name && p[1].toLowerCase().indexOf(name) < 0) return false;
    var node = fNode.value.trim().toLowerCase();
    if (node && (p[2] || "").toLowerCase().indexOf(node) < 0) return false;
    return p[6] >= w[0] && p[5] <= w[1];
  }
  function x(ms, w) {
    var v = X0 + (ms - w[0]) / (w[1] - w[0]) * (X1 - X0);
    return Math.max(X0, Math.min(X1, v));
  }
  function drawAxis(w, height) {
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var len = (w[1] - w[0]) / 1000, step = 86400;
    for (var k = 0; k < STEPS.length; k++) if (len / STEPS[k] <= 8) { step = STEPS[k]; break; }
    var first = Math.floor((data.t0 + w[0]) / 1000 / step) * step + step;
    for (var t = first; t * 1000 <= data.t0 + w[1]; t += step) {
      var px = x(t * 1000 - data.t0, w);
      var line = document.createElementNS(SVGNS, "line");
      line.setAttribute("class", "tick");
      line.setAttribute("x1", px); line.setAttribute("x2", px);
      line.setAttribute("y1", TOP - 6); line.setAttribute("y2", height);
      var text = document.createElementNS(SVGNS, "text");
      text.setAttribute("class", "tl");
      text.setAttribute("x", px); text.setAttribute("y", TOP - 10);
      text.textContent = hhmmss(t * 1000 - data.t0);
      axis.appendChild(line); axis.appendChild(text);
    }
  }
  function apply() {
    var w = windowMs(), sort = fSort.value, order = [];
    for (var i = 0; i < pods.length; i++) if (matches(pods[i], w)) order.push(i);
    if (sort) {
      var slowest = sort !== "created";
      order.sort(function (a, b) {
        var ka = keyOf(pods[a], sort), kb = keyOf(pods[b], sort);
        if (ka === null && kb === null) return a - b;
        if (ka === null) return 1;
        if (kb === null) return -1;
        return (slowest ? kb - ka : ka - kb) || a - b;
      });
    }
    var visible = {};
    order.forEach(function (i, k) {
      visible[i] = true;
      lanes[i].setAttribute("transform", "translate(0," + (TOP + ROW * k) + ")");
      lanes[i].removeAttribute("display");
    });
    for (i = 0; i < pods.length; i++) {
      if (!visible[i]) lanes[i].setAttribute("display", "none");
      if (pods[i][10]) {
        var st = story(i);
        if (st) st.hidden = !visible[i];
      }
    }
    var height = TOP + ROW * order.length + 4;
    svg.setAttribute("viewBox", "0 0 " + svg.getAttribute("width") + " " + height);
    svg.setAttribute("height", height);
    lanes.forEach(function (g, i) {
      var pieces = pods[i][11], k = 0;
      g.querySelectorAll("rect.seg, path.denied").forEach(function (r) {
        var a = x(pieces[k], w), b = x(pieces[k + 1], w);
        k += 2;
        if (r.tagName === "path") {
          r.setAttribute("d", "M" + (a - 5).toFixed(1) + ",2l10,10m0,-10l-10,10");
        } else {
          r.setAttribute("x", a.toFixed(1));
          r.setAttribute("width", Math.max(b - a, 1).toFixed(1));
        }
      });
    });
    drawAxis(w, height);
    zText.textContent = hhmmss(w[0]) + " – " + hhmmss(w[1]) + " UTC";
    shown.textContent = order.length + " of " + pods.length + " incarnations shown";
    shown.dataset.count = order.length;
  }
  // Sequence diagrams sent as data (reports with many stories): drawn when a story is opened,
  // with the same geometry as the ones ktrail writes as SVG.
  var seq;
  function seqData() {
    if (seq === undefined) {
      var el = document.getElementById("ktrail-seq");
      seq = el ? JSON.parse(el.textContent) : null;
    }
    return seq;
  }
  var COL = 170, HEAD = 34, STEP = 24;
  function shorten(t, max) {
    var chars = Array.from(t);
    return chars.length <= max ? t : chars.slice(0, max - 1).join("") + "\u2026";
  }
  function svgEl(parent, tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    parent.appendChild(e);
    return e;
  }
  function svgText(parent, cls, x, y, t, max) {
    var e = svgEl(parent, "text", { "class": cls, x: x, y: y });
    var short = shorten(t, max);
    if (short !== t) svgEl(e, "title", {}).textContent = t;
    e.appendChild(document.createTextNode(short));
  }
  function draw(section) {
    var box = section.querySelector(".seq-box");
    if (!box || box.dataset.drawn || !seqData()) return;
    var entry = seq.stories[section.id.slice(6)];
    if (!entry) return;
    box.dataset.drawn = "1";
    var labels = entry[0], steps = entry[1], rows = section.querySelectorAll("table.events > tbody > tr");
    var width = Math.max(Math.max(labels.length, 1) * COL, 600), height = HEAD + STEP * steps.length + 12;
    var svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("class", "seq");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    labels.forEach(function (l, k) {
      var cx = k * COL + COL / 2;
      svgEl(svg, "rect", { "class": "pp", x: k * COL + 6, y: 2, width: COL - 12, height: 22, rx: 3 });
      svgEl(svg, "line", { "class": "life", x1: cx, x2: cx, y1: 24, y2: height });
      svgText(svg, "pl", cx, 17, seq.strings[l], 24);
    });
    steps.forEach(function (st, k) {
      var y = HEAD + STEP * k + 16, text;
      if (st[3] >= 0) {
        text = seq.strings[st[3]];
      } else {
        var row = rows[-1 - st[3]];
        text = row ? row.cells[0].textContent + " " + (row.cells[3].firstChild || {}).nodeValue : "?";
        text = shorten(text, 160);
      }
      var x1 = st[0] * COL + COL / 2, x2 = st[1] * COL + COL / 2;
      if (st[2] === 4) {
        var left = Math.max(x1 - COL / 2, 0);
        svgEl(svg, "rect", { "class": "note", x: left + 4, y: y - 13, width: COL * 2, height: 18 });
        svgText(svg, "mt", left + 8, y, text, 96);
        return;
      }
      var cls = ["m", "m r", "m f", "m r f"][st[2]];
      svgEl(svg, "line", { "class": cls, x1: x1, x2: x2, y1: y, y2: y });
      svgText(svg, "mt", Math.min(x1, x2) + 6, y - 4, text, 96);
    });
    box.textContent = "";
    box.appendChild(svg);
  }
  // `toggle` does not bubble: caught on its way down instead, for every story at once.
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.tagName === "DETAILS" && d.open && d.parentNode.classList.contains("story")) draw(d.parentNode);
  }, true);
  function openStory() {
    var m = /^#story-(\d+)$/.exec(location.hash);
    var s = m && story(m[1]);
    if (!s) return;
    s.hidden = false;
    s.querySelector("details").open = true;
    s.scrollIntoView();
  }
  form.hidden = false;
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  [fNs, fSched, fHook, fSort].forEach(function (c) { c.addEventListener("change", apply); });
  [fName, fNode, zFrom, zTo].forEach(function (c) { c.addEventListener("input", apply); });
  $("z-reset").addEventListener("click", function () { zFrom.value = 0; zTo.value = 1000; apply(); });
  window.addEventListener("hashchange", openStory);
  apply();
  openStory();
  document.addEventListener("DOMContentLoaded", function () { apply(); openStory(); });
  // When the report became interactive, for the tests' timing (milliseconds since navigation).
  document.documentElement.dataset.ready = Math.round(performance.now());
})();

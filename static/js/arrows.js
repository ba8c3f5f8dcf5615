// The links between claims (supports / attacks / rephrases), drawn as arrows in the margin
// beside the text of templates/articles/article.html, never over it. The links come from the
// server as a hidden list (#relation-map, the relations the reader may see), fetched when the
// page opens and again after every change; the drawing follows the claims' places in the text.
// The on/off switch is remembered in this browser (localStorage).
"use strict";

(function () {
  var bar = document.getElementById("arrows-bar");
  var toggle = document.getElementById("arrows-toggle");
  var textEl = document.getElementById("article-text");
  var column = textEl && textEl.closest(".text-column");
  if (!bar || !toggle || !column || !window.htmx) {
    return;
  }
  var KEY = "annotator.relation-arrows";
  var NS = "http://www.w3.org/2000/svg";
  var KINDS = ["supports", "attacks", "rephrases"];
  var on = true;
  try {
    on = window.localStorage.getItem(KEY) !== "off";
  } catch (error) {
    on = true; // storage refused (private mode): the default
  }
  var svg = null;

  function node(name, attrs, parent) {
    var element = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) {
      element.setAttribute(key, attrs[key]);
    });
    if (parent) {
      parent.appendChild(element);
    }
    return element;
  }

  function ensureSvg() {
    if (svg) {
      return svg;
    }
    svg = node("svg", { class: "relation-arrows", "aria-hidden": "true", focusable: "false" });
    var defs = node("defs", {}, svg);
    KINDS.forEach(function (kind) {
      var marker = node(
        "marker",
        {
          id: "arrowhead-" + kind,
          viewBox: "0 0 8 8",
          refX: "7",
          refY: "4",
          markerWidth: "7",
          markerHeight: "7",
          orient: "auto",
        },
        defs
      );
      node("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow-head arrow-" + kind }, marker);
    });
    column.appendChild(svg);
    return svg;
  }

  function links() {
    var list = document.getElementById("relation-map");
    return list ? Array.prototype.slice.call(list.querySelectorAll("li[data-source]")) : [];
  }

  // The middle of the first line of the claim's first segment, relative to the column.
  function yOf(id, top) {
    var seg = textEl.querySelector('[data-c~="' + id + '"]');
    if (!seg) {
      return null;
    }
    var rect = seg.getClientRects()[0] || seg.getBoundingClientRect();
    return rect.top - top + rect.height / 2;
  }

  function draw() {
    var items = links();
    bar.hidden = items.length === 0;
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    var show = on && items.length > 0;
    column.classList.toggle("with-arrows", show);
    if (!show) {
      if (svg) {
        svg.remove();
        svg = null;
      }
      return;
    }
    ensureSvg();
    Array.prototype.slice.call(svg.querySelectorAll("g.arrow")).forEach(function (g) {
      g.remove();
    });
    var box = column.getBoundingClientRect();
    var text = textEl.getBoundingClientRect();
    var width = Math.max(12, Math.floor(text.left - box.left - 3));
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(Math.ceil(text.bottom - box.top + 4)));
    var arrows = [];
    items.forEach(function (item) {
      var y1 = yOf(item.dataset.source, box.top);
      var y2 = yOf(item.dataset.target, box.top);
      if (y1 === null || y2 === null) {
        return; // a claim not in the text shown
      }
      if (Math.abs(y2 - y1) < 6) {
        y2 = y1 + 6; // same line: a small loop still shows which way it goes
      }
      arrows.push({ item: item, y1: y1, y2: y2, low: Math.min(y1, y2), high: Math.max(y1, y2) });
    });
    // Short links nearest the text; a link that overlaps one already placed moves outwards.
    arrows.sort(function (a, b) {
      return a.high - a.low - (b.high - b.low);
    });
    var lanes = [];
    arrows.forEach(function (arrow) {
      var lane = 0;
      while (
        lanes[lane] &&
        lanes[lane].some(function (other) {
          return arrow.low < other.high + 4 && other.low < arrow.high + 4;
        })
      ) {
        lane += 1;
      }
      (lanes[lane] = lanes[lane] || []).push(arrow);
      var x0 = width - 2;
      var x = Math.max(3, x0 - 9 - lane * 7);
      var kind = KINDS.indexOf(arrow.item.dataset.kind) >= 0 ? arrow.item.dataset.kind : "supports";
      var g = node("g", { class: "arrow arrow-" + kind }, svg);
      node("title", {}, g).textContent = arrow.item.textContent;
      node(
        "path",
        {
          d: "M" + x0 + "," + arrow.y1 + " H" + x + " V" + arrow.y2 + " H" + (x0 - 1),
          class: "arrow-line arrow-" + kind,
          "marker-end": "url(#arrowhead-" + kind + ")",
        },
        g
      );
      node("circle", { cx: String(x0), cy: String(arrow.y1), r: "2", class: "arrow-head arrow-" + kind }, g);
    });
  }

  function load() {
    var list = document.getElementById("relation-map");
    if (list) {
      htmx.ajax("GET", list.dataset.url, { target: "#relation-map", swap: "outerHTML" });
    }
  }

  toggle.addEventListener("click", function () {
    on = !on;
    try {
      window.localStorage.setItem(KEY, on ? "on" : "off");
    } catch (error) {
      // not remembered, still switched
    }
    draw();
  });

  document.body.addEventListener("claims-changed", load);
  document.body.addEventListener("htmx:afterSettle", draw);
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      window.requestAnimationFrame(draw);
    }).observe(textEl);
  }
  window.addEventListener("resize", draw);
  load();
})();

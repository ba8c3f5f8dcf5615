// Zoom and pan for the argument map: plain SVG, the viewBox moves. Mouse wheel or the + / −
// buttons zoom, dragging pans; with the map focused, arrow keys pan and + / − zoom; a claim
// reached with Tab is brought into view. Without JavaScript the map scrolls at full size.
(function () {
  "use strict";
  var frame = document.getElementById("map-frame");
  var svg = frame && frame.querySelector("svg.argmap");
  if (!svg) return;
  var full = { w: parseFloat(svg.dataset.width), h: parseFloat(svg.dataset.height) };
  var view = { x: 0, y: 0, w: full.w, h: full.h };
  frame.classList.add("zoomable");
  svg.setAttribute("tabindex", "-1"); // the frame takes focus; Tab then goes to the claims
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMin meet");
  var tools = document.querySelector(".map-tools");
  if (tools) tools.hidden = false;

  function apply() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].map(function (v) {
      return v.toFixed(1);
    }).join(" "));
  }

  function show(w) {
    var box = frame.getBoundingClientRect();
    var h = w * (box.height / Math.max(box.width, 1));
    view = { x: (full.w - w) / 2, y: 0, w: w, h: h };
    apply();
  }

  // The whole width of the map (the "Fit" button, key 0).
  function fit() {
    show(Math.max(full.w, 200));
  }

  // Readable first: the whole map when it is not much wider than the frame, else text at its
  // own size from the top centre (the claims argued for).
  function initial() {
    var width = frame.getBoundingClientRect().width;
    show(full.w <= width * 1.35 ? full.w : Math.min(full.w, width));
  }

  function zoom(factor, cx, cy) {
    var w = Math.max(200, Math.min(full.w * 2, view.w * factor));
    var h = view.h * (w / view.w);
    cx = cx === undefined ? view.x + view.w / 2 : cx;
    cy = cy === undefined ? view.y + view.h / 2 : cy;
    view.x = cx - (cx - view.x) * (w / view.w);
    view.y = cy - (cy - view.y) * (h / view.h);
    view.w = w;
    view.h = h;
    apply();
  }

  function pan(dx, dy) {
    view.x += dx;
    view.y += dy;
    apply();
  }

  function toSvg(event) {
    var box = svg.getBoundingClientRect();
    var scale = view.w / box.width;
    return { x: view.x + (event.clientX - box.left) * scale, y: view.y + (event.clientY - box.top) * scale, scale: scale };
  }

  frame.addEventListener("wheel", function (event) {
    event.preventDefault();
    var p = toSvg(event);
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  }, { passive: false });

  var drag = null;
  frame.addEventListener("pointerdown", function (event) {
    if (event.target.closest("a")) return;
    drag = { x: event.clientX, y: event.clientY, scale: toSvg(event).scale };
    frame.classList.add("dragging");
    frame.setPointerCapture(event.pointerId);
  });
  frame.addEventListener("pointermove", function (event) {
    if (!drag) return;
    pan((drag.x - event.clientX) * drag.scale, (drag.y - event.clientY) * drag.scale);
    drag.x = event.clientX;
    drag.y = event.clientY;
  });
  function stop() {
    drag = null;
    frame.classList.remove("dragging");
  }
  frame.addEventListener("pointerup", stop);
  frame.addEventListener("pointercancel", stop);

  frame.addEventListener("keydown", function (event) {
    var step = view.w / 8;
    var keys = {
      ArrowLeft: function () { pan(-step, 0); },
      ArrowRight: function () { pan(step, 0); },
      ArrowUp: function () { pan(0, -step); },
      ArrowDown: function () { pan(0, step); },
      "+": function () { zoom(1 / 1.25); },
      "=": function () { zoom(1 / 1.25); },
      "-": function () { zoom(1.25); },
      "0": fit,
    };
    if (keys[event.key] && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      keys[event.key]();
    }
  });

  // A claim reached by keyboard is brought into view.
  svg.addEventListener("focusin", function (event) {
    var node = event.target.closest("a.node");
    if (!node) return;
    var box = node.getBBox();
    var g = node.querySelector("g");
    var m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute("transform") || "");
    var x = m ? parseFloat(m[1]) : box.x;
    var y = m ? parseFloat(m[2]) : box.y;
    if (x < view.x || x + box.width > view.x + view.w || y < view.y || y + box.height > view.y + view.h) {
      view.x = x + box.width / 2 - view.w / 2;
      view.y = y + box.height / 2 - view.h / 2;
      apply();
    }
  });

  if (tools) {
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom]");
      if (!button) return;
      var what = button.getAttribute("data-zoom");
      if (what === "in") zoom(1 / 1.25);
      else if (what === "out") zoom(1.25);
      else fit();
    });
  }
  initial();
})();

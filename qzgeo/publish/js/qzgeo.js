/* qzgeo map controls: layers, legend, labels, search, measure, fullscreen, notice.
 *
 * Written for qzgeo (MIT). Plain ES5 on top of Leaflet 1.9. Every value that comes from the
 * data reaches the page through textContent or setAttribute, never through innerHTML, string
 * concatenation into markup, eval or template literals: a hostile attribute value stays text.
 */
(function (window, document, L) {
  "use strict";

  // scripts run: hide the "scripts blocked" message of the markup (qzgeo.css)
  document.documentElement.className += " qz-js";

  var UI = {
    layers: "图层",
    legend: "图例 Legend",
    search: "搜索名称…",
    noResult: "无匹配结果",
    noBase: "无底图",
    measure: "测量面积/长度",
    measureDone: "完成",
    measureClear: "清除",
    measureHint: "单击地图添加顶点，双击或点“完成”结束。",
    measureNote: "面积按 CGCS2000 椭球等积换算计算（10 km 以内相对误差 < 0.01%），长度按球面计算（误差 < 0.5%）。",
    fullscreen: "全屏",
    zoomIn: "放大",
    home: "全图",
    homeTitle: "回到全图",
    zoomOut: "缩小",
    close: "关闭",
    notice: "示意",
    sources: "数据来源",
    tilesFailed: "底图未能加载（网络不通或底图网站被拦截）；规划图层不受影响。",
    hide: "收起",
    show: "来源",
    other: "其他"
  };

  var GROUP_ORDER = ["规划分区", "控制线", "通道", "分析结果", "底图"];
  var NARROW_PX = 600;  // maps narrower than this (phones) start with panels folded,
  var SHORT_PX = 500;   // and so do maps lower than this (a phone held sideways)
  // The closest the whole-map view goes (street level, ~0.6 m a pixel): with no basemap Leaflet
  // knows no maximum, and a map of one point was fitted at zoom Infinity (NaN, a blank page).
  var FIT_MAX_ZOOM = 18;

  function el(tag, cls, parent, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function svg(tag, attrs, parent) {
    var e = L.SVG.create(tag);
    var k;
    for (k in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, String(attrs[k])); }
    }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function stop(node) {
    L.DomEvent.disableClickPropagation(node);
    L.DomEvent.disableScrollPropagation(node);
  }

  // --- hatch patterns -----------------------------------------------------------------
  var defs = null;
  var patternCount = 0;
  var patternCache = {};

  function patternId(sym) {
    var key = JSON.stringify([sym.fill, sym.fill_opacity, sym.pattern_color, sym.stroke, sym.pattern_angle]);
    if (patternCache[key]) { return patternCache[key]; }
    if (!defs) {
      var holder = svg("svg", { width: 0, height: 0, "aria-hidden": "true" }, null);
      holder.style.position = "absolute";
      holder.style.width = "0";
      holder.style.height = "0";
      document.body.appendChild(holder);
      defs = svg("defs", {}, holder);
    }
    patternCount += 1;
    var id = "qz-hatch-" + patternCount;
    var p = svg("pattern", {
      id: id, patternUnits: "userSpaceOnUse", width: 8, height: 8,
      patternTransform: "rotate(" + Number(sym.pattern_angle || 45) + ")"
    }, defs);
    if (sym.fill) {
      svg("rect", { width: 8, height: 8, fill: sym.fill, "fill-opacity": sym.fill_opacity }, p);
    }
    svg("rect", { x: 0, y: 0, width: 3, height: 8, fill: sym.pattern_color || sym.stroke, "fill-opacity": 0.9 }, p);
    patternCache[key] = id;
    return id;
  }

  function pathStyle(sym, kind) {
    var s = {
      color: sym.stroke, weight: sym.weight, opacity: sym.opacity,
      dashArray: sym.dash || null, lineCap: sym.dash ? "butt" : "round"
    };
    if (kind === "line") {
      s.fill = false;
    } else if (sym.pattern === "stripe") {
      s.fill = true;
      s.fillColor = "url(#" + patternId(sym) + ")";
      s.fillOpacity = 1;
    } else if (kind === "point") {
      s.fill = true;
      s.fillColor = sym.fill || sym.stroke;
      s.fillOpacity = sym.fill ? sym.fill_opacity : 0.9;
      s.radius = sym.radius;
    } else {
      s.fill = !!sym.fill;
      s.fillColor = sym.fill || sym.stroke;
      s.fillOpacity = sym.fill ? sym.fill_opacity : 0;
    }
    return s;
  }

  // A feature's class is the text the server wrote beside its properties (qz_class), as the
  // style keys spell it: the property itself has been through JSON (a REAL 1.0 is the number
  // 1 here, and decimals are cut to 6).
  function symbolOf(lay, f) {
    var c = f ? f.qz_class : null;
    if (lay.class_field && typeof c === "string" && Object.prototype.hasOwnProperty.call(lay.styles, c)) {
      return lay.styles[c];
    }
    return lay.default;
  }

  function swatch(sym, kind, parent) {
    var s = svg("svg", { width: 22, height: 14, viewBox: "0 0 22 14", "class": "qz-swatch" }, parent);
    var st = pathStyle(sym, kind);
    var attrs;
    if (kind === "line") {
      attrs = { x1: 1, y1: 7, x2: 21, y2: 7, stroke: st.color, "stroke-width": Math.min(st.weight, 6), "stroke-opacity": st.opacity };
      if (st.dashArray) { attrs["stroke-dasharray"] = st.dashArray; }
      svg("line", attrs, s);
    } else if (kind === "point") {
      svg("circle", {
        cx: 11, cy: 7, r: Math.min(Number(st.radius) || 5, 6), fill: st.fillColor,
        "fill-opacity": st.fillOpacity, stroke: st.color, "stroke-width": Math.min(st.weight, 3)
      }, s);
    } else {
      attrs = {
        x: 1.5, y: 1.5, width: 19, height: 11, fill: st.fill ? st.fillColor : "none",
        "fill-opacity": st.fillOpacity, stroke: st.color, "stroke-width": Math.min(st.weight, 3),
        "stroke-opacity": st.opacity
      };
      if (st.dashArray) { attrs["stroke-dasharray"] = st.dashArray; }
      svg("rect", attrs, s);
    }
    return s;
  }

  // --- feature text ---------------------------------------------------------------------
  function fmt(v) {
    if (v === null || v === undefined || v === "") { return "—"; }
    if (typeof v === "number") {
      // a whole number is most often a code (adcode 450702, 宗地代码 450702001), never
      // written "450,702": group only numbers with a fraction (areas, lengths)
      if (Number.isInteger(v)) { return String(v); }
      return v.toLocaleString("zh-CN", { maximumFractionDigits: 2 });
    }
    return String(v);
  }

  function featureTable(lay, props) {
    var box = el("div", "qz-popup");
    el("div", "qz-popup-title", box, lay.title);
    var t = el("table", "qz-popup-table", box);
    var i;
    for (i = 0; i < lay.fields.length; i++) {
      var tr = el("tr", null, t);
      el("th", null, tr, lay.fields[i][1]);
      el("td", null, tr, fmt(props ? props[lay.fields[i][0]] : null));
    }
    return box;
  }

  function featureName(lay, props) {
    if (!props) { return null; }
    var f = lay.label_field || lay.name_field;
    if (f && props[f] !== null && props[f] !== undefined && props[f] !== "") { return String(props[f]); }
    return null;
  }

  // --- building -------------------------------------------------------------------------
  // A basemap that cannot load (no network, a host blocked or refused by the site's CSP)
  // leaves an empty background: say so under the 示意 line, so that nobody takes the empty
  // map for the plan.
  function tileNote(inst) {
    if (!inst.tileNote) { return; }
    var failed = inst.tileParts.some(function (t) {
      return t.errors > 0 && inst.map.hasLayer(t.layer);
    });
    inst.tileNote.style.display = failed ? "" : "none";
  }

  function makeBasemap(inst, b) {
    var parts = [];
    var i;
    for (i = 0; i < b.urls.length; i++) {
      var t = L.tileLayer(b.urls[i], {
        subdomains: b.subdomains || "abc", maxZoom: b.max_zoom || 18,
        attribution: i === 0 ? b.attribution : ""
      });
      var watch = { layer: t, errors: 0 };
      t.on("loading", function () { this.errors = 0; }, watch);
      t.on("tileerror", function () { this.errors += 1; tileNote(inst); }, watch);
      t.on("load", function () { tileNote(inst); });
      inst.tileParts.push(watch);
      parts.push(t);
    }
    return parts.length === 1 ? parts[0] : L.layerGroup(parts);
  }

  function kindOf(geom, fallback) {
    var t = geom && geom.type;
    if (t === "LineString" || t === "MultiLineString") { return "line"; }
    if (t === "Polygon" || t === "MultiPolygon") { return "polygon"; }
    return fallback;
  }

  // A popup is never wider or taller than the phone it is read on, so that it can pan into
  // view whole (the wrapper adds about 50 px to the content, the tip and margins 40 px), and
  // it pans clear of the map title, which is drawn above it.
  var TITLE_CLEARANCE_PX = 64;

  function popupSize(map) {
    var size = map.getSize();
    return {
      maxWidth: Math.max(120, Math.min(360, size.x - 70)),
      maxHeight: Math.max(120, size.y - TITLE_CLEARANCE_PX - 60),
      autoPanPaddingTopLeft: L.point(5, TITLE_CLEARANCE_PX)
    };
  }

  function buildGeoJson(inst, lay) {
    var map = inst.map;
    var entries = [];
    var hits = [];
    var gj = L.geoJSON(lay.data, {
      style: function (f) { return pathStyle(symbolOf(lay, f), kindOf(f.geometry, lay.kind)); },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, pathStyle(symbolOf(lay, f), "point"));
      },
      onEachFeature: function (f, layer) {
        var name = featureName(lay, f.properties);
        layer.bindPopup(function () { return featureTable(lay, f.properties); }, popupSize(map));
        if (name !== null && lay.labels) {
          var lab = el("span", null, null, name);
          // a point's label sits beside its marker, not over it
          var pt = f.geometry && /Point$/.test(f.geometry.type);
          layer.bindTooltip(lab, {
            permanent: true, direction: pt ? "right" : "center", offset: pt ? [6, 0] : [0, 0],
            className: "qz-label", interactive: false
          });
          inst.labelled.push(layer);
        } else if (name !== null) {
          layer.bindTooltip(el("span", null, null, name), { sticky: true, className: "qz-hover" });
        }
        if (name !== null) {
          // the group is filled in below: onEachFeature runs while L.geoJSON is being built
          hits.push({ name: name, layer: layer, group: null, title: lay.title });
        }
        if (kindOf(f.geometry, lay.kind) !== "point") {
          layer.on("mouseover", function () {
            layer.setStyle({ weight: (Number(symbolOf(lay, f).weight) || 1) + 2 });
          });
          layer.on("mouseout", function () { gj.resetStyle(layer); });
        }
        entries.push(layer);
      }
    });
    gj.qzCount = entries.length;
    hits.forEach(function (h) { h.group = gj; inst.index.push(h); });
    if (lay.show) { gj.addTo(map); }
    return gj;
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  function updateLabels(inst) {
    var map = inst.map;
    var kept = [];
    var i;
    for (i = 0; i < inst.labelled.length; i++) {
      var layer = inst.labelled[i];
      var tip = layer.getTooltip && layer.getTooltip();
      var node = tip && tip.getElement && tip.getElement();
      if (!node || !layer.getBounds) { continue; }
      var b = layer.getBounds();
      var a = map.latLngToContainerPoint(b.getSouthWest());
      var c = map.latLngToContainerPoint(b.getNorthEast());
      var w = Math.abs(c.x - a.x);
      var h = Math.abs(c.y - a.y);
      // show a name only where it fits inside its feature and clears the names already shown
      var show = w >= node.offsetWidth + 4 && h >= node.offsetHeight;
      if (show) {
        var r = node.getBoundingClientRect();
        var k;
        for (k = 0; k < kept.length && show; k++) { show = !overlaps(r, kept[k]); }
        if (show) { kept.push(r); }
      }
      node.style.visibility = show ? "" : "hidden";
    }
  }

  function build(map, cfg) {
    var inst = {
      map: map, cfg: cfg, overlays: {}, bases: {}, labelled: [], index: [], counts: {},
      tileParts: [], tileNote: null, panels: []
    };
    map.attributionControl.setPrefix("Leaflet");
    // Leaflet's own buttons are labelled in English ("Zoom in", "Close popup")
    if (map.zoomControl) {
      map.zoomControl.remove();
      map.zoomControl = L.control.zoom({ zoomInTitle: UI.zoomIn, zoomOutTitle: UI.zoomOut }).addTo(map);
      addHome(inst);
    }
    // fit first, so that tiles are requested for a view near the final one (finish() refits
    // it clear of the panels, once they exist)
    map.fitBounds(cfg.bounds, { padding: [10, 10], maxZoom: FIT_MAX_ZOOM });
    var i;
    for (i = 0; i < cfg.basemaps.length; i++) {
      var b = cfg.basemaps[i];
      inst.bases[b.id] = { title: b.title, layer: makeBasemap(inst, b) };
    }
    if (cfg.basemap && inst.bases[cfg.basemap]) { inst.bases[cfg.basemap].layer.addTo(map); }
    for (i = 0; i < cfg.layers.length; i++) {
      var lay = cfg.layers[i];
      if (lay.data) {
        var gj = buildGeoJson(inst, lay);
        inst.overlays[lay.id] = { cfg: lay, layer: gj };
        inst.counts[lay.id] = gj.qzCount;
      } else {
        inst.overlays[lay.id] = { cfg: lay, layer: null };
      }
    }
    map.on("zoomend", function () { updateLabels(inst); });
    // a popup opened after the phone turned round is fitted to its new size
    map.on("popupopen", function (e) {
      var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) { close.setAttribute("aria-label", UI.close); close.title = UI.close; }
      var fit = popupSize(map);
      var o = e.popup.options;
      if (o.maxWidth !== fit.maxWidth || o.maxHeight !== fit.maxHeight) {
        L.extend(o, fit);
        // next frame: restarting the pan Leaflet has just begun would leave it half done
        L.Util.requestAnimFrame(function () { e.popup.update(); });
      }
    });
    window.qzgeo.instances.push(inst);
    return inst;
  }

  // --- controls ---------------------------------------------------------------------------
  // 全图 under the zoom buttons: back to the whole map after a search or a pinch went astray
  function addHome(inst) {
    var a = el("a", "qz-home", inst.map.zoomControl.getContainer(), UI.home);
    a.href = "#";
    a.setAttribute("role", "button");
    a.title = UI.homeTitle;
    a.setAttribute("aria-label", UI.homeTitle);
    L.DomEvent.on(a, "click", function (e) {
      L.DomEvent.preventDefault(e);
      fitView(inst);
    });
  }

  // The whole map in the part of the view no panel covers: the layer list and the legend on
  // the right, the zoom and tool buttons on the left, the title above, the notice below (a
  // padding of 10 px alone put data under the legend). Where the panels would leave less than
  // half of the view (a phone; its panels fold), they are ignored.
  function fitView(inst) {
    var map = inst.map;
    var c = map.getContainer();
    var box = c.getBoundingClientRect();
    var pad = { left: 0, right: 0, top: 0, bottom: 0 };
    var grow = function (sel, side) {
      var nodes = c.querySelectorAll(sel), i;
      for (i = 0; i < nodes.length; i++) {
        var r = nodes[i].getBoundingClientRect();
        if (!r.width || !r.height) { continue; }
        var d = { left: r.right - box.left, right: box.right - r.left,
                  top: r.bottom - box.top, bottom: box.bottom - r.top }[side];
        pad[side] = Math.max(pad[side], d);
      }
    };
    grow(".leaflet-right .leaflet-control", "right");
    grow(".leaflet-top.leaflet-left .leaflet-control", "left");
    grow(".qz-title", "top");
    grow(".leaflet-bottom.leaflet-left .leaflet-control", "bottom");
    var size = map.getSize();
    var opts = { padding: [10, 10], animate: false, maxZoom: FIT_MAX_ZOOM };
    if (size.x - pad.left - pad.right >= size.x / 2 && size.y - pad.top - pad.bottom >= size.y / 2) {
      opts = { paddingTopLeft: [pad.left + 10, pad.top + 10],
               paddingBottomRight: [pad.right + 10, pad.bottom + 10], animate: false,
               maxZoom: FIT_MAX_ZOOM };
    }
    map.fitBounds(inst.cfg.bounds, opts);
  }

  function addTitle(inst) {
    var cfg = inst.cfg;
    var box = el("div", "qz-title", inst.map.getContainer());
    el("div", "qz-title-zh", box, cfg.title);
    if (cfg.title_en) { el("div", "qz-title-en", box, cfg.title_en); }
    stop(box);
  }

  function makeControl(position, onAdd) {
    var C = L.Control.extend({ options: { position: position }, onAdd: onAdd });
    return new C();
  }

  // Panels fold under their heading; on a phone-sized map they start folded so that the
  // map itself stays visible, and opening one folds the others (each covers most of it).
  function small(map) {
    var size = map.getSize();
    return size.x < NARROW_PX || size.y < SHORT_PX;
  }

  function showPanel(p, show) {
    p.body.style.display = show ? "" : "none";
    p.head.setAttribute("aria-expanded", show ? "true" : "false");
    if (p.onChange) { p.onChange(show); }
  }

  function foldable(inst, head, body, folded, onChange) {
    var p = { head: head, body: body, onChange: onChange };
    inst.panels.push(p);
    showPanel(p, !(folded || small(inst.map)));
    L.DomEvent.on(head, "click", function () {
      var open = body.style.display === "none";
      if (open && small(inst.map)) {
        inst.panels.forEach(function (q) { if (q !== p) { showPanel(q, false); } });
      }
      showPanel(p, open);
    });
  }

  function addLayerControl(inst) {
    var cfg = inst.cfg;
    var map = inst.map;
    makeControl("topright", function () {
      var box = el("div", "qz-panel qz-layers leaflet-bar");
      var head = el("button", "qz-panel-head", box, UI.layers);
      head.type = "button";
      var body = el("div", "qz-panel-body", box);
      foldable(inst, head, body, false);
      var g, j;
      for (g = 0; g < GROUP_ORDER.length; g++) {
        var gname = GROUP_ORDER[g];
        var ids = [];
        for (j = 0; j < cfg.order.length; j++) {
          var ov0 = inst.overlays[cfg.order[j]];
          if (ov0 && ov0.layer && ov0.cfg.group === gname) { ids.push(cfg.order[j]); }
        }
        var isBase = gname === "底图";
        if (!ids.length && !(isBase && cfg.basemaps.length)) { continue; }
        var sec = el("fieldset", "qz-group", body);
        el("legend", null, sec, gname);
        if (isBase && cfg.basemaps.length) {
          var opts = cfg.basemaps.map(function (b) { return [b.id, b.title]; });
          opts.push(["", UI.noBase]);
          opts.forEach(function (o) {
            var lab = el("label", "qz-row", sec);
            var r = el("input", null, lab);
            r.type = "radio";
            r.name = "qz-base";
            r.checked = (cfg.basemap || "") === o[0];
            el("span", null, lab, o[1]);
            L.DomEvent.on(r, "change", function () {
              var k;
              for (k in inst.bases) {
                if (Object.prototype.hasOwnProperty.call(inst.bases, k)) { map.removeLayer(inst.bases[k].layer); }
              }
              if (o[0] && inst.bases[o[0]]) { inst.bases[o[0]].layer.addTo(map); }
              tileNote(inst);
            });
          });
        }
        ids.forEach(function (id) {
          var ov = inst.overlays[id];
          var lab = el("label", "qz-row", sec);
          var c = el("input", null, lab);
          c.type = "checkbox";
          c.checked = map.hasLayer(ov.layer);
          swatch(ov.cfg.legend.length ? ov.cfg.legend[0].symbol : ov.cfg.default, ov.cfg.kind, lab);
          el("span", null, lab, ov.cfg.title);
          L.DomEvent.on(c, "change", function () {
            if (c.checked) { ov.layer.addTo(map); } else { map.removeLayer(ov.layer); }
            updateLabels(inst);
          });
        });
      }
      stop(box);
      return box;
    }).addTo(map);
  }

  function addLegend(inst) {
    var cfg = inst.cfg;
    // on a phone the legend sits under the layer list, where opening one folds the other,
    // and never over the 示意 notice in the corner below
    makeControl(small(inst.map) ? "topright" : "bottomright", function () {
      var box = el("div", "qz-panel qz-legend");
      var head = el("button", "qz-panel-head", box, UI.legend);
      head.type = "button";
      var body = el("div", "qz-panel-body", box);
      foldable(inst, head, body, false);
      cfg.order.forEach(function (id) {
        var lay = inst.overlays[id].cfg;
        var sec = el("div", "qz-legend-layer", body);
        el("div", "qz-legend-title", sec, lay.legend_title);
        lay.legend.forEach(function (e) {
          var row = el("div", "qz-legend-row", sec);
          swatch(e.symbol, lay.kind, row);
          el("span", null, row, e.label);
        });
      });
      stop(box);
      return box;
    }).addTo(inst.map);
  }

  function addNotice(inst) {
    var cfg = inst.cfg;
    makeControl("bottomleft", function () {
      var box = el("div", "qz-panel qz-notice");
      var head = el("div", "qz-notice-head", box);
      el("strong", "qz-badge", head, UI.notice);
      el("span", null, head, cfg.notice);
      // The sources list starts folded so that the map stays visible on a phone; the
      // 示意 line itself is always shown.
      var tog = el("button", "qz-notice-toggle", head, UI.show);
      tog.type = "button";
      inst.tileNote = el("div", "qz-tile-note", box, UI.tilesFailed);
      inst.tileNote.setAttribute("role", "status");
      tileNote(inst);
      var body = el("div", "qz-notice-body", box);
      cfg.warnings.forEach(function (w) { el("div", "qz-warn", body, w); });
      el("div", "qz-notice-sub", body, UI.sources);
      var ul = el("ul", null, body);
      cfg.provenance.forEach(function (p) { el("li", null, ul, p); });
      foldable(inst, tog, body, true, function (show) {
        tog.textContent = show ? UI.hide : UI.show;
      });
      stop(box);
      return box;
    }).addTo(inst.map);
  }

  // 全屏 and 测量 share one bar: on a phone held sideways every 10 px of the left column counts
  function toolBar(inst) {
    if (!inst.toolBar) {
      makeControl("topleft", function () {
        inst.toolBar = el("div", "leaflet-bar qz-tool");
        stop(inst.toolBar);
        return inst.toolBar;
      }).addTo(inst.map);
    }
    return inst.toolBar;
  }

  function addFullscreen(inst) {
    var map = inst.map;
    (function (bar) {
      var a = el("button", "qz-tool-btn", bar, "全屏");
      a.type = "button";
      a.title = UI.fullscreen;
      a.setAttribute("aria-label", UI.fullscreen);
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var c = map.getContainer();
        if (document.fullscreenElement) {
          document.exitFullscreen();
        } else if (c.requestFullscreen) {
          c.requestFullscreen();
        } else {
          c.classList.toggle("qz-pseudo-fullscreen");
          map.invalidateSize();
        }
      });
      document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
    }(toolBar(inst)));
  }

  // Equal-area area on the GRS80 (CGCS2000) ellipsoid: each edge is integrated as a straight
  // line in (longitude, sin authalic latitude), i.e. in Lambert's cylindrical equal-area map.
  var GRS80_A = 6378137.0;
  var GRS80_E2 = 0.0066943800229008;
  var GRS80_E = Math.sqrt(GRS80_E2);

  function qAuth(phi) {
    var s = Math.sin(phi);
    return (1 - GRS80_E2) * (s / (1 - GRS80_E2 * s * s) -
      Math.log((1 - GRS80_E * s) / (1 + GRS80_E * s)) / (2 * GRS80_E));
  }
  var Q_POLE = qAuth(Math.PI / 2);
  var R_AUTH = GRS80_A * Math.sqrt(Q_POLE / 2);

  function ellipsoidArea(latlngs) {
    var n = latlngs.length;
    if (n < 3) { return 0; }
    var sum = 0;
    var i;
    for (i = 0; i < n; i++) {
      var p = latlngs[i];
      var q = latlngs[(i + 1) % n];
      var sb1 = qAuth(p.lat * Math.PI / 180) / Q_POLE;
      var sb2 = qAuth(q.lat * Math.PI / 180) / Q_POLE;
      sum += (q.lng - p.lng) * Math.PI / 180 * (sb1 + sb2);
    }
    return Math.abs(sum) * R_AUTH * R_AUTH / 2;
  }

  function pathLength(latlngs, closed) {
    var d = 0;
    var i;
    for (i = 1; i < latlngs.length; i++) { d += latlngs[i - 1].distanceTo(latlngs[i]); }
    if (closed && latlngs.length > 2) { d += latlngs[latlngs.length - 1].distanceTo(latlngs[0]); }
    return d;
  }

  function num(v, digits) {
    return v.toLocaleString("zh-CN", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function addMeasure(inst) {
    var map = inst.map;
    var state = { on: false, pts: [], line: null, poly: null, marks: L.layerGroup() };
    var out;
    var panel;

    function redraw() {
      state.marks.clearLayers();
      state.pts.forEach(function (p) {
        L.circleMarker(p, { radius: 3, color: "#d7191c", weight: 1, fillOpacity: 1, interactive: false }).addTo(state.marks);
      });
      if (state.pts.length >= 2) {
        L.polyline(state.pts.concat(state.pts.length > 2 ? [state.pts[0]] : []), {
          color: "#d7191c", weight: 2, dashArray: "5 4", interactive: false
        }).addTo(state.marks);
      }
      if (state.pts.length >= 3) {
        L.polygon(state.pts, { stroke: false, fillColor: "#d7191c", fillOpacity: 0.15, interactive: false }).addTo(state.marks);
      }
      var a = ellipsoidArea(state.pts);
      var len = pathLength(state.pts, state.pts.length > 2);
      out.textContent = "";
      var rows = [
        ["顶点", String(state.pts.length)],
        [state.pts.length > 2 ? "周长" : "长度", len >= 1000 ? num(len / 1000, 3) + " km" : num(len, 1) + " m"],
        ["面积", num(a, 0) + " m²"],
        ["", num(a / 10000, 4) + " 公顷"],
        ["", num(a / 10000 * 15, 2) + " 亩"]
      ];
      var t = el("table", null, out);
      rows.forEach(function (r) {
        var tr = el("tr", null, t);
        el("th", null, tr, r[0]);
        el("td", null, tr, r[1]);
      });
    }

    function onClick(e) {
      var last = state.pts[state.pts.length - 1];
      // a double click first fires two clicks on the same spot: keep one vertex
      if (last && map.latLngToContainerPoint(last).distanceTo(e.containerPoint) < 3) { return; }
      state.pts.push(e.latlng);
      redraw();
    }
    function stopMeasure() {
      state.on = false;
      map.off("click", onClick);
      map.off("dblclick", stopMeasure);
      map.doubleClickZoom.enable();
      L.DomUtil.removeClass(map.getContainer(), "qz-measuring");
    }
    function start() {
      state.on = true;
      state.pts = [];
      state.marks.addTo(map);
      map.on("click", onClick);
      map.on("dblclick", stopMeasure);
      map.doubleClickZoom.disable();
      L.DomUtil.addClass(map.getContainer(), "qz-measuring");
      panel.style.display = "";
      redraw();
    }

    (function (bar) {
      var a = el("button", "qz-tool-btn", bar, "测量");
      a.type = "button";
      a.title = UI.measure;
      a.setAttribute("aria-label", UI.measure);
      panel = el("div", "qz-panel qz-measure", bar);
      panel.style.display = "none";
      el("div", "qz-measure-hint", panel, UI.measureHint);
      out = el("div", "qz-measure-out", panel);
      var btns = el("div", "qz-measure-btns", panel);
      var done = el("button", null, btns, UI.measureDone);
      done.type = "button";
      var clr = el("button", null, btns, UI.measureClear);
      clr.type = "button";
      el("div", "qz-measure-note", panel, UI.measureNote);
      L.DomEvent.on(a, "click", function () { if (state.on) { stopMeasure(); } else { start(); } });
      L.DomEvent.on(done, "click", stopMeasure);
      L.DomEvent.on(clr, "click", function () {
        stopMeasure();
        state.pts = [];
        state.marks.clearLayers();
        panel.style.display = "none";
      });
    }(toolBar(inst)));
    inst.measureArea = ellipsoidArea;
  }

  function addSearch(inst) {
    var map = inst.map;
    if (!inst.index.length) { return; }
    makeControl("topright", function () {
      var box = el("div", "qz-panel qz-search");
      var input = el("input", null, box);
      input.type = "search";
      input.placeholder = UI.search;
      input.setAttribute("aria-label", UI.search);
      var list = el("div", "qz-search-list", box);

      function go(hit) {
        if (!map.hasLayer(hit.group)) { hit.group.addTo(map); }
        // open the popup once the view has settled; opened mid-animation it gets lost
        map.once("moveend", function () { hit.layer.openPopup(); });
        if (hit.layer.getBounds) {
          map.fitBounds(hit.layer.getBounds(), { maxZoom: 16, padding: [20, 20] });
        } else if (hit.layer.getLatLng) {
          map.setView(hit.layer.getLatLng(), Math.max(map.getZoom(), 15));
        }
        list.textContent = "";
      }

      function find() {
        var q = input.value.trim().toLowerCase();
        list.textContent = "";
        if (!q) { return []; }
        var hits = inst.index.filter(function (h) { return h.name.toLowerCase().indexOf(q) >= 0; }).slice(0, 12);
        if (!hits.length) { el("div", "qz-search-none", list, UI.noResult); }
        hits.forEach(function (h) {
          var b = el("button", "qz-search-hit", list);
          b.type = "button";
          el("span", null, b, h.name);
          el("small", null, b, h.title);
          L.DomEvent.on(b, "click", function () { go(h); });
        });
        return hits;
      }

      L.DomEvent.on(input, "input", find);
      L.DomEvent.on(input, "keydown", function (e) {
        if (e.key === "Enter") {
          var hits = find();
          if (hits.length) { go(hits[0]); }
        }
      });
      stop(box);
      return box;
    }).addTo(map);
  }

  function finish(inst, externals) {
    var k;
    for (k in externals) {
      if (Object.prototype.hasOwnProperty.call(externals, k) && inst.overlays[k] && externals[k]) {
        inst.overlays[k].layer = externals[k];
      }
    }
    addTitle(inst);
    addFullscreen(inst);
    addMeasure(inst);
    addSearch(inst);
    addLayerControl(inst);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(inst.map);
    addNotice(inst);
    addLegend(inst);
    fitView(inst);
    updateLabels(inst);
    inst.ready = true;
  }

  window.qzgeo = { build: build, finish: finish, instances: [], ellipsoidArea: ellipsoidArea };
}(window, document, L));

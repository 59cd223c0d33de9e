/* qzgeo BigPolygonLayer: draws 100k-1M polygons from a compact binary payload on one canvas.
 *
 * Payload (built by qzgeo/publish/biglayer.py): coordinates quantised to `precision` degrees
 * relative to `origin`, zigzag-varint delta-encoded per ring (closing vertex dropped), ring,
 * part and vertex counts as varints, one class index per feature into a small style table,
 * and tooltip fields as columnar indices into a string dictionary. Everything is plain
 * Leaflet + canvas 2D so the page works offline. Data strings only ever reach the DOM through
 * textContent.
 *
 * Readiness protocol (used by qzgeo.publish.browser for screenshots): every layer that still
 * has to draw is a key of window.__qzgeo_pending; window.__qzgeo_ready is true when it is empty.
 */
(function () {
  "use strict";
  window.__qzgeo_ready = false;
  var pending = window.__qzgeo_pending = window.__qzgeo_pending || {};
  function updateReady() {
    window.__qzgeo_ready = Object.keys(pending).length === 0;
  }
  // Pages whose big layers are all hidden must still become ready.
  window.addEventListener("load", updateReady);
  if (typeof L === "undefined" || L.QzgeoBigLayer) { return; }

  function bytesOf(b64) {
    var bin = atob(b64), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  // Unsigned LEB128 varints; with signed=true, zigzag-decoded.
  function varints(b64, count, signed) {
    var bytes = bytesOf(b64);
    var out = signed ? new Int32Array(count) : new Uint32Array(count);
    var i = 0;
    for (var k = 0; k < count; k++) {
      var v = 0, mul = 1, b;
      do { b = bytes[i++]; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
      out[k] = signed ? ((v % 2) ? -(v + 1) / 2 : v / 2) : v;
    }
    return out;
  }

  function offsets(counts) {
    var out = new Uint32Array(counts.length + 1);
    for (var i = 0; i < counts.length; i++) { out[i + 1] = out[i] + counts[i]; }
    return out;
  }

  var RAD = Math.PI / 180;

  L.QzgeoBigLayer = L.Layer.extend({
    options: { pane: "overlayPane", padding: 0.1 },

    initialize: function (data, key, options) {
      L.setOptions(this, options);
      this._data = data;
      this._key = key;
    },

    getBounds: function () {
      return this._data.bounds ? L.latLngBounds(this._data.bounds) : null;
    },

    // Decode once: offsets, class order, and coordinates projected with the map's CRS.
    _decode: function (crs) {
      var d = this._data, n = d.n;
      if (!this._featRing) {
        var partOff = offsets(varints(d.parts, n[0], false));
        var ringOff = offsets(varints(d.rings, n[1], false));
        this._vertOff = offsets(varints(d.verts, n[2], false));
        var featRing = new Uint32Array(n[0] + 1);
        for (var f = 0; f <= n[0]; f++) { featRing[f] = ringOff[partOff[f]]; }
        this._featRing = featRing;
        var cls = d.clsBytes === 2 ? new Uint16Array(bytesOf(d.cls).buffer) : bytesOf(d.cls);
        var nc = d.styles.length, start = new Uint32Array(nc + 1);
        for (f = 0; f < n[0]; f++) { start[cls[f] + 1]++; }
        for (var c = 0; c < nc; c++) { start[c + 1] += start[c]; }
        var fill = start.slice(0, nc), order = new Uint32Array(n[0]), rank = new Uint32Array(n[0]);
        for (f = 0; f < n[0]; f++) { rank[f] = fill[cls[f]]++; order[rank[f]] = f; }
        this._clsStart = start; this._order = order; this._rank = rank;
      }
      if (this._crs === crs) { return; }
      var q = varints(d.coords, 2 * n[3], true), vo = this._vertOff, nr = n[2];
      var X = new Float64Array(n[3]), Y = new Float64Array(n[3]);
      var ox = d.origin[0], oy = d.origin[1], p = d.precision;
      var merc = crs.projection === L.Projection.SphericalMercator, R = 6378137;
      var maxLat = L.Projection.SphericalMercator.MAX_LATITUDE;
      for (var r = 0; r < nr; r++) {
        var qx = 0, qy = 0;
        for (var v = vo[r]; v < vo[r + 1]; v++) {
          qx += q[2 * v]; qy += q[2 * v + 1];
          var lon = ox + qx * p, lat = oy + qy * p;
          if (merc) {
            lat = Math.max(Math.min(maxLat, lat), -maxLat);
            X[v] = R * lon * RAD;
            Y[v] = R * Math.log(Math.tan(Math.PI / 4 + lat * RAD / 2));
          } else {
            var pt = crs.projection.project(L.latLng(lat, lon));
            X[v] = pt.x; Y[v] = pt.y;
          }
        }
      }
      var fr = this._featRing, nf = n[0], bb = new Float64Array(4 * nf);
      for (var f2 = 0; f2 < nf; f2++) {
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (var w = vo[fr[f2]]; w < vo[fr[f2 + 1]]; w++) {
          if (X[w] < x0) { x0 = X[w]; } if (X[w] > x1) { x1 = X[w]; }
          if (Y[w] < y0) { y0 = Y[w]; } if (Y[w] > y1) { y1 = Y[w]; }
        }
        bb[4 * f2] = x0; bb[4 * f2 + 1] = y0; bb[4 * f2 + 2] = x1; bb[4 * f2 + 3] = y1;
      }
      this._X = X; this._Y = Y; this._bbox = bb; this._crs = crs; this._grid = null;
    },

    onAdd: function (map) {
      this._decode(map.options.crs);
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide qzgeo-biglayer");
      this._canvas.style.pointerEvents = "none";
      this.getPane().appendChild(this._canvas);
      this._tip = L.DomUtil.create("div", "leaflet-tooltip qzgeo-biglayer-tooltip",
                                   map.getContainer());
      this._tip.style.display = "none";
      this._tip.style.zIndex = 900;
      pending[this._key] = true;
      updateReady();
      map.on("movestart zoomstart", this._onMoveStart, this);
      map.on("moveend resize", this._redraw, this);
      map.on("mousemove click", this._onPointer, this);
      map.on("mouseout", this._hideTip, this);
      map.whenReady(this._redraw, this);
    },

    onRemove: function (map) {
      map.off("movestart zoomstart", this._onMoveStart, this);
      map.off("moveend resize", this._redraw, this);
      map.off("mousemove click", this._onPointer, this);
      map.off("mouseout", this._hideTip, this);
      L.DomUtil.remove(this._canvas);
      L.DomUtil.remove(this._tip);
      map.getContainer().style.cursor = "";
      this._canvas = this._tip = null;
      delete pending[this._key];
      updateReady();
    },

    _onMoveStart: function () {
      pending[this._key] = true;
      updateReady();
      this._hideTip();
    },

    _redraw: function () {
      var map = this._map;
      if (!map || !this._canvas) { return; }
      var size = map.getSize(), pad = this.options.padding;
      var padX = Math.round(size.x * pad), padY = Math.round(size.y * pad);
      var W = size.x + 2 * padX, H = size.y + 2 * padY;
      var topLeft = map.containerPointToLayerPoint([-padX, -padY]).round();
      var canvas = this._canvas, dpr = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(canvas, topLeft);
      canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
      canvas.style.width = W + "px"; canvas.style.height = H + "px";
      var ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);

      // projected -> canvas pixel is affine: px = ax * X + bx, py = ay * Y + by
      var crs = map.options.crs, s = crs.scale(map.getZoom()), po = map.getPixelOrigin();
      var t0 = crs.transformation.transform(L.point(0, 0), s);
      var t1 = crs.transformation.transform(L.point(1, 1), s);
      var ax = t1.x - t0.x, ay = t1.y - t0.y;
      var bx = t0.x - po.x - topLeft.x, by = t0.y - po.y - topLeft.y;

      var styles = this._data.styles, X = this._X, Y = this._Y, bb = this._bbox;
      var fr = this._featRing, vo = this._vertOff, order = this._order, cs = this._clsStart;
      var batches = [];
      for (var c = 0; c < styles.length; c++) {
        var st = styles[c], margin = (st.weight || 0) + 1;
        var paths = [], path = new Path2D(), dots = new Path2D(), inBatch = 0, nDots = 0;
        for (var k = cs[c]; k < cs[c + 1]; k++) {
          var f = order[k];
          var xa = ax * bb[4 * f] + bx, xb = ax * bb[4 * f + 2] + bx;
          var ya = ay * bb[4 * f + 1] + by, yb = ay * bb[4 * f + 3] + by;
          var x0 = Math.min(xa, xb), x1 = Math.max(xa, xb);
          var y0 = Math.min(ya, yb), y1 = Math.max(ya, yb);
          if (x1 < -margin || x0 > W + margin || y1 < -margin || y0 > H + margin) { continue; }
          if (x1 - x0 < 0.5 && y1 - y0 < 0.5) {
            dots.rect(Math.floor(x0), Math.floor(y0), 1, 1);
            nDots++;
            continue;
          }
          for (var r = fr[f]; r < fr[f + 1]; r++) {
            var v0 = vo[r], v1 = vo[r + 1];
            if (v1 - v0 < 2) { continue; }
            var sx = ax * X[v0] + bx, sy = ay * Y[v0] + by, px = sx, py = sy;
            path.moveTo(sx, sy);
            for (var v = v0 + 1; v < v1; v++) {
              var qx = ax * X[v] + bx, qy = ay * Y[v] + by;
              // screen-space decimation: sub-pixel steps add nothing visible
              if (qx - px < 0.5 && px - qx < 0.5 && qy - py < 0.5 && py - qy < 0.5) { continue; }
              path.lineTo(qx, qy);
              px = qx; py = qy;
            }
            // Not closePath(): Chrome's Path2D makes it cost O(subpaths) each time.
            path.lineTo(sx, sy);
          }
          if (++inBatch >= 5000) { paths.push(path); path = new Path2D(); inBatch = 0; }
        }
        if (inBatch) { paths.push(path); }
        batches.push({ style: st, paths: paths, dots: nDots ? dots : null });
      }
      // All fills first, then all strokes, so that no neighbour paints over an outline.
      var i, j, b;
      for (i = 0; i < batches.length; i++) {
        b = batches[i]; st = b.style;
        if (st.fill === false) { continue; }
        ctx.globalAlpha = st.fillOpacity === undefined ? 0.2 : st.fillOpacity;
        ctx.fillStyle = st.fillColor || st.color || "#3388ff";
        for (j = 0; j < b.paths.length; j++) { ctx.fill(b.paths[j], "nonzero"); }
      }
      for (i = 0; i < batches.length; i++) {
        b = batches[i]; st = b.style;
        if (b.dots) {
          var filled = st.fill !== false;
          ctx.globalAlpha = filled ? Math.max(st.fillOpacity === undefined ? 0.2 : st.fillOpacity, 0.5)
                                   : (st.opacity === undefined ? 1 : st.opacity);
          ctx.fillStyle = filled ? (st.fillColor || st.color || "#3388ff") : (st.color || "#3388ff");
          ctx.fill(b.dots);
        }
        if (st.stroke === false || st.weight === 0) { continue; }
        ctx.globalAlpha = st.opacity === undefined ? 1 : st.opacity;
        ctx.strokeStyle = st.color || "#3388ff";
        ctx.lineWidth = st.weight === undefined ? 1 : st.weight;
        ctx.lineJoin = st.lineJoin || "round";
        ctx.lineCap = st.lineCap || "round";  // round caps hide the explicit ring closure
        ctx.setLineDash(st.dashArray ? String(st.dashArray).split(/[ ,]+/).map(Number) : []);
        for (j = 0; j < b.paths.length; j++) { ctx.stroke(b.paths[j]); }
      }
      ctx.globalAlpha = 1;
      delete pending[this._key];
      updateReady();
    },

    // Uniform grid over feature bboxes (projected), built on first use.
    _buildGrid: function () {
      var n = this._data.n[0], bb = this._bbox;
      var gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity, f;
      for (f = 0; f < n; f++) {
        if (!(bb[4 * f] <= bb[4 * f + 2])) { continue; }
        gx0 = Math.min(gx0, bb[4 * f]); gy0 = Math.min(gy0, bb[4 * f + 1]);
        gx1 = Math.max(gx1, bb[4 * f + 2]); gy1 = Math.max(gy1, bb[4 * f + 3]);
      }
      var side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n))));
      var g = { x0: gx0, y0: gy0, side: side,
                cw: (gx1 - gx0) / side || 1, ch: (gy1 - gy0) / side || 1 };
      var counts = new Uint32Array(side * side + 1), pass, cx, cy;
      var cells = null, fillAt = null;
      for (pass = 0; pass < 2; pass++) {
        for (f = 0; f < n; f++) {
          if (!(bb[4 * f] <= bb[4 * f + 2])) { continue; }
          var ix0 = this._cell(g, bb[4 * f], 0), ix1 = this._cell(g, bb[4 * f + 2], 0);
          var iy0 = this._cell(g, bb[4 * f + 1], 1), iy1 = this._cell(g, bb[4 * f + 3], 1);
          for (cy = iy0; cy <= iy1; cy++) {
            for (cx = ix0; cx <= ix1; cx++) {
              if (pass === 0) { counts[cy * side + cx + 1]++; }
              else { cells[fillAt[cy * side + cx]++] = f; }
            }
          }
        }
        if (pass === 0) {
          for (var i = 0; i < side * side; i++) { counts[i + 1] += counts[i]; }
          cells = new Uint32Array(counts[side * side]);
          fillAt = counts.slice(0, side * side);
        }
      }
      g.start = counts; g.cells = cells;
      this._grid = g;
    },

    _cell: function (g, v, axis) {
      var i = Math.floor(axis ? (v - g.y0) / g.ch : (v - g.x0) / g.cw);
      return Math.max(0, Math.min(g.side - 1, i));
    },

    // Index of the topmost feature containing the projected point, or -1.
    hitTest: function (latlng) {
      if (!this._X) { return -1; }
      if (!this._grid) { this._buildGrid(); }
      var g = this._grid, pt = this._crs.project(latlng), x = pt.x, y = pt.y;
      if (!g.start || x < g.x0 || y < g.y0 || x > g.x0 + g.cw * g.side || y > g.y0 + g.ch * g.side) {
        return -1;
      }
      var cell = this._cell(g, y, 1) * g.side + this._cell(g, x, 0);
      var bb = this._bbox, X = this._X, Y = this._Y, fr = this._featRing, vo = this._vertOff;
      var best = -1;
      for (var k = g.start[cell]; k < g.start[cell + 1]; k++) {
        var f = g.cells[k];
        if (x < bb[4 * f] || x > bb[4 * f + 2] || y < bb[4 * f + 1] || y > bb[4 * f + 3]) { continue; }
        if (best >= 0 && this._rank[f] < this._rank[best]) { continue; }
        var inside = false;
        for (var r = fr[f]; r < fr[f + 1]; r++) {
          for (var v = vo[r], w = vo[r + 1] - 1; v < vo[r + 1]; w = v++) {
            if ((Y[v] > y) !== (Y[w] > y) &&
                x < (X[w] - X[v]) * (y - Y[v]) / (Y[w] - Y[v]) + X[v]) { inside = !inside; }
          }
        }
        if (inside) { best = f; }
      }
      return best;
    },

    _onPointer: function (e) {
      var f = this.hitTest(e.latlng), map = this._map;
      map.getContainer().style.cursor = f >= 0 ? "pointer" : "";
      var tt = this._data.tooltip;
      if (f < 0 || !tt) { this._hideTip(); return; }
      var tip = this._tip, table = document.createElement("table"), rows = 0;
      for (var i = 0; i < tt.fields.length; i++) {
        var code = tt.columns[i][f];
        if (code === null || code < 0) { continue; }
        var tr = document.createElement("tr"), th = document.createElement("th");
        var td = document.createElement("td");
        th.textContent = tt.aliases[i];
        th.style.textAlign = "left"; th.style.paddingRight = "6px";
        td.textContent = tt.dict[code];
        tr.appendChild(th); tr.appendChild(td); table.appendChild(tr); rows++;
      }
      if (!rows) { this._hideTip(); return; }
      tip.textContent = "";
      tip.appendChild(table);
      tip.setAttribute("data-feature", String(f));
      tip.style.display = "block";
      var size = map.getSize(), p = e.containerPoint;
      var left = p.x + 14, top = p.y + 14;
      if (left + tip.offsetWidth > size.x) { left = Math.max(0, p.x - 14 - tip.offsetWidth); }
      if (top + tip.offsetHeight > size.y) { top = Math.max(0, p.y - 14 - tip.offsetHeight); }
      tip.style.left = left + "px"; tip.style.top = top + "px";
    },

    _hideTip: function () {
      if (this._tip) { this._tip.style.display = "none"; }
    }
  });
})();

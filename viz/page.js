"use strict";
(function () {
  const D = ATTN_DATA;
  const SVGNS = "http://www.w3.org/2000/svg";
  const ROW = 18, TOP = 28, MAX_LINES = 20000;
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const $ = (id) => document.getElementById(id);

  function headColor(h) {
    if (h < TAB10.length) return TAB10[h];
    return "hsl(" + ((h * 137.508) % 360).toFixed(1) + ",65%,42%)";
  }

  // paletteRGB maps t in [0,1] to the heatmap colour (the same stops and
  // interpolation as the Go renderer).
  function paletteRGB(t) {
    const P = D.palette;
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    const x = t * (P.length - 1);
    const i = Math.min(Math.floor(x), P.length - 2);
    const f = x - i;
    const a = P[i], b = P[i + 1];
    return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c])));
  }

  function fmtW(q) { return (q / D.scale).toFixed(4); }

  // edgesOf calls fn(col, q) for the stored weights of query row i.
  function edgesOf(head, i, fn) {
    const C = D.keys.length;
    if (head.full) {
      for (let j = 0; j < C; j++) {
        const q = head.full[i * C + j];
        if (q > 0) fn(j, q);
      }
    } else if (head.edges && head.edges[i]) {
      const e = head.edges[i];
      for (let n = 0; n + 1 < e.length; n += 2) fn(e[n], e[n + 1]);
    }
  }

  function weightAt(head, i, j) {
    const C = D.keys.length;
    if (head.full) return head.full[i * C + j];
    const e = (head.edges && head.edges[i]) || [];
    for (let n = 0; n + 1 < e.length; n += 2) if (e[n] === j) return e[n + 1];
    return null;
  }

  // ---- head view ----
  const state = { layer: 0, heads: new Set(), minw: 0.01, focus: null };
  const layerSel = $("layer"), headsBox = $("heads"), svg = $("hv");

  function currentLayer() { return D.layers[state.layer]; }

  function buildLayerControls() {
    D.layers.forEach((l, idx) => {
      const o = document.createElement("option");
      o.value = String(idx);
      o.textContent = l.name;
      layerSel.appendChild(o);
    });
    layerSel.addEventListener("change", () => {
      state.layer = Number(layerSel.value) || 0;
      buildHeadControls();
      drawLines();
    });
  }

  function buildHeadControls() {
    const l = currentLayer();
    const keep = new Set(state.heads);
    headsBox.textContent = "";
    state.heads = new Set();
    l.heads.forEach((h) => {
      const lab = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.value = String(h.head);
      cb.dataset.head = String(h.head);
      cb.checked = keep.size === 0 || keep.has(h.head);
      if (cb.checked) state.heads.add(h.head);
      cb.addEventListener("change", () => {
        if (cb.checked) state.heads.add(h.head); else state.heads.delete(h.head);
        drawLines();
      });
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = headColor(h.head);
      lab.appendChild(cb);
      lab.appendChild(sw);
      lab.appendChild(document.createTextNode("head " + h.head));
      headsBox.appendChild(lab);
    });
  }

  function setAllHeads(on) {
    headsBox.querySelectorAll("input[type=checkbox]").forEach((cb) => {
      cb.checked = on;
      const h = Number(cb.value);
      if (on) state.heads.add(h); else state.heads.delete(h);
    });
    drawLines();
  }

  function svgEl(name, attrs) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  let linesG = null, yOf = null, lineX = [0, 0];

  // drawHeadView lays out the two token columns, then the lines.
  function drawHeadView() {
    const T = D.queries.length, S = D.keys.length;
    const longest = Math.max(4, ...D.queries.map((s) => s.length), ...D.keys.map((s) => s.length));
    const textW = Math.min(longest, 18) * 8 + 40;
    const LX = textW, RX = textW + 300, W = RX + textW;
    const H = TOP + Math.max(T, S) * ROW + 8;
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.textContent = "";
    yOf = (i) => TOP + i * ROW + ROW / 2;
    lineX = [LX + 6, RX - 6];
    svg.appendChild(svgEl("text", { x: LX, y: 14, "text-anchor": "end", class: "title" })).textContent = "queries";
    svg.appendChild(svgEl("text", { x: RX, y: 14, class: "title" })).textContent = "keys";
    linesG = svgEl("g", { id: "lines" });
    svg.appendChild(linesG);
    const token = (side, i, s) => {
      const attrs = side === "q" ?
        { x: LX, y: yOf(i) + 4, "text-anchor": "end", class: "tok q", "data-i": i } :
        { x: RX, y: yOf(i) + 4, class: "tok k", "data-j": i };
      const t = svgEl("text", attrs);
      t.textContent = s;
      t.addEventListener("mouseenter", () => setFocus({ side: side, i: i }));
      t.addEventListener("mouseleave", () => setFocus(null));
      svg.appendChild(t);
    };
    D.queries.forEach((s, i) => token("q", i, s));
    D.keys.forEach((s, j) => token("k", j, s));
    setFocus(state.focus);
  }

  function setFocus(f) {
    state.focus = f;
    svg.querySelectorAll("text.focus").forEach((t) => t.classList.remove("focus"));
    if (f) {
      const t = svg.querySelector(f.side === "q" ? 'text.q[data-i="' + f.i + '"]' : 'text.k[data-j="' + f.i + '"]');
      if (t) t.classList.add("focus");
    }
    drawLines();
  }

  // drawLines draws one line per stored weight of the checked heads (of
  // the focused token only, while one is hovered).
  function drawLines() {
    const T = D.queries.length;
    const f = state.focus;
    const minq = state.minw * D.scale;
    const cand = [];
    currentLayer().heads.forEach((h) => {
      if (!state.heads.has(h.head)) return;
      const rows = f && f.side === "q" ? [f.i] : [...Array(T).keys()];
      rows.forEach((i) => {
        edgesOf(h, i, (j, q) => {
          if (q < minq) return;
          if (f && f.side === "k" && f.i !== j) return;
          cand.push([h.head, i, j, q]);
        });
      });
    });
    let shown = cand;
    const note = $("hvnote");
    if (cand.length > MAX_LINES) {
      shown = cand.slice().sort((a, b) => b[3] - a[3]).slice(0, MAX_LINES);
      note.textContent = "Showing the strongest " + MAX_LINES + " of " + cand.length + " lines; hover a token or raise the minimum weight to see the rest.";
    } else {
      note.textContent = D.layers.some((l) => l.heads.some((h) => !h.full)) ?
        "Long input: each query keeps only its " + D.topK + " largest weights." : "";
    }
    const frag = document.createDocumentFragment();
    shown.forEach(([h, i, j, q]) => {
      frag.appendChild(svgEl("line", {
        x1: lineX[0], y1: yOf(i), x2: lineX[1], y2: yOf(j),
        stroke: headColor(h), "stroke-opacity": (q / D.scale).toFixed(4),
        "data-h": h, "data-q": i, "data-k": j,
      }));
    });
    linesG.textContent = "";
    linesG.appendChild(frag);
  }

  // ---- model view ----
  function drawThumb(canvas, th) {
    canvas.width = th.cols;
    canvas.height = th.rows;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(th.cols, th.rows);
    for (let n = 0; n < th.v.length; n++) {
      const c = paletteRGB(th.v[n] / 255);
      img.data[4 * n] = c[0];
      img.data[4 * n + 1] = c[1];
      img.data[4 * n + 2] = c[2];
      img.data[4 * n + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  let zoomed = null;

  function buildGrid() {
    const grid = $("grid");
    const maxH = Math.max(...D.layers.map((l) => Math.max(...l.heads.map((h) => h.head)))) + 1;
    const table = document.createElement("table");
    const hr = document.createElement("tr");
    hr.appendChild(document.createElement("th"));
    for (let h = 0; h < maxH; h++) {
      const th = document.createElement("th");
      th.textContent = "head " + h;
      hr.appendChild(th);
    }
    table.appendChild(hr);
    D.layers.forEach((l, li) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = l.name;
      tr.appendChild(th);
      const byHead = new Map(l.heads.map((h) => [h.head, h]));
      for (let h = 0; h < maxH; h++) {
        const td = document.createElement("td");
        const head = byHead.get(h);
        if (head) {
          const c = document.createElement("canvas");
          c.dataset.layer = String(l.layer);
          c.dataset.head = String(h);
          c.title = l.name + ", head " + h;
          drawThumb(c, head.thumb);
          c.addEventListener("mouseenter", () => {
            $("mvinfo").textContent = l.name + ", head " + h + ": largest weight " + fmtW(head.max) + " (click to enlarge)";
          });
          c.addEventListener("click", () => openZoom(li, head, c));
          td.appendChild(c);
        }
        tr.appendChild(td);
      }
      table.appendChild(tr);
    });
    grid.appendChild(table);
  }

  function openZoom(li, head, thumbCanvas) {
    document.querySelectorAll("#grid canvas.selected").forEach((c) => c.classList.remove("selected"));
    thumbCanvas.classList.add("selected");
    zoomed = head;
    const l = D.layers[li];
    $("zoomtitle").textContent = l.name + ", head " + head.head;
    $("zoom").hidden = false;
    const R = D.queries.length, C = D.keys.length;
    const cv = $("zoomcanvas");
    const side = 480;
    const cell = Math.max(side / Math.max(R, C), 0.5);
    cv.width = Math.max(1, Math.round(cell * C));
    cv.height = Math.max(1, Math.round(cell * R));
    const ctx = cv.getContext("2d");
    const top = head.max > 0 ? head.max : 1;
    const bg = paletteRGB(0);
    ctx.fillStyle = "rgb(" + bg.join(",") + ")";
    ctx.fillRect(0, 0, cv.width, cv.height);
    const cw = cv.width / C, ch = cv.height / R;
    for (let i = 0; i < R; i++) {
      edgesOf(head, i, (j, q) => {
        ctx.fillStyle = "rgb(" + paletteRGB(q / top).join(",") + ")";
        ctx.fillRect(j * cw, i * ch, Math.ceil(cw), Math.ceil(ch));
      });
    }
    $("zoominfo").textContent = head.full ? "All weights; colour scaled to the largest, " + fmtW(head.max) + "." :
      "Each query's " + D.topK + " largest weights; the rest drawn as 0.";
    $("zoom").scrollIntoView({ block: "nearest" });
  }

  function zoomHover(ev) {
    if (!zoomed) return;
    const cv = $("zoomcanvas");
    const r = cv.getBoundingClientRect();
    const C = D.keys.length, R = D.queries.length;
    const j = Math.floor((ev.clientX - r.left) / r.width * C);
    const i = Math.floor((ev.clientY - r.top) / r.height * R);
    if (i < 0 || j < 0 || i >= R || j >= C) return;
    const q = weightAt(zoomed, i, j);
    $("zoominfo").textContent = "query " + (i + D.rowOffset) + " " + JSON.stringify(D.queries[i]) +
      " \u2192 key " + (j + D.colOffset) + " " + JSON.stringify(D.keys[j]) + ": " +
      (q === null ? "below the top " + D.topK : fmtW(q));
  }

  function init() {
    const nHeads = D.layers.reduce((n, l) => n + l.heads.length, 0);
    $("summary").textContent = D.queries.length + " queries \u00d7 " + D.keys.length + " keys" +
      (D.rowOffset || D.colOffset ? " (window from query " + D.rowOffset + ", key " + D.colOffset + ")" : "") +
      "; " + D.layers.length + " layer(s), " + nHeads + " head(s).";
    buildLayerControls();
    state.layer = D.layers.length - 1;
    layerSel.value = String(state.layer);
    buildHeadControls();
    $("allheads").addEventListener("click", () => setAllHeads(true));
    $("noheads").addEventListener("click", () => setAllHeads(false));
    $("minw").addEventListener("input", () => {
      const v = Number($("minw").value);
      state.minw = v >= 0 ? v : 0;
      drawLines();
    });
    drawHeadView();
    buildGrid();
    $("zoomclose").addEventListener("click", () => {
      $("zoom").hidden = true;
      zoomed = null;
      document.querySelectorAll("#grid canvas.selected").forEach((c) => c.classList.remove("selected"));
    });
    $("zoomcanvas").addEventListener("mousemove", zoomHover);
  }

  init();
})();

(function () {
  "use strict";
  function key(td, numeric) {
    var v = td.getAttribute("data-sort");
    if (numeric) { return v === "" ? null : parseFloat(v); }
    return v === "" ? null : v;
  }
  function sortTable(table, index, dir) {
    var th = table.tHead.rows[0].cells[index];
    var numeric = th.getAttribute("data-type") === "num";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var c = numeric ? x - y : String(x).localeCompare(String(y));
      return dir === "descending" ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
  }
  function filterTable(table, query) {
    var q = query.trim().toLowerCase(), shown = 0, rows = table.tBodies[0].rows;
    var exact = q.length > 1 && q.charAt(0) === '"' && q.charAt(q.length - 1) === '"' ? q.slice(1, -1) : null;
    for (var i = 0; i < rows.length; i++) {
      var hit = q === "" || (exact !== null
        ? Array.prototype.some.call(rows[i].cells, function (td) { return td.textContent.trim().toLowerCase() === exact; })
        : rows[i].textContent.toLowerCase().indexOf(q) !== -1);
      rows[i].hidden = !hit;
      if (hit) { shown++; }
    }
    var count = document.getElementById(table.id + "-count");
    if (count) { count.textContent = shown + " of " + rows.length + " rows"; }
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.addEventListener("click", function () {
        sortTable(table, index, th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    input.addEventListener("input", function () { filterTable(table, input.value); });
  });
  // ?table=configs&sort=time&dir=descending&filter=euler : the same view on load (links, tests).
  var params = new URLSearchParams(window.location.search);
  var target = document.getElementById(params.get("table") || "configs");
  if (target && params.get("filter") !== null) {
    var box = document.querySelector("input[data-filter='" + target.id + "']");
    if (box) { box.value = params.get("filter"); }
    filterTable(target, params.get("filter"));
  }
  if (target && params.get("sort")) {
    Array.prototype.forEach.call(target.tHead.rows[0].cells, function (th, index) {
      if (th.getAttribute("data-key") === params.get("sort")) {
        sortTable(target, index, params.get("dir") === "descending" ? "descending" : "ascending");
      }
    });
  }
  // ---- grid explorer: every string goes in through textContent, never as HTML ----
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function explorer() {
    var source = document.getElementById("explorer-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent), axes = data.axes, grid = document.getElementById("ex-grid");
    var lookup = new Map();
    data.cells.forEach(function (c) { lookup.set(c.v.join(","), c); });
    function find(key) { for (var i = 0; i < axes.length; i++) { if (axes[i].key === key) { return i; } } return -1; }
    var query = new URLSearchParams(window.location.search);
    function pick(name, preferred, fallback) {
      var asked = query.get(name);
      if (asked !== null) { return asked === "none" ? -1 : find(asked); }
      var i = find(preferred);
      return i >= 0 ? i : fallback;
    }
    var state = {rows: pick("rows", "sampler", 0), cols: -1, z: -1, size: 112,
                 fixed: axes.map(function () { return 0; })};
    state.cols = pick("cols", "steps", axes.length > 1 ? (state.rows === 0 ? 1 : 0) : -1);
    if (state.cols === state.rows) { state.cols = -1; }
    state.z = pick("z", "", -1);
    axes.forEach(function (a, i) {
      var v = query.get("fix." + a.key);
      var k = v === null ? -1 : a.values.indexOf(v);
      if (k >= 0) { state.fixed[i] = k; }
    });
    var note = document.getElementById("ex-fixed-note");
    if (data.fixed.length) {
      note.textContent = "Same in every cell: " + data.fixed.map(function (f) { return f[0] + " " + f[1]; }).join(" · ") + ".";
    }
    function fillAxisSelect(select, current) {
      select.replaceChildren();
      var none = el("option", "", "(none)");
      none.value = "-1";
      select.appendChild(none);
      axes.forEach(function (a, i) {
        var o = el("option", "", a.label + " (" + a.values.length + ")");
        o.value = String(i);
        select.appendChild(o);
      });
      select.value = String(current);
    }
    var selects = {rows: document.getElementById("ex-rows"), cols: document.getElementById("ex-cols"),
                   z: document.getElementById("ex-z")};
    Object.keys(selects).forEach(function (name) {
      fillAxisSelect(selects[name], state[name]);
      selects[name].addEventListener("change", function () {
        var v = parseInt(selects[name].value, 10);
        Object.keys(selects).forEach(function (other) {  // one axis in one place
          if (other !== name && state[other] === v && v >= 0) { state[other] = -1; selects[other].value = "-1"; }
        });
        state[name] = v;
        render();
      });
    });
    var size = document.getElementById("ex-size");
    size.addEventListener("input", function () { state.size = parseInt(size.value, 10); render(); });
    var fixedBox = document.getElementById("ex-fixed"), fixedSelects = [];
    axes.forEach(function (a, i) {
      var label = el("label", "", a.label + " "), select = el("select");
      select.setAttribute("data-axis", a.key);
      a.values.forEach(function (v, k) { var o = el("option", "", v); o.value = String(k); select.appendChild(o); });
      select.value = String(state.fixed[i]);
      select.addEventListener("change", function () { state.fixed[i] = parseInt(select.value, 10); render(); });
      label.appendChild(select);
      fixedBox.appendChild(label);
      fixedSelects.push(label);
    });
    function indices(axis) { return axis < 0 ? [null] : axes[axis].values.map(function (_, k) { return k; }); }
    function cellAt(r, c, z) {
      var v = state.fixed.slice();
      if (state.rows >= 0) { v[state.rows] = r; }
      if (state.cols >= 0) { v[state.cols] = c; }
      if (state.z >= 0) { v[state.z] = z; }
      return lookup.get(v.join(","));
    }
    function tile(cell, title) {
      var b = el("button", "tile");
      b.type = "button";
      var w = state.size, h = cell && cell.px ? Math.round(w * cell.px[1] / cell.px[0]) : w;
      if (!cell) {
        var m = el("div", "missing", "not in the run");
        m.style.width = w + "px"; m.style.height = h + "px";
        b.appendChild(m);
        b.disabled = true;
        return b;
      }
      if (cell.src) {
        var img = el("img");
        img.src = cell.src; img.width = w; img.height = h; img.alt = title;
        b.appendChild(img);
      } else {
        b.className = "tile failed";
        var f = el("div", "missing", cell.s === "ok" ? "no image" : "FAILED");
        f.style.width = w + "px"; f.style.height = h + "px";
        b.appendChild(f);
      }
      var full = cell.err ? cell.err.slice(0, 80) : cell.c + (cell.q ? " · " + cell.q : "");
      // small tiles: the median time alone, so captions do not tower over their images (the title has it all)
      var caption = cell.err ? (w < 96 ? "failed" : full) : w < 96 ? cell.c.split(" (")[0] : w < 144 ? cell.c.split(" (")[0] + (cell.q ? " · " + cell.q : "") : full;
      b.appendChild(el("span", "", caption));
      b.style.width = (w + 2) + "px";
      b.title = title + ": " + full;
      b.addEventListener("click", function () { openCell(cell, title); });
      return b;
    }
    function render() {
      fixedSelects.forEach(function (label, i) {
        label.hidden = i === state.rows || i === state.cols || i === state.z;
      });
      var blocks = [];
      indices(state.z).forEach(function (z) {
        var block = el("div", "ex-block");
        if (z !== null) { block.appendChild(el("h4", "", axes[state.z].label + ": " + axes[state.z].values[z])); }
        var table = el("table", "ex"), head = el("thead"), hr = el("tr");
        hr.appendChild(el("th", "corner", (state.rows >= 0 ? axes[state.rows].label : "") + " \u2193 / " +
                                           (state.cols >= 0 ? axes[state.cols].label : "") + " \u2192"));
        indices(state.cols).forEach(function (c) {
          var th = el("th", "", c === null ? "" : axes[state.cols].values[c]);
          th.scope = "col";
          th.style.maxWidth = (state.size + 4) + "px";
          hr.appendChild(th);
        });
        head.appendChild(hr);
        table.appendChild(head);
        var body = el("tbody");
        indices(state.rows).forEach(function (r) {
          var tr = el("tr"), th = el("th", "", r === null ? "" : axes[state.rows].values[r]);
          th.scope = "row";
          tr.appendChild(th);
          indices(state.cols).forEach(function (c) {
            var td = el("td"), parts = [];
            if (r !== null) { parts.push(axes[state.rows].values[r]); }
            if (c !== null) { parts.push(axes[state.cols].values[c]); }
            td.appendChild(tile(cellAt(r, c, z), parts.join(" | ")));
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
        table.appendChild(body);
        block.appendChild(table);
        blocks.push(block);
      });
      grid.replaceChildren.apply(grid, blocks);
    }
    var dialog = document.getElementById("ex-dialog");
    function openCell(cell, title) {
      document.getElementById("ex-d-title").textContent = title;
      var img = document.getElementById("ex-d-img");
      if (cell.src) {
        img.hidden = false;
        img.src = cell.src;
        var k = Math.max(1, Math.floor(512 / Math.max(cell.px[0], cell.px[1])));
        img.width = Math.min(cell.px[0] * k, 800);
        img.height = Math.round(img.width * cell.px[1] / cell.px[0]);
      } else { img.hidden = true; img.removeAttribute("src"); }
      document.getElementById("ex-d-time").textContent = (cell.t === null ? "no timing" : "this image: " +
        cell.t.toPrecision(3) + " s") + (cell.c ? "; its configuration: " + cell.c : "") + (cell.err ? "; failed: " + cell.err : "");
      var list = document.getElementById("ex-d-metrics");
      list.replaceChildren.apply(list, cell.m.map(function (m) { return el("li", "", m[0] + ": " + m[1]); }));
      var link = document.getElementById("ex-d-link");
      link.replaceChildren();
      if (cell.href) {
        var a = el("a", "", "full-resolution image (" + cell.href + ", in the run folder)");
        a.href = cell.href;
        link.appendChild(a);
      }
      document.getElementById("ex-d-info").textContent = cell.info || "(no infotext)";
      if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    }
    render();
  }
  explorer();
}());

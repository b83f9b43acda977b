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
    // groups (a prompt's suite category) come after the axes: chosen like an axis, a group's grid cell shows
    // every image of its prompts (the axis it labels is then free); as a filter, the prompts of one value
    var nAxes = axes.length, dims = axes.concat((data.groups || []).map(function (g) {
      return {key: g.key, label: g.label, values: g.values, group: true, of: g.of};
    }));
    var lookup = new Map();
    data.cells.forEach(function (c) { lookup.set(c.v.join(","), c); });
    function find(key) { for (var i = 0; i < dims.length; i++) { if (dims[i].key === key) { return i; } } return -1; }
    dims.forEach(function (d) { if (d.group) { d.of = d.of === null ? -1 : find(d.of); } });
    var query = new URLSearchParams(window.location.search);
    function pick(name, preferred, fallback) {
      var asked = query.get(name);
      if (asked !== null) { return asked === "none" ? -1 : find(asked); }
      var i = find(preferred);
      return i >= 0 ? i : fallback;
    }
    var state = {rows: pick("rows", "sampler", 0), cols: -1, z: -1, size: 112,
                 fixed: dims.map(function (d) { return d.group ? -1 : 0; })};
    state.cols = pick("cols", "steps", axes.length > 1 ? (state.rows === 0 ? 1 : 0) : -1);
    if (state.cols === state.rows) { state.cols = -1; }
    state.z = pick("z", "", -1);
    dims.forEach(function (a, i) {
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
      dims.forEach(function (a, i) {
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
    dims.forEach(function (a, i) {
      var label = el("label", "", a.label + " "), select = el("select");
      select.setAttribute("data-axis", a.key);
      if (a.group) { var all = el("option", "", "(all)"); all.value = "-1"; select.appendChild(all); }
      a.values.forEach(function (v, k) { var o = el("option", "", v); o.value = String(k); select.appendChild(o); });
      select.value = String(state.fixed[i]);
      select.addEventListener("change", function () { state.fixed[i] = parseInt(select.value, 10); render(); });
      label.appendChild(select);
      fixedBox.appendChild(label);
      fixedSelects.push(label);
    });
    function placed(i) { return i === state.rows || i === state.cols || i === state.z; }
    function freed() {  // the axis a group on the grid (or filtered) labels, unless that axis is on the grid too
      for (var i = nAxes; i < dims.length; i++) {
        if (dims[i].of >= 0 && !placed(dims[i].of) && (placed(i) || state.fixed[i] >= 0)) { return dims[i].of; }
      }
      return -1;
    }
    function groupLabel() {
      for (var i = nAxes; i < dims.length; i++) { if (placed(i) || state.fixed[i] >= 0) { return dims[i].label; } }
      return "group";
    }
    var members = {};  // group -> its values' sets of the labelled axis's values (a category's prompts)
    function memberSets(i) {
      if (!members[i]) {
        members[i] = dims[i].values.map(function () { return new Set(); });
        data.cells.forEach(function (c) { members[i][c.g[i - nAxes]].add(c.v[dims[i].of]); });
      }
      return members[i];
    }
    function indices(axis) {
      if (axis < 0) { return [null]; }
      var ks = dims[axis].values.map(function (_, k) { return k; });
      for (var i = nAxes; i < dims.length; i++) {  // a filtered group keeps its own values of the axis it labels
        if (dims[i].of === axis && !placed(i) && state.fixed[i] >= 0) {
          var keep = memberSets(i)[state.fixed[i]];
          ks = ks.filter(function (k) { return keep.has(k); });
        }
      }
      return ks;
    }
    var partial = {};  // free axis -> Map(key with that axis as "*" -> its cells in that axis's order)
    function byFree(free) {
      if (!partial[free]) {
        var m = new Map();
        data.cells.slice().sort(function (a, b) { return a.v[free] - b.v[free]; }).forEach(function (c) {
          var v = c.v.slice();
          v[free] = "*";
          var k = v.join(",");
          if (!m.has(k)) { m.set(k, []); }
          m.get(k).push(c);
        });
        partial[free] = m;
      }
      return partial[free];
    }
    function cellsAt(r, c, z, free) {
      var want = state.fixed.slice();
      if (state.rows >= 0) { want[state.rows] = r; }
      if (state.cols >= 0) { want[state.cols] = c; }
      if (state.z >= 0) { want[state.z] = z; }
      var v = want.slice(0, nAxes);
      if (free >= 0) { v[free] = "*"; }
      var found = free >= 0 ? byFree(free).get(v.join(",")) || [] : [lookup.get(v.join(","))];
      if (dims.length === nAxes) { return found; }
      var kept = found.filter(function (cell) {
        return cell !== undefined && want.slice(nAxes).every(function (k, j) { return k < 0 || cell.g[j] === k; });
      });
      kept.outside = !kept.length && found[0] !== undefined;  // in the run, not in this category
      return kept;
    }
    function tile(cell, title, absent) {
      var b = el("button", "tile");
      b.type = "button";
      var w = state.size, h = cell && cell.px ? Math.round(w * cell.px[1] / cell.px[0]) : w;
      if (!cell) {
        var m = el("div", "missing", absent || "not in the run");
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
      var free = freed();
      fixedSelects.forEach(function (label, i) { label.hidden = placed(i) || i === free; });
      var blocks = [];
      indices(state.z).forEach(function (z) {
        var block = el("div", "ex-block");
        if (z !== null) { block.appendChild(el("h4", "", dims[state.z].label + ": " + dims[state.z].values[z])); }
        var table = el("table", "ex"), head = el("thead"), hr = el("tr");
        hr.appendChild(el("th", "corner", (state.rows >= 0 ? dims[state.rows].label : "") + " \u2193 / " +
                                           (state.cols >= 0 ? dims[state.cols].label : "") + " \u2192"));
        indices(state.cols).forEach(function (c) {
          var th = el("th", "", c === null ? "" : dims[state.cols].values[c]);
          th.scope = "col";
          th.style.maxWidth = (state.size + 4) + "px";
          hr.appendChild(th);
        });
        head.appendChild(hr);
        table.appendChild(head);
        var body = el("tbody");
        indices(state.rows).forEach(function (r) {
          var tr = el("tr"), th = el("th", "", r === null ? "" : dims[state.rows].values[r]);
          th.scope = "row";
          tr.appendChild(th);
          indices(state.cols).forEach(function (c) {
            var td = el("td"), parts = [];
            if (r !== null) { parts.push(dims[state.rows].values[r]); }
            if (c !== null) { parts.push(dims[state.cols].values[c]); }
            var found = cellsAt(r, c, z, free), title = parts.join(" | ");
            if (free < 0 || !found.length) {  // a prompt outside the row's category is not missing from the run
              td.appendChild(tile(found[0], title, found.outside ? "not in this " + groupLabel() : ""));
            } else {  // every image of the group's prompts, each titled with its prompt
              var many = el("div", "ex-many");
              many.style.maxWidth = 4 * (state.size + 6) + "px";
              found.forEach(function (cell) { many.appendChild(tile(cell, title + " | " + axes[free].values[cell.v[free]])); });
              td.appendChild(many);
            }
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

// radgrpo report: the per-sample browser (radgrpo.eval.report.browser builds its JSON). No external assets.
// Filters (task, source, finding, text), sort by any score of any run, rows rendered a chunk at a time as they
// scroll into view, thumbnails with reference and predicted boxes drawn as positioned boxes (normalised xyxy),
// word-level differences of each report against the reference.
(function () {
  "use strict";
  var el = document.getElementById("browser-data");
  if (!el) return;
  var D = JSON.parse(el.textContent);
  var CHUNK = 25;
  var list = document.getElementById("browser-list");
  var countEl = document.getElementById("browser-count");
  var sentinel = document.getElementById("browser-more");
  var q = function (id) { return document.getElementById(id); };
  var state = { order: [], shown: 0 };
  var observer = null;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function visibleText(s) {
    // whitespace-only answers are shown, not left blank: newlines as ⏎, tabs as ⇥, spaces as ␣
    if (s === "") return '<span class="empty">(empty answer)</span>';
    if (s.trim() === "") {
      var shown = s.replace(/\r?\n/g, "⏎").replace(/\t/g, "⇥").replace(/ /g, "␣");
      return '<span class="empty">' + esc(shown) + " (whitespace only)</span>";
    }
    return null;
  }
  function fill(sel, values, label) {
    var node = q(sel);
    var html = '<option value="">all ' + esc(label) + "</option>";
    values.forEach(function (v) { html += '<option value="' + esc(v) + '">' + esc(v) + "</option>"; });
    node.innerHTML = html;
  }

  // ---- word-level diff (LCS on lower-cased words, punctuation ignored) ----
  function words(s) { return s.split(/\s+/).filter(function (w) { return w.length > 0; }); }
  function norm(w) { return w.toLowerCase().replace(/^[^\w]+|[^\w]+$/g, ""); }
  function diffHtml(ref, hyp) {
    var a = words(ref), b = words(hyp), n = a.length, m = b.length;
    if (n === 0 || m === 0 || n * m > 4000000) return esc(hyp);
    var na = a.map(norm), nb = b.map(norm), w = m + 1;
    var L = new Uint16Array((n + 1) * (m + 1));
    for (var i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        L[i * w + j] = na[i] === nb[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    var out = [], x = 0, y = 0;
    while (x < n && y < m) {
      if (na[x] === nb[y]) { out.push(esc(b[y])); x++; y++; }
      else if (L[(x + 1) * w + y] >= L[x * w + y + 1]) { out.push('<del title="in the reference, not here">' + esc(a[x]) + "</del>"); x++; }
      else { out.push('<ins title="not in the reference">' + esc(b[y]) + "</ins>"); y++; }
    }
    for (; x < n; x++) out.push('<del title="in the reference, not here">' + esc(a[x]) + "</del>");
    for (; y < m; y++) out.push('<ins title="not in the reference">' + esc(b[y]) + "</ins>");
    return out.join(" ");
  }

  function boxesHtml(boxes, colour, cls) {
    var html = "";
    (boxes || []).forEach(function (b) {
      var x1 = Math.min(Math.max(Math.min(b[0], b[2]), 0), 1), x2 = Math.min(Math.max(Math.max(b[0], b[2]), 0), 1);
      var y1 = Math.min(Math.max(Math.min(b[1], b[3]), 0), 1), y2 = Math.min(Math.max(Math.max(b[1], b[3]), 0), 1);
      html += '<div class="box ' + cls + '" style="left:' + (100 * x1) + "%;top:" + (100 * y1) + "%;width:" +
        (100 * (x2 - x1)) + "%;height:" + (100 * (y2 - y1)) + "%;border-color:" + colour + '"></div>';
    });
    return html;
  }
  var COUNTS = { answer_chars: 1, n_pred_boxes: 1, parseable: 1, thought_words: 1, thought_tokens: 1 };
  function scoreText(s) {
    // n_tokens is in the line below; counts without decimals, scores with three
    var keys = Object.keys(s || {}).filter(function (k) { return k !== "n_tokens"; });
    return keys.map(function (k) {
      var v = s[k];
      return esc(k) + " " + (k in COUNTS ? String(Math.round(v)) : v.toFixed(3));
    }).join(" · ");
  }
  function fmtBoxes(bs) {
    return "[" + bs.map(function (b) { return "[" + b.map(function (v) { return v.toFixed(2); }).join(", ") + "]"; }).join(", ") + "]";
  }

  function rowHtml(k) {
    var s = D.samples[k], grounding = s.rb.length > 0 || s.r.some(function (r) { return r && r.b; });
    var report = s.task === "report_generation";
    var html = '<div class="sample" data-id="' + esc(s.id) + '" data-task="' + esc(s.task) + '">';
    html += '<div class="shead"><b>' + esc(s.id) + "</b> · " + esc(s.task) + " · " + esc(s.source) +
      (s.target ? " · " + esc(s.target) : "") + '</div><div class="sq">' + esc(s.q) + "</div><div class=\"sbody\">";
    if (s.img >= 0) {
      html += '<div class="thumb"><img alt="' + esc(s.id) + '" src="' + D.images[s.img] + '">';
      if (grounding) {
        s.r.forEach(function (r, i) { if (r && r.b) html += boxesHtml(r.b, D.runs[i].colour, "pred"); });
        html += boxesHtml(s.rb, D.reference_colour, "ref");
      }
      html += "</div>";
    }
    html += '<div class="cols"><div class="col ref"><div class="ch"><span class="swatch" style="background:' +
      D.reference_colour + '"></span>reference</div><div class="txt">' +
      esc(grounding && s.rb.length ? fmtBoxes(s.rb) : s.rt) + "</div></div>";
    s.r.forEach(function (r, i) {
      var run = D.runs[i];
      html += '<div class="col run" data-run="' + esc(run.name) + '"><div class="ch"><span class="swatch" style="background:' +
        run.colour + '"></span>' + esc(run.name) + "</div>";
      if (!r) { html += '<div class="txt na">(not evaluated on this sample)</div></div>'; return; }
      var vis = visibleText(r.a);
      html += '<div class="txt">' + (vis !== null ? vis : report ? diffHtml(s.rt || "", r.a) : esc(r.a)) + "</div>";
      html += '<div class="sc">' + scoreText(r.s) + "</div><div class=\"meta\">" + r.nt + " tokens" +
        (r.fin ? "" : " · hit the token limit") + (run.thinking && "tc" in r ? " · think closed: " + (r.tc ? "yes" : "no") : "") +
        (r.rg ? " · regenerated " + r.rg + "×" : "") + "</div>";
      if (r.th) html += "<details><summary>thought (" + r.th.length + " chars)</summary><div class=\"thought\">" + esc(r.th) + "</div></details>";
      html += "</div>";
    });
    return html + "</div></div></div>";
  }

  function renderMore() {
    if (state.shown >= state.order.length) return;
    var end = Math.min(state.shown + CHUNK, state.order.length), html = "";
    for (var i = state.shown; i < end; i++) html += rowHtml(state.order[i]);
    list.insertAdjacentHTML("beforeend", html);
    state.shown = end;
    list.setAttribute("data-rendered", String(state.shown));
    sentinel.style.display = state.shown < state.order.length ? "" : "none";
    if (observer && state.shown < state.order.length) { observer.unobserve(sentinel); observer.observe(sentinel); }
  }

  function apply() {
    var task = q("f-task").value, source = q("f-source").value, finding = q("f-finding").value;
    var text = q("f-text").value.trim().toLowerCase();
    var sortKey = q("sort-key").value, desc = q("sort-dir").value === "desc";
    var order = [];
    for (var k = 0; k < D.samples.length; k++) {
      var s = D.samples[k];
      if (task && s.task !== task) continue;
      if (source && s.source !== source) continue;
      if (finding && s.target !== finding) continue;
      if (text && (s.id + " " + s.q + " " + s.rt).toLowerCase().indexOf(text) < 0) continue;
      order.push(k);
    }
    if (sortKey) {
      var sep = sortKey.indexOf("\u001f"), ri = +sortKey.slice(0, sep), key = sortKey.slice(sep + 1);
      var val = function (k) { var r = D.samples[k].r[ri]; return r && r.s && key in r.s ? r.s[key] : null; };
      order.sort(function (x, y) {
        var a = val(x), b = val(y);
        if (a === null && b === null) return x - y;
        if (a === null) return 1;
        if (b === null) return -1;
        return a === b ? x - y : desc ? b - a : a - b;
      });
    }
    state.order = order;
    state.shown = 0;
    list.innerHTML = "";
    countEl.textContent = order.length + " of " + D.samples.length + " samples";
    countEl.setAttribute("data-count", String(order.length));
    countEl.setAttribute("data-total", String(D.samples.length));
    renderMore();
  }

  fill("f-task", D.tasks, "tasks");
  fill("f-source", D.sources, "sources");
  fill("f-finding", D.findings, "findings");
  var opts = '<option value="">file order</option>';
  D.runs.forEach(function (run, i) {
    D.scores.forEach(function (key) {
      opts += '<option value="' + i + "\u001f" + esc(key) + '">' + esc(run.name) + " · " + esc(key) + "</option>";
    });
  });
  q("sort-key").innerHTML = opts;
  ["f-task", "f-source", "f-finding", "sort-key", "sort-dir"].forEach(function (id) { q(id).addEventListener("change", apply); });
  var timer = null;
  q("f-text").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  q("browser-more-button").addEventListener("click", renderMore);
  if ("IntersectionObserver" in window) {
    // re-observed after each chunk, so a sentinel still in view asks for the next chunk
    observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) renderMore();
    }, { rootMargin: "400px" });
    observer.observe(sentinel);
  }
  apply();
  window.__radgrpoReadyAt = performance.now();  // read by benchmarks/bench_report.py
  document.body.setAttribute("data-browser-ready", "1");
})();

// agentdeck dashboard: live updates over Server-Sent Events. Hand-written, no build step.
//
// The server renders every page; this script only keeps it current:
// - the run page follows /api/runs/{id}/stream, appends each event to the timeline at
//   once, and swaps in the other parts of the page (?fragment=parts) when they change;
// - regions with data-refresh="url" are re-fetched when an event arrives on /api/stream
//   (data-refresh-on="events") and/or every data-refresh-every milliseconds; rows with
//   data-key are updated one by one, so nothing jumps and focus stays where it is;
// - <time data-ago> shows relative times, <time data-clock> local clock times.
// Streams are read with fetch(), not EventSource: events carry their kind as the SSE
// event name, which EventSource would only deliver to listeners of known names.
(function () {
  "use strict";

  var MAX_TIMELINE = 2000;

  // --- times ----------------------------------------------------------------------

  function agoText(iso) {
    var seconds = (Date.now() - Date.parse(iso)) / 1000;
    var ahead = seconds < 0;
    seconds = Math.abs(seconds);
    if (!isFinite(seconds) || seconds < 5) return "just now";
    var units = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) {
        var amount = Math.floor(seconds / units[i][0]) + " " + units[i][1];
        return ahead ? "in " + amount : amount + " ago";
      }
    }
    return "just now";
  }

  function clockText(iso) {
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  // Clock times come from the server in UTC; they are rewritten only where the browser's
  // time zone differs (a long timeline has a thousand of them).
  var localClock = new Date().getTimezoneOffset() !== 0;

  function refreshTimes(root) {
    var i, nodes = root.querySelectorAll("time[data-ago]");
    for (i = 0; i < nodes.length; i++) nodes[i].textContent = agoText(nodes[i].dateTime);
    if (!localClock) return;
    nodes = root.querySelectorAll("time[data-clock]:not([data-local])");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].textContent = clockText(nodes[i].dateTime);
      nodes[i].setAttribute("data-local", "");
    }
  }

  // --- the connection indicator -------------------------------------------------------

  var indicator = document.getElementById("live-status");

  function showLive(on) {
    if (!indicator) return;
    indicator.className = "live " + (on ? "on" : "off");
    indicator.textContent = on ? "Live" : "Reconnecting…";
  }

  // --- Server-Sent Events over fetch -----------------------------------------------------

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function parseBlock(block) {
    var event = { id: null, name: "message", data: [] };
    block.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === ":") return;
      var at = line.indexOf(":");
      var field = at < 0 ? line : line.slice(0, at);
      var value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
      if (field === "id") event.id = value;
      else if (field === "event") event.name = value;
      else if (field === "data") event.data.push(value);
    });
    return event.data.length ? event : null;
  }

  // Follow `url`; on a drop, reconnect with Last-Event-ID so nothing is missed or repeated.
  function follow(url, onEvent, onOpen) {
    var last = null;
    var delay = 500;
    (async function loop() {
      for (;;) {
        try {
          var headers = { Accept: "text/event-stream" };
          if (last !== null) headers["Last-Event-ID"] = last;
          var response = await fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" });
          if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
          showLive(true);
          delay = 500;
          if (onOpen) onOpen();  // catch up on what changed while it was not connected
          var reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          var buffer = "";
          for (;;) {
            var chunk = await reader.read();
            if (chunk.done) break;
            buffer = (buffer + chunk.value).replace(/\r\n?/g, "\n");
            var end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              var event = parseBlock(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
              if (!event) continue;
              if (event.id !== null) last = event.id;
              try { onEvent(JSON.parse(event.data.join("\n"))); } catch (e) { /* a bad event must not stop the stream */ }
            }
          }
        } catch (e) { /* dropped: reconnect below */ }
        showLive(false);
        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    })();
  }

  // --- swapping server-rendered HTML in place ----------------------------------------------

  // What the person opened or closed stays so when a part is swapped; the rest follows
  // the server (e.g. the newest pair of attempts opens, the previous one closes).
  var toggled = {};
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("summary");
    var details = summary && summary.parentElement;
    if (details && details.tagName === "DETAILS" && details.id) toggled[details.id] = !details.open;
  });

  function swapInner(target, html) {
    if (target.__src === html) return;
    target.innerHTML = html;
    target.__src = html;
    target.querySelectorAll("details[id]").forEach(function (d) {
      if (Object.prototype.hasOwnProperty.call(toggled, d.id)) d.open = toggled[d.id];
    });
    refreshTimes(target);
  }

  // Rows with data-key: keep, replace, insert or remove each one, in the new order.
  function morphRows(container, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var old = new Map();
    Array.prototype.forEach.call(container.children, function (row) { old.set(row.getAttribute("data-key"), row); });
    var previous = null;
    Array.prototype.slice.call(template.content.children).forEach(function (row) {
      var key = row.getAttribute("data-key");
      var source = row.outerHTML;
      var current = old.get(key);
      var placed = current;
      if (current) {
        old.delete(key);
        if (current.__src !== source) {
          row.__src = source;
          current.replaceWith(row);
          placed = row;
        }
      } else {
        row.__src = source;
        if (key !== "empty") row.classList.add("fresh");
        placed = row;
      }
      var at = previous ? previous.nextSibling : container.firstChild;
      if (placed !== at) container.insertBefore(placed, at);
      previous = placed;
    });
    old.forEach(function (row) { row.remove(); });
    refreshTimes(container);
  }

  // A region re-fetched from its data-refresh URL; one request at a time, extra asks coalesce.
  function Region(element, wait) {
    this.element = element;
    this.url = element.getAttribute("data-refresh");
    this.wait = wait;
    this.timer = null;
    this.busy = false;
    this.again = false;
    if (element.hasAttribute("data-keyed")) {
      Array.prototype.forEach.call(element.children, function (row) { row.__src = row.outerHTML; });
    }
  }

  Region.prototype.schedule = function () {
    var self = this;
    if (this.timer) return;
    this.timer = setTimeout(function () { self.timer = null; self.load(); }, this.wait);
  };

  Region.prototype.load = async function () {
    if (this.busy) { this.again = true; return; }
    this.busy = true;
    try {
      var response = await fetch(this.url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) this.apply(await response.text());
    } catch (e) { /* the next event or tick tries again */ }
    this.busy = false;
    if (this.again) { this.again = false; this.schedule(); }
  };

  Region.prototype.apply = function (html) {
    if (this.element.hasAttribute("data-keyed")) morphRows(this.element, html);
    else swapInner(this.element, html);
  };

  // The run page's parts: every [data-part] of the fragment replaces the page's own.
  function PartsRegion(url, wait) {
    Region.call(this, document.body, wait);
    this.url = url;
  }
  PartsRegion.prototype = Object.create(Region.prototype);
  PartsRegion.prototype.apply = function (html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    template.content.querySelectorAll("[data-part]").forEach(function (part) {
      var name = part.getAttribute("data-part");
      var target = document.querySelector('main [data-part="' + name + '"]');
      if (!target) return;
      var key = part.getAttribute("data-key");
      if (key !== null && key === target.getAttribute("data-key")) return;  // e.g. a gate form being typed in
      if (key !== null) target.setAttribute("data-key", key);
      swapInner(target, part.innerHTML);
    });
  };

  // --- the run timeline -----------------------------------------------------------------------

  function toneOf(kind, data) {
    if (kind === "error" || kind === "step.failed" || /\.failed$/.test(kind)) return "bad";
    if (kind === "verdict") return data && data.verdict === "passed" ? "good" : "bad";
    if (kind === "run.succeeded") return "good";
    if (["run.cancelled", "run.cancel_requested", "run.lease_expired", "step.retry"].indexOf(kind) >= 0) return "warn";
    if (kind.indexOf("gate.") === 0) return "gate";
    if (kind === "score") return "score";
    if (kind === "stage.changed") return "stage";
    return "muted";
  }

  function dataText(data) {
    if (data === null || data === undefined) return "";
    if (typeof data === "object" && Object.keys(data).length === 0) return "";
    var text = JSON.stringify(data);
    return text.length <= 4000 ? text : text.slice(0, 4000) + " …";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;  // text only: model output never becomes HTML
    return node;
  }

  function eventItem(event) {
    var item = element("li", "ev fresh t-" + toneOf(event.kind, event.data));
    item.setAttribute("data-id", String(event.id));
    var time = element("time", "", clockText(event.created_at));
    time.dateTime = event.created_at;
    time.setAttribute("data-clock", "");
    time.setAttribute("data-local", "");
    time.title = event.created_at;
    item.appendChild(time);
    var kind = element("span", "ev-kind", event.kind);
    kind.title = event.kind;
    item.appendChild(kind);
    item.appendChild(element("span", "ev-msg", event.message || ""));
    var extra = dataText(event.data);
    if (extra) {
      var details = element("details", "ev-data");
      details.appendChild(element("summary", "", "data"));
      details.appendChild(element("pre", "", extra));
      item.appendChild(details);
    }
    return item;
  }

  function startRunPage(runId, after) {
    var timeline = document.getElementById("timeline");
    var count = document.getElementById("event-count");
    var note = document.getElementById("timeline-note");
    var seen = new Set();
    timeline.querySelectorAll("li[data-id]").forEach(function (li) { seen.add(li.getAttribute("data-id")); });
    timeline.scrollTop = timeline.scrollHeight;
    var connected = 0;
    var parts = new PartsRegion("/runs/" + encodeURIComponent(runId) + "?fragment=parts", 200);
    follow("/api/runs/" + encodeURIComponent(runId) + "/stream?after=" + after, function (event) {
      var id = String(event.id);
      if (seen.has(id)) return;
      seen.add(id);
      var atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 48;
      timeline.appendChild(eventItem(event));
      while (timeline.children.length > MAX_TIMELINE) timeline.removeChild(timeline.firstElementChild);
      if (atBottom) timeline.scrollTop = timeline.scrollHeight;
      if (count) count.textContent = String(timeline.children.length);
      if (note && note.textContent === "No events yet.") note.textContent = "";
      parts.schedule();
    }, function () { if (connected++) parts.schedule(); });
    setInterval(function () { parts.schedule(); }, 15000);  // heartbeat age, stalled flag
  }

  // --- forms ------------------------------------------------------------------------------------

  function enhanceForms() {
    document.addEventListener("change", function (event) {
      var form = event.target.form;
      if (form && form.hasAttribute("data-autosubmit") && event.target.type !== "search") {
        form.requestSubmit();
      }
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      if (form.method.toLowerCase() === "post") {
        setTimeout(function () {  // after the browser has read the clicked button's value
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
        }, 0);
      }
    });
    window.addEventListener("pageshow", function () {  // back/forward cache: enable them again
      document.querySelectorAll("form button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  }

  // A plan field's preview (/runs/new/preview), asked for while a person types: the form it
  // was read in and the tasks the run would create.
  function enhancePlanPreview() {
    document.querySelectorAll("textarea[data-plan-preview]").forEach(function (area) {
      var timer = null;
      var asked = 0;
      var update = async function () {
        var target = document.querySelector(area.getAttribute("data-plan-preview"));
        if (!target) return;
        var mine = ++asked;
        var body = new URLSearchParams(new FormData(area.form));  // urlencoded, as forms are
        body.delete("intent");
        try {
          var response = await fetch("/runs/new/preview", { method: "POST", body: body });
          if (!response.ok || mine !== asked) return;  // a newer request answers instead
          var html = await response.text();
          var template = document.createElement("template");
          template.innerHTML = html;
          var fresh = template.content.firstElementChild;
          if (fresh) target.replaceWith(fresh);
        } catch (error) { /* offline for a moment: the button still previews */ }
      };
      var later = function () { clearTimeout(timer); timer = setTimeout(update, 350); };
      area.addEventListener("input", later);
      var format = area.form.querySelector("[name='inputs.format']");
      if (format) format.addEventListener("change", later);
    });
  }

  // --- start -----------------------------------------------------------------------------------

  function start() {
    refreshTimes(document);
    setInterval(function () { refreshTimes(document); }, 5000);
    enhanceForms();
    enhancePlanPreview();
    var body = document.body;
    var runId = body.getAttribute("data-run");
    if (runId) startRunPage(runId, body.getAttribute("data-after") || "0");
    var onEvents = [];
    document.querySelectorAll("[data-refresh]").forEach(function (node) {
      var region = new Region(node, node.hasAttribute("data-keyed") ? 250 : 600);
      if (node.getAttribute("data-refresh-on") === "events") onEvents.push(region);
      var every = parseInt(node.getAttribute("data-refresh-every") || "0", 10);
      if (every > 0) setInterval(function () { region.schedule(); }, every);
    });
    if (onEvents.length) {
      // /api/stream starts with the events after it opens: refresh then too, for any change
      // made between the page's rendering and that moment
      var refreshAll = function () { onEvents.forEach(function (r) { r.schedule(); }); };
      follow("/api/stream", refreshAll, refreshAll);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

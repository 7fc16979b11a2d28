// Settings: the form becomes the JSON of PUT /api/v1/settings.
(function () {
  "use strict";
  function parseList(id, what, wantArray) {
    var el = document.getElementById(id);
    var raw = (el.value || "").trim();
    if (!raw) return wantArray ? [] : {};
    var v;
    try { v = JSON.parse(raw); } catch (e) { throw new Error(what + ": not valid JSON (" + e.message + ")"); }
    if (wantArray && !Array.isArray(v)) throw new Error(what + ": want a JSON list [ … ]");
    if (!wantArray && (v === null || typeof v !== "object" || Array.isArray(v))) throw new Error(what + ": want a JSON object { … }");
    return v;
  }

  function collect(form) {
    var s = { thresholds: {}, rules: {} };
    form.querySelectorAll("[data-threshold]").forEach(function (inp) {
      var k = inp.getAttribute("data-threshold"), t = inp.getAttribute("data-type"), v = inp.value.trim();
      if (t === "duration") { s.thresholds[k] = v; return; }
      var n = Number(v);
      if (v === "" || !isFinite(n) || (t === "int" && Math.floor(n) !== n)) throw new Error("threshold " + k.replace(/_/g, " ") + ": want a number");
      s.thresholds[k] = n;
    });
    form.querySelectorAll("tr[data-rule]").forEach(function (tr) {
      var id = tr.getAttribute("data-rule");
      var on = tr.querySelector("[data-rule-enabled]").checked;
      var sev = tr.querySelector("[data-rule-severity]").value;
      var defOff = tr.getAttribute("data-default-off") === "true";
      if (on === !defOff && !sev) return; // the catalogue's default
      var rc = { enabled: on };
      if (sev) rc.severity = sev;
      s.rules[id] = rc;
    });
    s.exclusions = parseList("exclusions", "Exclusions", true);
    s.custom_rules = parseList("custom-rules", "Custom rules", true);
    s.forwarding = parseList("forwarding", "Forwarding", false);
    return s;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("settings-form");
    if (!form) return;
    var out = document.getElementById("settings-result");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body;
      try { body = collect(form); } catch (e) { window.otwatch.flash(e.message); return; }
      form.setAttribute("data-state", "saving");
      if (out) out.textContent = "Saving…";
      window.otwatch.api(form.getAttribute("data-api"), { method: "PUT", body: body }).then(function () {
        form.setAttribute("data-state", "saved");
        if (out) out.textContent = "Saved at " + new Date().toLocaleTimeString() + ".";
      }).catch(function (e) {
        form.setAttribute("data-state", "error");
        if (out) out.textContent = "";
        window.otwatch.flash("Settings not saved: " + e.message);
      });
    });
  });
})();

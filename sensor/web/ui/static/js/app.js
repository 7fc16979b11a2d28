// OTWatch UI: what every page needs. The CSRF token comes from the
// <meta name="csrf-token"> tag the server renders; htmx requests and the
// scripts' fetch calls send it in the X-CSRF-Token header.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function scope() {
    return document.body ? document.body.getAttribute("data-scope") || "" : "";
  }

  // withScope adds the page's scope to an API path.
  function withScope(path) {
    var s = scope();
    if (!s) return path;
    return path + (path.indexOf("?") < 0 ? "?" : "&") + "scope=" + encodeURIComponent(s);
  }

  var flashTimer = 0;
  function flash(msg, kind) {
    var el = document.getElementById("flash");
    if (!el) return;
    el.textContent = msg;
    el.className = "notice " + (kind || "error");
    el.hidden = false;
    window.clearTimeout(flashTimer);
    flashTimer = window.setTimeout(function () { el.hidden = true; }, 12000);
  }

  // errorText turns an error response (the API's {"error": "..."} or the
  // UI's plain text) into a message.
  function errorText(status, body) {
    var msg = body || "";
    try {
      var j = JSON.parse(body);
      if (j && j.error) msg = j.error;
    } catch (e) { /* plain text */ }
    if (status === 401) return "Your session has ended: log in again.";
    return (msg || "request failed") + " (HTTP " + status + ")";
  }

  // api calls the REST API with the session cookie; changes carry the
  // CSRF token. It resolves to the parsed JSON (or null for 204).
  function api(path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    if (opts.body !== undefined && !(opts.body instanceof FormData)) headers["Content-Type"] = "application/json";
    var method = (opts.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf();
    return fetch(path, {
      method: method, credentials: "same-origin", headers: headers,
      body: opts.body === undefined ? undefined : (opts.body instanceof FormData ? opts.body : JSON.stringify(opts.body))
    }).then(function (r) {
      if (r.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      }
      if (!r.ok) return r.text().then(function (t) { var e = new Error(errorText(r.status, t)); e.status = r.status; throw e; });
      if (r.status === 204) return null;
      return r.json();
    });
  }

  window.otwatch = { csrf: csrf, scope: scope, withScope: withScope, flash: flash, api: api, errorText: errorText };

  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:responseError", function (e) {
    var x = e.detail.xhr;
    if (x.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      return;
    }
    flash(errorText(x.status, x.responseText));
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The sensor did not answer: check the network and try again.");
  });
  document.addEventListener("htmx:afterSwap", function () {
    var el = document.getElementById("flash");
    if (el && el.className.indexOf("error") >= 0) el.hidden = true;
  });

  document.addEventListener("DOMContentLoaded", function () {
    // The scope selector: the same page, for another capture (or live).
    var sel = document.getElementById("scope-select");
    if (sel) {
      sel.addEventListener("change", function () {
        var u = new URL(window.location.href);
        u.searchParams.delete("offset");
        if (sel.value) u.searchParams.set("scope", sel.value); else u.searchParams.delete("scope");
        var page = document.body.getAttribute("data-page");
        if (page === "devices" && /^\/devices\/\d+/.test(u.pathname)) u.pathname = "/devices";
        if (page === "alerts" && /^\/alerts\/.+/.test(u.pathname)) u.pathname = "/alerts";
        window.location.assign(u.toString());
      });
    }
  });
})();

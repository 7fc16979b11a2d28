// Dashboard: the traffic-rate chart (uPlot), refreshed from
// GET /api/v1/dashboard every 10 s.
(function () {
  "use strict";
  var REFRESH_MS = 10000;

  function columns(rate) {
    var xs = [], pps = [], bps = [];
    (rate || []).forEach(function (p) {
      xs.push(Date.parse(p.time) / 1000);
      pps.push(p.packets_per_second);
      bps.push(p.bytes_per_second);
    });
    return [xs, pps, bps];
  }

  function fmtNum(v) {
    if (v == null) return "";
    if (v >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return v.toFixed(v < 10 ? 1 : 0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("rate-chart");
    if (!el) return;
    if (!window.uPlot) {
      el.textContent = "The chart library (uPlot) is missing from this build.";
      el.setAttribute("data-state", "error");
      return;
    }
    var rate = [];
    try { rate = JSON.parse(el.getAttribute("data-rate") || "[]") || []; } catch (e) { rate = []; }
    var height = 240;
    var opts = {
      width: Math.max(el.clientWidth, 280), height: height,
      scales: { x: { time: true }, pps: { auto: true }, bps: { auto: true } },
      series: [
        {},
        { label: "packets/s", scale: "pps", stroke: "#1d6fb8", width: 2, fill: "rgba(29,111,184,0.08)", value: function (u, v) { return fmtNum(v); } },
        { label: "bytes/s", scale: "bps", stroke: "#d4580a", width: 1.5, value: function (u, v) { return fmtNum(v); } }
      ],
      axes: [
        {},
        { scale: "pps", values: function (u, vs) { return vs.map(fmtNum); }, size: 55 },
        { scale: "bps", side: 1, grid: { show: false }, values: function (u, vs) { return vs.map(fmtNum); }, size: 55 }
      ]
    };
    var chart = new window.uPlot(opts, columns(rate), el);
    el.setAttribute("data-points", String(rate.length));
    el.setAttribute("data-state", "ready");
    window.otwatchRate = chart;

    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        chart.setSize({ width: Math.max(el.clientWidth, 280), height: height });
      }).observe(el);
    }

    function refresh() {
      if (document.hidden) return;
      window.otwatch.api(window.otwatch.withScope("/api/v1/dashboard")).then(function (d) {
        chart.setData(columns(d.rate));
        el.setAttribute("data-points", String((d.rate || []).length));
        var dv = document.getElementById("stat-devices"), al = document.getElementById("stat-alerts");
        if (dv) dv.textContent = String(d.devices);
        if (al) al.textContent = String(d.open_alerts);
      }).catch(function (e) { window.otwatch.flash("Dashboard refresh: " + e.message); });
    }
    window.setInterval(refresh, REFRESH_MS);
  });
})();

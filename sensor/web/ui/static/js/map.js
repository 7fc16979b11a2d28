// Device map: devices from GET /api/v1/devices, edges from
// GET /api/v1/connections, grouped into compound nodes by subnet or Purdue
// level; a click on a device opens its page. The container's data-state,
// data-nodes, data-groups and data-edges attributes (and window.otwatchMap,
// the cytoscape instance) tell tests what is drawn.
(function () {
  "use strict";
  var PALETTE = ["#1d6fb8", "#d4580a", "#1b7f3b", "#8e44ad", "#b42318", "#0f8b8d", "#9a6700", "#5b6b7b"];
  var MAX_DEVICES = 1000, MAX_CONNS = 10000;

  function expand6(ip) {
    // Expands an IPv6 address to its 8 groups (no zone, no embedded IPv4).
    var parts = ip.split("%")[0].split("::");
    var head = parts[0] ? parts[0].split(":") : [];
    var tail = parts.length > 1 && parts[1] ? parts[1].split(":") : [];
    var fill = [];
    for (var i = head.length + tail.length; i < 8; i++) fill.push("0");
    return head.concat(fill, tail).map(function (g) { return (g || "0").toLowerCase().replace(/^0+(?=.)/, ""); });
  }

  function subnet(d) {
    var ips = d.ips || [];
    for (var i = 0; i < ips.length; i++) {
      var ip = ips[i];
      if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.replace(/\.\d+$/, ".0/24");
    }
    for (var j = 0; j < ips.length; j++) {
      if (ips[j].indexOf(":") >= 0) return expand6(ips[j]).slice(0, 4).join(":") + "::/64";
    }
    return "no IP (layer 2)";
  }

  var LEVELS = { 0: "Level unknown / spanning", 1: "L1 basic control", 2: "L2 supervisory", 3: "L3 operations", 4: "L4 business", 5: "L5 enterprise" };
  function purdue(d) {
    var l = d.purdue_override != null ? d.purdue_override : d.purdue_level;
    return LEVELS[l] || ("Level " + l);
  }

  function name(d) {
    return d.custom_name || d.name || (d.ips && d.ips[0]) || d.mac || ("#" + d.id);
  }

  function color(proto, protos) {
    var i = protos.indexOf(proto);
    if (i < 0) { protos.push(proto); i = protos.length - 1; }
    return PALETTE[i % PALETTE.length];
  }

  function build(devs, conns, group) {
    var els = [], groups = {}, ids = {}, protos = [], edges = {};
    devs.forEach(function (d) {
      var g = group === "purdue" ? purdue(d) : subnet(d);
      if (!groups[g]) {
        groups[g] = true;
        els.push({ group: "nodes", data: { id: "g:" + g, label: g, kind: "group" } });
      }
      ids[d.id] = true;
      els.push({ group: "nodes", data: { id: "d" + d.id, devid: d.id, label: name(d), parent: "g:" + g,
        role: d.role_override || d.role || "unknown", authorized: !!d.authorized, alerts: d.open_alerts || 0 } });
    });
    conns.forEach(function (c) {
      if (!c.client_id || !c.server_id || c.client_id === c.server_id || !ids[c.client_id] || !ids[c.server_id]) return;
      var proto = c.protocol || (c.transport + "/" + c.port);
      var k = c.client_id + ">" + c.server_id + "|" + proto;
      if (edges[k]) { edges[k].data.packets += c.packets || 0; return; }
      edges[k] = { group: "edges", data: { id: "e:" + k, source: "d" + c.client_id, target: "d" + c.server_id,
        label: proto, protocol: proto, color: color(proto, protos), packets: c.packets || 0 } };
    });
    var edgeList = Object.keys(edges).map(function (k) { return edges[k]; });
    return { elements: els.concat(edgeList), groups: Object.keys(groups).length, edges: edgeList.length, protocols: protos };
  }

  var STYLE = [
    { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 3,
      "background-color": "#1d6fb8", "width": 22, "height": 22, "color": "#17212b", "text-wrap": "ellipsis", "text-max-width": 110 } },
    { selector: "node[kind = 'group']", style: { "background-color": "#eef3f8", "background-opacity": 0.7, "border-color": "#9fb3c8",
      "border-width": 1, "shape": "round-rectangle", "text-valign": "top", "text-halign": "center", "font-size": 12,
      "font-weight": "bold", "color": "#0f3d5e", "padding": 18, "text-max-width": 600, "text-wrap": "none" } },
    { selector: "node[role = 'plc'], node[role = 'io_device']", style: { "shape": "round-rectangle", "background-color": "#d4580a" } },
    { selector: "node[role = 'hmi'], node[role = 'engineering']", style: { "shape": "diamond", "background-color": "#8e44ad" } },
    { selector: "node[role = 'network_device']", style: { "shape": "hexagon", "background-color": "#5b6b7b" } },
    { selector: "node[role = 'historian'], node[role = 'opc_server'], node[role = 'it_server']", style: { "shape": "barrel", "background-color": "#0f8b8d" } },
    { selector: "node[alerts > 0]", style: { "border-color": "#b42318", "border-width": 3 } },
    { selector: "edge", style: { "width": 1.5, "line-color": "data(color)", "target-arrow-color": "data(color)",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8, "label": "data(label)", "font-size": 8,
      "color": "#5b6b7b", "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
    { selector: "node:selected", style: { "border-color": "#ffb547", "border-width": 3 } }
  ];

  // arrange places each group's devices on a grid inside the group, and
  // the groups side by side in rows: groups never overlap, and the
  // layout is the same at every load.
  function arrange(cy) {
    var CELL_W = 150, CELL_H = 90, GAP = 90;
    var groups = cy.nodes("[kind = 'group']").sort(function (a, b) {
      return String(a.data("label")).localeCompare(String(b.data("label")), undefined, { numeric: true });
    });
    var boxes = groups.map(function (g) {
      var kids = g.children().sort(function (a, b) {
        return String(a.data("role")).localeCompare(String(b.data("role"))) ||
          String(a.data("label")).localeCompare(String(b.data("label")), undefined, { numeric: true });
      });
      var cols = Math.max(1, Math.ceil(Math.sqrt(kids.length * 1.6)));
      return { kids: kids, cols: cols, w: cols * CELL_W, h: Math.ceil(kids.length / cols) * CELL_H };
    });
    var total = boxes.reduce(function (s, b) { return s + b.w * b.h; }, 0);
    var rowW = Math.max(900, Math.sqrt(total) * 1.8);
    var x = 0, y = 0, rowH = 0;
    cy.batch(function () {
      boxes.forEach(function (b) {
        if (x > 0 && x + b.w > rowW) { x = 0; y += rowH + GAP; rowH = 0; }
        b.kids.forEach(function (n, i) {
          n.position({ x: x + (i % b.cols) * CELL_W + CELL_W / 2, y: y + Math.floor(i / b.cols) * CELL_H + CELL_H / 2 });
        });
        x += b.w + GAP;
        rowH = Math.max(rowH, b.h);
      });
    });
    cy.fit(undefined, 30);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("map");
    if (!el) return;
    var status = document.getElementById("map-status");
    function say(msg) { if (status) status.textContent = msg; }
    if (!window.cytoscape) {
      el.setAttribute("data-state", "error");
      say("The map library (cytoscape) is missing from this build.");
      return;
    }
    var group = el.getAttribute("data-group") || "subnet";
    var o = window.otwatch;
    Promise.all([
      o.api(o.withScope("/api/v1/devices?limit=" + MAX_DEVICES + "&sort=ip")),
      o.api(o.withScope("/api/v1/connections?limit=" + MAX_CONNS))
    ]).then(function (res) {
      var devs = res[0].items || [], conns = res[1].items || [];
      var m = build(devs, conns, group);
      var cy = window.cytoscape({
        container: el, elements: m.elements, style: STYLE, minZoom: 0.1, maxZoom: 3,
        layout: { name: "preset" }
      });
      arrange(cy);
      cy.on("tap", "node[devid]", function (e) {
        window.location.assign(o.withScope("/devices/" + e.target.data("devid")));
      });
      window.otwatchMap = cy;
      el.setAttribute("data-nodes", String(cy.nodes("[devid]").length));
      el.setAttribute("data-groups", String(m.groups));
      el.setAttribute("data-edges", String(cy.edges().length));
      el.setAttribute("data-state", "ready");
      var more = res[0].total > devs.length ? " (the first " + devs.length + " of " + res[0].total + ")" : "";
      say(devs.length + " devices" + more + " in " + m.groups + " groups, " + m.edges + " links. Click a device to open it.");
      var legend = document.getElementById("map-legend");
      if (legend) {
        legend.textContent = "";
        m.protocols.forEach(function (p, i) {
          var s = document.createElement("span");
          s.className = "p" + (i % PALETTE.length);
          s.textContent = p;
          legend.appendChild(s);
        });
      }
    }).catch(function (e) {
      el.setAttribute("data-state", "error");
      say("Could not load the map: " + e.message);
    });
  });
})();

/* moneytrail network view: draws the case's network with the vendored Cytoscape.js.
 *
 * Every value from the data is written with textContent (never innerHTML): counterparty names
 * and references are written by the people under investigation. The server's JSON comes from
 * the same origin; nothing is fetched from anywhere else.
 */
(function () {
  "use strict";

  var ROLE_COLOURS = {
    controller: "#e6550d", launderer: "#3182bd", facilitator: "#31a354", buyer: "#756bb1",
    victim: "#fdd0a2", unknown: "#bdbdbd", external: "#f0f0f0", counterparty: "#c7e9c0",
    channel: "#ffffff"
  };
  var STATUS_BORDERS = {
    open: ["#d7301f", 4, "solid"], in_review: ["#d7301f", 4, "solid"],
    escalated: ["#ff7f00", 6, "solid"], closed_reported: ["#54278f", 6, "solid"],
    closed_false_positive: ["#969696", 3, "dashed"]
  };

  function style() {
    var rules = [
      { selector: "node", style: {
        "label": "data(label)", "font-size": 9, "text-valign": "bottom", "text-margin-y": 3,
        "text-wrap": "ellipsis", "text-max-width": 110, "width": 22, "height": 22,
        "background-color": "#bdbdbd", "border-width": 1, "border-color": "#888"
      } },
      { selector: "node[?subject]", style: {
        "width": 36, "height": 36, "font-weight": "bold", "font-size": 11, "z-index": 10
      } },
      { selector: "node[kind = 'channel']", style: { "shape": "round-rectangle" } },
      { selector: "node[kind = 'counterparty']", style: { "shape": "diamond" } }
    ];
    Object.keys(ROLE_COLOURS).forEach(function (role) {
      rules.push({ selector: "node[role = '" + role + "']",
        style: { "background-color": ROLE_COLOURS[role] } });
    });
    Object.keys(STATUS_BORDERS).forEach(function (status) {
      var b = STATUS_BORDERS[status];
      rules.push({ selector: "node[alert_status = '" + status + "']",
        style: { "border-color": b[0], "border-width": b[1], "border-style": b[2] } });
    });
    return rules.concat([
      { selector: "edge", style: {
        "width": "data(width)", "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
        "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8
      } },
      { selector: "edge[?alerted]", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b" } },
      { selector: ":selected", style: { "overlay-color": "#1f5fa8", "overlay-opacity": 0.25 } },
      { selector: "node.expanded", style: { "border-style": "double", "border-width": 5 } },
      { selector: ".faded", style: { "opacity": 0.15 } },
      { selector: "edge.trail", style: { "line-color": "#1f5fa8", "target-arrow-color": "#1f5fa8", "opacity": 1 } },
      { selector: "node.trail", style: { "opacity": 1 } }
    ]);
  }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) { node.className = cls; }
    return node;
  }

  function facts(pairs) {
    var dl = document.createElement("dl");
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") { return; }
      dl.appendChild(text("dt", p[0]));
      dl.appendChild(text("dd", p[1]));
    });
    return dl;
  }

  function query(params) {
    return Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  function load(url) {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, 120000);
    return fetch(url, { credentials: "same-origin", signal: abort.signal }).then(function (r) {
      clearTimeout(timer);
      if (!r.ok) { throw new Error("the server answered " + r.status); }
      return r.json();
    }, function (err) {
      clearTimeout(timer);
      throw err;
    });
  }

  function getJSON(path, params) {
    return load(path + "?" + query(params));
  }

  function start() {
    var box = document.getElementById("cy");
    if (!box || typeof window.cytoscape !== "function") { return; }
    var panel = document.getElementById("node-details");
    var caseId = box.getAttribute("data-case");
    var buttons = {
      expand: document.getElementById("expand"),
      forward: document.getElementById("trail-forward"),
      backward: document.getElementById("trail-backward"),
      reset: document.getElementById("reset")
    };
    var selected = null;
    box.setAttribute("data-state", "loading");

    function show(children) {
      while (panel.firstChild) { panel.removeChild(panel.firstChild); }
      children.forEach(function (c) { panel.appendChild(c); });
    }

    function fail(err) {
      show([text("p", "Could not load: " + err.message, "error-message")]);
      box.setAttribute("data-state", "error");
    }

    var cy = window.cytoscape({
      container: box, style: style(), elements: [],
      minZoom: 0.1, maxZoom: 4
    });
    window.moneytrailNetwork = cy;

    function counts() {
      box.setAttribute("data-nodes", String(cy.nodes().length));
      box.setAttribute("data-edges", String(cy.edges().length));
    }

    function layout() {
      // cose reads well but costs O(n^2) a step: large graphs get rings around the subject
      var options = cy.nodes().length <= 250 ?
        { name: "cose", animate: false, randomize: false, nodeDimensionsIncludeLabels: true,
          padding: 30 } :
        { name: "concentric", animate: false, padding: 30, minNodeSpacing: 8,
          concentric: function (n) { return n.data("subject") ? 3 : (n.data("n_alerts") ? 2 : 1); },
          levelWidth: function () { return 1; } };
      cy.layout(options).run();
    }

    function merge(payload) {
      var added = 0;
      ["nodes", "edges"].forEach(function (group) {
        payload.elements[group].forEach(function (el) {
          var existing = cy.getElementById(el.data.id);
          if (existing.length) {
            if (group === "nodes" && el.data.role === "unknown") { return; }
            if (group === "nodes" && existing.data("subject")) { return; }
            existing.data(el.data);
          } else {
            cy.add({ group: group, data: el.data });
            added += 1;
          }
        });
      });
      counts();
      return added;
    }

    function details(node) {
      selected = node;
      [buttons.expand, buttons.forward, buttons.backward].forEach(function (b) { b.disabled = false; });
      show([text("h3", node.data("label")), text("p", "loading ...", "muted")]);
      getJSON("/api/node", { id: node.id(), "case": caseId }).then(function (d) {
        var alerts = document.createElement("ul");
        d.alerts.forEach(function (a) {
          alerts.appendChild(text("li", a.rule_id + " " + a.title + " (" + a.severity + ", " +
            String(a.status).replace(/_/g, " ") + ")"));
        });
        var cases = document.createElement("ul");
        d.cases.forEach(function (c) {
          var li = document.createElement("li");
          var a = text("a", c);
          a.href = "/case/" + encodeURIComponent(c);
          li.appendChild(a);
          cases.appendChild(li);
        });
        show([
          text("h3", d.label),
          facts([["id", d.id], ["kind", d.kind], ["role", d.role], ["customer", d.customer_id],
            ["alert status", d.alert_status ? String(d.alert_status).replace(/_/g, " ") : ""],
            ["money in", d.in_total], ["money out", d.out_total], ["known flows", d.n_flows],
            ["first", d.first_ts], ["last", d.last_ts]]),
          text("h4", "alerts (" + d.alerts.length + ")"), alerts,
          text("h4", "cases (" + d.cases.length + ")"), cases
        ]);
      }).catch(fail);
    }

    function label(id) {
      var node = cy.getElementById(id);
      return node.length && node.data("kind") !== "account" ?
        node.data("label") + (node.data("of") ? " (" + node.data("of") + ")" : "") : id;
    }

    function clearTrail() {
      cy.elements().removeClass("faded trail");
    }

    cy.on("tap", "node", function (evt) { details(evt.target); });

    buttons.expand.addEventListener("click", function () {
      if (!selected) { return; }
      var node = selected;
      box.setAttribute("data-state", "expanding");
      getJSON("/api/expand", { id: node.id(), "case": caseId }).then(function (payload) {
        var added = merge(payload);
        cy.getElementById(node.id()).addClass("expanded");
        layout();
        box.setAttribute("data-expanded", node.id());
        box.setAttribute("data-state", "ready");
        panel.appendChild(text("p", "Expanded: " + added + " new element(s).", "muted"));
      }).catch(fail);
    });

    function follow(direction) {
      if (!selected) { return; }
      var node = selected;
      box.setAttribute("data-state", "tracing");
      getJSON("/api/trail", { id: node.id(), "case": caseId, direction: direction })
        .then(function (payload) {
          merge(payload);
          layout();
          clearTrail();
          cy.elements().addClass("faded");
          payload.elements.edges.forEach(function (e) {
            var edge = cy.getElementById(e.data.id);
            edge.removeClass("faded").addClass("trail");
            edge.connectedNodes().removeClass("faded").addClass("trail");
          });
          cy.getElementById(node.id()).removeClass("faded").addClass("trail");
          var list = document.createElement("ol");
          payload.steps.forEach(function (s) {
            list.appendChild(text("li", "hop " + s.hop + ": " + s.ts.slice(0, 16).replace("T", " ") +
              "  " + label(s.source) + " \u2192 " + label(s.target) + "  " + s.amount +
              (s.n > 1 ? " in " + s.n + " transfers" : "")));
          });
          show([text("h3", "Money trail " + direction + " from " + node.data("label")),
            text("p", payload.steps.length + " step(s) of at least " + payload.min_amount + " each, the largest " +
              "counterparties first reached; a later hop moves only after the money arrived " +
              "(forward) or before it left (backward).", "muted"), list]);
          box.setAttribute("data-state", "ready");
          box.setAttribute("data-trail", String(payload.steps.length));
        }).catch(fail);
    }

    buttons.forward.addEventListener("click", function () { follow("forward"); });
    buttons.backward.addEventListener("click", function () { follow("backward"); });
    buttons.reset.addEventListener("click", function () {
      clearTrail();
      cy.fit(undefined, 30);
    });

    load(box.getAttribute("data-api")).then(function (payload) {
      merge(payload);
      layout();
      box.setAttribute("data-state", "ready");
    }).catch(fail);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());

/* kubeward report: the page's glue. It reads the JSON kubeward embedded (id kubeward-data, "schema": 1,
   docs/json.md), draws the graph with Cytoscape.js (layout: Cytoscape's own cose, which handles compound
   nodes) and fills the panels and sections. It computes no verdict: everything shown was computed by
   kubeward. No request leaves the page. */
(function () {
  "use strict";

  cytoscape.use(cytoscapeFcose);
  var DATA = JSON.parse(document.getElementById("kubeward-data").textContent);
  var G = DATA.graph;
  var WORLD = "world";
  var ROWS = 300; // rows of a long table shown before "show all"
  var MAX_LABELS = 6;       // port labels kept per edge (the panel lists the rest from the connections)
  var BIG_GRAPH = 1500;     // edges beyond which only those of open namespaces are drawn
  var SMALL_NAMESPACE = 12; // an open namespace of at most this many workloads: edges go to its workloads

  // ---- small DOM helpers -------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "cls") node.className = attrs[k];
        else if (k === "onclick") node.addEventListener("click", attrs[k]);
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function where(text) { return text ? el("span", { cls: "where", text: text }) : null; }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // ---- the model: workloads, namespaces, what each connection end stands for ---------------------
  var workloads = {};         // id -> workload
  var byNamespace = {};       // namespace -> [workload id]
  G.workloads.forEach(function (w) {
    workloads[w.id] = w;
    (byNamespace[w.namespace] = byNamespace[w.namespace] || []).push(w.id);
  });
  var namespaces = {};
  G.namespaces.forEach(function (n) { namespaces[n.name] = n; });
  Object.keys(byNamespace).forEach(function (ns) { if (!namespaces[ns]) namespaces[ns] = { name: ns, labels: {} }; });
  var groups = {};
  G.groups.forEach(function (g) { groups[g.id] = g; });

  function groupLabel(id) {
    var g = groups[id];
    if (!g) return id;
    var items = (g.namespaces || []).map(function (n) { return n + "/*"; })
      .concat(g.workloads || [])
      .concat((g.ipBlocks || []).map(function (b) { return b.cidr + (b.except ? " except " + b.except.join(", ") : ""); }))
      .concat(g.fqdns || []);
    return items.length <= 3 ? items.join(", ") : id + " (" + items.length + " members)";
  }

  // The graph entities an end stands for: "ns:NAME" (a whole namespace), "wl:NS/NAME", or "world".
  function entities(end) {
    var g = groups[end];
    if (g) {
      var out = [];
      (g.namespaces || []).forEach(function (n) {
        // a small namespace shown open: an edge to each workload (edges to a compound node lay out badly)
        var members = byNamespace[n] || [];
        if (expanded[n] && members.length <= SMALL_NAMESPACE) {
          members.forEach(function (w) { out.push("wl:" + w); });
        } else out.push("ns:" + n);
      });
      out = out.concat((g.workloads || []).map(function (w) { return "wl:" + w; }));
      if ((g.ipBlocks || []).length || (g.fqdns || []).length) out.push(WORLD);
      return out;
    }
    return workloads[end] ? ["wl:" + end] : [WORLD];
  }
  // Whether workload id is one of the workloads an end stands for.
  function covers(end, id) {
    var g = groups[end];
    if (g) {
      return (g.namespaces || []).indexOf(workloads[id].namespace) >= 0 || (g.workloads || []).indexOf(id) >= 0;
    }
    return end === id;
  }

  // Deciding rules of workload pairs, by "src NUL dst".
  var originIndex = {};
  G.origins.forEach(function (o) { originIndex[o.src + "\u0000" + o.dst] = o; });

  // ---- the graph ---------------------------------------------------------------------------------
  var expanded = {};  // namespace -> shown with its workloads
  Object.keys(namespaces).forEach(function (ns) { expanded[ns] = !G.collapsed; });

  function visible(entity) {
    if (entity.indexOf("wl:") === 0) {
      var w = workloads[entity.slice(3)];
      return w && !expanded[w.namespace] ? "ns:" + w.namespace : entity;
    }
    return entity;
  }

  function namespaceOf(entity) {
    if (entity.indexOf("wl:") === 0) return workloads[entity.slice(3)].namespace;
    return entity.indexOf("ns:") === 0 ? entity.slice(3) : entity;
  }
  function coarse(entity) { return entity.indexOf("wl:") === 0 ? "ns:" + namespaceOf(entity) : entity; }

  function edgeKind(c) {
    if (c.src === WORLD && c.via) return "entry";
    return c.l7 ? "l7" : "allow";
  }

  function elements() {
    var nodes = [], edges = {}, used = {}, edgeCount = 0;
    Object.keys(namespaces).sort().forEach(function (ns) {
      var count = (byNamespace[ns] || []).length;
      nodes.push({ data: { id: "ns:" + ns, label: expanded[ns] ? ns : ns + " (" + count + ")", kind: "namespace" },
                   classes: expanded[ns] ? "namespace open" : "namespace closed" });
      if (expanded[ns]) {
        (byNamespace[ns] || []).forEach(function (id) {
          var w = workloads[id];
          nodes.push({ data: { id: "wl:" + id, parent: "ns:" + ns, label: w.name, kind: "workload" },
                       classes: w.assumed ? "workload assumed" : "workload" });
        });
      }
    });
    function addEdge(src, dst, kind, label) {
      var key = src + "|" + dst + "|" + kind;
      var e = edges[key];
      if (!e) {
        e = edges[key] = { data: { id: "e" + edgeCount++, source: src, target: dst, labels: [] }, classes: kind };
      }
      if (label && e.data.labels.length < MAX_LABELS && e.data.labels.indexOf(label) < 0) e.data.labels.push(label);
      used[src] = used[dst] = true;
    }
    G.connections.forEach(function (c) {
      var kind = edgeKind(c);
      var label = c.ports + (c.l7 ? " +HTTP" : "") + (c.mesh ? " +mesh" : "");
      var srcs = {}, dsts = {};
      entities(c.src).forEach(function (e) { srcs[visible(e)] = true; });
      entities(c.dst).forEach(function (e) { dsts[visible(e)] = true; });
      Object.keys(srcs).forEach(function (s0) {
        Object.keys(dsts).forEach(function (d0) {
          var s = s0, d = d0;
          if (G.collapsed && namespaceOf(s) !== namespaceOf(d)) {  // a large cluster: between namespaces, namespace to namespace
            s = coarse(s); d = coarse(d);
          }
          if (s === d && s.indexOf("ns:") === 0) return;  // inside a closed namespace: shown when it is opened
          addEdge(s, d, kind, label);
        });
      });
    });
    G.broken.forEach(function (b) {
      if (!b.dst) return;
      var s = visible(workloads[b.src] ? "wl:" + b.src : WORLD);
      var d = visible(workloads[b.dst] ? "wl:" + b.dst : WORLD);
      addEdge(s, d, "broken", "✗ " + (b.port ? b.port + ": " : "") + (b.rule || b.verdict));
    });
    if (used[WORLD] || G.outside.length) {
      nodes.push({ data: { id: WORLD, label: "world", kind: "world" }, classes: "world" });
    }
    var list = Object.keys(edges).map(function (k) {
      var e = edges[k];
      var labels = e.data.labels;
      e.data.label = labels.length > 2 ? labels.slice(0, 2).join("; ") + " …" : labels.join("; ");
      return e;
    });
    return nodes.concat(list);
  }

  var cy = null;
  var edgeLabels = true;

  function style() {
    return [
      { selector: "node", style: { "label": "data(label)", "font-size": 11, "color": "#1d2330",
                                   "text-valign": "bottom", "text-margin-y": 3, "font-family": "system-ui, sans-serif" } },
      { selector: "node.workload", style: { "background-color": "#3b6fb6", "width": 18, "height": 18 } },
      { selector: "node.assumed", style: { "background-color": "#9aa6b8", "border-width": 1, "border-style": "dashed",
                                           "border-color": "#5b6474" } },
      { selector: "node.namespace.open", style: { "background-color": "#eef2f8", "background-opacity": 0.6,
          "border-width": 1, "border-color": "#9aa6b8", "text-valign": "top", "text-halign": "center",
          "font-weight": "bold", "padding": 14, "shape": "round-rectangle", "text-margin-y": -2,
          "text-background-color": "#ffffff", "text-background-opacity": 0.9, "text-background-padding": 2 } },
      { selector: "node.namespace.closed", style: { "background-color": "#c9d6ea", "border-width": 1,
          "border-color": "#5b6474", "shape": "round-rectangle", "width": 34, "height": 24 } },
      { selector: "node.world", style: { "background-color": "#1f8a5b", "shape": "diamond", "width": 26, "height": 26,
                                         "font-weight": "bold" } },
      { selector: "node.match", style: { "border-width": 4, "border-color": "#f0a000" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#f0a000" } },
      { selector: "edge", style: { "width": 1.6, "curve-style": "bezier", "target-arrow-shape": "triangle",
          "arrow-scale": 0.9, "line-color": "#3b6fb6", "target-arrow-color": "#3b6fb6", "opacity": 0.85,
          "font-size": 9, "color": "#37474f", "text-background-color": "#ffffff", "text-background-opacity": 0.85,
          "text-background-padding": 1, "text-wrap": "wrap", "text-max-width": 160, "label": edgeLabels ? "data(label)" : "" } },
      // a workload's traffic between its own pods: the loop on the right, clear of the namespace's title
      { selector: "edge:loop", style: { "loop-direction": "90deg", "loop-sweep": "-50deg", "control-point-step-size": 30 } },
      { selector: "edge.l7", style: { "line-color": "#7a4fb0", "target-arrow-color": "#7a4fb0" } },
      { selector: "edge.entry", style: { "line-color": "#1f8a5b", "target-arrow-color": "#1f8a5b" } },
      { selector: "edge.broken", style: { "line-color": "#c62828", "target-arrow-color": "#c62828", "width": 2.4,
          "line-style": "dashed", "color": "#c62828", "opacity": 1 } },
      { selector: "edge:selected", style: { "width": 3.5, "label": "data(label)" } },
      { selector: ".faded", style: { "opacity": 0.12 } }
    ];
  }

  var positions = {};  // node id -> position of the last drawing, so that opening a namespace keeps the picture
  var lastOpened = null;

  // Beyond BIG_GRAPH edges the picture says nothing: keep the edges of open namespaces (of the last
  // one opened when still too many) and the broken paths.
  function pruned(edges) {
    if (edges.length <= BIG_GRAPH) return { edges: edges, hidden: 0 };
    function open(id) { return id.indexOf("wl:") === 0 || (id.indexOf("ns:") === 0 && expanded[id.slice(3)]); }
    // the broken paths, what the outside world reaches and is reached from, the open namespaces' edges
    var keep = edges.filter(function (e) {
      return e.classes === "broken" || e.data.source === WORLD || e.data.target === WORLD ||
        open(e.data.source) || open(e.data.target);
    });
    if (keep.length > BIG_GRAPH) {  // still too many: the broken paths and the last namespace opened only
      var mine = function (id) {
        return lastOpened !== null && (id === "ns:" + lastOpened || id.indexOf("wl:" + lastOpened + "/") === 0);
      };
      keep = keep.filter(function (e) { return e.classes === "broken" || mine(e.data.source) || mine(e.data.target); });
    }
    return { edges: keep, hidden: edges.length - keep.length };
  }

  function draw() {
    var t0 = Date.now();
    var els = elements();
    var nodes = els.filter(function (e) { return !e.data.source; });
    var cut = pruned(els.filter(function (e) { return e.data.source; }));
    var edgeCount = cut.edges.length;
    edgeLabels = edgeCount <= 80;  // many edges: labels on selection only
    var known = 0;
    nodes.forEach(function (n) {
      var id = n.data.id, at = positions[id] || (n.data.parent && positions[n.data.parent]);
      if (at) { n.position = { x: at.x + (positions[id] ? 0 : Math.random() * 40 - 20), y: at.y + (positions[id] ? 0 : Math.random() * 40 - 20) }; known++; }
    });
    var container = document.getElementById("cy");
    if (cy) cy.destroy();
    cy = cytoscape({ container: container, elements: nodes.concat(cut.edges), style: style(), minZoom: 0.05, maxZoom: 4 });
    // fcose (vendored with its licence): force-directed with compound nodes, namespaces kept apart;
    // from the previous positions when there are some
    cy.layout({ name: "fcose", animate: false, randomize: known < nodes.length / 2,
                quality: edgeCount > 3000 ? "draft" : "default", nodeDimensionsIncludeLabels: true,
                packComponents: true, nodeRepulsion: function () { return 9000; },
                idealEdgeLength: function () { return 90; }, nestingFactor: 0.3, padding: 24 }).run();
    cy.nodes().forEach(function (n) { positions[n.id()] = { x: n.position("x"), y: n.position("y") }; });
    cy.on("tap", "node", function (evt) { onNode(evt.target); });
    cy.on("tap", "edge", function (evt) { showEdge(evt.target); });
    var shown = Object.keys(expanded).filter(function (n) { return expanded[n]; }).length;
    document.getElementById("graph-note").textContent = G.workloads.length + " workloads in " +
      Object.keys(namespaces).length + " namespaces; " + edgeCount + " edges" +
      (cut.hidden ? " (" + cut.hidden + " more: only those of the outside world and of open namespaces are drawn)" : "") +
      (shown < Object.keys(namespaces).length ? "; click a namespace to open it" : "") +
      (edgeLabels ? "" : "; click an edge for its ports");
    document.body.setAttribute("data-graph-ready", "1");
    console.log("kubeward: graph drawn in " + (Date.now() - t0) + " ms");
  }

  function onNode(node) {
    var id = node.id();
    if (id.indexOf("wl:") === 0) showWorkload(id.slice(3));
    else if (id.indexOf("ns:") === 0) {
      var ns = id.slice(3);
      if (!expanded[ns]) { expanded[ns] = true; lastOpened = ns; draw(); }
      showNamespace(ns);
    } else showWorld();
  }

  // ---- the panel ---------------------------------------------------------------------------------
  var panel = document.getElementById("panel");

  function peerLink(id) {
    if (workloads[id]) {
      return el("a", { cls: "peer-link peer", text: id, onclick: function () { focusWorkload(id); } });
    }
    var g = groups[id];
    if (!g) return el("span", { cls: "peer", text: id });
    // a group: its members, folded when many
    var members = (g.namespaces || []).map(function (n) { return el("span", { text: "namespace " + n }); })
      .concat((g.workloads || []).map(function (w) { return peerLink(w); }))
      .concat((g.ipBlocks || []).map(function (b) { return el("span", { text: b.cidr + (b.except ? " except " + b.except.join(", ") : "") }); }))
      .concat((g.fqdns || []).map(function (f) { return el("span", { text: f }); }));
    var list = el("ul", { cls: "members" }, members.map(function (m) { return el("li", {}, [m]); }));
    if (members.length <= 4) return el("span", { cls: "peer" }, [list]);
    return el("details", { cls: "peer" }, [el("summary", { text: describeGroup(g) }), list]);
  }

  function describeGroup(g) {
    var parts = [];
    [[(g.namespaces || []).length, "namespace"], [(g.workloads || []).length, "workload"],
     [(g.ipBlocks || []).length, "address block"], [(g.fqdns || []).length, "DNS name"]].forEach(function (p) {
      if (p[0]) parts.push(p[0] + " " + p[1] + (p[0] > 1 ? "s" : ""));
    });
    return parts.join(", ");
  }

  function isolation(w, dir) {
    var by = w[dir + "IsolatedBy"] || [];
    var li = el("div", { cls: "iso" }, [el("b", { text: dir }), " "]);
    if (!by.length) {
      li.appendChild(document.createTextNode("not isolated: every peer is allowed unless the other side refuses"));
      return li;
    }
    li.appendChild(document.createTextNode("isolated by "));
    by.forEach(function (p, i) {
      if (i) li.appendChild(document.createTextNode(", "));
      li.appendChild(el("span", { text: p.policy + " " }));
      if (p.where) li.appendChild(where(p.where));
    });
    return li;
  }

  function rulesList(rules) {
    return el("ul", { cls: "rules" }, rules.map(function (r) {
      return el("li", { cls: r.effect }, [r.effect === "allow" ? "✓ " : "✗ ", r.ports + ": " + r.effect + " by " +
        r.policy + (r.rule !== null && r.rule !== undefined ? " " + r.direction + " rule " + r.rule : "") + " ",
        where(r.where)]);
    }));
  }

  // Who reaches ``id`` (direction "in") or whom it reaches ("out"): one row per peer, from the map's
  // connections; each workload peer (and address peer) with the rules that decide the pair when
  // kubeward computed them (originsComplete), else the connection's group as it is.
  function reachList(id, direction) {
    var rows = {}, order = [];
    function row(key, peer) {
      if (!rows[key]) { rows[key] = { peer: peer, ports: [], notes: [], rules: null }; order.push(key); }
      return rows[key];
    }
    G.connections.forEach(function (c) {
      var mine = direction === "in" ? c.dst : c.src, other = direction === "in" ? c.src : c.dst;
      if (!covers(mine, id)) return;
      var peers = [other];
      if (G.originsComplete && groups[other]) {  // one row per member, with the pair's rules
        var g = groups[other];
        peers = (g.workloads || []).slice();
        (g.namespaces || []).forEach(function (n) { peers = peers.concat(byNamespace[n] || []); });
        if ((g.ipBlocks || []).length || (g.fqdns || []).length) peers.push(other);  // its outside part, as a group
      }
      var notes = [];
      if (c.via) notes.push("via " + c.via.map(function (v) { return v.kind + " " + (v.namespace ? v.namespace + "/" : "") + (v.name || ""); }).join(", "));
      if (c.services) {
        notes.push("Service " + c.services.map(function (v) { return v.name + ":" + v.port + "/" + v.protocol; })
          .filter(function (x, i, all) { return all.indexOf(x) === i; }).join(", "));
      }
      if (c.l7) notes.push(httpRules(c.l7));
      if (c.mesh) notes.push(meshNote(c.mesh));
      peers.forEach(function (p) {
        var r = row(p, p);
        if (r.ports.indexOf(c.ports) < 0) r.ports.push(c.ports);
        notes.forEach(function (n) { if (r.notes.indexOf(n) < 0) r.notes.push(n); });
        if (G.originsComplete && !groups[p]) {
          var pair = direction === "in" ? originIndex[p + "\u0000" + id] : originIndex[id + "\u0000" + p];
          if (pair) r.rules = pair.rules;
        }
      });
    });
    if (!order.length) return el("p", { cls: "muted", text: "none" });
    return el("ul", { cls: "reach" }, order.map(function (key) {
      var r = rows[key];
      return el("li", {}, [peerLink(r.peer), " ", el("span", { cls: "ports", text: r.ports.join(", ") }),
        r.notes.length ? el("div", { cls: "muted", text: r.notes.join("; ") }) : null,
        r.rules ? rulesList(r.rules) : null]);
    }));
  }

  // The Istio layer on a connection: mutual TLS, the requests its AuthorizationPolicies allow, egress gateways
  function meshNote(m) {
    var parts = [];
    if (m.mtls !== undefined) parts.push(m.mtls ? "mesh: mutual TLS" : "mesh: plaintext");
    if (m.requires) parts.push("requires " + m.requires.join("; "));
    if (m.egressVia) parts.push("through egress gateway " + m.egressVia.join(", "));
    return parts.join(", ");
  }

  // Cilium's HTTP rules on a connection: "HTTP rules (egress): GET ^/v1/catalog, POST ^/v1/order"
  function httpRules(l7) {
    return l7.map(function (f) {
      var requests = (f.http || []).map(function (h) {
        return [h.method, h.host, h.path].filter(function (x) { return x; }).join(" ") || "any request";
      });
      return "HTTP rules (" + f.direction + "): " + (requests.join(", ") || "none");
    }).join("; ");
  }

  function showWorkload(id) {
    var w = workloads[id];
    clear(panel);
    panel.appendChild(el("h3", { text: id }));
    panel.appendChild(el("div", { cls: "muted" }, [w.kind + (w.assumed ? " (assumed: not in the input) " : " "), where(w.where)]));
    var labels = el("div", { cls: "labels" });
    Object.keys(w.labels || {}).sort().forEach(function (k) { labels.appendChild(el("span", { text: k + "=" + w.labels[k] })); });
    panel.appendChild(labels);
    panel.appendChild(el("h3", { text: "Isolation" }));
    panel.appendChild(isolation(w, "ingress"));
    panel.appendChild(isolation(w, "egress"));
    (w.clusterPolicies || []).length && panel.appendChild(el("div", { cls: "iso" }, ["cluster policies: " +
      w.clusterPolicies.map(function (p) { return p.policy + " " + p.where; }).join(", ")]));
    var broken = G.broken.filter(function (b) { return b.src === id || b.dst === id; });
    if (broken.length) {
      panel.appendChild(el("h3", { cls: "broken-text", text: "Broken paths" }));
      panel.appendChild(el("ul", { cls: "reach" }, broken.map(function (b) {
        return el("li", { cls: "broken-text" }, [b.name + ": expected " + b.expect + ", " + b.verdict + " by " +
          (b.rule || "?") + " ", where(b.where)]);
      })));
    }
    panel.appendChild(el("h3", { text: "Who can reach it" }));
    panel.appendChild(reachList(id, "in"));
    panel.appendChild(el("h3", { text: "Whom it can reach" }));
    panel.appendChild(reachList(id, "out"));
    if (!G.originsComplete) {
      panel.appendChild(el("p", { cls: "muted", text: "The deciding rule of each pair is not in this report (too many " +
        "pairs): kubeward explain --from A --to B gives it." }));
    }
    select("wl:" + id);
  }

  function showNamespace(ns) {
    clear(panel);
    var n = namespaces[ns];
    panel.appendChild(el("h3", { text: "namespace " + ns }));
    if (n.defined === false) panel.appendChild(el("p", { cls: "muted", text: "not defined in the input" }));
    var labels = el("div", { cls: "labels" });
    Object.keys(n.labels || {}).sort().forEach(function (k) { labels.appendChild(el("span", { text: k + "=" + n.labels[k] })); });
    panel.appendChild(labels);
    panel.appendChild(el("ul", { cls: "reach" }, (byNamespace[ns] || []).map(function (id) {
      return el("li", {}, [peerLink(id)]);
    })));
  }

  function showWorld() {
    clear(panel);
    panel.appendChild(el("h3", { text: "world" }));
    panel.appendChild(el("p", { cls: "muted", text: "Everything outside the cluster's pods: entry points from " +
      "outside, and the address ranges and DNS names the policies name:" }));
    panel.appendChild(el("ul", { cls: "reach" }, G.outside.map(function (p) {
      return el("li", { text: p.id + (p.cidrs ? " (" + p.cidrs.join(", ") + ")" : "") + " — " + p.type });
    })));
  }

  function showEdge(edge) {
    clear(panel);
    panel.appendChild(el("h3", { text: edge.source().id().replace(/^(wl|ns):/, "") + " → " +
      edge.target().id().replace(/^(wl|ns):/, "") }));
    panel.appendChild(el("ul", { cls: "reach" }, edge.data("labels").map(function (l) {
      return el("li", { cls: edge.hasClass("broken") ? "broken-text" : "", text: l });
    })));
  }

  function select(nodeId) {
    if (!cy) return;
    cy.$(":selected").unselect();
    var n = cy.getElementById(nodeId);
    if (n.length) { n.select(); }
  }

  function focusWorkload(id) {
    var w = workloads[id];
    if (!expanded[w.namespace]) { expanded[w.namespace] = true; lastOpened = w.namespace; draw(); }
    var n = cy.getElementById("wl:" + id);
    if (n.length) cy.animate({ center: { eles: n }, zoom: Math.max(cy.zoom(), 1) }, { duration: 200 });
    showWorkload(id);
    document.getElementById("section-graph").scrollIntoView({ block: "start" });
  }

  // ---- search ------------------------------------------------------------------------------------
  var search = document.getElementById("search"), results = document.getElementById("search-results");

  function matches(query) {
    var q = query.trim().toLowerCase();
    if (!q) return [];
    var out = [];
    var eq = q.indexOf("=");
    G.workloads.forEach(function (w) {
      if (out.length >= 50) return;
      var why = "";
      if (w.id.toLowerCase().indexOf(q) >= 0) why = "";
      else if (w.namespace.toLowerCase() === q) why = "namespace";
      else {
        Object.keys(w.labels || {}).some(function (k) {
          var kv = (k + "=" + w.labels[k]).toLowerCase();
          if ((eq >= 0 && kv.indexOf(q) === 0) || (eq < 0 && k.toLowerCase().indexOf(q) >= 0)) {
            why = k + "=" + w.labels[k];
            return true;
          }
          return false;
        });
        if (!why) return;
      }
      out.push({ id: w.id, why: why });
    });
    return out;
  }

  function showResults() {
    clear(results);
    var found = matches(search.value);
    if (cy) cy.nodes().removeClass("match");
    found.forEach(function (m) {
      results.appendChild(el("li", { role: "option", "data-workload": m.id, onclick: function () {
        results.classList.remove("open");
        focusWorkload(m.id);
      } }, [m.id, m.why ? " " : null, m.why ? el("span", { cls: "why", text: m.why }) : null]));
      if (cy) cy.getElementById(visible("wl:" + m.id)).addClass("match");
    });
    if (!found.length && search.value.trim()) results.appendChild(el("li", { cls: "muted", text: "no workload matches" }));
    results.classList.toggle("open", search.value.trim() !== "");
  }
  search.addEventListener("input", showResults);
  search.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && results.firstChild && results.firstChild.getAttribute("data-workload")) {
      results.firstChild.click();
    } else if (evt.key === "Escape") { results.classList.remove("open"); }
  });

  // ---- sections: one renderer per section id; an unknown id gets a generic table -----------------
  function table(headers, rows, rowClass) {
    var tbody = el("tbody");
    var wrap = el("div", {}, [el("table", {}, [el("thead", {}, [el("tr", {}, headers.map(function (h) {
      return el("th", { text: h });
    }))]), tbody])]);
    function add(from, to) {
      rows.slice(from, to).forEach(function (r, i) {
        tbody.appendChild(el("tr", { cls: rowClass ? rowClass(from + i) : "" }, r.map(function (c) {
          return c instanceof Node ? el("td", {}, [c]) : el("td", { text: c === null || c === undefined ? "" : String(c) });
        })));
      });
    }
    add(0, ROWS);
    if (rows.length > ROWS) {
      var more = el("button", { cls: "more", type: "button", text: "show all " + rows.length + " rows",
        onclick: function () { add(ROWS, rows.length); more.remove(); } });
      wrap.appendChild(more);
    }
    return wrap;
  }

  function hopList(hops) {
    return el("ol", { cls: "hops" }, hops.map(function (h) {
      var at = h.file ? h.file + ":" + h.line : "";
      return el("li", { cls: h.effect }, [h.layer + " " + h.direction + " " + h.subject + ": " + h.message + " ",
        where(at)]);
    }));
  }

  var RENDERERS = {
    entries: function (items) {
      if (!items.length) return el("p", { cls: "muted", text: "No entry point in the input." });
      return table(["entry point", "request", "verdict", "reached", "hops"], items.map(function (e) {
        var v = e.via;
        return [v.kind + " " + (v.namespace ? v.namespace + "/" : "") + (v.name || "") +
                  (v.host ? " host " + v.host : "") + (v.path ? " path " + v.path : "") + (v.service ? " → " + v.service : ""),
                e.request, el("span", { cls: e.verdict === "deny" ? "bad" : "", text: e.verdict }),
                e.reached.map(function (r) { return r.workload + " " + r.protocol + "/" + r.port; }).join(", "),
                hopList(e.hops)];
      }), function (i) { return items[i].verdict === "deny" ? "broken" : ""; });
    },
    broken: function (items) {
      if (!items.length) return el("p", { cls: "muted", text: "No broken path: every TestSuite case passes and every entry point works." });
      return table(["path", "from → to", "expected", "got", "broken by", "why"], items.map(function (b) {
        return [b.what === "test" ? "test: " + b.name : "entry point: " + b.name,
                b.src + " → " + (b.dst || b.service || "?") + (b.port ? ":" + b.port : ""), b.expect,
                el("span", { cls: "bad", text: b.verdict }),
                el("span", {}, [(b.rule || "") + " ", where(b.where)]), b.message];
      }), function () { return "broken"; });
    },
    findings: function (items) {
      if (!items.length) return el("p", { cls: "muted", text: "No finding." });
      return table(["severity", "code", "finding", "where", "fix"], items.map(function (f) {
        return [f.severity, f.code, f.message, where(f.file ? f.file + ":" + f.line : ""),
                el("span", { cls: "fix", text: f.fix || "" })];
      }), null);
    },
    tests: function (t) {
      var box = el("div", {}, [el("p", { text: t.passed + " passed, " + t.failed + " failed (" + t.options.join(", ") + ")" })]);
      t.problems.forEach(function (p) { box.appendChild(el("p", { cls: "bad", text: p })); });
      box.appendChild(table(["case", "expect", "verdict", "decided by", "message"], t.cases.map(function (c) {
        var d = c.decidedBy;
        return [el("span", {}, [c.name + " ", where(c.file + ":" + c.line)]), c.expect,
                el("span", { cls: c.passed ? "" : "bad", text: (c.passed ? "✓ " : "✗ ") + c.verdict }),
                d ? el("span", {}, [d.kind + " " + (d.namespace ? d.namespace + "/" : "") + d.name + " ", where(d.file + ":" + d.line)]) : "",
                c.message];
      }), function (i) { return t.cases[i].passed ? "" : "failed"; }));
      return box;
    },
    labels: function (r) {
      // kubeward labels: each label a selector reads, who depends on it, and what removing it changes
      if (!r.labels.length) return el("p", { cls: "muted", text: "No policy or Service selects on a label." });
      var effects = {};
      r.simulations.forEach(function (s) {
        var c = s.changes[0];
        if (s.changes.length !== 1 || c.target !== "workload") return;
        var pairs = s.diff ? s.diff.pairs : [];
        effects[c.name + " " + c.key] = !s.changed ? "no change in what is allowed" : pairs.map(function (p) {
          var opened = Object.keys(p.opened || {}).length, closed = Object.keys(p.closed || {}).length;
          return p.src + " → " + p.dst + (closed ? " closed" : "") + (opened ? " opened" : "");
        }).join("; ");
      });
      var box = el("div", {});
      box.appendChild(table(["label", "carried by", "used by (role, where)", "removing it"], r.labels.map(function (l) {
        var name = (l.target === "namespace" ? "namespace " : "") + l.key + (l.value === null ? " (exists)" : "=" + l.value);
        var uses = el("ul", {}, l.uses.map(function (u) {
          return el("li", {}, [u.kind + " " + (u.namespace ? u.namespace + "/" : "") + u.name + " " + u.where +
                               " (" + u.role + ", " + u.operator + ") ", where(u.file + ":" + u.line)]);
        }));
        var removing = l.carriers.map(function (w) {
          var e = effects[w + " " + l.key];
          return e === undefined ? null : w + ": " + (e || "no change in what is allowed");
        }).filter(function (x) { return x !== null; }).join("\n");
        var carriers = l.carriers.concat((l.standIns || []).map(function (s) { return s + " (stand-in)"; }));
        return [name, l.carriedByNone ? el("span", { cls: "bad", text: "nothing carries it" }) : carriers.join(", "),
                uses, removing];
      }), function (i) { return r.labels[i].carriedByNone ? "broken" : ""; }));
      if (r.simulationsSkipped)
        box.appendChild(el("p", { cls: "muted", text: r.simulationsSkipped +
          " removals not simulated: kubeward labels --relabel NS/WORKLOAD key- runs one." }));
      return box;
    },
    flows: function (f) {
      var s = f.summary;
      var box = el("div", {}, [el("p", { text: s.records + " records, " + s.distinct + " distinct flows, " + s.agree +
        " agree, " + s.disagree + " disagree with the configuration" })]);
      box.appendChild(el("h3", { text: "Observed drops by reason" }));
      box.appendChild(table(["namespace", "drop reason", "decided by", "distinct", "flows"], f.drops.map(function (d) {
        return [d.namespace, d.dropReason, d.decidedBy, d.distinct, d.flows];
      })));
      box.appendChild(el("h3", { text: "Disagreements" }));
      box.appendChild(table(["source", "destination", "port", "observed", "kubeward", "possible causes"],
        f.disagreements.map(function (r) {
          return [r.source.observed + " (" + (r.source.peer || "?") + ")", r.destination.observed + " (" + (r.destination.peer || "?") + ")",
                  r.protocol + "/" + r.port, r.observed, r.kubeward, (r.causes || []).join("; ")];
        }), function () { return "broken"; }));
      return box;
    },
    policies: function (items) {
      return table(["policy", "source"], items.map(function (p) { return [p.id, where(p.where)]; }));
    },
    diagnostics: function (items) {
      if (!items.length) return el("p", { cls: "muted", text: "None." });
      return table(["severity", "code", "message", "where"], items.map(function (d) {
        return [d.severity, d.code, d.message, where(d.file ? d.file + ":" + d.line : "")];
      }), null);
    }
    // labels: the labels analysis (analyses/labels.py, to_json()) is added by kubeward as a section
    // with id "labels"; until a renderer is registered here it is shown by genericSection.
  };

  function genericSection(value) {
    if (Array.isArray(value) && value.length && typeof value[0] === "object") {
      var keys = Object.keys(value[0]);
      return table(keys, value.map(function (row) {
        return keys.map(function (k) { var v = row[k]; return typeof v === "object" ? JSON.stringify(v) : v; });
      }));
    }
    return el("pre", { text: JSON.stringify(value, null, 2) });
  }

  function counts(section) {
    var d = section.data;
    if (section.id === "broken" || section.id === "findings") return { n: d.length, bad: d.length > 0 };
    if (section.id === "tests") return { n: d.failed + " failed", bad: d.failed > 0 };
    if (section.id === "flows") return { n: d.summary.disagree + " disagree", bad: d.summary.disagree > 0 };
    if (Array.isArray(d)) return { n: d.length, bad: false };
    return null;
  }

  function renderSections() {
    var nav = document.getElementById("nav"), box = document.getElementById("sections");
    DATA.sections.forEach(function (s) {
      var c = counts(s);
      nav.appendChild(el("a", { href: "#section-" + s.id }, [s.title,
        c ? el("span", { cls: "count" + (c.bad ? " bad" : ""), text: " (" + c.n + ")" }) : null]));
      if (s.id === "graph") return;  // drawn above
      var render = RENDERERS[s.id] || genericSection;
      box.appendChild(el("section", { id: "section-" + s.id, cls: "report-section" },
        [el("h2", { text: s.title }), render(s.data)]));
    });
    var focus = DATA.graph.focus ? " — namespace(s) " + DATA.graph.focus.join(", ") + " and their direct peers" : "";
    document.getElementById("meta").textContent = DATA.inputs.join(", ") + focus + " — " +
      DATA.options.join(", ") + " — kubeward " + DATA.kubeward;
  }

  // ---- start -------------------------------------------------------------------------------------
  document.getElementById("expand-all").addEventListener("click", function () {
    Object.keys(expanded).forEach(function (n) { expanded[n] = true; }); draw();
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    Object.keys(expanded).forEach(function (n) { expanded[n] = false; }); draw();
  });
  document.getElementById("fit").addEventListener("click", function () { if (cy) cy.fit(undefined, 24); });
  document.getElementById("expand-all").disabled = G.collapsed;
  // printing: the canvas is replaced by a picture of the whole graph
  window.addEventListener("beforeprint", function () {
    if (cy) document.getElementById("cy-print").src = cy.png({ full: true, scale: 2, bg: "#ffffff" });
  });
  renderSections();
  draw();
  // for the browser tests (tests/test_report_browser.py) and the curious: the graph, read-only use
  window.kubewardReport = { graph: function () { return cy; }, data: DATA };
})();

// Live SPP topology: the controller pushes {svg, ports, nodes} (or {error}) over a
// websocket whenever the picture or the rates change; we swap the drawing in place.
"use strict";

const graph = document.getElementById("graph");
const state = document.getElementById("state");
const rates = document.querySelector("#rates tbody");
let updates = 0;

function showSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") {
    throw new Error("not an SVG document");
  }
  graph.replaceChildren(document.importNode(svg, true));
}

function showRates(ports) {
  const rows = ports.map((p) => {
    const tr = document.createElement("tr");
    for (const text of [p.port, p.detail, p.rx, p.tx]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  });
  rates.replaceChildren(...rows);
}

function setState(text, isError) {
  state.textContent = text;
  state.classList.toggle("error", isError);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/topo/events");
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.error) {
      setState(msg.error, true);
      return;
    }
    showSvg(msg.svg);
    showRates(msg.ports);
    updates += 1;
    document.body.dataset.updates = String(updates);
    setState("updated " + new Date().toLocaleTimeString(), false);
  };
  ws.onclose = () => {
    setState("disconnected from spp ctl, retrying", true);
    setTimeout(connect, 2000);
  };
}

connect();

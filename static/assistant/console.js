// The assistant's console: asks and confirms through /assistant/ask (the session keeps the history), draws a grow
// plan as a table, and shows the narration feed of /ws/assistant/ newest first.
(function () {
  "use strict";
  const form = document.getElementById("assistant-form");
  const input = document.getElementById("assistant-text");
  const history = document.getElementById("assistant-history");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const usd = (text) => (text === null || text === undefined ? "—" : money.format(Number(text)));
  const pct = (x) => (x === null || x === undefined ? "—" : (x > 0 ? "+" : "") + (x * 100).toFixed(2) + " %");

  function element(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function planTable(plan) {
    const wrap = element("div", { class: "plan", id: "grow-plan" });
    const table = element("table");
    table.appendChild(element("caption", {}, `Campaign ${plan.campaign}: ${usd(plan.bankroll)} over ${plan.days} days from ${plan.start}` +
      (plan.note ? ` — ${plan.note}` : "")));
    const head = element("tr");
    ["Day", "Date", "Start", "Expected return", "End", "Leverage", "At risk", ""].forEach((h, i) =>
      head.appendChild(element("th", { class: i > 1 && i < 7 ? "num" : "" }, h)));
    table.appendChild(element("thead")).appendChild(head);
    const body = table.appendChild(element("tbody"));
    plan.rows.forEach((r) => {
      const tr = element("tr", { class: r.is_review ? "review" : "" });
      const range = (a, b) => (a === b ? usd(a) : `${usd(a)} – ${usd(b)}`);
      [r.day, r.date, range(r.start_low, r.start_high),
       r.return_low === null ? "no history" : `${pct(r.return_low)} to ${pct(r.return_high)}`,
       r.end_low === null ? "—" : range(r.end_low, r.end_high), `${r.leverage_tier}×`, usd(r.at_risk),
       r.is_review ? "Day-3 review" : ""].forEach((cell, i) =>
        tr.appendChild(element("td", { class: i > 1 && i < 7 ? "num" : "" }, String(cell))));
      body.appendChild(tr);
    });
    wrap.appendChild(table);
    return wrap;
  }

  function show(question, said, refused) {
    const welcome = document.getElementById("assistant-welcome");
    if (welcome) welcome.remove();
    const turn = element("li", { class: "turn" });
    turn.appendChild(element("p", { class: "question" }, question));
    const answer = element("div", { class: "answer" + (refused ? " refused" : ""), "data-intent": said.intent || "" });
    answer.textContent = said.answer || said.detail || "";
    if (said.data && said.data.plan) answer.appendChild(planTable(said.data.plan));
    if (said.needs_confirmation && said.confirm) {
      const actions = element("div", { class: "actions" });
      const confirm = element("button", { type: "button", class: "confirm" }, "Confirm");
      confirm.addEventListener("click", () => {
        confirm.disabled = true;
        send({ token: said.confirm }, "Confirm");
      });
      actions.appendChild(confirm);
      answer.appendChild(actions);
    }
    turn.appendChild(answer);
    history.appendChild(turn);
    history.scrollTop = history.scrollHeight;
  }

  async function send(body, question) {
    try {
      const response = await fetch(form.dataset.url || "/assistant/ask", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body),
      });
      const said = await response.json();
      show(question, said, !response.ok);
    } catch (err) {
      show(question, { answer: "The assistant could not be reached; try again." }, true);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text);
  });
  document.querySelectorAll(".quick button").forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.fill) { input.value = button.dataset.fill; input.focus(); return; }
    send({ text: button.dataset.ask }, button.dataset.ask);
  }));

  // The live feed: newest first.
  const feed = document.getElementById("assistant-feed");
  const empty = document.getElementById("assistant-feed-empty");
  function connect() {
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/assistant/");
    socket.addEventListener("message", (event) => {
      const item = JSON.parse(event.data);
      const li = element("li", { "data-event": item.event || "" });
      li.appendChild(element("time", { datetime: item.at || "" }, item.at ? new Date(item.at).toLocaleTimeString() : ""));
      li.appendChild(document.createTextNode(item.text || ""));
      feed.prepend(li);
      if (empty) empty.hidden = true;
    });
    socket.addEventListener("close", () => setTimeout(connect, 3000));
  }
  connect();
})();

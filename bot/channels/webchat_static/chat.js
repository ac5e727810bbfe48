/* Social Rounds — local web chat. Vanilla JS, no dependencies, same-origin requests only. */
"use strict";

(() => {
  const POLL_MS = 2000;
  const CLOCK_EVERY_POLLS = 5;
  const STORAGE_KEY = "social-rounds.persona";
  const ADMIN_GROUP = "Marketing & admins";
  const ADVANCE_WORDS = { "1h": "1 hour", "1d": "1 day", "1w": "1 week" };
  /** What a proactive message is, shown on its badge; anything not listed is a reminder. */
  const INBOX_BADGES = { digest: "Weekly digest" };
  const CLOCK_NOTE = "Move time forward to see reminders arrive.";

  const $ = (selector) => document.querySelector(selector);
  const ui = {
    persona: $("#persona"),
    personaDetail: $("#persona-detail"),
    messages: $("#messages"),
    form: $("#composer"),
    input: $("#input"),
    send: $("#send"),
    clockNow: $("#clock-now"),
    clockNote: $("#clock-note"),
    advance: Array.from(document.querySelectorAll("[data-advance]")),
  };

  const state = {
    personas: [],
    persona: "",
    generation: 0,
    lastSeq: new Map(),
    queue: Promise.resolve(),
    pending: 0,
    polling: false,
    pollAgain: false,
    pollFailing: false,
    pollCount: 0,
    zone: "UTC",
    clockControl: true,
    nextId: 0,
  };

  // ---- Markdown subset: **bold**, _italic_, [label](url), paragraphs. Escape first. ----

  function escapeHtml(raw) {
    return String(raw)
      .replace(/\u0000/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  const LINK = /\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)/g;
  const BOLD = /\*\*(?=\S)([\s\S]*?\S)\*\*/g;
  const ITALIC = /(^|[^A-Za-z0-9_])_(?=\S)([^_]*?\S)_(?![A-Za-z0-9_])/g;
  const LINK_SLOT = /\u0000(\d+)\u0000/g;

  function emphasis(escaped) {
    return escaped.replace(BOLD, "<strong>$1</strong>").replace(ITALIC, "$1<em>$2</em>");
  }

  /** Inline Markdown of raw text to safe HTML: the text is escaped before any markup is added. */
  function inlineHtml(raw) {
    const links = [];
    let html = escapeHtml(raw).replace(LINK, (_match, label, url) => {
      links.push({ label, url });
      return `\u0000${links.length - 1}\u0000`;
    });
    const codes = [];
    html = html.replace(/`([^`\n]+)`/g, (_match, code) => {
      codes.push(code);
      return `\u0001${codes.length - 1}\u0001`;
    });
    html = emphasis(html).replace(/\u0001(\d+)\u0001/g, (_match, index) => `<code>${codes[Number(index)]}</code>`);
    return html.replace(LINK_SLOT, (_match, index) => {
      const link = links[Number(index)];
      return `<a href="${link.url}" target="_blank" rel="noopener noreferrer">${emphasis(link.label)}</a>`;
    });
  }

  function markdownInto(node, raw) {
    const paragraphs = String(raw)
      .replace(/\r\n?/g, "\n")
      .split(/\n[ \t]*\n/)
      .map((p) => p.trim())
      .filter(Boolean);
    // A paragraph whose every line starts with "- " is a list; neighbouring lists merge.
    const blocks = [];
    for (const p of paragraphs) {
      const lines = p.split("\n");
      if (lines.every((line) => /^[-•]\s+/.test(line))) {
        const items = lines.map((line) => `<li>${inlineHtml(line.replace(/^[-•]\s+/, ""))}</li>`).join("");
        const last = blocks[blocks.length - 1];
        if (last && last.list) last.html += items;
        else blocks.push({ list: true, html: items });
      } else {
        blocks.push({ list: false, html: inlineHtml(p).replace(/\n/g, "<br>") });
      }
    }
    node.innerHTML = blocks.map((b) => (b.list ? `<ul>${b.html}</ul>` : `<p>${b.html}</p>`)).join("");
    return node;
  }

  function inlineInto(node, raw) {
    node.innerHTML = inlineHtml(raw);
    return node;
  }

  // ---- DOM helpers ----

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function uid(prefix) {
    state.nextId += 1;
    return `${prefix}-${state.nextId}`;
  }

  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function append(node) {
    ui.messages.append(node);
    scrollToEnd();
    return node;
  }

  function systemLine(text, level = "info") {
    return append(
      el("p", { class: `msg system ${level}`, "data-level": level, text }),
    );
  }

  function userLine(text) {
    return append(
      el(
        "article",
        { class: "msg user", "aria-label": "You said" },
        el("header", { class: "msg-head" }, el("span", { class: "sender", text: "You" })),
        el("div", { class: "msg-text", text }),
      ),
    );
  }

  // ---- Rendering one Reply ----

  function renderFields(fields) {
    const list = el("dl", { class: "msg-fields" });
    for (const field of fields) {
      list.append(
        el(
          "div",
          { class: "msg-field" },
          el("dt", { text: field.label }),
          inlineInto(el("dd"), field.value),
        ),
      );
    }
    return list;
  }

  function renderProgress(progress) {
    const score = Math.max(0, Math.min(100, Math.round(Number(progress.score) || 0)));
    const labelId = uid("progress-label");
    const fill = el("div", { class: "progress-fill" });
    fill.style.width = `${score}%`;
    return el(
      "div",
      { class: "progress", "data-score": score },
      el(
        "div",
        { class: "progress-head" },
        el("span", { id: labelId, class: "progress-label", text: "Readiness" }),
        el("span", { class: "progress-score", text: `${score} / 100` }),
      ),
      el(
        "div",
        {
          class: "progress-track",
          role: "progressbar",
          "aria-valuemin": 0,
          "aria-valuemax": 100,
          "aria-valuenow": score,
          "aria-labelledby": labelId,
        },
        fill,
      ),
      progress.stage
        ? el("p", { class: "progress-stage" }, "Stage: ", el("strong", { text: progress.stage }))
        : null,
      progress.next_step
        ? el(
            "p",
            { class: "progress-next" },
            el("span", { class: "progress-next-label", text: "Next step: " }),
            inlineInto(el("span"), progress.next_step),
          )
        : null,
    );
  }

  function renderChecklist(checklist, article, messageId) {
    const items = checklist.items || [];
    const list = el("ul", { class: "checklist-items" });
    for (const item of items) {
      const boxId = uid("check");
      const detailId = item.detail ? uid("check-detail") : null;
      const box = el("input", {
        type: "checkbox",
        id: boxId,
        "data-action": item.action,
        "aria-describedby": detailId,
      });
      box.checked = Boolean(item.done);
      box.addEventListener("change", () =>
        pressAction(item.action, messageId, article, box, () => {
          box.checked = Boolean(item.done);
        }),
      );
      list.append(
        el(
          "li",
          { class: "checklist-item", "data-item-id": item.id, "data-done": item.done ? "true" : "false" },
          box,
          el("label", { for: boxId, text: item.label }),
          item.due ? el("span", { class: "checklist-due", text: item.due }) : null,
          detailId ? inlineInto(el("p", { class: "checklist-detail", id: detailId }), item.detail) : null,
        ),
      );
    }
    const done = items.filter((item) => item.done).length;
    return el(
      "fieldset",
      { class: "checklist" },
      el(
        "legend",
        {},
        el("span", { class: "checklist-title", text: checklist.title }),
        el("span", { class: "checklist-count", text: ` ${done} of ${items.length} done` }),
      ),
      list,
    );
  }

  function renderTable(table, caption) {
    const head = el("tr");
    for (const header of table.headers || []) head.append(el("th", { scope: "col", text: header }));
    const body = el("tbody");
    for (const row of table.rows || []) {
      const tr = el("tr");
      for (const cell of row) tr.append(inlineInto(el("td"), cell));
      body.append(tr);
    }
    return el(
      "div",
      { class: "table-wrap", role: "region", tabindex: 0, "aria-label": caption || "Table" },
      el("table", {}, el("thead", {}, head), body),
    );
  }

  function renderButtons(buttons, article, messageId) {
    const group = el("div", { class: "msg-actions", role: "group", "aria-label": "Actions" });
    for (const button of buttons) {
      const style = ["primary", "danger"].includes(button.style) ? button.style : "default";
      const node = el("button", {
        type: "button",
        class: `btn btn-${style}`,
        "data-action": button.action,
        text: button.label,
      });
      node.addEventListener("click", () => pressAction(button.action, messageId, article, node));
      group.append(node);
    }
    return group;
  }

  const INPUT_TYPES = { text: "text", date: "date", time: "time" };

  /** One field's input: a textarea, a select (its first option left empty) or an input. */
  function formInput(field, inputId) {
    if (field.kind === "multiline") return el("textarea", { id: inputId, name: field.id, rows: 3 });
    if (field.kind === "select") {
      const select = el("select", { id: inputId, name: field.id }, el("option", { value: "", text: field.placeholder || "" }));
      for (const option of field.options || []) select.append(el("option", { value: option.value, text: option.label }));
      return select;
    }
    const input = el("input", { id: inputId, name: field.id, type: INPUT_TYPES[field.kind] || "text" });
    if (field.placeholder) input.placeholder = field.placeholder;
    return input;
  }

  /** A form: its inputs (with a hint, and what is wrong with the value under its input), and a submit
   *  button that sends the form's action with every value. */
  function renderForm(form, article, messageId) {
    const node = el("form", { class: "msg-form", "data-action": form.submit_action });
    const inputs = [];
    for (const field of form.fields || []) {
      const inputId = uid("field");
      const input = formInput(field, inputId);
      input.value = field.value || "";
      input.required = Boolean(field.required);
      inputs.push([field.id, input]);
      const hint = field.hint ? el("p", { id: `${inputId}-hint`, class: "form-hint", text: field.hint }) : null;
      const error = field.error
        ? el("p", { id: `${inputId}-error`, class: "form-error", role: "alert", text: field.error })
        : null;
      const described = [hint, error].filter(Boolean).map((n) => n.id).join(" ");
      if (described) input.setAttribute("aria-describedby", described);
      if (error) input.setAttribute("aria-invalid", "true");
      node.append(
        el(
          "div",
          { class: field.error ? "form-field has-error" : "form-field", "data-field": field.id },
          el("label", { for: inputId, text: field.required ? `${field.label} (required)` : field.label }),
          input,
          hint,
          error,
        ),
      );
    }
    const submit = el("button", {
      type: "submit",
      class: "btn btn-primary",
      "data-action": form.submit_action,
      text: form.submit_label || "Submit",
    });
    node.append(el("div", { class: "msg-actions" }, submit));
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const [id, input] of inputs) values[id] = input.value.trim();
      pressAction(form.submit_action, messageId, article, submit, null, values);
    });
    return node;
  }

  /** One bot message: <article class="msg bot" data-kind="…" data-message-id="…">. */
  function renderReply(reply, seq) {
    const fromInbox = seq !== undefined;
    const article = el("article", {
      class: fromInbox ? "msg bot reminder" : "msg bot",
      "data-kind": reply.kind,
      "data-message-id": reply.message_id,
      "data-origin": fromInbox ? "inbox" : "chat",
      "data-seq": fromInbox ? seq : null,
      tabindex: -1,
    });
    article.append(
      el(
        "header",
        { class: "msg-head" },
        el("span", { class: "sender", text: "Social Rounds" }),
        fromInbox ? el("span", { class: "badge badge-reminder", text: INBOX_BADGES[reply.kind] || "Reminder" }) : null,
      ),
    );
    if (reply.title) article.append(el("h3", { class: "msg-title", text: reply.title }));
    const body = reply.body || reply.text;
    if (body) article.append(markdownInto(el("div", { class: "msg-body" }), body));
    if (reply.fields && reply.fields.length) article.append(renderFields(reply.fields));
    if (reply.progress) article.append(renderProgress(reply.progress));
    if (reply.checklist) article.append(renderChecklist(reply.checklist, article, reply.message_id));
    if (reply.table) article.append(renderTable(reply.table, reply.title));
    if (reply.image) article.append(el("img", { class: "msg-image", src: reply.image.src, alt: reply.image.alt }));
    if (reply.form) article.append(renderForm(reply.form, article, reply.message_id));
    if (reply.buttons && reply.buttons.length) {
      article.append(renderButtons(reply.buttons, article, reply.message_id));
    }
    if (reply.footer) article.append(inlineInto(el("p", { class: "msg-footer" }), reply.footer));
    return article;
  }

  /** Show replies; the first replace_original reply to a button press takes the pressed message's place. */
  function showReplies(replies, origin, focusIndex) {
    let replaced = false;
    for (const reply of replies || []) {
      const node = renderReply(reply);
      if (origin && !replaced && reply.replace_original && origin.isConnected) {
        const focusWasThere =
          document.activeElement === document.body || origin.contains(document.activeElement);
        origin.replaceWith(node);
        replaced = true;
        if (focusWasThere) {
          const controls = node.querySelectorAll("button, input, textarea");
          (controls[focusIndex] || node).focus();
        }
      } else {
        append(node);
      }
    }
    return replaced;
  }

  // ---- Talking to the server ----

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (_error) {
      throw new Error("Cannot reach the Social Rounds server. Is `rounds demo` still running?");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    if (!response.ok) {
      const reason = data && data.error ? data.error : `${response.status} ${response.statusText}`;
      throw new Error(`The server refused that: ${reason}`);
    }
    return data || {};
  }

  function setBusy(delta) {
    state.pending += delta;
    const busy = state.pending > 0;
    ui.messages.setAttribute("aria-busy", busy ? "true" : "false");
    document.body.classList.toggle("is-busy", busy);
  }

  /** Run requests one after another so replies appear in the order things were sent. */
  function enqueue(task) {
    const generation = state.generation;
    setBusy(1);
    state.queue = state.queue
      .then(() => (generation === state.generation ? task(generation) : undefined))
      .catch((error) => {
        if (generation === state.generation) systemLine(error.message, "error");
      })
      .finally(() => setBusy(-1));
  }

  function sendText(text, echo = true) {
    const persona = state.persona;
    if (!persona) return;
    if (echo) userLine(text);
    enqueue(async (generation) => {
      const data = await api("POST", "/chat/api/message", { persona, text });
      if (generation === state.generation) showReplies(data.replies, null, -1);
    });
  }

  function pressAction(action, messageId, article, control, revert, values) {
    const persona = state.persona;
    if (!persona) return;
    const controls = Array.from(article.querySelectorAll("button, input, textarea"));
    const focusIndex = controls.indexOf(control);
    for (const node of controls) node.disabled = true;
    article.setAttribute("aria-busy", "true");
    if (control.tagName === "BUTTON") control.classList.add("is-pressed");
    enqueue(async (generation) => {
      let replaced = false;
      try {
        const data = await api("POST", "/chat/api/message", {
          persona,
          action,
          message_id: messageId,
          values,
        });
        if (generation === state.generation) replaced = showReplies(data.replies, article, focusIndex);
      } finally {
        if (!replaced) {
          article.removeAttribute("aria-busy");
          control.classList.remove("is-pressed");
          for (const node of controls) node.disabled = false;
          if (revert) revert();
        }
      }
    });
  }

  async function pollInbox() {
    const persona = state.persona;
    if (!persona) return;
    if (state.polling) {
      state.pollAgain = true;
      return;
    }
    state.polling = true;
    const generation = state.generation;
    try {
      const after = state.lastSeq.get(persona) || 0;
      const query = `persona=${encodeURIComponent(persona)}&after=${after}`;
      const data = await api("GET", `/chat/api/inbox?${query}`);
      state.pollFailing = false;
      for (const message of data.messages || []) {
        if (message.seq <= (state.lastSeq.get(persona) || 0)) continue;
        state.lastSeq.set(persona, message.seq);
        if (generation === state.generation) append(renderReply(message.reply, message.seq));
      }
    } catch (error) {
      if (!state.pollFailing) systemLine(`Reminders: ${error.message}`, "error");
      state.pollFailing = true;
    } finally {
      state.polling = false;
      if (state.pollAgain) {
        state.pollAgain = false;
        window.setTimeout(pollInbox, 0);
      }
    }
  }

  // ---- Clock ----

  function formatInstant(iso, zone) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const options = {
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
    };
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone }).format(date);
    } catch (_error) {
      return new Intl.DateTimeFormat(undefined, options).format(date);
    }
  }

  function showClock(data) {
    state.zone = data.zone || "UTC";
    state.clockControl = data.control !== false;
    ui.clockNow.dateTime = data.now;
    ui.clockNow.title = data.now;
    ui.clockNow.textContent = formatInstant(data.now, state.zone);
    for (const button of ui.advance) button.disabled = !state.clockControl;
    if (!state.clockControl) {
      ui.clockNote.textContent = "This server does not let the clock be moved.";
    } else if (data.quiet_until) {
      ui.clockNote.textContent =
        `Quiet hours: reminders wait until ${formatInstant(data.quiet_until, state.zone)}. ` +
        "Move time forward to see them arrive.";
    } else {
      ui.clockNote.textContent = CLOCK_NOTE;
    }
    ui.clockNote.dataset.quiet = data.quiet_until ? "true" : "false";
  }

  async function refreshClock() {
    try {
      showClock(await api("GET", "/chat/api/clock"));
    } catch (_error) {
      ui.clockNow.textContent = "unavailable";
    }
  }

  async function advanceClock(code) {
    for (const button of ui.advance) button.disabled = true;
    try {
      const data = await api("POST", "/chat/api/clock", { advance: code });
      showClock(data);
      systemLine(
        `Time moved forward ${ADVANCE_WORDS[code] || code}: it is now ${formatInstant(data.now, state.zone)}.`,
      );
      await pollInbox();
    } catch (error) {
      systemLine(error.message, "error");
    } finally {
      for (const button of ui.advance) button.disabled = !state.clockControl;
    }
  }

  // ---- Personas ----

  function personaById(id) {
    return state.personas.find((persona) => persona.id === id);
  }

  function remember(id) {
    try {
      window.localStorage.setItem(STORAGE_KEY, id);
    } catch (_error) {
      /* storage may be unavailable (private mode); the picker still works */
    }
  }

  function remembered() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) || "";
    } catch (_error) {
      return "";
    }
  }

  function fillPicker(personas) {
    const groups = new Map();
    const admins = [];
    for (const persona of personas) {
      if (persona.role === "admin") {
        admins.push(persona);
        continue;
      }
      const department = persona.department || "Other";
      if (!groups.has(department)) groups.set(department, []);
      groups.get(department).push(persona);
    }
    if (admins.length) groups.set(ADMIN_GROUP, admins);
    const optgroups = [];
    for (const [label, members] of groups) {
      const group = el("optgroup", { label });
      for (const persona of members) {
        const text = persona.detail ? `${persona.name} — ${persona.detail}` : persona.name;
        group.append(el("option", { value: persona.id, "data-role": persona.role, text }));
      }
      optgroups.push(group);
    }
    ui.persona.replaceChildren(...optgroups);
  }

  function switchPersona(id) {
    const persona = personaById(id);
    if (!persona) return;
    state.generation += 1;
    state.persona = id;
    ui.persona.value = id;
    remember(id);
    const role = persona.role === "admin" ? "marketing / admin" : "physician";
    ui.personaDetail.textContent = [persona.department, persona.detail, role]
      .filter(Boolean)
      .join(" · ");
    ui.messages.replaceChildren();
    systemLine(`You are now chatting as ${persona.name} (${persona.department || role}).`);
    sendText("help", false);
    enqueue(() => pollInbox());
  }

  async function loadPersonas() {
    try {
      const data = await api("GET", "/chat/api/personas");
      state.personas = Array.isArray(data.personas) ? data.personas : [];
    } catch (error) {
      ui.persona.replaceChildren(el("option", { value: "", text: "Could not load personas" }));
      systemLine(error.message, "error");
      return;
    }
    if (!state.personas.length) {
      ui.persona.replaceChildren(el("option", { value: "", text: "No personas" }));
      systemLine("This server has no personas to chat as.", "error");
      return;
    }
    fillPicker(state.personas);
    ui.persona.disabled = false;
    ui.input.disabled = false;
    ui.send.disabled = false;
    const stored = remembered();
    const first = state.personas.find((p) => p.role !== "admin") || state.personas[0];
    switchPersona(personaById(stored) ? stored : first.id);
  }

  // ---- Wiring ----

  function submit() {
    const text = ui.input.value.trim();
    if (!text || !state.persona) return;
    ui.input.value = "";
    sendText(text);
    ui.input.focus();
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  ui.persona.addEventListener("change", () => switchPersona(ui.persona.value));
  for (const button of ui.advance) {
    button.addEventListener("click", () => advanceClock(button.dataset.advance));
  }

  window.setInterval(() => {
    state.pollCount += 1;
    pollInbox();
    if (state.pollCount % CLOCK_EVERY_POLLS === 0) refreshClock();
  }, POLL_MS);

  refreshClock();
  loadPersonas();
})();

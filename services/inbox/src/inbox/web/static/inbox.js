// The Switchboard web inbox: plain DOM over the API under /api/v1.
// Signed in with the session cookie; every change echoes the session's CSRF token.
// Live: GET /api/v1/events (server-sent conversation.changed events) triggers re-reads.
// Customer content is only ever put in the page as text, or as HTML inside a sandboxed
// frame that may not run scripts.
"use strict";

(() => {
  const API = "/api/v1";
  const PUBLIC_CHANNELS = new Set(["facebook_comment", "instagram_comment", "x_mention"]);
  const RECONNECT_MS = 5000;
  // A minimal head for a customer's HTML: no scripts even if the frame's sandbox were
  // loosened, links open in a new tab, and plain readable defaults.
  const FRAME_HEAD =
    '<!doctype html><html><head><meta charset="utf-8">' +
    "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'\">" +
    '<base target="_blank"><style>' +
    "body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d2330;overflow-wrap:anywhere}" +
    "img{max-width:100%;height:auto}table{max-width:100%}" +
    "</style></head><body>";

  const state = {
    me: null,
    csrf: null,
    agents: new Map(),
    inboxes: new Map(),
    conversations: [],
    nextCursor: null,
    currentId: null,
    current: null,
    answering: null, // the customer message the agent is answering, fixed when they start typing
    events: null,
    reconnectTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // Build an element; string children become text nodes (never parsed as HTML).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `the server answered ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
    const response = await fetch(API + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401 && state.me) signedOut(); // the session ended
      throw new ApiError(response.status, data);
    }
    return data;
  }

  // Run `task` now, or once more after the run in progress: bursts of events cost two reads.
  function coalesced(task) {
    let running = null;
    let again = false;
    return () => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        try {
          do {
            again = false;
            await task();
          } while (again);
        } catch (error) {
          console.warn("inbox refresh failed:", error);
        } finally {
          running = null;
        }
      })();
      return running;
    };
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function agentName(id) {
    if (!id) return null;
    const agent = state.agents.get(id);
    return agent ? agent.display_name || agent.email : "another agent";
  }

  // --- signing in and out ---

  function showLogin() {
    $("app").hidden = true;
    $("sign-out").hidden = true;
    $("me").textContent = "";
    $("login").hidden = false;
    $("login-form").elements.email.focus();
  }

  async function signedIn(session) {
    state.me = session.agent;
    state.csrf = session.csrf_token;
    $("login").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
    $("me").textContent = state.me.display_name || state.me.email;
    connectEvents();
    await Promise.all([loadAgents(), loadInboxes()]);
    await refreshList();
    await route();
  }

  function signedOut() {
    disconnectEvents();
    Object.assign(state, { me: null, csrf: null, currentId: null, current: null });
    showLogin();
  }

  async function logIn(event) {
    event.preventDefault();
    const form = event.target;
    $("login-error").textContent = "";
    try {
      const session = await api("POST", "/session", {
        email: form.elements.email.value,
        password: form.elements.password.value,
      });
      form.elements.password.value = "";
      await signedIn(session);
    } catch (error) {
      $("login-error").textContent =
        error.status === 401 || error.status === 422 ? "Wrong email or password." : error.message;
    }
  }

  async function logOut() {
    try {
      await api("DELETE", "/session");
    } finally {
      signedOut();
    }
  }

  // --- reference data ---

  async function loadAgents() {
    const agents = await api("GET", "/agents");
    state.agents = new Map(agents.map((agent) => [agent.id, agent]));
  }

  async function loadInboxes() {
    const inboxes = await api("GET", "/inboxes");
    state.inboxes = new Map(inboxes.map((inbox) => [inbox.id, inbox]));
    const select = $("filters").elements.inbox_id;
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "" }, "All inboxes"),
      ...inboxes.map((inbox) =>
        el("option", { value: inbox.id }, `${inbox.name || inbox.address} (${inbox.channel})`),
      ),
    );
    select.value = state.inboxes.has(chosen) ? chosen : "";
  }

  // --- the conversation list ---

  function listQuery(cursor) {
    const form = $("filters");
    const params = new URLSearchParams({ limit: "50" });
    for (const name of ["status", "assignee", "inbox_id"]) {
      const value = form.elements[name].value;
      if (value) params.set(name, value);
    }
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  }

  const refreshList = coalesced(async () => {
    const page = await api("GET", `/conversations?${listQuery()}`);
    state.conversations = page.items;
    state.nextCursor = page.next_cursor;
    if (page.items.some((c) => !state.inboxes.has(c.inbox_id))) await loadInboxes();
    renderList();
  });

  async function loadMore() {
    if (!state.nextCursor) return;
    const page = await api("GET", `/conversations?${listQuery(state.nextCursor)}`);
    const known = new Set(state.conversations.map((c) => c.id));
    state.conversations.push(...page.items.filter((c) => !known.has(c.id)));
    state.nextCursor = page.next_cursor;
    renderList();
  }

  function renderList() {
    const items = state.conversations.map((c) =>
      el(
        "li",
        {
          class: "conversation-item",
          dataset: { conversationId: c.id, status: c.status },
          "aria-current": c.id === state.currentId ? "true" : null,
        },
        el(
          "a",
          { href: `#/conversations/${c.id}` },
          el("span", { class: "contact" }, c.contact_name || c.contact_email || "Unknown"),
          el("span", { class: "badge", dataset: { status: c.status } }, c.status),
          el("span", { class: "subject" }, c.subject || "(no subject)"),
          el(
            "span",
            { class: "meta muted" },
            `${c.channel} · ${c.inbox_name || c.inbox_address} · ${when(c.last_activity_at)}`,
            c.assignee_id ? ` · ${agentName(c.assignee_id)}` : "",
          ),
        ),
      ),
    );
    $("conversation-list").replaceChildren(...items);
    $("list-empty").hidden = items.length > 0;
    $("more").hidden = !state.nextCursor;
  }

  // --- one conversation ---

  async function route() {
    const match = /^#\/conversations\/([0-9a-f-]{36})$/.exec(window.location.hash);
    const id = match ? match[1] : null;
    if (id !== state.currentId) {
      state.currentId = id;
      state.current = null;
      state.answering = null;
      $("messages").replaceChildren();
      $("composer").reset();
      $("collision").hidden = true;
      $("composer-error").textContent = "";
    }
    renderList();
    $("placeholder").hidden = Boolean(id);
    $("detail").hidden = !id;
    if (id) await refreshDetail();
  }

  const refreshDetail = coalesced(async () => {
    const id = state.currentId;
    if (!id) return;
    let conversation;
    try {
      conversation = await api("GET", `/conversations/${id}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      $("subject").textContent = "This conversation no longer exists (merged or removed).";
      return;
    }
    if (state.currentId !== id) return;
    state.current = conversation;
    renderDetail(conversation);
  });

  function renderDetail(c) {
    $("subject").textContent = c.subject || "(no subject)";
    const contact = c.contact_name
      ? `${c.contact_name}${c.contact_email ? ` <${c.contact_email}>` : ""}`
      : c.contact_email || "Unknown";
    $("who").textContent = `${contact} · ${c.channel} · ${c.inbox_name || c.inbox_address}`;
    const status = $("status");
    status.textContent =
      c.status === "snoozed" && c.snoozed_until ? `snoozed until ${when(c.snoozed_until)}` : c.status;
    status.dataset.status = c.status;
    const mine = c.assignee_id === state.me.id;
    $("assignee").textContent = c.assignee_id
      ? `Assigned to ${mine ? "you" : agentName(c.assignee_id)}`
      : "Unassigned";
    $("assign").textContent = mine ? "Unassign" : "Assign to me";
    $("toggle-status").textContent = c.status === "resolved" ? "Reopen" : "Resolve";
    const visibility = $("composer").elements.visibility;
    if (!state.answering) visibility.value = PUBLIC_CHANNELS.has(c.channel) ? "public" : "private";
    $("visibility-field").hidden = !PUBLIC_CHANNELS.has(c.channel) || composerKind() === "note";
    renderMessages(c.messages);
  }

  // Messages never change, their delivery state does: keep what is shown (an HTML frame
  // reloads when it is moved or rebuilt), update the state line, append what is new.
  function renderMessages(messages) {
    const list = $("messages");
    const shown = Array.from(list.children);
    let keep = 0;
    while (
      keep < shown.length &&
      keep < messages.length &&
      shown[keep].dataset.messageId === messages[keep].id
    ) {
      const foot = shown[keep].querySelector(".message-foot");
      const fresh = messageFoot(messages[keep]);
      if (foot.dataset.key !== fresh.dataset.key) foot.replaceWith(fresh);
      keep += 1;
    }
    for (const stale of shown.slice(keep)) stale.remove();
    list.append(...messages.slice(keep).map(renderMessage));
    if (messages.length > keep) list.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  function renderMessage(m) {
    const author =
      m.direction === "inbound"
        ? (state.current && (state.current.contact_name || state.current.contact_email)) ||
          "Customer"
        : agentName(m.author_agent_id) || "Switchboard";
    const kind = { inbound: "customer", outbound: "reply", note: "internal note" }[m.direction];
    return el(
      "li",
      {
        class: `message ${m.direction}`,
        dataset: { messageId: m.id, direction: m.direction, visibility: m.visibility },
      },
      el(
        "div",
        { class: "message-head" },
        el("strong", { class: "author" }, author),
        el("span", { class: "kind" }, m.direction === "note" ? kind : `${kind}, ${m.visibility}`),
        el("time", { datetime: m.sent_at }, when(m.sent_at)),
      ),
      m.subject && m.direction === "inbound" ? el("div", { class: "message-subject" }, m.subject) : null,
      m.html ? htmlFrame(m.html) : el("div", { class: "message-text" }, m.text),
      messageFoot(m),
    );
  }

  function messageFoot(m) {
    const parts = [];
    if (m.thread_reason) parts.push(el("span", { class: "thread-reason" }, `Threaded: ${m.thread_reason}`));
    if (m.delivery_status) {
      parts.push(
        el(
          "span",
          { class: "delivery", dataset: { status: m.delivery_status } },
          m.delivery_status,
          m.delivery_reason ? `: ${m.delivery_reason}` : "",
        ),
      );
    }
    const flags = Object.entries(m.flags || {})
      .filter(([, on]) => on === true)
      .map(([name]) => name.replace("_", "-"));
    if (flags.length) parts.push(el("span", { class: "flags" }, flags.join(", ")));
    for (const a of m.attachments || []) {
      const size = a.size === null || a.size === undefined ? "" : ` (${Math.ceil(a.size / 1024)} KiB)`;
      parts.push(el("span", { class: "attachment" }, `attached: ${a.filename || "a file"}${size}`));
    }
    const foot = el("div", { class: "message-foot muted" }, ...parts);
    foot.dataset.key = JSON.stringify([m.delivery_status, m.delivery_reason, m.flags, m.thread_reason]);
    return foot;
  }

  // The customer's HTML (sanitized by the ingest services) shown where it can do no harm:
  // a sandbox without allow-scripts, under the page's own policy. allow-same-origin (safe
  // without scripts) lets the page read the content's height to size the frame.
  function htmlFrame(html) {
    const frame = el("iframe", {
      class: "message-html",
      sandbox: "allow-same-origin allow-popups allow-popups-to-escape-sandbox",
      referrerpolicy: "no-referrer",
      title: "message",
    });
    frame.addEventListener("load", () => {
      // The root element's own height: scrollHeight would never be less than the frame's.
      const root = frame.contentDocument && frame.contentDocument.documentElement;
      if (root) frame.style.height = `${Math.min(Math.ceil(root.offsetHeight) + 4, 1600)}px`;
    });
    frame.srcdoc = FRAME_HEAD + html;
    return frame;
  }

  // --- acting on a conversation ---

  function composerKind() {
    return $("composer").elements.kind.value;
  }

  function latestInboundId() {
    const inbound = (state.current ? state.current.messages : []).filter((m) => m.direction === "inbound");
    return inbound.length ? inbound[inbound.length - 1].id : null;
  }

  async function act(task) {
    $("composer-error").textContent = "";
    try {
      await task();
    } catch (error) {
      $("composer-error").textContent = error.message;
    }
    await Promise.all([refreshDetail(), refreshList()]);
  }

  async function send(confirm) {
    const form = $("composer");
    const text = form.elements.text.value.trim();
    const id = state.currentId;
    if (!text || !id) return;
    $("send").disabled = true;
    $("send-anyway").disabled = true;
    try {
      await act(async () => {
        try {
          if (composerKind() === "note") {
            await api("POST", `/conversations/${id}/notes`, { text });
          } else {
            await api("POST", `/conversations/${id}/replies`, {
              text,
              visibility: form.elements.visibility.value,
              answers_message_id: state.answering || latestInboundId(),
              confirm,
            });
          }
        } catch (error) {
          if (error.status !== 409) throw error;
          $("collision").hidden = false;  // the refresh after this shows what is new
          return;
        }
        form.elements.text.value = "";
        state.answering = null;
        $("collision").hidden = true;
      });
    } finally {
      $("send").disabled = false;
      $("send-anyway").disabled = false;
    }
  }

  function toggleStatus() {
    const c = state.current;
    if (!c) return Promise.resolve();
    const status = c.status === "resolved" ? "open" : "resolved";
    return act(() => api("PUT", `/conversations/${c.id}/status`, { status }));
  }

  function toggleAssignee() {
    const c = state.current;
    if (!c) return Promise.resolve();
    const assignee = c.assignee_id === state.me.id ? null : state.me.id;
    return act(() => api("PUT", `/conversations/${c.id}/assignment`, { assignee_id: assignee }));
  }

  // --- live updates ---

  function setLive(mode) {
    const live = $("live");
    live.dataset.state = mode;
    live.textContent = { on: "live", reconnecting: "reconnecting…", off: "offline" }[mode];
  }

  function connectEvents() {
    disconnectEvents();
    const source = new EventSource(`${API}/events`);
    state.events = source;
    let lost = false;
    source.onopen = () => {
      setLive("on");
      // Changes made while the stream was down were not announced: read everything again.
      if (lost) {
        lost = false;
        refreshList();
        refreshDetail();
      }
    };
    source.onerror = () => {
      lost = true;
      setLive("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status): check the session, then try again later.
        state.events = null;
        api("GET", "/session").then(
          () => {
            state.reconnectTimer = window.setTimeout(connectEvents, RECONNECT_MS);
          },
          (error) => {
            if (error.status !== 401) {
              state.reconnectTimer = window.setTimeout(connectEvents, RECONNECT_MS);
            }
          },
        );
      }
    };
    const onChange = (event) => {
      let change = null;
      try {
        change = JSON.parse(event.data);
      } catch {
        change = null;
      }
      refreshList();
      if (!change || !change.conversation_id || change.conversation_id === state.currentId) {
        refreshDetail();
      }
    };
    source.onmessage = onChange;
    source.addEventListener("conversation.changed", onChange);
  }

  function disconnectEvents() {
    window.clearTimeout(state.reconnectTimer);
    if (state.events) state.events.close();
    state.events = null;
    setLive("off");
  }

  // --- wiring ---

  function bind() {
    $("login-form").addEventListener("submit", logIn);
    $("sign-out").addEventListener("click", logOut);
    $("filters").addEventListener("change", () => refreshList());
    $("more").addEventListener("click", loadMore);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      send(false);
    });
    $("composer").elements.text.addEventListener("input", () => {
      if (!state.answering) state.answering = latestInboundId();
    });
    $("composer").addEventListener("change", (event) => {
      if (event.target.name === "kind" && state.current) {
        $("visibility-field").hidden =
          !PUBLIC_CHANNELS.has(state.current.channel) || composerKind() === "note";
      }
    });
    $("send-anyway").addEventListener("click", () => send(true));
    $("toggle-status").addEventListener("click", toggleStatus);
    $("assign").addEventListener("click", toggleAssignee);
    window.addEventListener("hashchange", () => {
      if (state.me) route();
    });
  }

  async function start() {
    bind();
    try {
      await signedIn(await api("GET", "/session"));
    } catch (error) {
      if (error.status === 401) showLogin();
      else $("placeholder").textContent = `The inbox is unavailable: ${error.message}`;
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();

// The Switchboard web inbox: sign in, the conversation list, one conversation, live updates.
// Plain DOM over the API under /api/v1 (see client.js); re-reads on every change announced
// by the live feed (live.js). Customer content is only ever shown as text, or as HTML in a
// frame that runs nothing (messages.js).

import { api, session } from "./client.js";
import { $, coalesced, el, when } from "./dom.js";
import { LiveFeed } from "./live.js";
import { renderMessages } from "./messages.js";

const PUBLIC_CHANNELS = new Set(["facebook_comment", "instagram_comment", "x_mention"]);

const state = {
  agents: new Map(),
  inboxes: new Map(),
  conversations: [],
  nextCursor: null,
  currentId: null,
  current: null,
  answering: null, // the customer message the agent is answering, fixed when they start typing
};

const live = new LiveFeed(changed, showLive);

function agentName(id) {
  if (!id) return null;
  const agent = state.agents.get(id);
  return agent ? agent.display_name || agent.email : "another agent";
}

function authorOf(m) {
  if (m.direction !== "inbound") return agentName(m.author_agent_id) || "Switchboard";
  const c = state.current;
  return (c && (c.contact_name || c.contact_email)) || "Customer";
}

// --- signing in and out ---

function showLogin() {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("me").textContent = "";
  $("login").hidden = false;
  $("login-form").elements.email.focus();
}

async function signedIn(started) {
  session.agent = started.agent;
  session.csrf = started.csrf_token;
  session.onEnded = signedOut;
  $("login").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("me").textContent = session.agent.display_name || session.agent.email;
  live.connect();
  await Promise.all([loadAgents(), loadInboxes()]);
  await refreshList();
  await route();
}

function signedOut() {
  live.close();
  Object.assign(session, { agent: null, csrf: null });
  Object.assign(state, { currentId: null, current: null, answering: null });
  showLogin();
}

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  $("login-error").textContent = "";
  try {
    const started = await api("POST", "/session", {
      email: form.elements.email.value,
      password: form.elements.password.value,
    });
    form.elements.password.value = "";
    await signedIn(started);
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
  const mine = c.assignee_id === session.agent.id;
  $("assignee").textContent = c.assignee_id
    ? `Assigned to ${mine ? "you" : agentName(c.assignee_id)}`
    : "Unassigned";
  $("assign").textContent = mine ? "Unassign" : "Assign to me";
  $("toggle-status").textContent = c.status === "resolved" ? "Reopen" : "Resolve";
  const visibility = $("composer").elements.visibility;
  if (!state.answering) visibility.value = PUBLIC_CHANNELS.has(c.channel) ? "public" : "private";
  $("visibility-field").hidden = !PUBLIC_CHANNELS.has(c.channel) || composerKind() === "note";
  renderMessages($("messages"), c.messages, authorOf);
}

// --- acting on a conversation ---

function composerKind() {
  return $("composer").elements.kind.value;
}

function latestInboundId() {
  const messages = state.current ? state.current.messages : [];
  const inbound = messages.filter((m) => m.direction === "inbound");
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
        $("collision").hidden = false; // the refresh after this shows what is new
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
  const assignee = c.assignee_id === session.agent.id ? null : session.agent.id;
  return act(() => api("PUT", `/conversations/${c.id}/assignment`, { assignee_id: assignee }));
}

// --- live updates ---

function showLive(mode) {
  const badge = $("live");
  badge.dataset.state = mode;
  badge.textContent = { on: "live", reconnecting: "reconnecting…", off: "offline" }[mode];
}

function changed(change) {
  refreshList();
  if (!change || !change.conversation_id || change.conversation_id === state.currentId) {
    refreshDetail();
  }
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
    if (session.agent) route();
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

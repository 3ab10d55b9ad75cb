// A conversation's messages: customers' text as text, their HTML in a frame that runs nothing.

import { el, when } from "./dom.js";

// A minimal head for a customer's HTML: no scripts even if the frame's sandbox were
// loosened, links open in a new tab, and plain readable defaults.
const FRAME_HEAD =
  '<!doctype html><html><head><meta charset="utf-8">' +
  "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'\">" +
  '<base target="_blank"><style>' +
  "body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d2330;overflow-wrap:anywhere}" +
  "img{max-width:100%;height:auto}table{max-width:100%}" +
  "</style></head><body>";
const KINDS = { inbound: "customer", outbound: "reply", note: "internal note" };

// Messages never change, their delivery state does: keep what is shown (an HTML frame
// reloads when it is moved or rebuilt), update the state line, append what is new.
// authorOf(message) names who wrote it.
export function renderMessages(list, messages, authorOf) {
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
  list.append(...messages.slice(keep).map((m) => renderMessage(m, authorOf(m))));
  if (messages.length > keep) list.lastElementChild.scrollIntoView({ block: "nearest" });
}

function renderMessage(m, author) {
  const kind = KINDS[m.direction];
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
    m.subject && m.direction === "inbound"
      ? el("div", { class: "message-subject" }, m.subject)
      : null,
    m.html ? htmlFrame(m.html) : el("div", { class: "message-text" }, m.text),
    messageFoot(m),
  );
}

// Why the message joined the conversation, its delivery state, flags and attachments.
function messageFoot(m) {
  const parts = [];
  if (m.thread_reason) {
    parts.push(el("span", { class: "thread-reason" }, `Threaded: ${m.thread_reason}`));
  }
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
    const known = a.size !== null && a.size !== undefined;
    const size = known ? ` (${Math.ceil(a.size / 1024)} KiB)` : "";
    const name = a.filename || "a file";
    parts.push(el("span", { class: "attachment" }, `attached: ${name}${size}`));
  }
  const foot = el("div", { class: "message-foot muted" }, ...parts);
  const shown = [m.delivery_status, m.delivery_reason, m.flags, m.thread_reason];
  foot.dataset.key = JSON.stringify(shown);
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

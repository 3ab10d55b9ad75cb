// Live updates: GET /api/v1/events streams conversation.changed as server-sent events.

import { API, api } from "./client.js";

const RECONNECT_MS = 5000;

export class LiveFeed {
  // onChange(change or null): something changed (null: anything may have, re-read all).
  // onState("on" | "reconnecting" | "off"): the stream's state, for the page to show.
  constructor(onChange, onState) {
    this.onChange = onChange;
    this.onState = onState;
    this.source = null;
    this.timer = null;
  }

  connect() {
    this.close();
    const source = new EventSource(`${API}/events`);
    this.source = source;
    let lost = false;
    source.onopen = () => {
      this.onState("on");
      // Changes made while the stream was down were not announced: read everything again.
      if (lost) {
        lost = false;
        this.onChange(null);
      }
    };
    source.onerror = () => {
      lost = true;
      this.onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) this.retryLater();
    };
    const received = (event) => {
      try {
        this.onChange(JSON.parse(event.data));
      } catch {
        this.onChange(null);
      }
    };
    source.onmessage = received;
    source.addEventListener("conversation.changed", received);
  }

  // The browser gave up on an error status: unless the session ended (the client then
  // signs the agent out), try again later.
  retryLater() {
    this.source = null;
    const again = () => {
      this.timer = window.setTimeout(() => this.connect(), RECONNECT_MS);
    };
    api("GET", "/session").then(again, (error) => {
      if (error.status !== 401) again();
    });
  }

  close() {
    window.clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.onState("off");
  }
}

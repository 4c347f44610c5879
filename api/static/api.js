// A small client of the public /v1 routes. The token only ever travels in the Authorization
// header (never in a URL); a service token names the user with user_id, a user token acts
// for itself, so user_id is sent only when the page has one.

export const TERMINAL = new Set(["completed", "failed", "cancelled", "incomplete"]);

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || "http_error";
    this.param = (error && error.param) || null;
  }
}

export class Api {
  constructor(token, userId) {
    this.token = token;
    this.userId = userId;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  url(path, params = {}) {
    const query = new URLSearchParams();
    if (this.userId) query.set("user_id", this.userId);
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null) query.set(key, value);
    }
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  withUser(body) {
    return this.userId ? { ...body, user_id: this.userId } : body;
  }

  async request(method, path, { params, json, form } = {}) {
    const init = { method, headers: this.headers() };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(this.withUser(json));
    } else if (form) {
      if (this.userId) form.append("user_id", this.userId);
      init.body = form;
    }
    const response = await fetch(this.url(path, params), init);
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body && body.error);
    return body;
  }

  conversations() {
    return this.request("GET", "/v1/conversations", { params: { limit: 50 } });
  }

  conversation(id) {
    return this.request("GET", `/v1/conversations/${encodeURIComponent(id)}`);
  }

  // The whole transcript of a conversation (both sides), page after page, oldest first.
  async transcript(id) {
    const items = [];
    let after;
    for (;;) {
      const page = await this.request(
        "GET",
        `/v1/conversations/${encodeURIComponent(id)}/messages`,
        { params: { limit: 100, after } },
      );
      items.push(...page.data);
      if (!page.has_more) return items;
      after = page.last_id;
    }
  }

  close(id) {
    return this.request("POST", `/v1/conversations/${encodeURIComponent(id)}/close`, { json: {} });
  }

  chat(body) {
    return this.request("POST", "/v1/chat", { json: body });
  }

  respond(body) {
    return this.request("POST", "/v1/responses", { json: body });
  }

  job(id) {
    return this.request("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  usage() {
    return this.request("GET", "/v1/usage");
  }

  upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.request("POST", "/v1/files", { form });
  }

  // Streams a job's Server-Sent Events with fetch (EventSource can't send the header) and
  // calls onEvent(name, data) for each; resumes with Last-Event-ID if the connection drops.
  async streamJob(jobId, onEvent, { retries = 3 } = {}) {
    let lastId = null;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      const headers = this.headers({ Accept: "text/event-stream" });
      if (lastId) headers["Last-Event-ID"] = lastId;
      let response;
      try {
        response = await fetch(this.url(`/v1/jobs/${encodeURIComponent(jobId)}/events`), {
          headers,
        });
      } catch (error) {
        await pause(500 * (attempt + 1));
        continue;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new ApiError(response.status, body && body.error);
      }
      let ended = false;
      try {
        for await (const frame of sseFrames(response.body)) {
          if (frame.id) lastId = frame.id;
          if (!frame.event) continue;
          onEvent(frame.event, frame.data);
          if (frame.event === "status" && frame.data && TERMINAL.has(frame.data.status)) {
            ended = true;
          }
        }
      } catch (error) {
        // The connection dropped mid-stream: resume after the last event we saw.
      }
      if (ended) return;
      await pause(300 * (attempt + 1));
    }
  }
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Splits a text/event-stream body into frames {id, event, data} (data parsed as JSON).
async function* sseFrames(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame = parseFrame(block);
      if (frame) yield frame;
    }
  }
}

function parseFrame(block) {
  const frame = { id: null, event: null, data: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
    else if (field === "data") data.push(value);
  }
  if (!frame.event && !data.length) return null;
  frame.event = frame.event || "message";
  const text = data.join("\n");
  try {
    frame.data = text ? JSON.parse(text) : {};
  } catch {
    frame.data = { text };
  }
  return frame;
}

// DOM helpers: message bubbles, tool-call cards, conversation list items. Text only ever goes
// in through textContent, never innerHTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

export function userBubble(text, fileNames = []) {
  const item = el("li", { class: "msg user", "data-role": "user" }, text);
  if (fileNames.length) {
    item.append(el("span", { class: "files", text: `Attached: ${fileNames.join(", ")}` }));
  }
  return item;
}

export function assistantBubble(text = "") {
  return el("li", { class: "msg assistant", "data-role": "assistant", text });
}

function parseJson(text) {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// A card for one tool call; the weather card names the city it was asked for.
export function toolCard(name, argumentsText, callId) {
  const args = parseJson(argumentsText) || {};
  const card = el("li", {
    class: "tool-card",
    "data-tool": name,
    "data-call-id": callId || "",
    "aria-label": `Tool call ${name}`,
  });
  card.append(el("span", { class: "tool-name", text: `Tool: ${name}` }));
  if (args.city || args.location) {
    card.append(el("span", { class: "tool-city", text: `City: ${args.city || args.location}` }));
  } else {
    card.append(el("pre", { class: "tool-args", text: JSON.stringify(args) }));
  }
  card.append(el("pre", { class: "tool-output", text: "running…" }));
  return card;
}

export function fillToolCard(card, outputText) {
  const output = parseJson(outputText);
  const shown = output && typeof output === "object" ? summarise(output) : String(outputText);
  card.querySelector(".tool-output").textContent = shown;
}

function summarise(output) {
  if (output.error) return `Error: ${output.error}`;
  return Object.entries(output)
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join("\n");
}

export function effectiveStatus(conversation, now = Date.now() / 1000) {
  if (conversation.status === "active" && conversation.expires_at && conversation.expires_at <= now) {
    return "expired";
  }
  return conversation.status;
}

export function ttlText(conversation, now = Date.now() / 1000) {
  const status = effectiveStatus(conversation, now);
  if (status !== "active" || !conversation.expires_at) return "";
  const left = Math.max(0, Math.round(conversation.expires_at - now));
  const minutes = Math.floor(left / 60);
  const seconds = left % 60;
  return `${minutes}m ${String(seconds).padStart(2, "0")}s left`;
}

export function badge(status) {
  return el("span", { class: `badge ${status}`, text: status });
}

export function conversationItem(conversation, current) {
  const status = effectiveStatus(conversation);
  const button = el(
    "button",
    {
      type: "button",
      "data-id": conversation.id,
      "aria-current": conversation.id === current ? "true" : "false",
    },
    el("span", { class: "conv-id", text: conversation.id }),
    el("span", { class: "conv-meta" }, badge(status), el("span", { class: "ttl", text: ttlText(conversation) })),
  );
  return el("li", {}, button);
}

// The chat page: settings, conversation list, history, sending and streaming a reply.
// A conversation's history is its transcript from the server (both sides), so any browser or
// client shows the same conversation; the page keeps only its settings locally.

import { Api, ApiError, TERMINAL } from "./api.js";
import {
  assistantBubble, badge, conversationItem, effectiveStatus, fillToolCard, toolCard, ttlText,
  userBubble,
} from "./render.js";

const $ = (id) => document.getElementById(id);
const ui = {
  settings: $("settings"), token: $("token"), userId: $("user-id"), notice: $("notice"),
  list: $("conversations"), newChat: $("new-chat"), refresh: $("refresh"),
  title: $("chat-title"), status: $("chat-status"), close: $("close-chat"),
  readonly: $("readonly"), messages: $("messages"), jobStatus: $("job-status"),
  composer: $("composer"), message: $("message"), files: $("attachments"),
  fileList: $("attachment-list"), weather: $("weather-tool"), send: $("send"),
  model: $("model"), maxOutputTokens: $("max-output-tokens"), temperature: $("temperature"),
  usage: $("usage"), usageText: $("usage-text"), usageMeter: $("usage-meter"),
};
const state = { current: null, conversations: [], busy: false };

function api() {
  return new Api(ui.token.value.trim(), ui.userId.value.trim());
}

function showNotice(text, kind = "error") {
  ui.notice.textContent = text;
  ui.notice.className = kind === "error" ? "notice" : "notice info";
  ui.notice.hidden = !text;
}

function explain(error) {
  if (!(error instanceof ApiError)) return `Could not reach the API: ${error.message}`;
  if (error.status === 401) {
    return `The token was rejected (${error.code}): ${error.message} Check the token field and save again.`;
  }
  if (error.param === "user_id") {
    return `${error.message} (a service token must name a user: fill the user id field).`;
  }
  return `${error.message} (${error.code})`;
}

function fail(error) {
  showNotice(explain(error));
}

// --- conversation list and the current conversation -----------------------------------------

async function refreshList() {
  if (!ui.token.value.trim()) {
    showNotice("Enter a token and save it to start.", "info");
    return;
  }
  try {
    const page = await api().conversations();
    state.conversations = page.data;
    showNotice("");
  } catch (error) {
    state.conversations = [];
    fail(error);
  }
  renderList();
  refreshUsage();
}

// Today's tokens, against whichever budget has the least left (today's or this month's).
async function refreshUsage() {
  let report;
  try {
    report = await api().usage();
  } catch {
    ui.usage.hidden = true;
    return;
  }
  const n = (count) => count.toLocaleString();
  const { today, this_month: month } = report;
  const [window, label] = [[today, "today"], [month, "this month"]]
    .filter(([w]) => w.budget_tokens !== null)
    .sort(([a], [b]) => a.remaining_tokens - b.remaining_tokens)[0] || [today, "today"];
  let text;
  if (window.budget_tokens === null) {
    text = `${n(today.used_tokens)} tokens today (no budget)`;
  } else if (window === today) {
    text = `${n(today.used_tokens)} of ${n(today.budget_tokens)} tokens today (${n(today.remaining_tokens)} left)`;
  } else {
    text = `${n(today.used_tokens)} tokens today; ${n(month.used_tokens)} of ${n(month.budget_tokens)} ${label} (${n(month.remaining_tokens)} left)`;
  }
  const spent = window.budget_tokens !== null && window.remaining_tokens === 0;
  if (spent) text += `. The budget is spent until ${when(window.resets_at)}.`;
  ui.usageText.textContent = text;
  ui.usageMeter.hidden = window.budget_tokens === null;
  if (window.budget_tokens !== null) {
    ui.usageMeter.max = Math.max(window.budget_tokens, 1);
    ui.usageMeter.low = 0.8 * ui.usageMeter.max;
    ui.usageMeter.high = 0.95 * ui.usageMeter.max;
    ui.usageMeter.value = Math.min(window.used_tokens, ui.usageMeter.max);
  }
  ui.usage.classList.toggle("spent", spent);
  ui.usage.hidden = false;
}

function renderList() {
  ui.list.replaceChildren(...state.conversations.map((c) => conversationItem(c, state.current)));
  const current = state.conversations.find((c) => c.id === state.current);
  if (current) showConversationState(current);
}

function setReadOnly(reason) {
  const readOnly = Boolean(reason);
  ui.readonly.textContent = reason || "";
  ui.readonly.hidden = !readOnly;
  for (const control of [ui.message, ui.files, ui.weather, ui.send, ui.model,
    ui.maxOutputTokens, ui.temperature]) control.disabled = readOnly;
  ui.composer.setAttribute("aria-disabled", String(readOnly));
}

function when(unix) {
  return unix ? new Date(unix * 1000).toLocaleString() : "";
}

function showConversationState(conversation) {
  const status = effectiveStatus(conversation);
  ui.status.replaceWith((ui.status = badge(status)));
  ui.status.id = "chat-status";
  ui.close.hidden = status !== "active";
  if (status === "closed") {
    setReadOnly(`This conversation was closed ${when(conversation.closed_at)}. It is read-only: start a new chat to continue.`);
  } else if (status === "expired") {
    const at = conversation.expired_at || conversation.expires_at;
    setReadOnly(`This conversation expired ${when(at)} after being idle. It is read-only: start a new chat to continue.`);
  } else {
    setReadOnly(null);
  }
}

function setCurrent(id) {
  state.current = id;
  ui.title.textContent = id ? `Conversation ${id}` : "New conversation";
  if (id) localStorage.setItem("gw.current", id);
  else localStorage.removeItem("gw.current");
}

function newChat() {
  setCurrent(null);
  ui.status.hidden = true;
  ui.close.hidden = true;
  ui.messages.replaceChildren();
  ui.jobStatus.textContent = "";
  setReadOnly(null);
  renderList();
  ui.message.focus();
}

async function openConversation(id) {
  const client = api();
  try {
    const [conversation, transcript] = await Promise.all([
      client.conversation(id),
      client.transcript(id),
    ]);
    setCurrent(id);
    ui.jobStatus.textContent = "";
    renderHistory(transcript);
    showConversationState(conversation);
    renderList();
  } catch (error) {
    fail(error);
  }
}

function renderHistory(transcript) {
  const cards = new Map();
  const items = [];
  for (const item of transcript) {
    if (item.type === "message") {
      const parts = item.content || [];
      const text = parts.map((part) => part.text || "").join("");
      if (item.role === "user") {
        items.push(userBubble(text, parts.filter((part) => part.name).map((part) => part.name)));
      } else if (text) {
        items.push(assistantBubble(text));
      }
    } else if (item.type === "function_call") {
      const card = toolCard(item.name, item.arguments, item.call_id);
      cards.set(item.call_id, card);
      items.push(card);
    } else if (item.type === "function_call_output" && cards.has(item.call_id)) {
      fillToolCard(cards.get(item.call_id), item.output);
    }
  }
  ui.messages.replaceChildren(...items);
}

async function closeCurrent() {
  if (!state.current) return;
  try {
    const conversation = await api().close(state.current);
    showConversationState(conversation);
    await refreshList();
  } catch (error) {
    fail(error);
  }
}

// --- sending and streaming ------------------------------------------------------------------

function scrollDown() {
  ui.messages.lastElementChild?.scrollIntoView({ block: "end" });
}

// The options the caller set; an empty field is left to the gateway.
function options() {
  const number = (input) => (input.value === "" ? undefined : Number(input.value));
  return {
    model: ui.model.value.trim() || undefined,
    max_output_tokens: number(ui.maxOutputTokens),
    temperature: number(ui.temperature),
  };
}

async function submit(client, text, files, tools) {
  const body = { conversation_id: state.current || undefined, tools, ...options() };
  if (!files.length) return client.chat({ ...body, message: text });
  const content = [{ type: "input_text", text }];
  for (const file of files) {
    const uploaded = await client.upload(file);
    const type = uploaded.media_type === "application/pdf" ? "input_file" : "input_image";
    content.push({ type, file_id: uploaded.id });
  }
  return client.respond({ ...body, input: [{ role: "user", content }] });
}

async function send(event) {
  event.preventDefault();
  const text = ui.message.value.trim();
  if (!text || state.busy) return;
  const files = [...ui.files.files];
  const fileNames = files.map((f) => f.name);
  const tools = ui.weather.checked ? ["get_weather"] : undefined;
  const client = api();
  state.busy = true;
  ui.send.disabled = true;
  ui.messages.append(userBubble(text, fileNames));
  scrollDown();
  ui.jobStatus.textContent = files.length ? "Uploading…" : "Sending…";
  try {
    const job = await submit(client, text, files, tools);
    ui.message.value = "";
    ui.files.value = "";
    ui.fileList.replaceChildren();
    if (state.current !== job.conversation_id) {
      setCurrent(job.conversation_id);
      refreshList();
    }
    await follow(client, job);
    refreshList();
  } catch (error) {
    ui.jobStatus.textContent = "";
    ui.messages.append(assistantBubble(explain(error)));
    ui.messages.lastElementChild.classList.add("error");
    if (error instanceof ApiError && error.status === 401) fail(error);
    if (error.code === "conversation_closed" || error.code === "conversation_expired") {
      refreshList();
    }
  } finally {
    state.busy = false;
    if (!ui.message.disabled) ui.send.disabled = false;
  }
}

async function follow(client, job) {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const cards = new Map();
  let bubble = null;
  let lastCard = null;
  ui.jobStatus.textContent = `Job ${job.id}: ${job.status}…`;
  await client.streamJob(job.id, (name, data) => {
    if (name === "status") {
      ui.jobStatus.textContent = `Job ${job.id}: ${data.status.replace("_", " ")} (${elapsed()})`;
    } else if (name === "output_text.delta") {
      if (!bubble) ui.messages.append((bubble = assistantBubble()));
      bubble.textContent += data.delta || "";
    } else if (name === "tool_call") {
      lastCard = toolCard(data.name, data.arguments, data.call_id);
      cards.set(data.call_id, lastCard);
      ui.messages.append(lastCard);
      bubble = null; // later text goes after the card
      ui.jobStatus.textContent = `Job ${job.id}: calling ${data.name}… (${elapsed()})`;
    } else if (name === "tool_output") {
      const card = cards.get(data.call_id) || lastCard;
      if (card) fillToolCard(card, data.output);
    }
    scrollDown();
  });
  const final = await client.job(job.id);
  const text = final.result && final.result.output_text;
  if (text) {
    if (!bubble) ui.messages.append((bubble = assistantBubble()));
    bubble.textContent = text;
  }
  if (final.status !== "completed") {
    const reason = final.error ? `${final.error.message} (${final.error.code})` : final.status;
    ui.messages.append(assistantBubble(`The job ended ${final.status}: ${reason}`));
    ui.messages.lastElementChild.classList.add("error");
  }
  ui.jobStatus.textContent = `Job ${job.id}: ${final.status} in ${elapsed()}`;
  scrollDown();
}

// --- wiring -------------------------------------------------------------------------------

function saveSettings(event) {
  event.preventDefault();
  localStorage.setItem("gw.token", ui.token.value.trim());
  localStorage.setItem("gw.userId", ui.userId.value.trim());
  newChat();
  refreshList();
}

function tick() {
  for (const span of ui.list.querySelectorAll(".ttl")) {
    const id = span.closest("button").dataset.id;
    const conversation = state.conversations.find((c) => c.id === id);
    if (conversation) span.textContent = ttlText(conversation);
  }
  const current = state.conversations.find((c) => c.id === state.current);
  if (current && effectiveStatus(current) === "expired" && ui.readonly.hidden) renderList();
}

// Earlier versions of the page kept sent messages here; the server's transcript holds them now.
for (const key of Object.keys(localStorage)) {
  if (key.startsWith("gw.sent.")) localStorage.removeItem(key);
}
ui.token.value = localStorage.getItem("gw.token") || "";
ui.userId.value = localStorage.getItem("gw.userId") || "";
ui.settings.addEventListener("submit", saveSettings);
ui.newChat.addEventListener("click", newChat);
ui.refresh.addEventListener("click", refreshList);
ui.close.addEventListener("click", closeCurrent);
ui.composer.addEventListener("submit", send);
ui.list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-id]");
  if (button) openConversation(button.dataset.id);
});
ui.message.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.files.addEventListener("change", () => {
  ui.fileList.replaceChildren(
    ...[...ui.files.files].map((f) => Object.assign(document.createElement("li"), { textContent: f.name })),
  );
});
setInterval(tick, 1000);
refreshList().then(() => {
  const last = localStorage.getItem("gw.current");
  if (last && state.conversations.some((c) => c.id === last)) openConversation(last);
});

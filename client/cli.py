"""The `gateway` command: chat with streaming, conversations, history, close, jobs, job, usage."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, TextIO, TypeVar

import click
from dotenv import dotenv_values, find_dotenv

from client.core import CreateParameters, Event, Json, message_with_files
from client.errors import GatewayError
from client.status_line import StatusLine
from client.sync import Gateway, Job

DEFAULT_URL = "http://127.0.0.1:8000"
STATUS_LABELS = {
    "queued": "queued",
    "in_progress": "in progress",
    "requires_action": "waiting for tool outputs",
    "completed": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "incomplete": "incomplete",
}


def setting(args: SimpleNamespace, flag: str, name: str) -> str | None:
    """A flag, else the environment, else `.env` (searched from the working directory up)."""
    value = getattr(args, flag, None)
    if value:
        return str(value)
    if os.environ.get(name):
        return os.environ[name]
    path = find_dotenv(usecwd=True)
    return (dotenv_values(path).get(name) or None) if path else None


def connect(args: SimpleNamespace) -> Gateway:
    token = setting(args, "token", "GATEWAY_TOKEN")
    if not token:
        raise click.UsageError("no token: pass --token or set GATEWAY_TOKEN (environment or .env)")
    url = setting(args, "url", "GATEWAY_URL") or DEFAULT_URL
    return Gateway(url, token, user_id=setting(args, "user", "GATEWAY_USER"))


def when(timestamp: Any) -> str:
    if not isinstance(timestamp, int | float):
        return "-"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def emit_json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, indent=2) + "\n")


# -- chat ------------------------------------------------------------------------------------


def submit_chat(gateway: Gateway, args: SimpleNamespace) -> Job:
    tools = list(args.tool or [])
    parameters = CreateParameters()
    if args.max_output_tokens is not None:
        parameters["max_output_tokens"] = args.max_output_tokens
    if args.temperature is not None:
        parameters["temperature"] = args.temperature
    if args.file:
        uploads = [gateway.files.upload(path) for path in args.file]
        return gateway.respond(
            message_with_files(args.message, uploads),
            conversation_id=args.conversation,
            tools=tools or None,
            model=args.model,
            webhook_url=args.webhook_url,
            **parameters,
        )
    return gateway.chat(
        args.message,
        conversation_id=args.conversation,
        tools=tools or None,
        model=args.model,
        webhook_url=args.webhook_url,
        **parameters,
    )


def ask_to_cancel(job: Job, status: StatusLine, interactive: bool) -> bool:
    if not interactive:
        return True
    status.hide()
    status.end_text()
    sys.stderr.write(f"\nCancel job {job.id}? [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except (KeyboardInterrupt, EOFError):
        return True
    if answer.strip().lower() in ("y", "yes"):
        return True
    status.show()
    return False


def show_event(event: Event, status: StatusLine) -> None:
    if event.event == "output_text.delta":
        status.text(str(event.data.get("delta") or ""))
        if status.label != "in progress":
            status.set("in progress")
    elif event.event == "status":
        name = str(event.data.get("status"))
        status.set(STATUS_LABELS.get(name, name))
    elif event.event == "tool_call":
        status.set(f"tool call: {event.data.get('name')}")
    elif event.event == "tool_output":
        status.set("in progress")


def stream_chat(job: Job, out: TextIO, err: TextIO) -> int:
    live = out.isatty()
    interactive = live and sys.stdin.isatty()
    status = StatusLine(out, err, live=live).start()
    if job.status != "queued":
        status.set(STATUS_LABELS.get(job.status, job.status))
    cursor: str | None = None
    while True:
        try:
            for event in job.events(cursor):
                if event.id:
                    cursor = event.id
                show_event(event, status)
            break
        except KeyboardInterrupt:
            if ask_to_cancel(job, status, interactive):
                try:
                    job.cancel()
                except GatewayError as exc:
                    err.write(f"could not cancel: {exc.message}\n")
                status.finish("cancelled")
                err.write(f"cancelled {job.id}\n")
                return 130
    job.refresh()
    if not status.text_written and job.output_text:
        status.text(job.output_text)
    status.finish(STATUS_LABELS.get(job.status, job.status))
    if job.status != "completed":
        error = job.error or {}
        err.write(f"job {job.id} {job.status}: {error.get('code')}: {error.get('message')}\n")
        return 1
    return 0


def cmd_chat(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    job = submit_chat(gateway, args)
    if args.json:
        while not job.settled:
            job.wait(args.timeout)
        emit_json(out, job.data)
        return 0 if job.status == "completed" else 1
    if not out.isatty():
        sys.stderr.write(f"job {job.id} · conversation {job.conversation_id}\n")
    return stream_chat(job, out, sys.stderr)


# -- listings --------------------------------------------------------------------------------


def expires(conversation: Json) -> str:
    moment = conversation.get("expires_at")
    if conversation.get("status") != "active" or not isinstance(moment, int):
        return "-"
    left = moment - datetime.now().timestamp()
    return f"in {int(left // 60)}m{int(left % 60):02d}s" if left > 0 else "due"


def cmd_conversations(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    page = gateway.conversations.list(status=args.status, limit=args.limit)
    if args.json:
        emit_json(out, page.data)
        return 0
    rows = [
        [c["id"], c["status"], when(c.get("created_at")), when(c.get("last_active_at")), expires(c)]
        for c in page
    ]
    out.write(table(["ID", "STATUS", "CREATED", "LAST ACTIVE", "EXPIRES"], rows) + "\n")
    return 0


def cmd_history(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    items: list[Json] = []
    after = None
    while len(items) < args.limit:
        page = gateway.conversations.messages(
            args.conversation_id, limit=min(100, args.limit - len(items)), after=after
        )
        items += page.data
        if not page.has_more:
            break
        after = page.last_id
    if args.json:
        emit_json(out, items)
        return 0
    for item in items:
        out.write(transcript_line(item) + "\n")
    return 0


def transcript_line(item: Json) -> str:
    """One transcript item as a line: who said it, and what."""
    kind = item.get("type")
    if kind == "message":
        parts = item.get("content") or []
        text = "".join(str(part.get("text") or "") for part in parts)
        names = [str(part["name"]) for part in parts if part.get("name")]
        attached = f"  [attached: {', '.join(names)}]" if names else ""
        who = "you" if item.get("role") == "user" else "assistant"
        return f"{when(item.get('created_at'))}  {who}: {text}{attached}"
    if kind == "function_call":
        return f"  tool call: {item.get('name')}({item.get('arguments')})"
    if kind == "function_call_output":
        return f"  tool output: {item.get('output')}"
    return f"  {kind}"


def cmd_close(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    conversation = gateway.conversations.close(args.conversation_id)
    if args.json:
        emit_json(out, conversation)
    else:
        out.write(f"{conversation['id']} {conversation['status']}\n")
    return 0


def cmd_jobs(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    page = gateway.jobs(status=args.status, conversation_id=args.conversation, limit=args.limit)
    if args.json:
        emit_json(out, page.data)
        return 0
    rows = [
        [j["id"], j["status"], j["kind"], j.get("conversation_id") or "-", when(j["created_at"])]
        for j in page
    ]
    out.write(table(["ID", "STATUS", "KIND", "CONVERSATION", "CREATED"], rows) + "\n")
    return 0


def cmd_deliveries(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    if args.redeliver:
        gateway.redeliver(args.job_id)
    page = gateway.deliveries(args.job_id)
    if args.json:
        emit_json(out, page.data)
        return 0
    rows = [
        [d["id"], d["event_type"], d["status"], str(len(d["attempts"])), last_answer(d), d["url"]]
        for d in page
    ]
    out.write(table(["WEBHOOK-ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "URL"], rows) + "\n")
    return 0


def last_answer(delivery: Json) -> str:
    """The last attempt's status code, or why it had none."""
    if not delivery["attempts"]:
        return "-"
    last = delivery["attempts"][-1]
    return str(last["status_code"]) if last["status_code"] is not None else str(last["error"])


def cmd_job(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    job = gateway.job(args.job_id)
    if args.wait:
        job.wait(args.wait)
    if args.json:
        emit_json(out, job.data)
        return 0
    out.write(f"{job.id}  {job.status}  conversation {job.conversation_id or '-'}\n")
    if job.error:
        out.write(f"error: {job.error.get('code')}: {job.error.get('message')}\n")
    if job.output_text:
        out.write(job.output_text + "\n")
    return 0


def cmd_usage(gateway: Gateway, args: SimpleNamespace, out: TextIO) -> int:
    report = gateway.usage(args.start, args.end)
    if args.json:
        emit_json(out, report)
        return 0
    counts = ("input_tokens", "output_tokens", "total_tokens", "jobs")
    rows = [[day["date"], *(str(day[key]) for key in counts)] for day in report["days"]]
    rows.append(["total", *(str(report["total"][key]) for key in counts)])
    out.write(table(["DAY", "INPUT", "OUTPUT", "TOTAL", "JOBS"], rows) + "\n")
    out.write(f"today: {budget_line(report['today'])}\n")
    out.write(f"this month: {budget_line(report['this_month'])}\n")
    return 0


def budget_line(window: Json) -> str:
    used = f"{window['used_tokens']} tokens"
    if window["budget_tokens"] is None:
        return f"{used} (no budget)"
    resets = datetime.fromtimestamp(window["resets_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{used} of {window['budget_tokens']} ({window['remaining_tokens']} left), resets {resets}"
    )


# -- arguments -------------------------------------------------------------------------------

Command = Callable[[Gateway, SimpleNamespace, TextIO], int]
F = TypeVar("F", bound=Callable[..., Any])
COMMON = ("url", "token", "user", "json")


def common_options(command: F) -> F:
    """--url, --token, --user and --json: taken before the command's name or after it."""
    for option in (
        click.option("--json", "json", is_flag=True, default=None, help="print JSON for scripts"),
        click.option("--user", help="user_id for a service token (GATEWAY_USER)"),
        click.option("--token", help="bearer token (GATEWAY_TOKEN)"),
        click.option("--url", help="API base URL (GATEWAY_URL)"),
    ):
        command = option(command)
    return command


@click.group(help=__doc__)
@common_options
@click.pass_context
def cli(ctx: click.Context, /, **common: Any) -> None:
    ctx.obj = common


def run(handler: Command, params: dict[str, Any]) -> None:
    """Run a command with its options (a common one given before the command's name counts
    when not given after it); exit 1 on the gateway's refusal, 130 on Ctrl-C."""
    ctx = click.get_current_context()
    for name in COMMON:
        if params[name] is None:
            params[name] = ctx.obj[name]
    args = SimpleNamespace(**params)
    try:
        with connect(args) as gateway:
            code = handler(gateway, args, sys.stdout)
    except GatewayError as exc:
        click.echo(f"gateway: {exc.message} ({exc.code})", err=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    ctx.exit(code)


@cli.command(help="send a message, stream the reply")
@click.argument("message")
@click.option("--conversation", help="continue this conversation")
@click.option("--tool", multiple=True, help="a server tool, e.g. get_weather")
@click.option("--file", multiple=True, help="attach a file (uploaded first)")
@click.option("--model", help="a model the gateway allows")
@click.option("--max-output-tokens", type=int, help="the most tokens the reply may take")
@click.option("--temperature", type=float, help="sampling temperature, 0 to 2")
@click.option("--webhook-url", help="POST the signed job event here when the job ends")
@click.option("--timeout", type=float, default=300.0, help="with --json: wait this long")
@common_options
def chat(**params: Any) -> None:
    run(cmd_chat, params)


@cli.command(help="your conversations, as a table")
@click.option("--status", type=click.Choice(["active", "closed", "expired"]))
@click.option("--limit", type=int, default=20)
@common_options
def conversations(**params: Any) -> None:
    run(cmd_conversations, params)


@cli.command(help="a conversation's transcript, both sides")
@click.argument("conversation_id")
@click.option("--limit", type=int, default=1000, help="at most this many items")
@common_options
def history(**params: Any) -> None:
    run(cmd_history, params)


@cli.command(help="close a conversation")
@click.argument("conversation_id")
@common_options
def close(**params: Any) -> None:
    run(cmd_close, params)


@cli.command(help="your jobs, newest first")
@click.option("--status")
@click.option("--conversation")
@click.option("--limit", type=int, default=20)
@common_options
def jobs(**params: Any) -> None:
    run(cmd_jobs, params)


@cli.command(help="a job's webhook deliveries and their attempts")
@click.argument("job_id")
@click.option("--redeliver", is_flag=True, help="send the job's event again first (a new id)")
@common_options
def deliveries(**params: Any) -> None:
    run(cmd_deliveries, params)


@cli.command(help="one job")
@click.argument("job_id")
@click.option("--wait", type=float, default=0.0, help="wait up to N s for it to end")
@common_options
def job(**params: Any) -> None:
    run(cmd_job, params)


@cli.command(help="your tokens per UTC day, and what is left of your budget")
@click.option("--from", "start", help="first UTC day, YYYY-MM-DD (default: the 1st of the month)")
@click.option("--to", "end", help="last UTC day, YYYY-MM-DD (default: today)")
@common_options
def usage(**params: Any) -> None:
    run(cmd_usage, params)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=argv, prog_name="gateway")


if __name__ == "__main__":
    main()

"""The web chat page in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium) against a real stack: streaming, the weather card, an image, history after a
reload, close, a user token, and a bad token. Screenshots go to test-output/browser/.

The tests share one stack and one browser and run in file order (each builds on the last); the
last opens a conversation the `gateway` command made and sees both sides."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from offline_weather.server import OpenMeteoServer
from shared.core.clock import utcnow
from shared.core.models import Conversation
from tests.harness import ROOT, Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

# Imported only once we know a browser is there.
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SHOTS = ROOT / "test-output" / "browser"
USER = "alice"
WAIT = 20


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with OpenMeteoServer() as meteo:
        settings = {
            "WEATHER_API_URL": f"{meteo.base_url}/v1/forecast",
            "GEOCODING_API_URL": f"{meteo.base_url}/v1/search",
            "RATE_LIMIT": "100000/minute",
        }
        started = Stack(settings=settings).start()
        try:
            yield started
        finally:
            if request.session.testsfailed:
                print(started.logs())
            started.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.TemporaryDirectory(prefix="gw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile.name}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


@pytest.fixture(scope="module")
def page(stack: Stack, browser: webdriver.Chrome) -> webdriver.Chrome:
    browser.get(stack.api_url + "/")
    return browser


def shot(browser: webdriver.Chrome, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def wait_for(browser: webdriver.Chrome, css: str, text: str = "") -> WebElement:
    """The last element matching `css` once it shows `text`."""

    def found(driver: webdriver.Chrome) -> WebElement | bool:
        elements = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if text in e.text]
        return elements[-1] if elements else False

    return WebDriverWait(browser, WAIT).until(found)  # type: ignore[no-any-return]


def sign_in(browser: webdriver.Chrome, token: str, user_id: str) -> None:
    for field, value in (("token", token), ("user-id", user_id)):
        element = browser.find_element(By.ID, field)
        element.clear()
        if value:
            element.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "#settings button[type=submit]").click()


def send(browser: webdriver.Chrome, message: str) -> None:
    box = browser.find_element(By.ID, "message")
    box.send_keys(message)
    browser.find_element(By.ID, "send").click()


def wait_job_done(browser: webdriver.Chrome) -> None:
    wait_for(browser, "#job-status", "completed in")


def tiny_png(path: Path) -> Path:
    """A valid 2x2 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def test_a_bad_token_shows_a_clear_message(page: webdriver.Chrome) -> None:
    sign_in(page, "not-a-real-token", USER)
    notice = wait_for(page, "#notice", "token was rejected")
    assert "invalid_token" in notice.text
    shot(page, "bad-token")


def test_a_message_streams_in(page: webdriver.Chrome, stack: Stack) -> None:
    sign_in(page, stack.token, USER)
    WebDriverWait(page, WAIT).until(ec.invisibility_of_element_located((By.ID, "notice")))
    # Count the changes made to assistant bubbles while the reply arrives.
    page.execute_script(
        """
        window.textChanges = 0;
        new MutationObserver((records) => {
          for (const r of records) {
            if (r.target.closest && r.target.closest('.msg.assistant')) window.textChanges += 1;
          }
        }).observe(document.getElementById('messages'), {childList: true, subtree: true});
        """
    )
    send(page, "Hello, my name is Ada and I like long walks along the river in spring")
    reply = wait_for(page, ".msg.assistant", "[offline turn 1]")
    wait_job_done(page)
    assert "Nice to meet you, Ada" in reply.text
    assert page.execute_script("return window.textChanges") > 1  # deltas, not one final write
    assert "Hello, my name is Ada" in page.find_element(By.CSS_SELECTOR, ".msg.user").text
    wait_for(page, "#conversations [aria-current=true] .badge.active")
    assert "left" in page.find_element(By.CSS_SELECTOR, "#conversations .ttl").text
    shot(page, "streamed-reply")


def test_todays_usage_shows_beside_the_conversations(page: webdriver.Chrome) -> None:
    usage = wait_for(page, "#usage-text", "tokens today (no budget)")
    assert not usage.text.startswith("0 "), usage.text  # the reply above counted


def test_the_weather_tool_shows_a_card(page: webdriver.Chrome) -> None:
    page.find_element(By.ID, "weather-tool").click()
    send(page, "What's the weather in Paris?")
    card = wait_for(page, ".tool-card[data-tool=get_weather]", "City: Paris")
    WebDriverWait(page, WAIT).until(lambda _: "running" not in card.text)
    wait_job_done(page)
    assert "21.4" in card.text, card.text  # the fake Open-Meteo's temperature
    page.find_element(By.ID, "weather-tool").click()
    shot(page, "weather-card")


def test_an_image_attachment_is_acknowledged(page: webdriver.Chrome, tmp_path: Path) -> None:
    image = tiny_png(tmp_path / "red-square.png")
    page.find_element(By.ID, "attachments").send_keys(str(image))
    send(page, "What is in this picture?")
    wait_for(page, ".msg.user", "Attached: red-square.png")
    reply = wait_for(page, ".msg.assistant", "I see the image")
    wait_job_done(page)
    assert "red-square.png" in reply.text
    shot(page, "image")


def test_model_and_sampling_options_reach_the_upstream(
    page: webdriver.Chrome, stack: Stack
) -> None:
    page.find_element(By.CSS_SELECTOR, ".options summary").click()
    fields = {"model": "gpt-5-nano", "max-output-tokens": "16", "temperature": "0.7"}
    for field, value in fields.items():
        page.find_element(By.ID, field).send_keys(value)
    send(page, "one two three four five six seven eight nine ten eleven twelve thirteen")
    wait_for(page, ".msg.assistant.error", "ended incomplete")
    wait_for(page, "#job-status", "incomplete in")
    with stack.upstream() as upstream:
        call = upstream.get("/_offline/stats").json()["requests"][-1]
    params = call["params"]
    assert (params["model"], params["max_output_tokens"], params["temperature"]) == (
        "gpt-5-nano",
        16,
        0.7,
    )
    shot(page, "options")
    for field in fields:
        page.find_element(By.ID, field).clear()
    page.find_element(By.CSS_SELECTOR, ".options summary").click()


def test_a_reload_shows_the_history(page: webdriver.Chrome) -> None:
    page.refresh()
    wait_for(page, ".msg.assistant", "I see the image red-square.png")
    texts = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#messages > li")]
    assert any("Hello, my name is Ada" in t for t in texts)
    assert any("[offline turn 1]" in t for t in texts)
    card = page.find_element(By.CSS_SELECTOR, ".tool-card[data-tool=get_weather]")
    assert "City: Paris" in card.text and "21.4" in card.text
    shot(page, "history")


def test_closing_makes_the_conversation_read_only(page: webdriver.Chrome) -> None:
    page.find_element(By.ID, "close-chat").click()
    notice = wait_for(page, "#readonly", "closed")
    assert "read-only" in notice.text
    assert not page.find_element(By.ID, "message").is_enabled()
    assert not page.find_element(By.ID, "send").is_enabled()
    wait_for(page, "#conversations [aria-current=true] .badge.closed")
    shot(page, "closed")


def test_a_user_token_acts_for_itself(page: webdriver.Chrome, stack: Stack) -> None:
    token = stack.flask("tokens", "create", "bob").split()[-1]
    sign_in(page, token, "")
    WebDriverWait(page, WAIT).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#conversations li")
    )  # bob sees none of alice's conversations
    send(page, "Hi from Bob")
    wait_for(page, ".msg.assistant", "[offline turn 1]")
    wait_job_done(page)
    wait_for(page, "#conversations [aria-current=true] .badge.active")
    shot(page, "user-token")


def test_an_expired_conversation_is_read_only(page: webdriver.Chrome, stack: Stack) -> None:
    current = page.find_element(By.CSS_SELECTOR, "#conversations [aria-current=true]")
    conversation_id = current.get_attribute("data-id")
    engine = create_engine(stack.database_url)
    with engine.begin() as connection:  # idle for an hour: past any TTL
        connection.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_active_at=utcnow() - timedelta(hours=1))
        )
    engine.dispose()
    page.refresh()
    notice = wait_for(page, "#readonly", "expired")
    assert "read-only" in notice.text
    assert not page.find_element(By.ID, "message").is_enabled()
    wait_for(page, "#conversations [aria-current=true] .badge.expired")
    shot(page, "expired")


def test_a_conversation_made_by_the_cli_shows_both_sides(
    page: webdriver.Chrome, stack: Stack
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_URL=stack.api_url, GATEWAY_TOKEN=stack.token, GATEWAY_USER="cli-carol")
    gateway = str(Path(sys.executable).parent / "gateway")

    def cli(*args: str) -> str:
        done = subprocess.run([gateway, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = cli("chat", "Hello from the terminal, my name is Carol")
    conversation_id = cli("conversations").splitlines()[1].split()[0]
    cli(
        "chat",
        "What's the weather in Paris?",
        "--tool",
        "get_weather",
        "--conversation",
        conversation_id,
    )

    # This browser never saw the conversation: what it shows is the server's. What an earlier
    # page kept of sent messages is dropped.
    page.execute_script("localStorage.setItem('gw.sent.alice.conv_old', '{}')")
    page.refresh()
    sign_in(page, stack.token, "cli-carol")
    wait_for(page, f"#conversations button[data-id={conversation_id}]").click()
    wait_for(page, ".msg.user", "Hello from the terminal, my name is Carol")
    wait_for(page, ".msg.assistant", first.strip())
    wait_for(page, ".msg.user", "What's the weather in Paris?")
    card = wait_for(page, ".tool-card[data-tool=get_weather]", "City: Paris")
    assert "21.4" in card.text, card.text
    roles = [
        e.get_attribute("data-role") or "tool"
        for e in page.find_elements(By.CSS_SELECTOR, "#messages > li")
    ]
    assert roles == ["user", "assistant", "user", "tool", "assistant"], roles
    stored = page.execute_script("return Object.keys(localStorage)")
    assert not [key for key in stored if key.startswith("gw.sent")], stored
    shot(page, "cli-conversation")

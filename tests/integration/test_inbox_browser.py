"""The inbox page in a real browser: Debian's headless chromium driven by
selenium through chromedriver. Two mails sent with boto3 — one whose HTML
part carries a script and a remote image — are listed, searched, opened
(the HTML rendered in its sandboxed frame, no script run, nothing fetched),
deleted, and a third appears by server-sent events while the page stays
open. Every wait is bounded."""
import os
import shutil
import socket
import threading
import time
import urllib.request
from email.message import EmailMessage

import pytest

import conftest

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
WAIT = 30  # seconds; the machine may be slow, the wait is still bounded

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="chromium and chromium-driver are not installed (scripts/deps.sh)")

DOMAIN = "example.com"
PDF = b"%PDF-1.4\nnot really a pdf\x00\xff\n"


class Recorder:
    """A listening socket that counts connections: a remote load from the
    mail's HTML would show up here."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.stop()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,1000"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    d.set_page_load_timeout(WAIT)
    d.set_script_timeout(WAIT)
    yield d
    d.quit()
    shutil.rmtree(tmp_path / "chromium", ignore_errors=True)


def html_mail(port):
    m = EmailMessage()
    m["From"] = f"billing@{DOMAIN}"
    m["To"] = "alice@dest.test"
    m["Subject"] = "Invoice 42"
    m.set_content("Your invoice, as text.\n")
    m.add_alternative(
        "<html><head><title>mail</title></head><body>"
        "<h1 id='t'>Hello HTML</h1>"
        f"<img id='remote' src='http://127.0.0.1:{port}/x.png' alt='tracker'>"
        "<script>document.title='pwned'; parent.document.title='pwned';"
        "document.getElementById('t').textContent='script ran';</script>"
        "</body></html>", subtype="html")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return m.as_bytes()


def send_simple(c, subject):
    return c.send_email(Source=f"news@{DOMAIN}", Destination={"ToAddresses": ["bob@dest.test"]},
                        Message={"Subject": {"Data": subject},
                                 "Body": {"Text": {"Data": "hi"}}})["MessageId"]


def wait_inbox(s, n):
    deadline = time.time() + WAIT
    while len(conftest.messages(s)) < n:
        assert time.time() < deadline, "the mail never reached the inbox"
        time.sleep(0.1)


def test_inbox_in_a_browser(sesame, browser, recorder):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    account, key = sesame.principal("browser")
    conftest.verify(sesame, account, DOMAIN)
    ses = sesame.client(key)
    html_id = ses.send_raw_email(RawMessage={"Data": html_mail(recorder.port)})["MessageId"]
    send_simple(ses, "Weekly news")
    wait_inbox(sesame, 2)

    wait = WebDriverWait(browser, WAIT)

    def row_subjects():
        # one script, so a refresh that replaces the rows cannot interleave
        return browser.execute_script(
            "return [...document.querySelectorAll('#rows tr.msg td.subject')]"
            ".map((e) => e.textContent);")

    def rows():
        return browser.find_elements(By.CSS_SELECTOR, "#rows tr.msg")

    browser.get(sesame.endpoint + "/_sesame/")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert browser.title == "sesame inbox"
    assert row_subjects() == ["Weekly news", "Invoice 42"]  # newest first
    # a marker that survives only if the page is never reloaded
    browser.execute_script("window.sesameMarker = 42;")

    # search narrows the list to one
    q = browser.find_element(By.CSS_SELECTOR, "#search input[name=q]")
    q.send_keys("invoice")
    browser.find_element(By.ID, "go").click()
    wait.until(lambda d: row_subjects() == ["Invoice 42"])

    # open it: the HTML part is rendered in the sandboxed frame
    rows()[0].find_element(By.CSS_SELECTOR, "td.subject").click()
    wait.until(EC.visibility_of_element_located((By.ID, "view")))
    wait.until(lambda d: d.find_element(By.ID, "v-subject").text == "Invoice 42")
    frame = browser.find_element(By.ID, "frame")
    assert frame.get_attribute("sandbox") == ""
    wait.until(lambda d: (frame.get_attribute("src") or "").endswith(f"/{html_id}/html"))

    # the attachment is listed with a download link that serves its bytes
    links = browser.find_elements(By.CSS_SELECTOR, "#attachments li a")
    assert [a.text for a in links] == ["invoice.pdf"]
    href = links[0].get_attribute("href")
    assert href.endswith(f"/_sesame/messages/{html_id}/attachments/0")
    assert links[0].get_attribute("download") == "invoice.pdf"
    with urllib.request.urlopen(href, timeout=10) as r:
        assert r.read() == PDF

    browser.switch_to.frame(frame)
    h1 = wait.until(EC.presence_of_element_located((By.ID, "t")))
    assert h1.text == "Hello HTML"  # rendered, and the script did not rewrite it
    assert browser.find_element(By.ID, "remote").get_attribute("alt") == "tracker"
    browser.switch_to.default_content()
    assert browser.title == "sesame inbox"  # nor reach the page around it
    time.sleep(1)  # give a remote load every chance to happen
    assert recorder.hits == 0, "the mail's remote image was fetched"

    # the text and headers tabs
    browser.find_element(By.CSS_SELECTOR, "nav.tabs button[data-tab=text]").click()
    wait.until(lambda d: "Your invoice, as text." in d.find_element(By.ID, "text").text)
    browser.find_element(By.CSS_SELECTOR, "nav.tabs button[data-tab=raw]").click()
    wait.until(lambda d: "Subject: Invoice 42" in d.find_element(By.ID, "raw").text)

    # delete it: gone from the page and from the store
    browser.find_element(By.ID, "delete").click()
    wait.until(lambda d: row_subjects() == [])
    wait.until(EC.invisibility_of_element_located((By.ID, "view")))
    assert [m["Subject"] for m in conftest.messages(sesame)] == ["Weekly news"]

    # clear the search: the other one is there
    q.clear()
    browser.find_element(By.ID, "go").click()
    wait.until(lambda d: row_subjects() == ["Weekly news"])

    # a new mail shows up by itself (server-sent events), with no reload
    wait.until(lambda d: d.find_element(By.ID, "live").text == "live")
    send_simple(ses, "Arrived while you watched")
    wait.until(lambda d: row_subjects() == ["Arrived while you watched", "Weekly news"])
    assert browser.execute_script("return window.sesameMarker;") == 42
    assert recorder.hits == 0
    # the page's own policy reported nothing of ours as blocked
    errors = [e for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "Content Security Policy" in e["message"]
              and f"{recorder.port}" not in e["message"]
              and "/html" not in e["message"]]
    assert errors == [], errors


def test_hostile_subject_is_text_in_a_browser(sesame, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    account, key = sesame.principal("xss")
    conftest.verify(sesame, account, DOMAIN)
    evil = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
    send_simple(sesame.client(key), evil)
    wait_inbox(sesame, 1)
    browser.get(sesame.endpoint + "/_sesame/")
    wait = WebDriverWait(browser, WAIT)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    cell = browser.find_element(By.CSS_SELECTOR, "#rows tr.msg td.subject")
    assert cell.text == evil
    assert cell.find_elements(By.TAG_NAME, "img") == []
    cell.click()  # the view shows it as text as well
    wait.until(lambda d: d.find_element(By.ID, "v-subject").text == evil)
    assert browser.find_elements(By.CSS_SELECTOR, "#view img, #rows img") == []
    assert browser.title == "sesame inbox"

"""Feedback reports as remote systems write them, built with Python's own
`email` package: DSNs (RFC 3464) the way Postfix and Exim send them, ARF
complaint reports (RFC 5965) the way mailbox providers send them (redacted
ones too), and the hostile kinds (garbage, huge). `mail_report` hands one to
sesame's --feedback listener over SMTP with the null sender, as an MTA does."""
import io
import smtplib
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

ARRIVAL = "Sat, 5 Dec 2026 15:00:00 +0000"


def _bytes(msg):
    buf = io.BytesIO()
    BytesGenerator(buf, policy=policy.SMTP).flatten(msg)
    return buf.getvalue()


def _block(fields):
    b = Message()
    for k, v in fields:
        b[k] = v
    return b


def _headers_of(original):
    return original.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def dsn(original, recipients, reporting_mta="mx.dest.test", headers_only=False,
        to="postmaster@bounces.sesame.test", global_status=False):
    """A multipart/report; report-type=delivery-status. `recipients` is a
    list of (address, action, status, diagnostic); a long diagnostic is
    folded over lines by the generator, as MTAs fold it. The original goes
    back whole (message/rfc822) or as its headers (text/rfc822-headers)."""
    outer = MIMEMultipart("report", report_type="delivery-status")
    outer["From"] = f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>"
    outer["To"] = to
    outer["Subject"] = "Undelivered Mail Returned to Sender"
    outer["Auto-Submitted"] = "auto-replied"
    outer.attach(MIMEText(f"This is the mail system at host {reporting_mta}.\n\n"
                          "I'm sorry to have to inform you that your message could not\n"
                          "be delivered to one or more recipients.\n"))
    ds = Message()
    ds.set_type("message/global-delivery-status" if global_status
                else "message/delivery-status")
    blocks = [_block([("Reporting-MTA", f"dns; {reporting_mta}"),
                      ("X-Postfix-Queue-ID", "4F1B2C0A3D"),
                      ("Arrival-Date", ARRIVAL)])]
    for addr, action, status, diag in recipients:
        f = [("Final-Recipient", f"rfc822; {addr}"), ("Original-Recipient", f"rfc822;{addr}"),
             ("Action", action), ("Status", status),
             ("Remote-MTA", f"dns; {reporting_mta}")]
        if diag:
            f.append(("Diagnostic-Code", diag))
        blocks.append(_block(f))
    ds.set_payload(blocks)
    outer.attach(ds)
    if headers_only:
        part = MIMEBase("text", "rfc822-headers")
        part.set_payload(_headers_of(original).decode("utf-8", "replace"))
        outer.attach(part)
    else:
        outer.attach(MIMEMessage(message_from_bytes(original)))
    return _bytes(outer)


def arf(original, feedback_type="abuse", original_rcpt_to=None, user_agent="ExampleISP-FBL/2.1",
        redact_to=False, to="fbl@bounces.sesame.test"):
    """A multipart/report; report-type=feedback-report. With
    original_rcpt_to None the report names no recipient, and with
    redact_to the original's To is masked, as providers redact."""
    outer = MIMEMultipart("report", report_type="feedback-report")
    outer["From"] = "Feedback Loop <fbl@isp.example>"
    outer["To"] = to
    outer["Subject"] = "FW: complaint about a message from you"
    outer.attach(MIMEText("This is an email abuse report for an email message received "
                          "from IP 127.0.0.1.\n"))
    fr = MIMEBase("message", "feedback-report")
    fields = [("Feedback-Type", feedback_type), ("User-Agent", user_agent), ("Version", "1"),
              ("Original-Mail-From", "<bounce@bounces.sesame.test>"),
              ("Arrival-Date", ARRIVAL), ("Source-IP", "127.0.0.1"),
              ("Reported-Domain", "example.test")]
    if original_rcpt_to:
        fields.append(("Original-Rcpt-To", f"<{original_rcpt_to}>"))
    fr.set_payload("".join(f"{k}: {v}\r\n" for k, v in fields))
    outer.attach(fr)
    orig = message_from_bytes(original)
    if redact_to:
        del orig["To"]
        orig["To"] = "xxxxxxxx@isp.example"
    outer.attach(MIMEMessage(orig))
    return _bytes(outer)


def garbage_report():
    """A multipart/report whose parts say nothing a parser can use."""
    return (b"From: x@isp.example\r\nTo: y@bounces.sesame.test\r\nSubject: ???\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
            b"\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            b"\x00\x01\xff: ::::\r\nFinal-Recipient\r\nAction: \r\n Status: 9.9.9.9\r\n"
            b"--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <\r\n--b")


def huge_report(size=20 * 1024 * 1024):
    line = b"X" * 998 + b"\r\n"
    body = line * (size // len(line) + 1)
    return (b"From: x@isp.example\r\nTo: y@bounces.sesame.test\r\nSubject: big\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
            b"\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + body + b"--b--\r\n")


def mail_report(port, rcpt, data, sender=""):
    """Mail `data` to the feedback listener on `port` as a remote MTA does
    (EHLO, null sender); return the (code, text) DATA got, or of the first
    command refused."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
        c.ehlo("mx.dest.test")
        code, text = c.mail(sender)  # "" is the null sender, MAIL FROM:<>
        if code != 250:
            return code, text
        code, text = c.rcpt(rcpt)
        if code != 250:
            return code, text
        try:
            return c.data(data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error

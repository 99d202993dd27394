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
from email.utils import make_msgid

ARRIVAL = "Sat, 5 Dec 2026 15:00:00 +0000"


_POLICY = policy.SMTP.clone(max_line_length=998)  # fold only where the builder folds


def _bytes(msg):
    buf = io.BytesIO()
    BytesGenerator(buf, policy=_POLICY).flatten(msg)
    return buf.getvalue()


def _block(fields):
    b = Message()
    for k, v in fields:
        b[k] = v
    return b


def _headers_of(original):
    if isinstance(original, str):
        original = original.encode()
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in original:
            return original.split(sep, 1)[0] + sep[: len(sep) // 2]
    return original


def _original(original):
    if isinstance(original, Message):
        return original
    if isinstance(original, str):
        original = original.encode()
    return message_from_bytes(original)


def fold_once(value, width=40):
    """`value` folded over two lines at the first space after `width`
    characters (CRLF + the space, as RFC 5322 folds): unfolding gives back
    `value` exactly. A value without such a space is returned as is."""
    i = value.find(" ", width)
    if i < 0:
        i = value.rfind(" ")
    if i <= 0:
        return value
    return value[:i] + "\n" + value[i:]


def _envelope_headers(outer, frm, to, subject, reporting_mta):
    outer["From"] = frm
    outer["To"] = to
    outer["Subject"] = subject
    outer["Date"] = ARRIVAL
    outer["Message-ID"] = make_msgid(domain=reporting_mta)


def dsn(original, recipients, status=None, action="failed", diagnostic=None,
        reporting_mta="mx.dest.test", fold=True, headers_only=False,
        to="postmaster@bounces.sesame.test", global_status=False):
    """A multipart/report; report-type=delivery-status, as Postfix writes
    one: a human text part, message/delivery-status (per-message block
    Reporting-MTA, Arrival-Date; then one block per recipient:
    Final-Recipient rfc822;..., Original-Recipient, Action, Status,
    Remote-MTA, Diagnostic-Code), and the original back whole
    (message/rfc822) or as its headers (text/rfc822-headers, headers_only).

    `recipients` is a list of (address, action, status, diagnostic), or one
    address with `status`/`action`/`diagnostic` given by keyword. With
    fold=True each Diagnostic-Code is folded over two lines (the server must
    unfold it back to the one-line value); with fold=False no line of the
    report is folded. `original` is the message's bytes (or str), or only
    its header section."""
    if isinstance(recipients, str):
        recipients = [(recipients, action, status or "5.1.1", diagnostic)]
    outer = MIMEMultipart("report", report_type="delivery-status")
    _envelope_headers(outer, f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>", to,
                      "Undelivered Mail Returned to Sender", reporting_mta)
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
    for addr, act, st, diag in recipients:
        f = [("Final-Recipient", f"rfc822; {addr}"), ("Original-Recipient", f"rfc822;{addr}"),
             ("Action", act), ("Status", st),
             ("Remote-MTA", f"dns; {reporting_mta}")]
        if diag:
            f.append(("Diagnostic-Code", fold_once(diag) if fold else diag))
        blocks.append(_block(f))
    if global_status:
        # the generator lays out only message/delivery-status block by
        # block; a global one would lose all but its first block
        ds.set_payload("".join(_bytes(b).decode() for b in blocks))
    else:
        ds.set_payload(blocks)
    outer.attach(ds)
    if headers_only:
        part = MIMEBase("text", "rfc822-headers")
        part.set_payload(_headers_of(original).decode("utf-8", "replace"))
        outer.attach(part)
    else:
        outer.attach(MIMEMessage(_original(original)))
    return _bytes(outer)


def arf(original, feedback_type="abuse", original_rcpt_to=None, user_agent="ExampleISP-FBL/2.1",
        redact_to=False, to="fbl@bounces.sesame.test", headers_only=False,
        reporting_mta="fbl.isp.example"):
    """A multipart/report; report-type=feedback-report (RFC 5965), as a
    mailbox provider's feedback loop sends it: a text part,
    message/feedback-report (Feedback-Type, User-Agent, Version,
    Original-Mail-From, Arrival-Date, Source-IP, Reported-Domain, and
    Original-Rcpt-To only when `original_rcpt_to` is given: None is the
    redacted report), then the original (message/rfc822, or
    text/rfc822-headers with headers_only). With redact_to the original's
    To is masked too, as providers redact."""
    outer = MIMEMultipart("report", report_type="feedback-report")
    _envelope_headers(outer, "Feedback Loop <fbl@isp.example>", to,
                      "FW: complaint about a message from you", reporting_mta)
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
    orig = _original(original)
    if redact_to:
        del orig["To"]
        orig["To"] = "xxxxxxxx@isp.example"
    if headers_only:
        part = MIMEBase("text", "rfc822-headers")
        part.set_payload(_headers_of(orig.as_bytes()).decode("utf-8", "replace"))
        outer.attach(part)
    else:
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


def mail_report_codes(port, rcpt, data, sender=""):
    """Like mail_report, but the reply code of every step as a dict
    {"mail": .., "rcpt": .., "data": ..} (a step not reached is absent);
    "data" is None when the server closed the connection instead."""
    out = {}
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
        c.ehlo("mx.dest.test")
        out["mail"] = c.mail(sender)[0]
        if out["mail"] != 250:
            return out
        out["rcpt"] = c.rcpt(rcpt)[0]
        if out["rcpt"] != 250:
            return out
        try:
            out["data"] = c.data(data)[0]
        except smtplib.SMTPDataError as e:
            out["data"] = e.smtp_code
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            out["data"] = None
    return out

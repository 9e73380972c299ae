#!/usr/bin/python3
"""SMTP sink for tests (Debian python3-aiosmtpd; run it with /usr/bin/python3).

  /usr/bin/python3 smtp_sink.py --port 0 --maildir DIR [--user U --password P]
      [--tempfail-file F] [--tls-cert C --tls-key K [--implicit-tls]] [--delay-ms N]

Prints "LISTENING 127.0.0.1:<port>" once bound (use --port 0 for a free port).
RCPT containing "unknown"  -> 550 5.1.1 mailbox unknown
RCPT containing "tempfail", or any RCPT/DATA while F exists -> 451 4.3.0
DATA -> raw message (plus X-MailFrom/X-RcptTo lines) into Maildir DIR/new,
        reply "250 2.0.0 Ok: queued as <maildir key>".
--user/--password: AUTH PLAIN/LOGIN offered over plain TCP and required before MAIL.
--tls-cert/--tls-key: STARTTLS offered; with --implicit-tls TLS from the first byte.
--delay-ms: wait this long before answering DATA (a slow server, so a test can stop
            the sender in the middle of a batch).
"""
import argparse, asyncio, logging, mailbox, os, signal, ssl, warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=2525)
p.add_argument("--maildir", required=True)
p.add_argument("--user"), p.add_argument("--password")
p.add_argument("--tempfail-file")
p.add_argument("--tls-cert"), p.add_argument("--tls-key")
p.add_argument("--implicit-tls", action="store_true")
p.add_argument("--delay-ms", type=int, default=0)
a = p.parse_args()
warnings.simplefilter("ignore")  # "AUTH without TLS" warning: intended here
logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # deprecation noise, refused TLS handshakes


class Handler:
    def __init__(self):
        self.box = mailbox.Maildir(a.maildir, create=True)

    def tempfail(self):
        return a.tempfail_file is not None and os.path.exists(a.tempfail_file)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "unknown" in address.lower():
            return "550 5.1.1 mailbox unknown"
        if "tempfail" in address.lower() or self.tempfail():
            return "451 4.3.0 temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if a.delay_ms:
            await asyncio.sleep(a.delay_ms / 1000)
        if self.tempfail():
            return "451 4.3.0 temporary failure, try again later"
        head = f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        key = self.box.add(head.encode() + envelope.content)  # raw bytes as received, CRLF kept
        return f"250 2.0.0 Ok: queued as {key}"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == a.user.encode() and auth_data.password == a.password.encode())
    # handled=False on failure: aiosmtpd itself replies "535 5.7.8 Authentication credentials invalid"
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


async def main():
    ctx = None
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    auth = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False) if a.user else {}
    handler = Handler()
    factory = lambda: SMTP(handler, hostname="smtp-sink.test", decode_data=False,
                           tls_context=None if a.implicit_tls else ctx, **auth)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, a.host, a.port, ssl=ctx if a.implicit_tls else None)
    print(f"LISTENING {a.host}:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    server.close()


asyncio.run(main())

"""A real SMTP relay for the end-to-end tests (aiosmtpd).

    smtp_relay.py accept DIR USER PASSWORD   stores each message as DIR/N.eml (and the
                                             envelope as DIR/N.envelope); AUTH as USER
                                             with PASSWORD only
    smtp_relay.py refuse                     answers 550 to every recipient

Prints the port it listens on (127.0.0.1), then serves until stdin closes.
"""

import logging
import pathlib
import socket
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

# aiosmtpd 1.4 warns about its own deprecated attribute on every login.
warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Accept:
    def __init__(self, out):
        self.out = pathlib.Path(out)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = self.out / str(self.count)
        envelope_text = "\n".join([envelope.mail_from, *envelope.rcpt_tos, str(session.authenticated)])
        base.with_suffix(".envelope").write_text(envelope_text)
        tmp = base.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content)
        tmp.rename(base.with_suffix(".eml"))
        return "250 2.0.0 OK"


class Refuse:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 mailbox unavailable"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    mode = sys.argv[1]
    options = {}
    if mode == "accept":
        handler = Accept(sys.argv[2])
        user, password = sys.argv[3].encode(), sys.argv[4].encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user and auth_data.password == password
            return AuthResult(success=ok)

        options = {"authenticator": authenticator, "auth_require_tls": False}
    else:
        handler = Refuse()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


main()

"""A real SMTP server (aiosmtpd) for the notifier's tests, storing what it accepts in a
Maildir, with failures scripted by the recipient's local part:

  tempfail<N>-...@   451 to the first N attempts (RCPT), then accepted
  reject-...@        550 always

Every RCPT is appended to <maildir>/attempts.log as "<address> <n>", so a test counts
attempts. Usage: smtp_server.py PORT MAILDIR [USER:PASSWORD]; with credentials the server
requires AUTH (PLAIN or LOGIN, allowed without TLS on loopback) and refuses other ones with 535.
Prints "ready" when listening; SIGTERM stops it.
"""
import mailbox
import os
import re
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Scripted:
    def __init__(self, maildir):
        self.maildir = maildir
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.mailbox = mailbox.Maildir(maildir, create=True)
        self.counts = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        with self.lock:
            n = self.counts.get(address, 0) + 1
            self.counts[address] = n
            with open(os.path.join(self.maildir, "attempts.log"), "a") as log:
                log.write(f"{address} {n}\n")
        if local.startswith("reject"):
            return "550 5.1.1 No such mailbox"
        m = re.match(r"tempfail(\d+)", local)
        if m and n <= int(m.group(1)):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.mailbox.add(envelope.original_content)
        return "250 OK: queued"


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    options = {}
    if len(sys.argv) > 3:
        user, password = sys.argv[3].split(":", 1)

        def check(mechanism, login, secret):
            return login.decode() == user and secret.decode() == password

        options = dict(auth_required=True, auth_require_tls=False, auth_callback=check)
    controller = Controller(Scripted(maildir), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    controller.stop()


if __name__ == "__main__":
    main()

"""The proxy of molecule workshop: squid on the lab network's gateway, with a user and a
password, the nodes' only way out (``labtool local create --proxy-only 3128``).

It stands where a classroom's proxy stands: Debian's packages go through it to the host's
apt-cacher-ng (its parent, as the filtered network's way out), the registry mirror on the
gateway is fetched directly. Its files (config, the password's hash, the logs) live in
``/var/lib/labtool/proxy-<lab>/``; the password itself is never written there.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

PORT = 3128
CONFIG = """\
http_port {gateway}:{port}
pid_filename {dir}/squid.pid
access_log stdio:{dir}/access.log squid
cache_log {dir}/cache.log
cache_store_log none
cache deny all
coredump_dir {dir}
shutdown_lifetime 1 seconds
auth_param basic program /usr/lib/squid/basic_ncsa_auth {dir}/passwd
auth_param basic realm labtool workshop proxy
acl lab_users proxy_auth REQUIRED
http_access allow lab_users
http_access deny all
acl debian dstdomain deb.debian.org security.debian.org
cache_peer 127.0.0.1 parent 3142 0 no-query no-digest name=apt_cacher_ng
cache_peer_access apt_cacher_ng allow debian
cache_peer_access apt_cacher_ng deny all
never_direct allow debian
"""


class Squid:
    def __init__(self, lab: str, gateway: str, user: str, password: str) -> None:
        self.dir = Path(f"/var/lib/labtool/proxy-{lab}")
        self.gateway, self.user, self.password = gateway, user, password
        self.process: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.dir / "access.log"

    def start(self) -> None:
        """Write its files (the password as an MD5-crypt hash, made by openssl from stdin)
        and start it in the foreground of a child process; return once it answers."""
        self.dir.mkdir(parents=True, exist_ok=True)
        hashed = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=self.password, text=True,
                                capture_output=True, check=True).stdout.strip()
        (self.dir / "passwd").write_text(f"{self.user}:{hashed}\n")
        (self.dir / "squid.conf").write_text(CONFIG.format(gateway=self.gateway, port=PORT, dir=self.dir))
        for name in ("access.log", "cache.log"):
            (self.dir / name).write_text("")
        subprocess.run(["chown", "-R", "proxy:proxy", str(self.dir)], check=True)
        self.process = subprocess.Popen(["squid", "-N", "-f", str(self.dir / "squid.conf")],
                                        stdout=subprocess.DEVNULL, stderr=(self.dir / "stderr.log").open("w"))
        self._wait_until_it_answers()

    def _wait_until_it_answers(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise SystemExit(f"squid stopped: {(self.dir / 'stderr.log').read_text()}"
                                 f"{(self.dir / 'cache.log').read_text()[-2000:]}")
            try:
                socket.create_connection((self.gateway, PORT), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"squid does not answer on {self.gateway}:{PORT} after {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def requests(self) -> list[str]:
        """Each request the proxy served: 'user METHOD URL RESULT/STATUS' (squid's native log)."""
        out = []
        for line in self.access_log.read_text().splitlines():
            words = line.split()  # time elapsed client result/status bytes method URL user hierarchy type
            if len(words) >= 8:
                out.append(f"{words[7]} {words[5]} {words[6]} {words[3]}")
        return out

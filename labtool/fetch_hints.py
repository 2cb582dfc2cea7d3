"""What to try when a node could not fetch a package or an image: the source named in the
failed task's message, and the proxy (sources.proxy) where the nodes reach the outside only
through one. Judges messages only; knows apt's, dnf's and containerd's wording."""

from __future__ import annotations

import re
from typing import Any

_SOURCE_RES = (
    re.compile(r"(?:Could not connect to|Unable to connect to|Could not resolve) '?([^\s'()]+)"),  # apt
    re.compile(r"Failed to fetch (https?://[^/\s]+)"),  # apt
    re.compile(r"Curl error \(\d+\): [^\n]*? for (https?://[^/\s]+)"),  # dnf
    re.compile(r'failed to (?:do request|resolve reference)[^\n]*?"(https?://[^/"]+)'),  # containerd, ctr
)


def failed_source(message: str) -> str | None:
    """The host (or URL's origin) a failed fetch names in ``message``, or None."""
    for pattern in _SOURCE_RES:
        match = pattern.search(message or "")
        if match:
            return match.group(1).rstrip(":")
    return None


def fetch_lines(lab: Any, result: Any) -> list[str]:
    """One line a node whose task failed fetching from a source: the source and what to try."""
    proxy = re.sub(r"//[^@/]*@", "//", lab.sources.proxy)
    todo = (f"check that the proxy {proxy} answers and lets the nodes through to it" if proxy else
            "where the nodes reach the outside only through an HTTP proxy, name it in the lab file: "
            "sources.proxy: http://[USER@]HOST:PORT (its password in sources.proxy_password_file)")
    lines = []
    for failure in result.failures:
        source = None if failure.unreachable else failed_source(failure.message)
        line = f"{failure.host} could not fetch from {source}: {todo}"
        if source and line not in lines:
            lines.append(line)
    return lines

"""The lab's HTTP(S) proxy: the URL as the lab file may give it, and the no_proxy list that
labtool completes itself (the classic mistake that breaks a proxied cluster is a no_proxy
without the nodes, the pod and service ranges and the cluster's own names)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator

from labtool.labfile.problems import KeyedError

# http(s)://[user@]host:port — a password is never part of it (sources.proxy_password_file)
PROXY_URL_RE = re.compile(r"^https?://(?:(?P<user>[^\s/:@]+)@)?(?P<host>[^\s/:@]+):(?P<port>\d+)/?$")
PROXY_PASSWORD_REFUSED = (
    "a password is never written in the lab file, the proxy's neither: give the proxy URL with "
    "its user alone (http://USER@HOST:PORT) and the password in sources.proxy_password_file, "
    "a file only you can read (chmod 600)"
)
# the names every proxied cluster must reach directly
CLUSTER_NAMES = ("localhost", "127.0.0.1", ".svc", ".cluster.local")


def proxy_url(value: str) -> str:
    """``value`` if it is an HTTP(S) proxy URL without a password; else ValueError, why."""
    if not value:
        return value
    if re.match(r"^https?://[^\s/@]*:[^\s/@]*@", value):
        raise ValueError(PROXY_PASSWORD_REFUSED)
    if not PROXY_URL_RE.match(value):
        raise ValueError(f"{value!r} is not a proxy URL such as http://10.0.0.1:3128 or "
                         "http://USER@10.0.0.1:3128")
    return value.rstrip("/")


def no_proxy_entries(entries: list[str]) -> list[str]:
    bad = [e for e in entries if not e.strip() or any(c.isspace() or c == "," for c in e.strip())]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a host, domain (.example.org) or CIDR; one per entry")
    return [e.strip() for e in entries]


ProxyUrl = Annotated[str, AfterValidator(lambda v: proxy_url(v.strip()))]
NoProxy = Annotated[list[str], AfterValidator(no_proxy_entries)]


def proxy_settings(sources: Any) -> Any:
    """The rules between the proxy keys of ``sources`` (a model validator's)."""
    if sources.proxy_password_file is not None and not proxy_user(sources.proxy):
        raise KeyedError("proxy_password_file", "needs a proxy URL with its user: proxy: http://USER@HOST:PORT")
    if sources.no_proxy and not sources.proxy:
        raise KeyedError("no_proxy", "does nothing without sources.proxy")
    return sources


def proxy_user(value: str) -> str:
    match = PROXY_URL_RE.match(value)
    return (match.group("user") or "") if match else ""


def completed_no_proxy(lab: Any) -> list[str]:
    """What the nodes reach without the proxy: the lab file's ``no_proxy``, then every node's
    name, address and node_ip, the pod and service CIDRs, and the cluster's own names; each
    once, in that order."""
    nodes = [v for node in lab.nodes for v in (node.name, node.address, node.node_ip) if v]
    k8s = lab.kubernetes
    return list(dict.fromkeys([*lab.sources.no_proxy, *nodes, k8s.pod_cidr, k8s.service_cidr,
                               *CLUSTER_NAMES]))

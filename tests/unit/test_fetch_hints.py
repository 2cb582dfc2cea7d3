"""A node that could not fetch: the failure report names the source and suggests the proxy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from labtool.events import TaskFailure
from labtool.fetch_hints import failed_source, fetch_lines

APT = ("E: Failed to update the package index: Err:1 http://deb.debian.org/debian bookworm InRelease\n"
       "  Could not connect to 172.24.7.1:3142 (172.24.7.1). - connect (110: Connection timed out)\n"
       "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease")
CTR = ('ctr: failed to resolve reference "daocloud.io/library/nginx:latest": failed to do request: '
       'Head "http://172.24.7.1:5000/v2/library/nginx/manifests/latest?ns=daocloud.io": dial tcp '
       '172.24.7.1:5000: i/o timeout')
DNF = ("Curl error (7): Couldn't connect to server for "
       "https://download.docker.com/linux/centos/9/x86_64/stable/repodata/repomd.xml [Failed to connect]")


@pytest.mark.parametrize(("message", "source"), [
    (APT, "172.24.7.1:3142"),
    ("E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure", "http://deb.debian.org"),
    (CTR, "http://172.24.7.1:5000"),
    (DNF, "https://download.docker.com"),
    ("kubeadm: [ERROR Port-6443]: Port 6443 is in use", None),
])
def test_the_source_a_failed_fetch_names(message, source):
    assert failed_source(message) == source


def _lab(proxy: str = "") -> SimpleNamespace:
    return SimpleNamespace(sources=SimpleNamespace(proxy=proxy))


def _result(*failures: TaskFailure) -> SimpleNamespace:
    return SimpleNamespace(failures=list(failures))


def _failure(host: str, message: str, unreachable: bool = False) -> TaskFailure:
    return TaskFailure(host=host, task="Install the OS packages", role="node_prep", message=message,
                       unreachable=unreachable)


def test_without_a_proxy_the_report_suggests_one_once_a_node():
    lines = fetch_lines(_lab(), _result(_failure("cp", APT), _failure("cp", APT), _failure("w1", CTR),
                                        _failure("w2", "ssh: connect to host 172.24.7.12 port 22", True)))
    assert lines == [
        "cp could not fetch from 172.24.7.1:3142: where the nodes reach the outside only through an HTTP "
        "proxy, name it in the lab file: sources.proxy: http://[USER@]HOST:PORT (its password in "
        "sources.proxy_password_file)",
        "w1 could not fetch from http://172.24.7.1:5000: where the nodes reach the outside only through "
        "an HTTP proxy, name it in the lab file: sources.proxy: http://[USER@]HOST:PORT (its password in "
        "sources.proxy_password_file)",
    ]


def test_behind_a_proxy_the_report_names_it_without_its_user():
    lines = fetch_lines(_lab("http://student@10.0.0.1:3128"), _result(_failure("cp", CTR)))
    assert lines == ["cp could not fetch from http://172.24.7.1:5000: check that the proxy "
                     "http://10.0.0.1:3128 answers and lets the nodes through to it"]

"""sources.proxy: the URL the lab file may hold, the completed no_proxy, and the password
that stays out of the inventory (issue 21, item 2)."""

from __future__ import annotations

import pytest

from labtool.inventory import build_inventory, render_inventory
from labtool.labfile import LabFileError, load_lab
from labtool.labfile.proxy import completed_no_proxy

NODES = """\
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane, key: ./id_ed25519}
  - {name: w1, address: 192.168.56.11, role: worker, key: ./id_ed25519, node_ip: 10.0.2.11}
  - {name: w2, address: w2.lab.example, role: worker, key: ./id_ed25519, node_ip: 192.168.56.12}
kubernetes: {version: "1.24.1", pod_cidr: 10.200.0.0/16, service_cidr: 10.100.0.0/16}
"""


def _lab(write_lab, sources: str):
    return load_lab(write_lab(NODES + "sources:\n" + sources))


def test_no_proxy_is_completed_with_nodes_cidrs_and_cluster_names(write_lab):
    lab = _lab(write_lab, "  proxy: http://10.0.0.1:3128\n  no_proxy: [.corp.example, 10.1.0.0/16]\n")
    assert completed_no_proxy(lab) == [
        ".corp.example", "10.1.0.0/16",
        "cp", "192.168.56.10", "w1", "192.168.56.11", "10.0.2.11", "w2", "w2.lab.example", "192.168.56.12",
        "10.200.0.0/16", "10.100.0.0/16",
        "localhost", "127.0.0.1", ".svc", ".cluster.local",
    ]


def test_no_proxy_names_each_entry_once(write_lab):
    lab = _lab(write_lab, "  proxy: http://10.0.0.1:3128\n  no_proxy: [localhost, 192.168.56.10, .svc]\n")
    entries = completed_no_proxy(lab)
    assert len(entries) == len(set(entries))
    assert entries[:3] == ["localhost", "192.168.56.10", ".svc"]


def test_the_inventory_carries_the_proxy_and_the_completed_no_proxy(write_lab):
    lab = _lab(write_lab, "  proxy: http://10.0.0.1:3128/\n")
    v = build_inventory(lab)["all"]["vars"]
    assert v["lab_proxy"] == "http://10.0.0.1:3128"
    assert v["lab_no_proxy"].split(",") == completed_no_proxy(lab)


def test_without_a_proxy_the_inventory_says_none(write_lab):
    v = build_inventory(_lab(write_lab, "  package_proxy: http://10.0.0.1:3142\n"))["all"]["vars"]
    assert (v["lab_proxy"], v["lab_no_proxy"]) == ("", "")


def test_a_password_in_the_proxy_url_is_refused(write_lab):
    with pytest.raises(LabFileError) as err:
        _lab(write_lab, "  proxy: http://student:s3cret@10.0.0.1:3128\n")
    text = str(err.value)
    assert "sources.proxy" in text and "proxy_password_file" in text
    assert "s3cret" not in text


def test_the_proxy_password_stays_in_its_file(write_lab, lab_dir):
    secret = lab_dir / "proxy.pass"
    secret.write_text("p/ss@word\n")
    secret.chmod(0o600)
    lab = _lab(write_lab, "  proxy: http://student@10.0.0.1:3128\n  proxy_password_file: ./proxy.pass\n")
    text = render_inventory(build_inventory(lab))
    assert "p/ss@word" not in text
    assert (f"lab_proxy: http://student:{{{{ lookup('ansible.builtin.file', '{secret}') | urlencode"
            " | replace('/', '%2F') }}@10.0.0.1:3128") in text


@pytest.mark.parametrize(("sources", "key", "words"), [
    ("  proxy: 10.0.0.1:3128\n", "sources.proxy", "not a proxy URL"),
    ("  proxy: http://10.0.0.1\n", "sources.proxy", "not a proxy URL"),
    ("  no_proxy: [.corp.example]\n", "sources.no_proxy", "without sources.proxy"),
    ("  proxy: http://10.0.0.1:3128\n  no_proxy: ['a, b']\n", "sources.no_proxy", "one per entry"),
    ("  proxy: http://10.0.0.1:3128\n  proxy_password_file: ./id_ed25519\n", "sources.proxy_password_file",
     "with its user"),
])
def test_a_proxy_setting_that_cannot_work_is_refused(write_lab, lab_dir, sources, key, words):
    key_file = lab_dir / "id_ed25519"
    key_file.write_text("key\n")
    key_file.chmod(0o600)
    with pytest.raises(LabFileError) as err:
        _lab(write_lab, sources)
    assert key in str(err.value) and words in str(err.value)

"""Which Debian release each local node runs (labtool.local.releases, labtool.local.image)."""

from __future__ import annotations

import pytest

from labtool.local import LocalLabError, image, nodes, releases
from labtool.local import _release_of as release_of_container


def test_every_node_runs_debian_12_unless_told():
    assert releases.node_releases() == {"cp": "debian-12", "w1": "debian-12", "w2": "debian-12"}
    assert releases.node_releases("debian-13") == {"cp": "debian-13", "w1": "debian-13", "w2": "debian-13"}


def test_node_os_names_each_node_over_os():
    got = releases.node_releases("debian-12", "cp=debian-13, w1=debian-11")
    assert got == {"cp": "debian-13", "w1": "debian-11", "w2": "debian-12"}


@pytest.mark.parametrize(
    ("os_name", "node_os", "says"),
    [
        ("debian-10", None, "'debian-10' is not a node OS"),
        (None, "w9=debian-11", "no node 'w9'"),
        (None, "w1", "is not NODE=RELEASE"),
        (None, "w1=ubuntu-22", "--node-os w1: 'ubuntu-22'"),
    ],
)
def test_a_wrong_release_or_node_is_refused_with_the_reason(os_name, node_os, says):
    with pytest.raises(LocalLabError, match=says):
        releases.node_releases(os_name, node_os)


def test_debian_11_and_kubernetes_1_26_or_later_are_refused_with_the_reason():
    nodes_os = releases.node_releases(None, "w1=debian-11")
    assert releases.kubernetes_problems(nodes_os, "v1.20.2") == []
    assert releases.kubernetes_problems(nodes_os, "1.25.9") == []
    problems = releases.kubernetes_problems(nodes_os, "v1.26.0")
    assert len(problems) == 1
    assert problems[0].startswith("node w1 on debian-11: its containerd 1.4.13 serves CRI v1alpha2 only")
    assert releases.kubernetes_problems(releases.node_releases("debian-13"), "1.34.1") == []


def test_each_release_has_its_own_image_from_the_same_recipe():
    tags = {release: image.image_tag(release) for release in image.RELEASES}
    assert len(set(tags.values())) == 3
    recipes = {release: image.recipe(release) for release in image.RELEASES}
    assert {r["suite"] for r in recipes.values()} == {"bullseye", "bookworm", "trixie"}
    assert len({str({k: v for k, v in r.items() if k != "suite"}) for r in recipes.values()}) == 1
    assert image.image_tag() == tags["debian-12"]
    assert all(image.release_of(tag) == release for release, tag in tags.items())


def test_a_node_container_says_its_release():
    args = nodes.run_args("lab", "w1", "labtool-node:abc", "lab-nodes", "172.24.0.11", "debian-11")
    assert "labtool.os=debian-11" in args
    assert release_of_container({"Config": {"Labels": {"labtool.os": "debian-13"}, "Image": "x"}}) == "debian-13"
    assert release_of_container({"Config": {"Labels": {}, "Image": image.image_tag("debian-11")}}) == "debian-11"
    assert release_of_container({"Config": {"Labels": None, "Image": "labtool-node:old"}}) == "?"


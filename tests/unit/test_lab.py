"""The lab file: every bad lab gets exit code 2 and one message per problem that names the
file and the key path; nothing is run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import GOOD_LAB
from labtool.commands import main
from labtool.inventory import build_inventory
from labtool.labfile import LabFileError, load_lab
from labtool.labfile.values import (
    DEFAULT_ONLINE_KUBERNETES_VERSION,
    FIRST_ONLINE_MINOR,
    SUPPORTED_MINORS,
    parse_version,
)


def _nodes(*lines: str) -> str:
    return "nodes:\n" + "".join(f"  - {line}\n" for line in lines)


HEAD = "name: workshop\nsources: {mode: local, artifacts: ./artifacts}\n"
CP = "{name: cp, address: 192.168.56.10, role: control-plane}"
W1 = "{name: w1, address: 192.168.56.11, role: worker}"
W2 = "{name: w2, address: 192.168.56.12, role: worker}"

# (case id, lab file text, key path named in the message, words the message must contain)
BAD_LABS = [
    ("yaml-syntax", HEAD + "nodes:\n  - {name: cp, address: 192.168.56.10\n  role: x\n",
     "", "YAML syntax error"),
    ("unknown-key", HEAD + _nodes(CP, "{name: w1, adress: 192.168.56.11, role: worker}"),
     "nodes[1].adress", "did you mean 'address'"),
    ("unknown-top-level-key", HEAD + "node_profil: container\n" + _nodes(CP, W1),
     "node_profil", "did you mean 'node_profile'"),
    ("unknown-nested-key", HEAD + _nodes(CP, W1) + "kubernetes: {pod_cdir: 10.244.0.0/16}\n",
     "kubernetes.pod_cdir", "did you mean 'pod_cidr'"),
    ("no-control-plane", HEAD + _nodes(W1, W2), "nodes", "no node has role: control-plane"),
    ("no-worker", HEAD + _nodes(CP), "nodes", "no node has role: worker"),
    ("two-control-planes",
     HEAD + _nodes(CP, "{name: cp2, address: 192.168.56.11, role: control-plane}"),
     "nodes[1].role", "second control plane"),
    ("duplicate-names", HEAD + _nodes(CP, W1, "{name: w1, address: 192.168.56.12, role: worker}"),
     "nodes[2].name", "already used by nodes[1]"),
    ("duplicate-addresses",
     HEAD + _nodes(CP, W1, "{name: w2, address: 192.168.56.11, role: worker}"),
     "nodes[2].address", "already used by nodes[1]"),
    ("bad-ip-address", HEAD + _nodes(CP, "{name: w1, address: 192.168.56.300, role: worker}"),
     "nodes[1].address", "neither an IP address nor a host name"),
    ("bad-host-name", HEAD + _nodes(CP, "{name: w1, address: 'w1_host!', role: worker}"),
     "nodes[1].address", "neither an IP address nor a host name"),
    ("host-name-without-node-ip",
     HEAD + _nodes(CP, "{name: w1, address: w1.lab.example, role: worker}"),
     "nodes[1].node_ip", "required when address is a host name"),
    ("bad-role", HEAD + _nodes(CP, "{name: w1, address: 192.168.56.11, role: master}"),
     "nodes[1].role", "'master' is not one of"),
    ("node-port-below-range", HEAD + _nodes(CP, W1) + "workloads: {service: {node_port: 8080}}\n",
     "workloads.service.node_port", "outside 30000–32767"),
    ("node-port-above-range", HEAD + _nodes(CP, W1) + "workloads: {service: {node_port: 32768}}\n",
     "workloads.service.node_port", "outside 30000–32767"),
    ("ssh-port-out-of-range",
     HEAD + _nodes("{name: cp, address: 192.168.56.10, role: control-plane, port: 70000}", W1),
     "nodes[0].port", "outside 1–65535"),
    ("service-port-zero", HEAD + _nodes(CP, W1) + "workloads: {service: {port: 0}}\n",
     "workloads.service.port", "outside 1–65535"),
    ("container-port-out-of-range",
     HEAD + _nodes(CP, W1) + "workloads: {deployment: {container_port: 65536}}\n",
     "workloads.deployment.container_port", "outside 1–65535"),
    ("pod-and-service-cidr-overlap",
     HEAD + _nodes(CP, W1) + "kubernetes: {service_cidr: 10.244.128.0/20}\n",
     "kubernetes.service_cidr", "overlaps kubernetes.pod_cidr"),
    ("node-address-in-pod-cidr",
     HEAD + _nodes(CP, "{name: w1, address: 10.244.1.7, role: worker}"),
     "nodes[1].address", "inside kubernetes.pod_cidr"),
    ("node-ip-in-service-cidr",
     HEAD + _nodes(CP, "{name: w1, address: 192.168.56.11, node_ip: 10.96.0.20, role: worker}"),
     "nodes[1].node_ip", "inside kubernetes.service_cidr"),
    ("bad-cidr", HEAD + _nodes(CP, W1) + "kubernetes: {pod_cidr: 10.244.0.1/16}\n",
     "kubernetes.pod_cidr", "not a network in CIDR notation"),
    ("version-too-old", HEAD + _nodes(CP, W1) + "kubernetes: {version: '1.19.16'}\n",
     "kubernetes.version", "not supported"),
    ("version-too-new", HEAD + _nodes(CP, W1) + "kubernetes: {version: '1.36.0'}\n",
     "kubernetes.version", "not supported"),
    ("version-not-xyz", HEAD + _nodes(CP, W1) + "kubernetes: {version: 'latest'}\n",
     "kubernetes.version", "x.y.z"),
    ("version-unquoted-number", HEAD + _nodes(CP, W1) + "kubernetes: {version: 1.20}\n",
     "kubernetes.version", "quote it"),
    ("online-before-1.24", "name: workshop\nkubernetes: {version: '1.20.2'}\n" + _nodes(CP, W1),
     "sources.mode", "pkgs.k8s.io"),
    ("mirror-without-packages-url", "name: workshop\nsources: {mode: mirror}\n" + _nodes(CP, W1),
     "sources.kube_packages_url", "required when sources.mode is mirror"),
    ("local-artifacts-missing",
     "name: workshop\nsources: {mode: local, artifacts: ./no-such-dir}\n" + _nodes(CP, W1),
     "sources.artifacts", "does not exist"),
    ("local-artifacts-without-manifest",
     "name: workshop\nsources: {mode: local, artifacts: ./empty}\n" + _nodes(CP, W1),
     "sources.artifacts", "no artifacts.yml"),
    ("local-artifacts-other-version",
     HEAD + _nodes(CP, W1) + "kubernetes: {version: '1.21.0'}\n",
     "sources.artifacts", "are for Kubernetes 1.20.2"),
    ("local-images-from-an-unmirrored-registry",
     "name: workshop\nsources: {mode: local, artifacts: ./artifacts, local_images: mirror,\n"
     "  registry_mirrors: {registry.k8s.io: ['http://10.0.0.1:5000']}}\n" + _nodes(CP, W1),
     "sources.local_images", "no sources.registry_mirrors entry for daocloud.io"),
    ("key-file-missing",
     HEAD + _nodes("{name: cp, address: 192.168.56.10, role: control-plane, key: ./nokey}", W1),
     "nodes[0].key", "does not exist"),
    ("missing-node-name", HEAD + _nodes(CP, "{address: 192.168.56.11, role: worker}"),
     "nodes[1].name", "required key is missing"),
    ("local-no-version-and-none-in-the-artifacts",
     "name: workshop\nsources: {mode: local, artifacts: ./unversioned}\n" + _nodes(CP, W1),
     "kubernetes.version", "names no kubernetes_version"),
    ("local-no-version-and-no-artifacts",
     "name: workshop\nsources: {mode: local, artifacts: ./no-such-dir}\n" + _nodes(CP, W1),
     "sources.artifacts", "does not exist"),
    ("coredns-without-an-image-in-the-artifacts",
     HEAD + _nodes(CP, W1) + "kubernetes: {coredns: true}\n",
     "kubernetes.coredns", "carry no CoreDNS image"),
    ("coredns-not-a-bool", HEAD + _nodes(CP, W1) + "kubernetes: {coredns: maybe}\n",
     "kubernetes.coredns", "'maybe'"),
    ("bad-lab-name", "name: Work_Shop\nsources: {mode: local, artifacts: ./artifacts}\n"
     + _nodes(CP, W1), "name", "not a valid lab name"),
    ("duplicate-yaml-key", HEAD + "name: again\n" + _nodes(CP, W1), "name",
     "duplicate key (first at line 1)"),
    ("same-app-label", HEAD + _nodes(CP, W1)
     + "workloads: {replication_controller: {app_label: web}}\n",
     "workloads.replication_controller.app_label", "also the Deployment's label"),
    ("bad-proxy-url", "name: workshop\nsources: {mode: local, artifacts: ./artifacts, "
     "package_proxy: '10.0.0.1:3142'}\n" + _nodes(CP, W1),
     "sources.package_proxy", "not an http:// or https:// URL"),
    ("nodes-not-a-list", HEAD + "nodes: {name: cp}\n", "nodes", "must be a list"),
]


@pytest.mark.parametrize("text,key,words", [c[1:] for c in BAD_LABS], ids=[c[0] for c in BAD_LABS])
def test_bad_lab_exits_2_and_names_file_and_key(write_lab, lab_dir, text, key, words):
    (lab_dir / "empty").mkdir(exist_ok=True)
    (lab_dir / "unversioned").mkdir(exist_ok=True)
    (lab_dir / "unversioned" / "artifacts.yml").write_text("images: {}\n")
    path = write_lab(text)
    result = CliRunner().invoke(main, ["inventory", "-f", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert lines, result.stderr
    expected_prefix = f": {key}: " if key else ": "
    matching = [line for line in lines if expected_prefix in line and words in line]
    assert matching, f"no line names {key!r} with {words!r}:\n{result.stderr}"
    assert result.stdout == ""  # no inventory printed, nothing run


def test_yaml_syntax_error_gives_line_and_column(write_lab):
    path = write_lab(HEAD + "nodes:\n  - {name: cp, address: 192.168.56.10\n  role: x\n")
    with pytest.raises(LabFileError) as exc:
        load_lab(path)
    (problem,) = exc.value.problems
    assert (problem.line, problem.column) == (5, 7)
    assert str(problem).startswith(f"{path}:5:7: YAML syntax error")


def test_unsupported_version_is_one_problem(write_lab):
    with pytest.raises(LabFileError) as exc:
        load_lab(write_lab(HEAD + _nodes(CP, W1) + "kubernetes: {version: '1.19.16'}\n"))
    assert [p.key for p in exc.value.problems] == ["kubernetes.version"]


def test_duplicate_yaml_key_points_at_the_second_one(write_lab):
    with pytest.raises(LabFileError) as exc:
        load_lab(write_lab(HEAD + "name: again\n" + _nodes(CP, W1)))
    (problem,) = exc.value.problems
    assert (problem.key, problem.line) == ("name", 3)


def test_every_problem_is_reported_at_once_one_line_each(write_lab):
    path = write_lab(
        "name: workshop\n"
        "sources: {mode: local, artifacts: ./artifacts}\n"
        "nodes:\n"
        "  - {name: cp, address: 192.168.56.10, role: control-plane, port: 0}\n"
        "  - {name: cp, address: 192.168.56.999, role: worker}\n"
        "workloads: {service: {node_port: 80}}\n"
    )
    with pytest.raises(LabFileError) as exc:
        load_lab(path)
    keys = [p.key for p in exc.value.problems]
    assert keys == ["nodes[0].port", "nodes[1].address", "nodes[1].name",
                    "workloads.service.node_port"]
    assert len(str(exc.value).splitlines()) == 4
    assert all(p.file == str(path) and p.line for p in exc.value.problems)


def test_good_lab_has_the_walkthrough_defaults(write_lab, lab_dir):
    lab = load_lab(write_lab(GOOD_LAB))
    assert lab.kubernetes.version == "1.20.2"
    assert (lab.kubernetes.pod_cidr, lab.kubernetes.service_cidr) == ("10.244.0.0/16", "10.96.0.0/12")
    assert lab.iptables_service == "stopped" and lab.node_profile == "machine"
    w = lab.workloads
    assert (w.deployment.name, w.deployment.replicas, w.deployment.app_label,
            w.deployment.container_name, w.deployment.image, w.deployment.container_port) == \
        ("dep01", 2, "web", "testnginx9", "daocloud.io/library/nginx", 80)
    assert (w.service.name, w.service.port, w.service.node_port, w.service.target_port) == \
        ("mysvc", 8080, 30001, 80)
    assert (w.replication_controller.name, w.replication_controller.replicas,
            w.replication_controller.app_label) == ("my-nginx", 2, "nginx")
    assert lab.control_plane.name == "cp" and [n.name for n in lab.workers] == ["w1", "w2"]
    assert all(n.user == "root" and n.port == 22 for n in lab.nodes)
    assert lab.nodes[1].node_ip == "192.168.56.11"  # defaults to the address


def test_relative_paths_are_relative_to_the_lab_file(write_lab, lab_dir, tmp_path_factory):
    path = write_lab(GOOD_LAB)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        lab = load_lab(os.path.relpath(path, elsewhere))
    finally:
        os.chdir(cwd)
    assert lab.nodes[0].key == (lab_dir / "id_ed25519").resolve()
    assert lab.sources.artifacts == (lab_dir / "artifacts").resolve()


def test_online_mode_from_1_24(write_lab):
    lab = load_lab(write_lab("name: workshop\nkubernetes: {version: '1.30.4'}\n" + _nodes(CP, W1)))
    assert lab.sources.mode == "online" and lab.kubernetes.version == "1.30.4"


def test_missing_lab_file(tmp_path):
    result = CliRunner().invoke(main, ["inventory", "-f", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.yml'}: no such lab file" in result.stderr


def test_no_file_and_no_local_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "state"))
    result = CliRunner().invoke(main, ["inventory"])
    assert result.exit_code == 2
    assert "local lab 'labtool' does not exist" in result.stderr


def test_the_contracts_example_lab_file_uses_only_known_keys(tmp_path):
    """docs/INTERFACES.md §1 shows every key: all are accepted (a mirror lab of 1.20.2 from the
    legacy layout; the keys of mode local commented out). Its only problem, on machines without
    it, is the example's key file."""
    doc = (Path(__file__).parents[2] / "docs" / "INTERFACES.md").read_text()
    example = doc.split("## 1.", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "lab.yml"
    path.write_text(example)
    try:
        load_lab(path)
    except LabFileError as exc:
        assert {p.key for p in exc.problems} == {"nodes[0].key"}, str(exc)


def test_empty_sections_mean_the_defaults(write_lab):
    lab = load_lab(write_lab(HEAD + _nodes(CP, W1) + "kubernetes:\nworkloads:\n"))
    assert lab.kubernetes.version == "1.20.2" and lab.workloads.service.node_port == 30001


def test_local_images_from_mirrors_that_serve_every_registry(write_lab):
    lab = load_lab(write_lab(
        "name: workshop\nsources: {mode: local, artifacts: ./artifacts, local_images: mirror,\n"
        "  registry_mirrors: {registry.k8s.io: ['http://10.0.0.1:5000'],"
        " daocloud.io: ['http://10.0.0.1:5000']}}\n" + _nodes(CP, W1)))
    assert lab.sources.local_images == "mirror"


def test_a_lab_file_with_only_nodes_is_a_lab(write_lab, tmp_path, monkeypatch):
    """Every default validates: the smallest lab file is an online lab of a release that
    pkgs.k8s.io serves, with CoreDNS."""
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    path = write_lab(_nodes(CP, W1))
    result = CliRunner().invoke(main, ["inventory", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert f'lab_kubernetes_version: "{DEFAULT_ONLINE_KUBERNETES_VERSION}"' in result.stdout
    lab = load_lab(path)
    assert (lab.name, lab.sources.mode, lab.kubernetes.coredns) == ("workshop", "online", True)


def test_the_online_default_is_a_version_online_mode_accepts():
    major, minor, _ = parse_version(DEFAULT_ONLINE_KUBERNETES_VERSION)
    assert major == 1 and FIRST_ONLINE_MINOR <= minor <= SUPPORTED_MINORS[-1]


def test_a_mirror_lab_without_a_version_gets_the_online_default(write_lab):
    lab = load_lab(write_lab("sources: {mode: mirror, kube_packages_url: 'http://10.0.0.1/k8s'}\n"
                             + _nodes(CP, W1)))
    assert lab.kubernetes.version == DEFAULT_ONLINE_KUBERNETES_VERSION


@pytest.mark.parametrize("built", ["v1.22.17", "1.20.2"])
def test_a_local_lab_without_a_version_takes_the_artifacts_version(write_lab, lab_dir, built):
    (lab_dir / "artifacts" / "artifacts.yml").write_text(f"kubernetes_version: {built}\nimages: {{}}\n")
    lab = load_lab(write_lab(HEAD + _nodes(CP, W1)))
    assert lab.kubernetes.version == built.lstrip("v")


@pytest.mark.parametrize("coredns_image,expected", [("", False), ("registry.k8s.io/coredns:1.7.0", True)])
def test_a_local_lab_has_coredns_when_its_artifacts_carry_the_image(write_lab, lab_dir,
                                                                  coredns_image, expected):
    (lab_dir / "artifacts" / "artifacts.yml").write_text(
        f"kubernetes_version: v1.20.2\nimages: {{coredns: '{coredns_image}'}}\n")
    lab = load_lab(write_lab(HEAD + _nodes(CP, W1)))
    assert lab.kubernetes.coredns is expected


def test_coredns_can_be_turned_off(write_lab):
    lab = load_lab(write_lab("kubernetes: {coredns: false}\n" + _nodes(CP, W1)))
    assert lab.kubernetes.coredns is False
    assert build_inventory(lab)["all"]["vars"]["lab_coredns"] is False

"""labtool.local.nodes without Docker: what a second `up` may skip on a node container."""

from __future__ import annotations

from labtool.local import nodes


def test_the_key_is_copied_once_per_container_and_again_when_it_or_the_container_changes(tmp_path, monkeypatch):
    copies = []
    monkeypatch.setattr(nodes, "run", lambda args, **kw: copies.append(args))
    pubkey = tmp_path / "id_ed25519.pub"
    pubkey.write_text("ssh-ed25519 AAAA first\n")

    nodes.authorize_key("lab-cp", pubkey, "c0ffee")
    nodes.authorize_key("lab-cp", pubkey, "c0ffee")
    assert copies == [["docker", "cp", str(pubkey), "lab-cp:/root/.ssh/authorized_keys"]]

    nodes.authorize_key("lab-cp", pubkey, "beef00")  # the node container was made anew
    pubkey.write_text("ssh-ed25519 AAAA second\n")  # the state directory's key was made anew
    nodes.authorize_key("lab-cp", pubkey, "beef00")
    nodes.authorize_key("lab-w1", pubkey, "beef00")  # another node: its own record
    assert len(copies) == 4


def test_a_node_host_key_is_found_as_ssh_keygen_finds_it_plain_or_hashed(tmp_path):
    import shutil
    import subprocess

    known = tmp_path / "known_hosts"
    assert nodes.host_known(known, "172.27.0.10") is False  # no file yet
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    known.write_text(f"# a comment\n172.27.0.10 {key}\n10.0.0.1,10.0.0.2 {key}\n")
    assert nodes.host_known(known, "172.27.0.10") and nodes.host_known(known, "10.0.0.2")
    assert not nodes.host_known(known, "172.27.0.1")  # a prefix is another host
    if shutil.which("ssh-keygen"):
        subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
        assert "172.27.0.10" not in known.read_text()  # hashed now
        assert nodes.host_known(known, "172.27.0.10") and nodes.host_known(known, "10.0.0.1")
        assert not nodes.host_known(known, "172.27.0.11")

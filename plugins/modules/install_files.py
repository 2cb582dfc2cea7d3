#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Documentation of labtool.lab.install_files; the work is its action plugin's
(plugins/action/install_files.py), which never runs this file on a node."""

from __future__ import annotations

DOCUMENTATION = r"""
module: install_files
author: labtool maintainers (@labtool)
short_description: Install large files from the controller, each checked against its sha256 on the node
description:
  - Transfers each file to a temporary directory on the node, then in one command checks every
    copy against its sha256 (sha256sum --check) and installs each at its place (install -D,
    owner root, I(mode)); the temporary directory is removed. Any copy that differs fails the
    task before anything is installed.
  - The caller decides which files to install (e.g. those a probe found missing or different);
    the task installs every file it is given and reports changed when it was given any.
  - In check mode nothing is transferred; the result says what would be installed.
options:
  files:
    type: list
    elements: dict
    required: true
    description: The files to install.
    suboptions:
      src: {type: path, required: true, description: A path on the controller.}
      dest: {type: path, required: true, description: A path on the node.}
      sha256: {type: str, required: true, description: The hex digest the copy must have.}
      mode: {type: str, default: "0644", description: The installed file's mode (octal string).}
"""

EXAMPLES = r"""
- name: Install kubeadm, kubelet and kubectl from the artifacts directory
  labtool.lab.install_files:
    files:
      - {src: /var/cache/labtool/artifacts/v1.20.2/bin/kubeadm, dest: /usr/bin/kubeadm, sha256: "{{ sha }}", mode: "0755"}
"""

RETURN = r"""
installed:
  type: list
  returned: always
  description: The destinations installed (in check mode, those that would be).
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                src=dict(type="path", required=True),
                dest=dict(type="path", required=True),
                sha256=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
            )),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="labtool.lab.install_files runs as an action plugin on the controller")


if __name__ == "__main__":
    main()

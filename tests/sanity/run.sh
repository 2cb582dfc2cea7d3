#!/usr/bin/env bash
# ansible-test sanity of the collection labtool.lab, offline but for PyPI.
# ansible-test needs the collection at .../ansible_collections/labtool/lab/: the collection's
# files (git ls-files, tracked and new, less what galaxy.yml's build_ignore leaves out of the tarball, plus
# tests/sanity) are copied into a temp dir. Each sanity test runs in a venv ansible-test makes
# (--venv is its default for --local with requirements): the requirements come from PyPI; pip's
# bootstrap script, which ansible-test downloads from ci-files.testing.ansible.com (not reachable
# here), is replaced by tests/sanity/get_pip.py. Python 3.11 only (the nodes' and the venv's).
# Usage: tests/sanity/run.sh [ansible-test sanity options, e.g. --test pep8]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${LABTOOL_VENV:-/opt/labtool-venv}
work=$(mktemp -d /tmp/labtool-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/ansible_collections/labtool/lab"
mkdir -p "$root"

cd "$repo"
git ls-files -z -co --exclude-standard -- galaxy.yml meta plugins roles playbooks README.md CHANGELOG.md tests/sanity \
  | xargs -0 cp --parents -t "$root"

pip_version=$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" \
  "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/tests/sanity/get_pip.py" "$cache"

cd "$root"
"$venv/bin/ansible-test" sanity --python 3.11 --local --color no "$@"

#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) for labtool, then runs the main job or the tests.
#
#   ./bootstrap.sh up     the whole walkthrough on the local lab (three node containers)
#   ./bootstrap.sh test   every test: pytest, then molecule (default and rebuild scenarios)
#   ./bootstrap.sh setup  only the set-up
#
# Set-up: Debian packages, dockerd running, the Python venv with labtool installed, and the
# offline Kubernetes 1.20.2 artifacts built from Debian's source package (cached).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${LABTOOL_VENV:-/opt/labtool-venv}
artifacts=${LABTOOL_ARTIFACTS:-/var/cache/labtool/artifacts/v1.20.2}

debian_packages=(
  docker.io iptables conntrack iproute2 openssh-client curl ca-certificates
  python3-venv python3-pip
  debootstrap apt-cacher-ng docker-registry skopeo
  golang-1.19-go golang-github-modern-go-reflect2-dev rsync build-essential dpkg-dev
  containernetworking-plugins
  apt-utils gnupg
  librsvg2-bin  # rsvg-convert: tests render labtool explain's SVG to PNG
  shellcheck    # ansible-test sanity checks the collection's shell scripts with it
  chromium      # headless: the class board's browser test (molecule classroom) loads labtool progress --serve
  squid         # molecule workshop: the proxy on the lab network's gateway, the nodes' only way out
)

step() { printf '\n==> %s\n' "$*"; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap.sh needs root: it installs packages, runs dockerd and sets host sysctls." >&2
    exit 2
  fi
}

install_debian_packages() {
  step "Installing Debian packages (${#debian_packages[@]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${debian_packages[@]}" >/dev/null
}

start_dockerd() {
  step "Starting dockerd"
  if docker info >/dev/null 2>&1; then echo "dockerd already running"; return; fi
  setsid dockerd >/var/log/labtool-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && { echo "dockerd running"; return; }; sleep 1; done
  echo "dockerd did not start; see /var/log/labtool-dockerd.log" >&2
  exit 1
}

install_labtool() {
  step "Installing labtool and its test tools into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  # setuptools warns at length about the roles/ and playbooks/ directories the wheel ships
  # as data (pyproject.toml, labtool._ansible): its output goes to a log, shown on failure.
  if ! { "$venv/bin/pip" install -q --upgrade pip && "$venv/bin/pip" install -q -e "$repo[test]"; } \
      >/var/log/labtool-pip.log 2>&1; then
    tail -40 /var/log/labtool-pip.log >&2
    echo "pip install failed; the whole output is in /var/log/labtool-pip.log" >&2
    exit 1
  fi
  export PATH="$venv/bin:$PATH"
  labtool --version
}

build_artifacts() {
  step "Building the offline Kubernetes artifacts (cached in $artifacts)"
  bash "$repo/tools/artifacts/build.sh" --out "$artifacts"
}

# Debian 12's OS packages in the artifacts (debs/bookworm/), for the air-gapped scenario default:
# about 30 MB, 10-20 s to download; nothing to do when they are there. The first run also builds
# the Debian 12 node image, which the first local lab would build anyway.
add_os_packages() {
  step "Adding Debian 12's OS packages to the artifacts (air-gapped labs; cached)"
  "$venv/bin/python" "$repo/tools/artifacts/debs.py" add --release debian-12 --artifacts "$artifacts"
}

setup() {
  require_root
  install_debian_packages
  start_dockerd
  install_labtool
  build_artifacts
  add_os_packages
}

run_main_job() {
  step "labtool up: the walkthrough on three local node containers"
  cd "$repo"
  labtool up --artifacts "$artifacts"
}

run_tests() {
  step "Running every test"
  cd "$repo"
  bash "$repo/tests/run-all.sh"
}

case "${1:-}" in
  up) setup; run_main_job ;;
  test) setup; run_tests ;;
  setup) setup ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Build the offline artifacts directory for Kubernetes v1.20.2 (docs/INTERFACES.md §3)
# from reachable package registries only (Debian apt): binaries compiled from Debian's
# kubernetes source package, CNI plugins from Debian, container images built locally with
# docker from Debian packages and the Kubernetes tree. A tool for instructors (and the tests).
#
#   tools/artifacts/build.sh [--out DIR] [--work DIR] [--force]
#
# Default --out: /var/cache/labtool/artifacts/v1.20.2. --work (source tree, Go build
# cache, Debian root filesystems; reused): /var/cache/labtool/build. Root on Debian 12.
# A complete DIR whose stamp matches this recipe is left alone (exit 0 in a second);
# a changed recipe (this script or files/) rebuilds, reusing the caches.
set -Eeuo pipefail

readonly K8S_VERSION=v1.20.2
readonly K8S_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56
readonly SOURCE_PACKAGE=kubernetes
readonly SOURCE_UPSTREAM_VERSION=1.20.5+really1.20.2
readonly GO_BIN=/usr/lib/go-1.19/bin
readonly DEBIAN_MIRROR=http://deb.debian.org/debian
readonly DEBIAN_SUITE=bookworm
readonly BINARIES=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
readonly NODE_BINARIES=(kubeadm kubelet kubectl)
readonly HOST_PACKAGES=(ca-certificates curl xz-utils dpkg-dev build-essential rsync
    golang-1.19-go golang-github-modern-go-reflect2-dev containernetworking-plugins
    debootstrap docker.io skopeo docker-registry conntrack file openssl python3)
# name -> image reference, the names kubeadm 1.20.2 asks for (etcd: the tag the roles
# pass as etcd.local.imageTag). No CoreDNS image: it cannot be built from Debian here.
readonly IMAGE_NAMES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd pause nginx)
declare -A IMAGE_REFS=(
    [kube-apiserver]=registry.k8s.io/kube-apiserver:$K8S_VERSION
    [kube-controller-manager]=registry.k8s.io/kube-controller-manager:$K8S_VERSION
    [kube-scheduler]=registry.k8s.io/kube-scheduler:$K8S_VERSION
    [kube-proxy]=registry.k8s.io/kube-proxy:$K8S_VERSION
    [etcd]=registry.k8s.io/etcd:3.4.23
    [pause]=registry.k8s.io/pause:3.2
    [nginx]=daocloud.io/library/nginx:latest
)

OUT=/var/cache/labtool/artifacts/$K8S_VERSION
WORK=/var/cache/labtool/build
FORCE=0
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
START=$(date +%s)

usage() {
    sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#--work=}; shift ;;
        --force) FORCE=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
OUT=$(realpath -m "$OUT")
WORK=$(realpath -m "$WORK")

log() { printf '%s [artifacts] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR
finish() { log "$1 in $(($(date +%s) - START)) s: $OUT"; }

# The recipe: this script and everything it copies from files/. Any change rebuilds.
recipe_hash() {
    (cd "$HERE" && sha256sum build.sh files/* | sha256sum | cut -d' ' -f1)
}
readonly RECIPE=$(recipe_hash)
readonly STAMP_NAME=.labtool-build-stamp

# Complete = stamp of this recipe present and every file artifacts.yml lists is there.
is_complete() {
    local dir=$1 path listed
    [[ -f $dir/$STAMP_NAME && -f $dir/artifacts.yml ]] || return 1
    [[ $(cat "$dir/$STAMP_NAME") == "$K8S_VERSION $RECIPE" ]] || return 1
    listed=$(sed -n 's/^  \([^ :][^:]*\): [0-9a-f]\{64\}$/\1/p' "$dir/artifacts.yml")
    for path in "${NODE_BINARIES[@]/#/bin/}" systemd/kubelet.service systemd/10-kubeadm.conf \
        cni/bin/bridge cni/bin/host-local cni/bin/loopback cni/bin/portmap \
        "${IMAGE_NAMES[@]/%/.tar}"; do
        [[ $path == *.tar ]] && path=images/$path
        grep -qxF "$path" <<<"$listed" || return 1
    done
    while read -r path; do
        [[ -f $dir/$path ]] || return 1
    done <<<"$listed"
}

if [[ $FORCE == 0 ]] && is_complete "$OUT"; then
    finish "up to date (recipe ${RECIPE:0:12})"
    exit 0
fi

[[ $(id -u) == 0 ]] || die "run as root (apt-get, debootstrap, docker)"
log "building $K8S_VERSION artifacts into $OUT (recipe ${RECIPE:0:12}, work dir $WORK)"
mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------
step_host_packages() {
    local missing=() p
    for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "host packages: all present"
        return
    fi
    log "host packages: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${missing[@]}"
}

step_docker() {
    if docker info >/dev/null 2>&1; then
        log "docker: running"
        return
    fi
    log "docker: starting dockerd (log $WORK/dockerd.log)"
    setsid dockerd >"$WORK/dockerd.log" 2>&1 </dev/null &
    local i
    for i in $(seq 60); do
        docker info >/dev/null 2>&1 && { log "docker: up after ${i} s"; return; }
        sleep 1
    done
    die "dockerd did not come up in 60 s; see $WORK/dockerd.log"
}

# Debian's kubernetes source package 1.20.5+really1.20.2: the complete v1.20.2 tree with
# vendor/. Unpacked (with Debian's patches) once into $WORK/src and reused.
TREE=$WORK/src/$SOURCE_PACKAGE-$SOURCE_UPSTREAM_VERSION
step_source() {
    if [[ -f $TREE/.labtool-unpacked ]]; then
        log "source: $TREE (cached)"
        return
    fi
    local list=/etc/apt/sources.list.d/labtool-deb-src.sources
    if [[ ! -f $list ]]; then
        log "source: adding deb-src for $DEBIAN_SUITE in $list"
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$DEBIAN_MIRROR" "$DEBIAN_SUITE" >"$list"
        apt-get -o DPkg::Lock::Timeout=600 update -q
    elif ! apt-cache showsrc "$SOURCE_PACKAGE" >/dev/null 2>&1; then
        apt-get -o DPkg::Lock::Timeout=600 update -q
    fi
    local version
    version=$(apt-cache showsrc "$SOURCE_PACKAGE" | sed -n "s/^Version: \(${SOURCE_UPSTREAM_VERSION}-.*\)/\1/p" | head -n1)
    [[ -n $version ]] || die "no $SOURCE_PACKAGE source $SOURCE_UPSTREAM_VERSION-* in apt"
    log "source: apt-get source $SOURCE_PACKAGE=$version"
    rm -rf "$TREE"
    mkdir -p "$WORK/src"
    (cd "$WORK/src" && apt-get source -q "$SOURCE_PACKAGE=$version")
    [[ -d $TREE/vendor ]] || die "$TREE/vendor missing after apt-get source"
    touch "$TREE/.labtool-unpacked"
}

# Go toolchain environment: GOPATH mode as upstream 1.20 built, static binaries.
go_env() {
    export PATH=$GO_BIN:$PATH GO111MODULE=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=
    export GOPATH=$WORK/gopath GOCACHE=$WORK/gocache HOME=${HOME:-/root}
    mkdir -p "$GOPATH/src/k8s.io"
    ln -sfn "$TREE" "$GOPATH/src/k8s.io/kubernetes"
}

# vendored reflect2 1.0.1 panics at run time with Go >= 1.18; Debian ships 1.0.2.
step_reflect2() {
    local vendored=$TREE/vendor/github.com/modern-go/reflect2
    local debian=/usr/share/gocode/src/github.com/modern-go/reflect2
    if diff -rq --exclude=go.mod "$debian" "$vendored" >/dev/null 2>&1; then
        log "reflect2: vendored copy is Debian's 1.0.2 (cached)"
        return
    fi
    log "reflect2: replacing vendored 1.0.1 with Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)"
    rm -rf "$vendored"
    cp -rL "$debian" "$vendored"
    rm -f "$vendored/go.mod"
}

# kube-apiserver needs pkg/generated/openapi/zz_generated.openapi.go (not in the tarball).
step_openapi() {
    if [[ -s $TREE/pkg/generated/openapi/zz_generated.openapi.go ]]; then
        log "openapi: zz_generated.openapi.go present (cached)"
        return
    fi
    log "openapi: make gen_openapi"
    (cd "$GOPATH/src/k8s.io/kubernetes" && make gen_openapi)
    [[ -s $TREE/pkg/generated/openapi/zz_generated.openapi.go ]] || die "make gen_openapi made no zz_generated.openapi.go"
}

BIN=$WORK/bin
step_binaries() {
    local build_date ld p c
    build_date=$(date -u -d "@$(dpkg-parsechangelog -l "$TREE/debian/changelog" -STimestamp)" +%Y-%m-%dT%H:%M:%SZ)
    ld="-s -w"
    # GOPATH mode: vendored packages live under k8s.io/kubernetes/vendor/; set both spellings.
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version \
        k8s.io/kubernetes/vendor/k8s.io/component-base/version \
        k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
        ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=20"
        ld+=" -X $p.gitCommit=$K8S_GIT_COMMIT -X $p.gitTreeState=dirty -X $p.buildDate=$build_date"
    done
    mkdir -p "$BIN"
    for c in "${BINARIES[@]}"; do
        log "binaries: go build $c"
        (cd "$GOPATH/src/k8s.io/kubernetes" &&
            go build -trimpath -ldflags "$ld" -o "$BIN/$c.new" "k8s.io/kubernetes/cmd/$c")
        mv -f "$BIN/$c.new" "$BIN/$c"
    done
    local v
    v=$("$BIN/kubeadm" version -o short)
    [[ $v == "$K8S_VERSION" ]] || die "kubeadm version -o short printed '$v', expected $K8S_VERSION"
    for c in kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
        if [[ $c == kubectl ]]; then v=$("$BIN/kubectl" version --client --short); else v=$("$BIN/$c" --version); fi
        [[ $v == *"$K8S_VERSION" ]] || die "$c reports '$v', expected $K8S_VERSION"
    done
    for c in "${BINARIES[@]}"; do
        file -b "$BIN/$c" | grep -q 'statically linked' || die "$c is not statically linked"
    done
    log "binaries: all report $K8S_VERSION and are static"
    # The image tags must be the ones kubeadm asks for (decoding a config also exercises
    # json-iterator/reflect2, which panicked with the vendored 1.0.1).
    local config=$WORK/kubeadm-images.yaml list name
    printf '%s\n' 'apiVersion: kubeadm.k8s.io/v1beta2' 'kind: ClusterConfiguration' \
        "kubernetesVersion: $K8S_VERSION" 'imageRepository: registry.k8s.io' \
        'etcd:' '  local:' "    imageTag: ${IMAGE_REFS[etcd]##*:}" >"$config"
    list=$("$BIN/kubeadm" config images list --config "$config")
    for name in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd pause; do
        grep -qxF "${IMAGE_REFS[$name]}" <<<"$list" ||
            die "kubeadm expects other images than ours (${IMAGE_REFS[$name]}): $list"
    done
    log "binaries: kubeadm config images list names exactly our images (+ coredns, skipped)"
}

# A Debian minbase root filesystem with extra packages, cached as a tarball in $WORK/rootfs
# keyed by the package list (debootstrap's .deb cache shared in $WORK/debootstrap-cache).
rootfs_tar() {
    local name=$1 include=$2
    local tar=$WORK/rootfs/$name-$DEBIAN_SUITE-${include//,/+}.tar
    if [[ ! -s $tar ]]; then
        log "rootfs $name: debootstrap --variant=minbase --include=$include $DEBIAN_SUITE" >&2
        local dir=$WORK/rootfs/$name.tmp
        rm -rf "$dir"
        mkdir -p "$WORK/rootfs" "$WORK/debootstrap-cache"
        debootstrap --variant=minbase --include="$include" --cache-dir="$WORK/debootstrap-cache" \
            "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >"$WORK/rootfs/$name.log" 2>&1 ||
            die "debootstrap $name failed; see $WORK/rootfs/$name.log"
        rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log \
            "$dir"/var/cache/debconf/*-old "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
        tar --numeric-owner -C "$dir" -cf "$tar.new" .
        mv -f "$tar.new" "$tar"
        rm -rf "$dir"
    else
        log "rootfs $name: $tar (cached)" >&2
    fi
    echo "$tar"
}

# docker import of a root filesystem directory or tarball, image config via --change.
import_image() {
    local ref=$1 src=$2
    shift 2
    local changes=() c old new
    for c in "$@"; do changes+=(--change "$c"); done
    old=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
    if [[ -d $src ]]; then
        new=$(tar --numeric-owner --sort=name -C "$src" -cf - . | docker import "${changes[@]}" - "$ref")
    else
        new=$(docker import "${changes[@]}" "$src" "$ref")
    fi
    # The previous build of this image is now untagged: remove it unless a container uses it.
    if [[ -n $old && $old != "$new" ]]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}

# Static binary on an empty base: the binary in /usr/local/bin, /tmp, nothing else.
image_static() {
    local name=$1
    local dir=$WORK/images/$name
    rm -rf "$dir"
    install -d -m 0755 "$dir/usr/local/bin" "$dir/etc"
    install -d -m 1777 "$dir/tmp"
    install -m 0755 "$BIN/$name" "$dir/usr/local/bin/$name"
    echo 'hosts: files dns' >"$dir/etc/nsswitch.conf"
    import_image "${IMAGE_REFS[$name]}" "$dir" \
        'ENV PATH=/usr/local/bin:/usr/bin:/bin' "ENTRYPOINT [\"/usr/local/bin/$name\"]"
    rm -rf "$dir"
}

image_pause() {
    local dir=$WORK/images/pause
    rm -rf "$dir"
    mkdir -p "$dir"
    local tag
    tag=$(sed -n 's/^TAG = //p' "$TREE/build/pause/Makefile")
    gcc -Os -Wall -Werror -static "-DVERSION=v$tag-labtool" \
        -o "$dir/pause" "$TREE/build/pause/linux/pause.c"
    strip "$dir/pause"
    import_image "${IMAGE_REFS[pause]}" "$dir" 'ENTRYPOINT ["/pause"]'
    rm -rf "$dir"
}

# Debian-based images: the minbase tarball plus a small overlay, flattened to one layer.
image_debian() {
    local name=$1 include=$2 overlay_fn=$3
    shift 3
    local tar dir=$WORK/images/$name
    tar=$(rootfs_tar "$name" "$include")
    rm -rf "$dir"
    mkdir -p "$dir"
    tar --numeric-owner -C "$dir" -xf "$tar"
    "$overlay_fn" "$dir"
    import_image "${IMAGE_REFS[$name]}" "$dir" "$@"
    rm -rf "$dir"
}

overlay_kube_proxy() {
    local dir=$1 family suffix
    install -m 0755 "$BIN/kube-proxy" "$dir/usr/local/bin/kube-proxy"
    install -m 0755 "$HERE/files/iptables-wrapper" "$dir/usr/sbin/iptables-wrapper"
    for family in iptables ip6tables; do
        for suffix in "" -save -restore; do
            [[ -e $dir/usr/sbin/$family-nft$suffix && -e $dir/usr/sbin/$family-legacy$suffix ]] ||
                die "kube-proxy image: $family-nft$suffix / $family-legacy$suffix missing"
            ln -sfn iptables-wrapper "$dir/usr/sbin/$family$suffix"
        done
    done
}

overlay_etcd() {
    local dir=$1
    [[ -x $dir/usr/bin/etcd ]] || die "etcd image: /usr/bin/etcd missing"
    mkdir -p "$dir/var/lib/etcd"
}

overlay_nginx() {
    local dir=$1
    grep -q 'Welcome to nginx!' "$dir/var/www/html/index.nginx-debian.html" ||
        die "nginx image: Debian's default page missing"
    ln -sfn /dev/stdout "$dir/var/log/nginx/access.log"
    ln -sfn /dev/stderr "$dir/var/log/nginx/error.log"
    rm -f "$dir/run/nginx.pid"
}

step_images() {
    local name
    for name in kube-apiserver kube-controller-manager kube-scheduler; do
        log "image ${IMAGE_REFS[$name]}: static binary on an empty base"
        image_static "$name"
    done
    log "image ${IMAGE_REFS[pause]}: build/pause/linux/pause.c, gcc -static"
    image_pause
    local path='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    log "image ${IMAGE_REFS[kube-proxy]}: Debian minbase + iptables, conntrack, iptables-wrapper"
    image_debian kube-proxy iptables,conntrack overlay_kube_proxy "$path" \
        'ENTRYPOINT ["/usr/local/bin/kube-proxy"]'
    log "image ${IMAGE_REFS[etcd]}: Debian minbase + etcd-server"
    image_debian etcd etcd-server overlay_etcd "$path" 'CMD ["etcd"]'
    log "image ${IMAGE_REFS[nginx]}: Debian minbase + nginx-light"
    image_debian nginx nginx-light overlay_nginx "$path" \
        'EXPOSE 80/tcp' 'CMD ["nginx", "-g", "daemon off;"]'
    log "images: kube-proxy iptables $(rootfs_pkg_version kube-proxy iptables)," \
        "etcd-server $(rootfs_pkg_version etcd etcd-server), nginx-light $(rootfs_pkg_version nginx nginx-light)"
}

rootfs_pkg_version() {
    docker run --rm --entrypoint dpkg-query "${IMAGE_REFS[$1]}" -W -f='${Version}' "$2"
}

# ---------------------------------------------------------------------------------------
# Smoke tests: every binary in every image runs; pause runs; nginx serves its page.
step_smoke() {
    local name out
    for name in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
        out=$(docker run --rm "${IMAGE_REFS[$name]}" --version)
        [[ $out == "Kubernetes $K8S_VERSION" ]] || die "smoke: $name image printed '$out'"
    done
    out=$(docker run --rm --entrypoint iptables-wrapper "${IMAGE_REFS[kube-proxy]}")
    [[ $out == "iptables backend: "* ]] || die "smoke: iptables-wrapper printed '$out'"
    out=$(docker run --rm --entrypoint sh "${IMAGE_REFS[kube-proxy]}" -c \
        'iptables --version && ip6tables-save --version && conntrack --version')
    [[ $out == *"iptables v"*"conntrack v"* ]] || die "smoke: kube-proxy image tools: '$out'"
    out=$(docker run --rm "${IMAGE_REFS[etcd]}" etcd --version)
    [[ $out == *"etcd Version: 3.4.23"* ]] || die "smoke: etcd image printed '$out'"
    out=$(docker run --rm "${IMAGE_REFS[pause]}" -v)
    [[ $out == "pause.c v"* ]] || die "smoke: pause -v printed '$out'"
    local cid ip state i page=""
    cid=$(docker run -d --rm "${IMAGE_REFS[pause]}")
    sleep 1
    state=$(docker inspect -f '{{.State.Running}}' "$cid")
    docker stop -t 5 "$cid" >/dev/null
    [[ $state == true ]] || die "smoke: pause container is not running"
    cid=$(docker run -d --rm "${IMAGE_REFS[nginx]}")
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cid")
    for i in $(seq 20); do
        page=$(curl -fsS --max-time 2 "http://$ip/" 2>/dev/null) && break
        sleep 0.5
    done
    docker stop -t 5 "$cid" >/dev/null
    [[ $page == *"Welcome to nginx!"* ]] || die "smoke: nginx on $ip:80 did not serve 'Welcome to nginx!'"
    smoke_apiserver
    log "smoke: images run (versions $K8S_VERSION, etcd 3.4.23, pause, nginx page on $ip:80)"
}

# etcd and kube-apiserver images together: the API server starts on our etcd, serves the
# OpenAPI spec (zz_generated.openapi.go) and our kubectl reads from it (reflect2).
SMOKE_CONTAINERS=()
smoke_cleanup() {
    if [[ ${#SMOKE_CONTAINERS[@]} -gt 0 ]]; then docker rm -f "${SMOKE_CONTAINERS[@]}" >/dev/null 2>&1 || true; fi
    if [[ -n ${SMOKE_DIR:-} ]]; then rm -rf "$SMOKE_DIR"; fi
}
trap smoke_cleanup EXIT
smoke_apiserver() {
    SMOKE_DIR=$(mktemp -d "$WORK/smoke.XXXXXX")
    local etcd api etcd_ip api_ip i ready="" out
    openssl genrsa -out "$SMOKE_DIR/sa.key" 2048 2>/dev/null
    openssl rsa -in "$SMOKE_DIR/sa.key" -pubout -out "$SMOKE_DIR/sa.pub" 2>/dev/null
    echo 'smoke-token,smoke,smoke,system:masters' >"$SMOKE_DIR/tokens.csv"
    chmod 0644 "$SMOKE_DIR"/*
    etcd=$(docker run -d "${IMAGE_REFS[etcd]}" etcd --data-dir /tmp/etcd \
        --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://127.0.0.1:2379)
    SMOKE_CONTAINERS+=("$etcd")
    etcd_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$etcd")
    api=$(docker run -d -v "$SMOKE_DIR:/smoke:ro" "${IMAGE_REFS[kube-apiserver]}" \
        "--etcd-servers=http://$etcd_ip:2379" --service-cluster-ip-range=10.96.0.0/12 \
        --cert-dir=/tmp/pki --authorization-mode=AlwaysAllow --token-auth-file=/smoke/tokens.csv \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file=/smoke/sa.pub --service-account-signing-key-file=/smoke/sa.key)
    SMOKE_CONTAINERS+=("$api")
    api_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$api")
    for i in $(seq 90); do
        if curl -skf --max-time 2 -H 'Authorization: Bearer smoke-token' "https://$api_ip:6443/readyz" >/dev/null 2>&1; then
            ready=yes
            break
        fi
        sleep 1
    done
    [[ -n $ready ]] || die "smoke: kube-apiserver on etcd not ready in 90 s: $(docker logs --tail 5 "$api" 2>&1)"
    curl -skf --max-time 20 -H 'Authorization: Bearer smoke-token' -o "$SMOKE_DIR/openapi.json" \
        "https://$api_ip:6443/openapi/v2" || die "smoke: GET /openapi/v2 failed"
    out=$(head -c 200 "$SMOKE_DIR/openapi.json")
    [[ $out == *'"title":"Kubernetes","version":"'$K8S_VERSION'"'* ]] || die "smoke: /openapi/v2 answered '$out'"
    out=$("$BIN/kubectl" --server "https://$api_ip:6443" --insecure-skip-tls-verify --token smoke-token \
        get namespace kube-system -o jsonpath='{.status.phase}' </dev/null)
    [[ $out == Active ]] || die "smoke: kubectl get namespace kube-system: '$out'"
    log "smoke: kube-apiserver on etcd ready after ${i} s, serves OpenAPI, kubectl reads kube-system"
    docker rm -f "${SMOKE_CONTAINERS[@]}" >/dev/null
    SMOKE_CONTAINERS=()
}

# ---------------------------------------------------------------------------------------
STAGE=$OUT.partial
step_assemble() {
    rm -rf "$STAGE"
    mkdir -p "$STAGE"/{bin,systemd,cni/bin,images}
    local c name
    for c in "${NODE_BINARIES[@]}"; do install -m 0755 "$BIN/$c" "$STAGE/bin/$c"; done
    install -m 0644 "$HERE/files/kubelet.service" "$STAGE/systemd/kubelet.service"
    install -m 0644 "$HERE/files/10-kubeadm.conf" "$STAGE/systemd/10-kubeadm.conf"
    grep -q '^ExecStart=/usr/bin/kubelet$' "$STAGE/systemd/kubelet.service" || die "kubelet.service: kubelet path"
    grep -q '^ExecStart=/usr/bin/kubelet ' "$STAGE/systemd/10-kubeadm.conf" || die "10-kubeadm.conf: kubelet path"
    log "cni: Debian containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins)"
    for c in /usr/lib/cni/*; do install -m 0755 "$c" "$STAGE/cni/bin/"; done
    for c in bridge host-local portmap loopback; do
        [[ -x $STAGE/cni/bin/$c ]] || die "cni plugin $c missing from /usr/lib/cni"
    done
    for name in "${IMAGE_NAMES[@]}"; do
        log "docker save ${IMAGE_REFS[$name]} -> images/$name.tar"
        docker save -o "$STAGE/images/$name.tar" "${IMAGE_REFS[$name]}"
        chmod 0644 "$STAGE/images/$name.tar"
    done
}

step_manifest() {
    local f name
    log "artifacts.yml: sha256 of every file"
    {
        echo "# Offline artifacts for labtool (docs/INTERFACES.md §3), built by tools/artifacts/build.sh"
        echo "kubernetes_version: $K8S_VERSION"
        echo "images:"
        for name in "${IMAGE_NAMES[@]}"; do
            echo "  $name: ${IMAGE_REFS[$name]}"
            if [[ $name == etcd ]]; then echo '  coredns: ""'; fi
        done
        echo "files:"
        (cd "$STAGE" && find . -type f ! -name artifacts.yml ! -name "$STAMP_NAME" -printf '%P\n' | LC_ALL=C sort |
            while read -r f; do echo "  $f: $(sha256sum "$f" | cut -d' ' -f1)"; done)
    } >"$STAGE/artifacts.yml"
    echo "$K8S_VERSION $RECIPE" >"$STAGE/$STAMP_NAME"
    is_complete "$STAGE" || die "assembled directory is not complete"
    rm -rf "$OUT.old"
    [[ -e $OUT ]] && mv "$OUT" "$OUT.old"
    mv "$STAGE" "$OUT"
    rm -rf "$OUT.old"
}

step_host_packages
step_docker
step_source
go_env
step_reflect2
step_openapi
step_binaries
step_images
step_smoke
step_assemble
step_manifest
log "contents: $(du -sh "$OUT" | cut -f1); images: $(ls "$OUT/images" | tr '\n' ' ')"
finish "built"

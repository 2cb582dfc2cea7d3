#!/usr/bin/env bash
# Push the image tarballs of an artifacts directory (docs/INTERFACES.md §3) to a plain-HTTP
# registry, each under its path without the registry host, because a containerd mirror
# asks the mirror for /v2/<path>/...:
#   registry.k8s.io/kube-apiserver:v1.20.2 -> ENDPOINT/kube-apiserver:v1.20.2
#   daocloud.io/library/nginx:latest      -> ENDPOINT/library/nginx:latest
#
#   tools/artifacts/registry.sh push  DIR ENDPOINT   # e.g. ENDPOINT=localhost:5000
#   tools/artifacts/registry.sh check DIR ENDPOINT   # exit 1 unless every image is there
#
# An image whose config digest the registry already serves under that tag is skipped, so
# a second push is quick. Uses skopeo. Starting the registry is not this script's job.
set -Eeuo pipefail

usage() { sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
log() { printf '%s [registry] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[[ $# -eq 3 && ($1 == push || $1 == check) ]] || { usage >&2; exit 2; }
ACTION=$1 DIR=$2 ENDPOINT=${3#http://}
ENDPOINT=${ENDPOINT%/}
[[ -d $DIR/images ]] || die "$DIR/images: no such directory"
command -v skopeo >/dev/null || die "skopeo is not installed (apt-get install skopeo)"
START=$(date +%s)

# The one tag a `docker save` archive carries, and its image config digest.
archive_info() {
    tar -xOf "$1" manifest.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
if len(m) != 1 or len(m[0].get("RepoTags") or []) != 1:
    sys.exit("expected one image with one tag")
config = m[0]["Config"].rsplit("/", 1)[-1].removesuffix(".json")
print(m[0]["RepoTags"][0], "sha256:" + config)'
}

# The path a mirror is asked for: registry.k8s.io/kube-proxy:v1.20.2 -> kube-proxy:v1.20.2,
# daocloud.io/library/nginx:latest -> library/nginx:latest; a Docker Hub short name
# (nginx:latest) -> library/nginx:latest.
strip_host() {
    local ref=$1 first=${1%%/*}
    if [[ $ref == */* && ($first == *.* || $first == *:* || $first == localhost) ]]; then
        echo "${ref#*/}"
    elif [[ $ref == */* ]]; then
        echo "$ref"
    else
        echo "library/$ref"
    fi
}

remote_config_digest() {
    skopeo --insecure-policy inspect --tls-verify=false --raw "docker://$1" 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}

pushed=0 present=0 missing=0
for archive in "$DIR"/images/*.tar; do
    [[ -e $archive ]] || die "no image tarballs in $DIR/images"
    read -r ref digest < <(archive_info "$archive") || die "$archive: not a docker save archive with one tag"
    target=$ENDPOINT/$(strip_host "$ref")
    if [[ $(remote_config_digest "$target") == "$digest" ]]; then
        log "present: $target (${digest:7:12})"
        present=$((present + 1))
        continue
    fi
    if [[ $ACTION == check ]]; then
        log "MISSING: $target (${digest:7:12}) from $(basename "$archive")"
        missing=$((missing + 1))
        continue
    fi
    log "pushing: $(basename "$archive") -> $target"
    skopeo --insecure-policy copy --quiet --dest-tls-verify=false "docker-archive:$archive" "docker://$target"
    [[ $(remote_config_digest "$target") == "$digest" ]] || die "$target: registry does not serve ${digest:7:12} after the push"
    pushed=$((pushed + 1))
done
log "$ENDPOINT: $pushed pushed, $present already present, $missing missing, in $(($(date +%s) - START)) s"
[[ $missing -eq 0 ]]

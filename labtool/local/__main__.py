"""`python -m labtool.local create|destroy|status [--name NAME]` — what molecule and CI call."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labtool import local


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labtool.local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="set up the host and start the three node containers")
    create.add_argument("--name", default="labtool")
    create.add_argument("--artifacts", type=Path, default=None, help=f"default {local.DEFAULT_ARTIFACTS}")
    create.add_argument(
        "--no-images", action="store_true", help="skip the artifacts check and image push (nodes only)"
    )
    create.add_argument("--os", default=None, help="every node's Debian release (debian-11|12|13; default debian-12)")
    create.add_argument("--node-os", default=None, help="a node's own release, e.g. cp=debian-13,w1=debian-11")
    create.add_argument("--air-gapped", action="store_true",
                        help="nodes reach nothing but the host's SSH; OS packages and images from the artifacts")
    create.add_argument("--proxy-only", type=int, default=None, metavar="PORT",
                        help="nodes reach the host's caches only through a proxy on the gateway at PORT (yours)")
    destroy = sub.add_parser("destroy", help="remove the lab's containers, network and fence")
    destroy.add_argument("--name", default="labtool")
    status = sub.add_parser("status", help="show the lab's node containers")
    status.add_argument("--name", default="labtool")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            from labtool.local.releases import node_releases

            path = local.create(args.name, args.artifacts, echo=print, push_images=not args.no_images,
                                node_os=node_releases(args.os, args.node_os), air_gapped=args.air_gapped,
                                proxy_port=args.proxy_only)
            print(path)
        elif args.command == "destroy":
            local.destroy(args.name, echo=print)
        else:
            for row in local.status(args.name):
                print(f"{row['node']:4} {row['container']:30} {row['state']:10} {row['address']:15} {row['os']}")
    except local.LocalLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

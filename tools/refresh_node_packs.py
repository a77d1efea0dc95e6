"""Refresh the map of custom node classes to the packs that provide them.

The map is ComfyUI-Manager's `extension-node-map.json` (which node classes each custom node
repository provides). It ships gzipped in resources/node_packs/ with a note of where and when it
came from, so `--check-workflows`, the Workflows tab and run-time refusals can name the pack to
install without any network access.

    python tools/refresh_node_packs.py                 # download the newest from GitHub
    python tools/refresh_node_packs.py --from FILE     # use a copy you already have
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

REPOSITORY = "Comfy-Org/ComfyUI-Manager"
FILE = "extension-node-map.json"
RAW_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/main/{FILE}"
COMMITS_URL = f"https://api.github.com/repos/{REPOSITORY}/commits?path={FILE}&per_page=1"
TARGET = Path(__file__).resolve().parents[1] / "resources" / "node_packs"


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "imagebot-refresh-node-packs"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def check_map(data: bytes) -> int:
    """The number of packs; raises ValueError when the file is not the expected shape."""
    parsed = json.loads(data)
    if not isinstance(parsed, dict) or not parsed:
        raise ValueError("expected a JSON object of {repository URL: [[node classes], {meta}]}")
    for url, entry in parsed.items():
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
                and isinstance(entry[1], dict)):
            raise ValueError(f"entry {url!r} is not [[node classes], {{meta}}]")
    return len(parsed)


def write(data: bytes, source: dict) -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same map gives the same bytes, so an unchanged refresh changes no file
    (TARGET / f"{FILE}.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    (TARGET / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source_file", type=Path, help="a local extension-node-map.json")
    parser.add_argument("--commit", help="with --from: the ComfyUI-Manager commit it came from")
    parser.add_argument("--date", help="with --from: that commit's date (ISO 8601)")
    args = parser.parse_args(argv)
    source = {"repository": f"https://github.com/{REPOSITORY}", "file": FILE,
              "license": "GPL-3.0 (ComfyUI-Manager); the map is data listing public repositories",
              "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        if args.source_file:
            data = args.source_file.read_bytes()
            source.update(commit=args.commit, commit_date=args.date)
        else:
            data = _get(RAW_URL)
            commit = json.loads(_get(COMMITS_URL))[0]
            source.update(commit=commit["sha"], commit_date=commit["commit"]["committer"]["date"])
        packs = check_map(data)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        print(f"The node pack map was not refreshed: {exc}", file=sys.stderr)
        return 1
    source["packs"] = packs
    write(data, source)
    print(f"Wrote {packs} packs to {TARGET} (commit {source.get('commit') or 'unknown'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`--check-workflows`: load every workflow and validate it against a running ComfyUI.

Prints one line per workflow (OK, or its problems below it) plus the files that did not load, and
returns the exit code: 0 all OK, 1 problems, 2 ComfyUI unreachable.
Also runnable alone: `python -m comfy.check_workflows [--folder flujos] [--comfy-url URL]`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from comfy.errors import ComfyConnectionError, ComfyError, ComfyTimeoutError
from comfy.urls import ComfyLogin, without_login
from comfy.validation import validate
from comfy.workflows import load_workflows

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREACHABLE = 0, 1, 2
DEFAULT_URL = "http://127.0.0.1:8188"


async def fetch_object_info(comfy_url: str, api_key: str | None = None,
                            login: ComfyLogin | None = None) -> dict[str, Any]:
    from comfy.client import ComfyClient

    async with ComfyClient(comfy_url, api_key=api_key, login=login) as client:
        return await client.object_info()


async def check_workflows(folder: str | os.PathLike[str], comfy_url: str, api_key: str | None = None,
                          *, login: ComfyLogin | None = None, out: TextIO | None = None,
                          shipped: str | os.PathLike[str] | None = None) -> int:
    """`comfy_url` may carry a login (http://user:password@host); only the address is printed.
    `shipped`: the app's read-only default workflows, shown under the user's `folder`."""
    out = out or sys.stdout

    def say(line: str = "") -> None:
        print(line, file=out)

    workflows = load_workflows(folder, shipped)
    comfy_address = without_login(comfy_url)
    try:
        object_info = await fetch_object_info(comfy_url, api_key, login)
    except (ComfyConnectionError, ComfyTimeoutError, OSError, asyncio.TimeoutError) as exc:
        say(f"ComfyUI at {comfy_address} is unreachable, so the workflows were not checked.")
        say(f"  {exc}")
        say("Is ComfyUI running there? Start it, or pass --comfy-url with the right address.")
        return EXIT_UNREACHABLE
    except ComfyError as exc:        # it answered, but not with a usable /object_info (auth proxy...)
        say(f"ComfyUI at {comfy_address} did not give its node list, so the workflows were not checked.")
        say(f"  {exc}")
        say("Check the URL and, behind a proxy, the ComfyUI API key (COMFY_API_KEY).")
        return EXIT_UNREACHABLE

    say(f"Checking {len(workflows.templates)} workflow(s) in {folder} against ComfyUI at {comfy_address} "
        f"({len(object_info)} node classes)")
    failing = 0
    for name in sorted(workflows.templates):
        template = workflows.templates[name]
        problems = validate(template, object_info)
        state = "" if template.enabled else " [disabled]"
        if template.manifest_proposed:
            state = " [manifest proposed, not confirmed: disabled]"
        if problems:
            failing += 1
            say(f"PROBLEMS  {name} ({template.display_name}){state}: {len(problems)}")
            for problem in problems:
                say(f"  - {problem.message}")
        else:
            say(f"OK        {name} ({template.display_name}){state}")
        for note in template.proposal_notes:
            say(f"  · {note}")
    for error in workflows.errors:
        say(f"NOT LOADED {error.message}")
    if not workflows.templates and not workflows.errors:
        say(f"No workflows found in {folder} (expected <name>.json files in ComfyUI API format)")

    ok = len(workflows.templates) - failing
    say(f"{ok} OK, {failing} with problems, {len(workflows.errors)} not loaded")
    if failing or workflows.errors or not workflows.templates:
        return EXIT_PROBLEMS
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comfy.check_workflows",
                                     description="Validate the workflows against a running ComfyUI.")
    parser.add_argument("--folder", type=Path, default=Path("flujos"), help="workflows folder (default: flujos)")
    parser.add_argument("--comfy-url", default=os.environ.get("COMFY_URL") or DEFAULT_URL,
                        help=f"ComfyUI address (default: $COMFY_URL or {DEFAULT_URL})")
    args = parser.parse_args(argv)
    # The key only comes from the environment: never from the command line, where `ps` shows it
    # (a password written into --comfy-url is shown there too: prefer COMFY_URL for that).
    api_key = os.environ.get("COMFY_API_KEY") or None
    return asyncio.run(check_workflows(args.folder, args.comfy_url, api_key))


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tests.fake_comfyui --listen 127.0.0.1 --port 8188 [--exec-ms N]`.

Accepts (and ignores) the other ComfyUI flags (--cpu, --lowvram, ...), so a supervisor can launch
it with the same command line it gives the real server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from .server import FakeComfyUI


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_comfyui")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--exec-ms", type=float, default=200.0, help="simulated run time of one job")
    parser.add_argument("--progress-steps", type=int, default=3)
    parser.add_argument("--startup-ms", type=float, default=0.0, help="delay before listening (real: ~3.7 s)")
    parser.add_argument("--root", default=None, help="data folder (default: a fresh temp folder)")
    parser.add_argument("--model-load-ms", type=float, default=0.0, help="cost of loading a model not in VRAM")
    parser.add_argument("--model-slots", type=int, default=1, help="how many models fit in VRAM")
    parser.add_argument("--extra-object-info", default=None,
                        help="a JSON file of more node classes / model lists (e.g. the shipped workflows' models)")
    args, _ignored = parser.parse_known_args(argv)
    return args


async def serve(args: argparse.Namespace) -> None:
    if args.startup_ms:
        await asyncio.sleep(args.startup_ms / 1000)
    fake = FakeComfyUI(host=args.listen, port=args.port, exec_ms=args.exec_ms,
                       progress_steps=args.progress_steps, root=args.root,
                       model_load_ms=args.model_load_ms, model_slots=args.model_slots,
                       extra_object_info=json.loads(Path(args.extra_object_info).read_text())
                       if args.extra_object_info else None)
    fake.exit_on_crash = True
    url = await fake.start()
    print(f"Starting server\n\nTo see the GUI go to: {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            pass
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    try:
        asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

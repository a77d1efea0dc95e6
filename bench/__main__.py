"""`python -m bench NAME` runs bench/NAME.py's main(), which prints one JSON line of figures."""
import importlib
import pkgutil
import sys

import bench


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    if len(sys.argv) != 2 or sys.argv[1] not in names:
        print(f"usage: python -m bench {{{'|'.join(names)}}}", file=sys.stderr)
        return 2
    result = importlib.import_module(f"bench.{sys.argv[1]}").main()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())

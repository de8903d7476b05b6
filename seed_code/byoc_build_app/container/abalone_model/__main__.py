"""Dispatch ``python -m abalone_model <command> [args...]`` (the image's ENTRYPOINT)."""

from __future__ import annotations

import sys

COMMANDS = ("train", "serve", "preprocess", "evaluate")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(
            "usage: python -m abalone_model {" + ",".join(COMMANDS) + "} [options]",
            file=sys.stderr,
        )
        return 2
    command, rest = argv[0], argv[1:]
    if command == "train":
        from . import train as module
    elif command == "serve":
        from . import serve as module
    elif command == "preprocess":
        from . import preprocess as module
    else:
        from . import evaluate as module
    return module.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m teleglas.ops.healthcheck URL`: exit 0 when URL answers 200, else 1; for container health checks,
so the image needs neither curl nor wget. Prints the reasons of a 503 report."""

import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m teleglas.ops.healthcheck URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[0], timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.read(500).decode("utf-8", "replace"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"unreachable: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

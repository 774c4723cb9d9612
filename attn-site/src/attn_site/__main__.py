"""The site's commands: ``python -m attn_site new-chapter SLUG --module NAME`` (:mod:`attn_site.new_chapter`).

The site's other commands are modules of their own: ``python -m attn_site.i18n`` (translation
freshness) and ``python -m attn_site.figures`` (the figures).
"""

from __future__ import annotations

import argparse

from attn_site import new_chapter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_site")
    sub = parser.add_subparsers(dest="command", required=True)
    chapter = sub.add_parser(
        "new-chapter", help="write a new chapter from the skeleton", description=new_chapter.__doc__
    )
    new_chapter.add_arguments(chapter)
    args = parser.parse_args(argv)
    return new_chapter.run(chapter, args)


if __name__ == "__main__":
    raise SystemExit(main())

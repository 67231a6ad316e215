"""Command line: ``python -m deepenough run CHAPTER [--profile quick|full] [--seed N]`` or ``build``."""
import argparse
import sys
from pathlib import Path

from .machinery import diff as verdict_diff
from .machinery import lint as lint_module
from .machinery import paths, runner, scaffold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepenough", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute one chapter")
    run.add_argument("chapter")
    build = sub.add_parser("build", help="execute every chapter (skipping unchanged ones) and build the HTML book")
    sub.add_parser("list", help="list the chapters")
    lint = sub.add_parser("lint", help="check chapters (page, module, unit tests) against the book's rules "
                          "(default: every chapter); exit code 1 if any problem")
    lint.add_argument("files", nargs="*", type=Path)
    new = sub.add_parser("new", help="scaffold a new chapter (page, module, unit tests) and register it")
    new.add_argument("name", help="lower_snake_case chapter name")
    new.add_argument("--claim", required=True, help="claim id, e.g. C3 or a new C11")
    new.add_argument("--title", required=True)
    new.add_argument("--quote", help="for a new claim: its exact words from the debate")
    new.add_argument("--who", help="for a new claim: the speaker's role (the author, a commenter, ...)")
    new.add_argument("--summary", help="for a new claim: the claim in one sentence")
    diff = sub.add_parser("diff", help="compare two results directories claim by claim")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    for p in (run, build):
        p.add_argument("--profile", default="quick", help="quick (CI, minutes) or full (more seeds, larger models)")
        p.add_argument("--seed", type=int, default=0)
    build.add_argument("--force", action="store_true", help="re-execute even chapters that have not changed")
    build.add_argument("--jobs", type=int, default=None,
                       help="chapters executed at a time (default: $DEEPENOUGH_JOBS or 1); each gets cores / jobs threads")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, path in runner.notebooks().items():
            print(f"{name:20s} {path.relative_to(runner.ROOT)}")
        return 0
    if args.command == "lint":
        problems = [p for f in (args.files or lint_module.chapter_files()) for p in lint_module.lint(f)]
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s)" if problems else "all chapters pass")
        return 1 if problems else 0
    if args.command == "new":
        try:
            created = scaffold.new_chapter(args.name, args.claim, args.title, args.quote, args.who, args.summary)
        except scaffold.ScaffoldError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for path in created:
            print(f"created {path}")
        print(f"registered book/{args.name} in _toc.yml. Replace every TODO in the three files "
              f"(python -m deepenough lint {created.page} lists them), then run: "
              f"python -m deepenough run {args.name}")
        return 0
    if args.command == "diff":
        print("\n".join(verdict_diff.diff(args.old, args.new)))
        return 0
    if args.command == "run":
        try:
            outcome = runner.run_chapter(args.chapter, args.profile, args.seed, force=True)
        except runner.ChapterError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(outcome.message)
        print(f"executed notebook: {outcome.executed}")
        print(f"results: {outcome.results}")
        return 0 if outcome.ok else 1
    if args.profile not in runner.PROFILES:
        print(f"error: unknown profile {args.profile!r}: use one of {', '.join(runner.PROFILES)}", file=sys.stderr)
        return 2
    outcomes = runner.run_all(args.profile, args.seed, args.force, jobs=args.jobs)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"error: {o.message}", file=sys.stderr)
    if failed:
        return 1
    code = runner.build_html()
    if code == 0:
        print(f"book: {runner.BUILD / 'html' / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())

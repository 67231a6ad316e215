"""Command line: ``python -m deepenough run CHAPTER [--profile quick|full] [--seed N]`` or ``build``."""
import argparse
import sys
from pathlib import Path

from .machinery import diff as verdict_diff
from .machinery import lint as lint_module
from .machinery import runner, scaffold, seeds, site
from .machinery.pagecode import page_code_problems


def natural(text: str) -> int:
    """A seed: a whole number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def positive(text: str) -> int:
    """A count: a whole number, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


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
    record = sub.add_parser("record", help="run a chapter's full profile and store it in records/ with its provenance")
    record.add_argument("chapter", nargs="?", help="a chapter name (or --all)")
    record.add_argument("--all", action="store_true", help="every chapter whose record is missing or stale")
    record.add_argument("--seed", type=natural, default=seeds.RECORD)
    stable = sub.add_parser("stability", help="run a chapter at three fixed seeds; fail if any verdict moves")
    stable.add_argument("chapter")
    stable.add_argument("--seeds", type=natural, nargs="+", default=list(seeds.STABILITY))
    stable.add_argument("--profile", default="quick")
    diff = sub.add_parser("diff", help="compare two results directories claim by claim")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    for p in (run, build):
        p.add_argument("--profile", default="quick", help="quick (CI, minutes) or full (more seeds, larger models)")
        p.add_argument("--seed", type=natural, default=0)
    build.add_argument("--force", action="store_true", help="re-execute even chapters that have not changed")
    build.add_argument("--jobs", type=positive, default=None,
                       help="chapters executed at a time (default: $DEEPENOUGH_JOBS, else 2 on two or more cores); "
                            "each gets cores / jobs threads")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, path in runner.notebooks().items():
            print(f"{name:20s} {path.relative_to(runner.ROOT)}")
        return 0
    if args.command == "lint":
        missing = [str(f) for f in args.files if not f.is_file()]
        if missing:
            print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
            return 2
        pages = args.files or lint_module.chapter_files()
        problems = [p for f in pages for p in lint_module.lint(f)]
        problems += page_code_problems(args.files or runner.toc_files())
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
        try:
            print("\n".join(verdict_diff.diff(args.old, args.new)))
        except (verdict_diff.DiffError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    if args.command == "record":
        from .machinery import records

        if bool(args.all) == bool(args.chapter):
            print("error: name one chapter or give --all", file=sys.stderr)
            return 2
        try:
            if args.all:
                for name, what in records.make_all(args.seed):
                    print(f"{name}: {what}")
            else:
                print(f"recorded: {records.make(args.chapter, args.seed)}")
        except (records.RecordError, runner.ChapterError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    if args.command == "stability":
        try:
            found = runner.stability(args.chapter, args.seeds, args.profile)
        except runner.ChapterError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        claims = sorted({c for verdicts in found.values() for c in verdicts}, key=lambda c: int(c[1:]))
        for claim in claims:
            print(f"{claim}: " + ", ".join(f"seed {s} {found[s].get(claim, '-')}" for s in found))
        unstable = [c for c in claims if len({found[s].get(c) for s in found}) > 1]
        print(f"unstable: {', '.join(unstable)}" if unstable else "every verdict is the same at every seed")
        return 1 if unstable else 0
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
    code = site.build_html()
    if code == 0:
        print(f"book: {runner.BUILD / 'html' / 'index.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())

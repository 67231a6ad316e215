"""Command line: ``python -m deepenough COMMAND``, one function per command (run, build, new, claim, …)."""
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


def parser() -> argparse.ArgumentParser:
    """The command line's parser: one sub-command per function below."""
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
    new.add_argument("--counter", default="", help="for a new claim: the other side's exact words, if any")
    claim = sub.add_parser("claim", help="register a claim (exact quote, speaker) for a chapter to test")
    claim.add_argument("id", help="the next free claim id, e.g. C12")
    claim.add_argument("--summary", required=True, help="the claim in one sentence")
    claim.add_argument("--who", required=True, help="the speaker's role (the author, a commenter, ...)")
    claim.add_argument("--quote", required=True, help="its exact words from the debate")
    claim.add_argument("--counter", default="", help="the other side's exact words, if any")
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
    return parser


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def list_chapters(args) -> int:
    for name, path in runner.notebooks().items():
        print(f"{name:20s} {path.relative_to(runner.ROOT)}")
    return 0


def lint(args) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        return fail(f"no such file: {', '.join(missing)}")
    pages = args.files or lint_module.chapter_files()
    problems = [p for f in pages for p in lint_module.lint(f)]
    problems += page_code_problems(args.files or runner.toc_files())
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "all chapters pass")
    return 1 if problems else 0


def new(args) -> int:
    try:
        created = scaffold.new_chapter(args.name, args.claim, args.title, args.quote, args.who, args.summary,
                                       counter=args.counter)
    except scaffold.ScaffoldError as e:
        return fail(str(e))
    for path in created:
        print(f"created {path}")
    print(f"registered book/{args.name} in _toc.yml. Replace every TODO in the three files "
          f"(python -m deepenough lint {created.page} lists them), then run: "
          f"python -m deepenough run {args.name}")
    return 0


def claim(args) -> int:
    try:
        scaffold.register_claim(args.id, args.summary, args.who, args.quote, args.counter)
    except scaffold.ScaffoldError as e:
        return fail(str(e))
    print(f"registered {args.id}; a chapter tests it by naming it in its front matter's claims")
    return 0


def diff(args) -> int:
    try:
        print("\n".join(verdict_diff.diff(args.old, args.new)))
    except (verdict_diff.DiffError, ValueError) as e:
        return fail(str(e))
    return 0


def record(args) -> int:
    from .machinery import records

    if bool(args.all) == bool(args.chapter):
        return fail("name one chapter or give --all")
    try:
        if args.all:
            for name, what in records.make_all(args.seed):
                print(f"{name}: {what}")
        else:
            print(f"recorded: {records.make(args.chapter, args.seed)}")
    except (records.RecordError, runner.ChapterError) as e:
        return fail(str(e), 1)
    return 0


def stability(args) -> int:
    try:
        found = runner.stability(args.chapter, args.seeds, args.profile)
    except runner.ChapterError as e:
        return fail(str(e))
    claims = sorted({c for verdicts in found.values() for c in verdicts}, key=lambda c: int(c[1:]))
    for c in claims:
        print(f"{c}: " + ", ".join(f"seed {s} {found[s].get(c, '-')}" for s in found))
    unstable = [c for c in claims if len({found[s].get(c) for s in found}) > 1]
    print(f"unstable: {', '.join(unstable)}" if unstable else "every verdict is the same at every seed")
    return 1 if unstable else 0


def run(args) -> int:
    try:
        outcome = runner.run_chapter(args.chapter, args.profile, args.seed, force=True)
    except runner.ChapterError as e:
        return fail(str(e))
    print(outcome.message)
    print(f"executed notebook: {outcome.executed}")
    print(f"results: {outcome.results}")
    return 0 if outcome.ok else 1


def build(args) -> int:
    if args.profile not in runner.PROFILES:
        return fail(f"unknown profile {args.profile!r}: use one of {', '.join(runner.PROFILES)}")
    failed = [o for o in runner.run_all(args.profile, args.seed, args.force, jobs=args.jobs) if not o.ok]
    for o in failed:
        print(f"error: {o.message}", file=sys.stderr)
    if failed:
        return 1
    code = site.build_html()
    if code == 0:
        print(f"book: {runner.BUILD / 'html' / 'index.html'}")
    return code


COMMANDS = {"list": list_chapters, "lint": lint, "new": new, "claim": claim, "diff": diff, "record": record,
            "stability": stability, "run": run, "build": build}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

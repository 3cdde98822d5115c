"""Machine-mail classification and quote splitting, our rules beside the maintained libraries, in one run.

Classification on the flufl-bounce corpus (117 real bounces and warnings, one
of them a person's reply) and on the mikel-mail corpus (104 mostly human
mails, for false positives): flufl.bounce alone (any failed recipient found),
our rules without flufl.bounce, and our rules with it (what ships). Quote
splitting on the mail-parser-reply corpus (47 bodies) and our 16 localised
samples: the splitter before issue 13, mail-parser-reply 1.36 (its ``body``
and ``full_body``) and ours; a match is the expected new text after
whitespace normalisation. Prints counts side by side; needs the dev
requirements (mail-parser-reply is a dev dependency, for this comparison).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.mail import bounce_lib  # noqa: E402
from chalicelib.mail.classify import classify  # noqa: E402
from chalicelib.mail.parse import parse_mail  # noqa: E402
from chalicelib.mail.quotes import split_reply  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "email"
LANGS = ["en", "de", "da", "nl", "pl", "sv", "ja", "fr", "es", "it", "cs", "ko", "zh"]


def _machine_counts(files: list[Path]) -> dict[str, int]:
    mails = [parse_mail(p.read_bytes()) for p in files]
    counts = {"flufl.bounce alone": 0, "rules without flufl": 0, "rules + flufl (shipped)": 0, "flufl raised": 0}
    for mail in mails:
        warnings: list[str] = []
        if bounce_lib.detect(mail.message, warnings) is not None:
            counts["flufl.bounce alone"] += 1
        counts["flufl raised"] += bool(warnings)
        counts["rules + flufl (shipped)"] += classify(mail).automatic
    saved = list(bounce_lib.DETECTORS)
    bounce_lib.DETECTORS.clear()
    try:
        counts["rules without flufl"] = sum(classify(m).automatic for m in mails)
    finally:
        bounce_lib.DETECTORS.extend(saved)
    return counts


def _old_splitter():
    """The splitter as it was before issue 13, from git (None outside a checkout)."""
    import importlib.util
    import subprocess
    import tempfile

    try:
        first = subprocess.run(["git", "rev-list", "-1", "--grep=^Machine-mail classifier", "HEAD"], cwd=ROOT,
                               check=True, capture_output=True, text=True).stdout.strip()
        source = subprocess.run(["git", "show", f"{first}~1:chalicelib/mail/quotes.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "quotes_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("quotes_before", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["quotes_before"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.split_reply


def _split_counts(root: Path, expected: dict[str, str]) -> dict[str, int]:
    from mailparser_reply import EmailReplyParser

    parser = EmailReplyParser(languages=LANGS)
    old = _old_splitter()
    norm = " ".join
    counts = {"files": 0, "before issue 13": 0, "mail-parser-reply body": 0, "mail-parser-reply full_body": 0,
              "ours": 0}
    for name, want in expected.items():
        if name.startswith("_"):
            continue
        text = (root / name).read_text(encoding="utf-8")
        target = norm(want.split())
        replies = parser.read(text).replies
        counts["files"] += 1
        counts["before issue 13"] += bool(old) and norm(old(text).new_text.split()) == target
        counts["mail-parser-reply body"] += bool(replies) and norm(replies[0].body.split()) == target
        counts["mail-parser-reply full_body"] += bool(replies) and norm(replies[0].full_body.split()) == target
        counts["ours"] += norm(split_reply(text).new_text.split()) == target
    return counts


def main() -> None:
    """Print both comparisons."""
    bounces = sorted((CORPUS / "flufl-bounce").glob("*.txt"))
    human = sorted((CORPUS / "mikel-mail").rglob("*.eml"))
    print(f"machine mail found, flufl-bounce corpus ({len(bounces)} mails, 116 machine): "
          f"{_machine_counts(bounces)}")
    print(f"machine mail found, mikel-mail corpus ({len(human)} mails, 6 reports + 1 junk + 2 no-reply "
          f"notifications): {_machine_counts(human)}")
    data = ROOT / "tests" / "data"
    for label, root, path in (("mail-parser-reply corpus", CORPUS / "mail-parser-reply", data / "quote_splits.json"),
                              ("own localised samples", data / "quote_samples", data / "quote_samples" /
                               "expected.json")):
        print(f"quote split matches, {label}: {_split_counts(root, json.loads(path.read_text(encoding='utf-8')))}")


if __name__ == "__main__":
    main()

"""Write a feature's Arabic catalogue from its translation table; fail on any msgid left untranslated.

    python locale/tools/build_po.py core     # `make messages` runs makemessages first

makemessages writes what it extracts to locale/ar/LC_MESSAGES/django.po (an untracked scratch file).
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: ar\\n"
"Plural-Forms: nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;\\n"
'''


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def msgids(po_text):
    found = []
    for block in po_text.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if match:
            text = "".join(re.findall(r'"(.*)"', match.group(1)))
            if text:
                found.append(text.encode().decode("unicode_escape").encode("latin-1").decode("utf-8"))
    return found


def main(feature):
    spec = importlib.util.spec_from_file_location("table", ROOT / "locale" / "tools" / f"ar_{feature}.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    po_path = ROOT / "locale" / feature / "ar" / "LC_MESSAGES" / "django.po"
    extracted = ROOT / "locale" / "ar" / "LC_MESSAGES" / "django.po"
    source = extracted if extracted.exists() else po_path
    wanted = msgids(source.read_text(encoding="utf-8")) if source.exists() else list(table.AR)
    elsewhere = {m for other in (ROOT / "locale").glob("*/ar/LC_MESSAGES/django.po")
                 if other.parent.parent.parent.name not in {feature, "ar"} for m in msgids(other.read_text("utf-8"))}
    wanted = [m for m in wanted if m in table.AR or m not in elsewhere]  # other features translate their own
    missing = [m for m in wanted if m not in table.AR]
    if missing:
        sys.exit("Untranslated:\n" + "\n".join(missing))
    entries = sorted(set(wanted) | set(table.AR), key=lambda m: (m not in wanted, m))
    body = "\n".join(f"msgid {quote(m)}\nmsgstr {quote(table.AR[m])}\n" for m in entries)
    po_path.write_text(HEADER + "\n" + body, encoding="utf-8")
    subprocess.run(["msgfmt", "--check-format", "-o", str(po_path.with_suffix(".mo")), str(po_path)], check=True)


if __name__ == "__main__":
    main(sys.argv[1])

"""python manage.py meeting_pack --cycle 3 --lang ar --format pdf --output pack-ar.pdf"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.core.models import ReviewCycle
from tracker.review.pack import FORMATS, LANGUAGES, PackUnavailable, build_pack


class Command(BaseCommand):
    help = "Write a review cycle's meeting pack (Word or PDF, Arabic or English) to a file."

    def add_arguments(self, parser):
        parser.add_argument("--cycle", type=int, required=True, help="the review cycle's id")
        parser.add_argument("--lang", choices=LANGUAGES, required=True)
        parser.add_argument("--format", choices=sorted(FORMATS), required=True, dest="fmt")
        parser.add_argument("--output", required=True, help="the file to write (replaced if it exists)")

    def handle(self, *args, cycle, lang, fmt, output, verbosity=1, **options):
        self.verbosity = verbosity
        found = ReviewCycle.objects.select_related("body").filter(pk=cycle).first()
        if found is None:
            raise CommandError(f"There is no review cycle {cycle}.")
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        try:
            data = build_pack(found, lang, fmt, progress=self.show)
        except PackUnavailable as error:
            raise CommandError(str(error)) from None
        target.write_bytes(data)
        self.stdout.write(f"Wrote {target} ({len(data):,} bytes).")

    def show(self, percent):
        if self.verbosity >= 2:
            self.stderr.write(f"{percent}%")

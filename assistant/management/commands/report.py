"""manage.py report daily|campaign [--date D] [--campaign N] --format pdf|csv --output FILE [--email]

Writes the daily report (of --date, by default the last complete UTC day) or a campaign's report to a file without
e-mailing it; with --email sends it to the recipients configured in the admin, as the schedule would (once per
recipient and period). A bad date or an unknown campaign is refused and nothing is written."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assistant.models import ReportKind
from assistant.reports.delivery import day_default, report_build, report_email_now, report_files
from neolight.errors import ApplicationError


class Command(BaseCommand):
    help = "Writes the daily or a campaign's report as PDF or CSV, or e-mails it to the configured recipients."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ReportKind.values)
        parser.add_argument("--date", default="", help="daily: the UTC date, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--campaign", default="", help="campaign: the campaign's id")
        parser.add_argument("--format", choices=["pdf", "csv"], default="pdf")
        parser.add_argument("--output", default="", help="the file to write")
        parser.add_argument("--email", action="store_true", help="e-mail it (CSV and PDF) as the schedule would")

    def handle(self, *args, kind: str, date: str, campaign: str, format: str, output: str, email: bool, **options):
        if not output and not email:
            raise CommandError("Give --output FILE to write the report, or --email to send it.")
        period = self._period(kind, date, campaign)
        try:
            report = report_build(kind=kind, period=period)
            if output:
                [file] = report_files(report, (format,))
                Path(output).write_bytes(file.content)
                self.stdout.write(f"Wrote {report.title} ({format.upper()}, {len(file.content):,} bytes) to {output}")
            if email:
                for delivery in report_email_now(kind=kind, period=period):
                    self.stdout.write(f"{delivery.recipient}: {delivery.status} {', '.join(delivery.addresses)}")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"Could not write or send the report: {exc}") from exc

    def _period(self, kind: str, date: str, campaign: str) -> str:
        if kind == ReportKind.CAMPAIGN:
            if not campaign.strip().isdigit():
                raise CommandError("A campaign report needs --campaign N (the campaign's id).")
            return campaign.strip()
        return date.strip() or day_default().isoformat()

"""manage.py verify_signatures [--json]: recompute every approval chain; exit 1 naming each row that fails."""
import json
import sys

from django.core.management.base import BaseCommand

from promotions.selectors.requests import chains_verify


class Command(BaseCommand):
    help = ("Recomputes every promotion request's signature chain (each hash over its fields, each link to the one "
            "before, steps in order, roles, requester, payload digests, and a log row for each signature). Exits 1 "
            "naming each signature that does not verify (request id, signature id, why); 0 when all verify.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")

    def handle(self, *args, as_json, **options):
        result = chains_verify()
        if as_json:
            self.stdout.write(json.dumps({
                "requests": result.requests, "signatures": result.signatures, "verified": not result.broken,
                "broken": [{"request": b.request_id, "signature": b.signature_id, "reason": b.reason}
                           for b in result.broken]}))
        elif result.broken:
            for broken in result.broken:
                self.stderr.write(str(broken))
            bad = {b.signature_id for b in result.broken if b.signature_id is not None}
            self.stderr.write(f"{len(bad)} of {result.signatures} signatures do not verify.")
        else:
            self.stdout.write(f"{result.signatures} signatures on {result.requests} requests verify")
        if result.broken:
            sys.exit(1)

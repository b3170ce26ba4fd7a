"""`manage.py verify_audit`: recompute the audit chain in one streaming pass, against the signed checkpoints too.

Exit status 0 when the chain is valid, 1 when it is not (the first bad event is named), 2 on bad arguments.
"""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.checkpoints import CheckpointRejected, checkpoint_load
from audit.selectors import audit_chain_verify, audit_chain_verify_signed, audit_head


class Command(BaseCommand):
    help = "Verify the audit chain (and the signed checkpoints) in one streaming pass, with a progress bar."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--checkpoint", action="append", default=[], type=Path,
                            help="a checkpoint file to verify against (repeatable); default: every file in "
                                 "AUDIT_CHECKPOINT_DIR")  # fmt: skip
        parser.add_argument("--no-checkpoints", action="store_true", help="verify the chain alone")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        rejected: list[str] = []
        with tqdm(total=audit_head()[0], unit="event", file=sys.stderr, disable=None) as bar:
            progress = lambda done: bar.update(done - bar.n)  # noqa: E731
            if options["no_checkpoints"] or options["checkpoint"]:
                try:
                    checkpoints = [checkpoint_load(path) for path in options["checkpoint"]]
                except CheckpointRejected as exc:
                    raise CommandError(exc.detail, returncode=2) from exc
                result = audit_chain_verify(checkpoints=checkpoints, progress=progress)
            else:
                signed = audit_chain_verify_signed(progress=progress)
                result, rejected = signed.result, signed.rejected
        for reason in rejected:
            self.stderr.write(f"checkpoint ignored: {reason}")
        report = {
            "valid": result.valid, "length": result.length, "head_hash": result.head_hash,
            "first_bad_seq": result.first_bad_seq, "reason": result.reason, "checkpoints": result.checkpoints,
            "checkpoints_rejected": len(rejected),
        }  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(report))
        elif result.valid:
            self.stdout.write(self.style.SUCCESS(
                f"valid: {result.length} events, head {result.head_hash}, {result.checkpoints} signed checkpoint(s)"
            ))  # fmt: skip
        if rejected and result.valid:
            raise CommandError(
                f"{len(rejected)} checkpoint file(s) in AUDIT_CHECKPOINT_DIR did not verify (see above): the chain "
                "itself is valid, but someone wrote or altered signed checkpoints",
                returncode=1,
            )
        if not result.valid:
            raise CommandError(
                f"INVALID at seq {result.first_bad_seq} ({result.reason}); {result.length} events verified before it",
                returncode=1,
            )

"""Corrections sent in the portal: the quarantined records of a receipt, corrected and sent back as a correction
of it, received and collected exactly as a return sent in the portal is (``pupildata.web.sending``).

Whether a receipt can still be corrected is ``collect.corrections.correctable``'s answer, read from the warehouse
(opened read-only, briefly); the correction itself is ``collect`` with ``Options(corrects=…)`` — the command
line's ``--corrects`` — and the account's senders, so that it is checked and written as the command line would.
"""

from __future__ import annotations

from contextlib import nullcontext

from pupildata.collect.receipts import LOADED, Receipt
from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.web.accounts import User
from pupildata.web.sending import Upload, collect_upload
from pupildata.web.warehouse import Reader, reading

#: The audit trail's action for corrections sent in the portal (the object: the receipt corrected).
CORRECTED = "corrections sent"


def correction_state(ctx: Context, receipt: Receipt, warehouse: Reader | None = None) -> str | None:
    """None when the receipt never had records to correct; "" when its quarantined records can be corrected now;
    else the one sentence saying why not (replaced, or already corrected by a later receipt). Reads the warehouse
    only for a receipt with quarantined records (``WarehouseUnavailable`` when it cannot): by ``warehouse``, the
    request's reader of it (``reading``), else opened for this read alone."""
    if receipt.status not in LOADED or not receipt.quarantined:
        return None
    from pupildata.collect.corrections import correctable

    with reading(ctx.settings.warehouse) if warehouse is None else nullcontext(warehouse) as reader:
        try:
            correctable(reader(), receipt.receipt_id)
        except UsageError as exc:
            return str(exc)
    return ""


def correct(ctx: Context, user: User, upload: Upload, receipt_id: int) -> Receipt:
    """Collect the file as a correction of ``receipt_id`` for ``user``; ``UsageError`` (nothing kept) when that
    receipt cannot be corrected."""
    from pupildata.collect.load import Options

    return collect_upload(ctx, upload, Options(corrects=receipt_id, senders=user.scope))


__all__ = ["CORRECTED", "correct", "correction_state"]

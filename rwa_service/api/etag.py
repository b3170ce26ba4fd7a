"""ETag and If-Match for versioned objects: the tag is the object's id and version."""

from rest_framework.request import Request

from rwa_service.exceptions import PreconditionFailed


def etag_for(*, pk: object, version: int | str) -> str:
    """The strong entity tag of one version of an object (`version` may carry a suffix after a `-`: an asset's
    revision names its current valuation too, see assets.selectors.asset_revision)."""
    return f'"{pk}-{version}"'


def expected_version(request: Request, *, pk: object) -> int | None:
    """The version the client's `If-Match` names, None without the header; 412 if it names another object."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    if header.strip() == "*":
        return None
    prefix = f'"{pk}-'
    for tag in (part.strip().removeprefix("W/") for part in header.split(",")):
        number = tag[len(prefix) : -1].split("-", 1)[0] if tag.startswith(prefix) and tag.endswith('"') else ""
        if number.isdigit():
            return int(number)
    raise PreconditionFailed("If-Match does not name a version of this object.", code="stale_version")

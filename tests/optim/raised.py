"""What a call raised, as a value to compare with what torch raises for the same call."""

from collections.abc import Callable


def raised(factory: Callable[[], object]) -> tuple[type, str] | None:
    """The type and message of the error ``factory()`` raises, or ``None`` if it returns."""
    try:
        factory()
    except Exception as exc:  # any error is compared with torch's
        return type(exc), str(exc)
    return None

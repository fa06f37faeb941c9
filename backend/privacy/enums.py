"""Privacy's fixed sets of values."""

from enum import StrEnum


class ErasureKind(StrEnum):
    signature = "signature"  # a signature and its personal data, before publication
    individual = "individual"  # a published individual's name and details
    signer = "signer"  # an organisation's signer details (the listing may stay)
    account = "account"  # an account closed
    subject = "subject"  # a site admin's erasure after a subject access search

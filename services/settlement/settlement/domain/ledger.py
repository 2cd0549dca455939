"""The funding pools' double-entry ledger (资金台账): every movement takes an amount from one
account of a pool and puts it in another, so that budget = available + reserved + paid always.

    allocate  budget    -> available   a budget granted to the region for this funding source
    reserve   available -> reserved    an application approved
    pay       reserved  -> paid        the bank paid an instruction
    release   reserved  -> available   an approval undone before payment (a second approver rejected)
"""
from common import regions
from common.errors import Conflict

MOVEMENTS = {"allocate": ("budget", "available"), "reserve": ("available", "reserved"),
             "pay": ("reserved", "paid"), "release": ("reserved", "available")}


def movement(kind):
    """(debit, credit) accounts of a movement."""
    return MOVEMENTS[kind]


def insufficient(funding_source, region_code, needed_fen, available_fen):
    return Conflict("insufficient_funds",
                    f"The {funding_source} pool of region {region_code} has {available_fen / 100:.2f} yuan available; "
                    f"this approval needs {needed_fen / 100:.2f}.",
                    {"funding_source": funding_source, "needed_fen": needed_fen, "available_fen": available_fen})


def no_pool(funding_source, region_code):
    return Conflict("no_funding_pool", f"No {funding_source} pool covers region {region_code}: allocate a budget "
                                       f"first (PUT /v1/funding-pools).",
                    {"funding_source": funding_source, "region_code": region_code})


def pool_for(pools, region_code):
    """The most specific pool (its region containing ``region_code``) among ``pools`` of one
    funding source, or None."""
    covering = [pool for pool in pools if regions.contains(pool.region_code, region_code)]
    return max(covering, key=lambda pool: len(regions.prefix(pool.region_code)), default=None)

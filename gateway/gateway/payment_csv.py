"""The bank payment file (拨付文件): one transfer per row, as a bank's bulk-payment import reads
it. It holds account numbers in full, opened here from their sealed form and nowhere else; the
amounts are yuan with two decimals, computed from integer fen."""
import csv
import io

COLUMNS = ("instruction_id", "claim_id", "payee_type", "payee_name", "bank_name", "account_name", "account_number",
           "payee_reference", "amount_yuan")
SOCIAL_SECURITY_CARD = "社保卡关联银行账户"


def yuan(fen):
    return f"{fen // 100}.{fen % 100:02d}"


def render(payment_file, accounts, identity):
    """``accounts``: issuance's payout accounts by institution id (the number sealed). A trainee is
    paid to the account linked to their social-security card, which the card centre finds by the
    person key: the file never holds an ID number."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in payment_file["rows"]:
        if row["payee_type"] == "individual":
            payee = {"payee_name": "", "bank_name": SOCIAL_SECURITY_CARD, "account_name": "", "account_number": "",
                     "payee_reference": row["payee_ref"]}
        else:
            account = accounts.get(row["payee_ref"]) or {}
            payee = {"payee_name": account.get("name", ""), "bank_name": account.get("bank_name", ""),
                     "account_name": account.get("account_name", ""),
                     "account_number": identity.open(account["account_sealed"]) if account.get("account_sealed")
                     else "", "payee_reference": row["payee_ref"]}
        writer.writerow([row["instruction_id"], row["claim_id"], row["payee_type"], payee["payee_name"],
                         payee["bank_name"], payee["account_name"], payee["account_number"], payee["payee_reference"],
                         yuan(row["amount_fen"])])
    return out.getvalue().encode("utf-8")

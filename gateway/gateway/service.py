"""The gateway: the platform's only HTTP surface, for provincial platforms, HR bureaus
(managers), institutions, scanner devices, e-card channels and the ministry.

Each endpoint checks what only the edge knows (who is calling, from which region, for
which institution) and calls one service. Versioned under ``/v1``.
"""
import base64
import io
import json

import segno
from marshmallow import ValidationError
from nameko.timer import timer
from nameko.web.handlers import http
from voucher_client import qr
from werkzeug.wrappers import Response

from common.db import Database
from common.errors import DomainError, Forbidden, InvalidInput
from common.identity import mask_account
from common.metrics import Metrics
from common.service import Observable
from gateway import clients, csv_rows, devices, openapi, payment_csv, schemas
from gateway.api import api, error_response, schema_instance
from gateway.clients import ROLES
from gateway.dependencies import Coalesce, Identity, TimedRpcProxy

MANAGERS = {"manager", "platform"}
READERS = {"manager", "platform", "ministry"}


def _own_institution(client, institution_id):
    """An institution acts only for itself; platforms and managers name the institution."""
    if client.role == "institution":
        if institution_id and str(institution_id) != client.institution_id:
            raise Forbidden("other_institution", "An institution can act only for itself.")
        return client.institution_id
    return str(institution_id) if institution_id else None


def _load_rows(raw_rows, schema, prepare):
    """Load a batch row by row: a bad row is refused with its reason and never blocks the
    others. Returns the refusals and the prepared good rows, both by row index."""
    refused, valid = {}, {}
    for index, raw in enumerate(raw_rows):
        try:
            valid[index] = prepare(schema_instance(schema).load(raw))
        except ValidationError as exc:
            refused[index] = {"status": "refused", "error": "validation_failed",
                              "message": "Some fields are missing or wrong; see details.",
                              "details": exc.normalized_messages()}
        except DomainError as refusal:
            refused[index] = {"status": "refused", **refusal.as_dict()}
    return refused, valid


def _protect_institution(identity, institution):
    """An institution as issuance receives it: the payout account number sealed and masked here,
    never passed on in the clear; project ids as text."""
    account = institution.pop("payout_account", None)
    if account:
        number = account.pop("account_number")
        institution["payout_account"] = {**account, "account_masked": mask_account(number),
                                         "account_sealed": identity.seal(number)}
    institution["project_ids"] = [str(i) for i in institution.get("project_ids") or ()]
    return institution


def _qr_image(payload, kind):
    """The payload drawn as a QR code (error correction M: a phone's screen, a scanner's glare)."""
    image = io.BytesIO()
    segno.make(payload, error="m").save(image, kind=kind, scale=6, border=4)
    return Response(image.getvalue(), mimetype={"png": "image/png", "svg": "image/svg+xml"}[kind])


def _row_report(results, statuses):
    """The answer to a batch: a count per status, then every row in order."""
    rows = [{"row": index, **results[index]} for index in sorted(results)]
    return {**{status: sum(r["status"] == status for r in rows) for status in statuses}, "rows": rows}


class GatewayService(Observable):
    name = "gateway"
    db = Database()  # clients, keys, nonces; commands' idempotency lives in each service
    metrics = Metrics()
    identity = Identity()
    coalesce = Coalesce()
    issuance = TimedRpcProxy("issuance")
    redemption = TimedRpcProxy("redemption")
    attendance = TimedRpcProxy("attendance")
    settlement = TimedRpcProxy("settlement")
    statistics = TimedRpcProxy("statistics")

    @timer(interval=60)
    def prune_nonces(self):
        self.db.run(clients.prune_nonces)

    @http("GET", "/openapi.json")
    def openapi_document(self, request):
        return Response(json.dumps(openapi.document(type(self))), mimetype="application/json")

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:path>")
    def unknown_route(self, request, path):
        return error_response(404, "no_such_endpoint", f"There is no endpoint {request.method} /{path}; "
                                                        "see /openapi.json.")

    # -- catalogue ---------------------------------------------------------------------

    @api("POST", "/v1/institutions", roles=MANAGERS, body=schemas.InstitutionIn, status=201,
         operation_id="registerInstitution", tag="catalogue")
    def register_institution(self, client, body):
        """Register a training institution with its training sites and, optionally, its payout bank account
        (kept encrypted, shown masked) and the training projects it may train for."""
        client.require_region(body["region_code"], "The institution's region")
        return self.issuance.register_institution(**_protect_institution(self.identity, body))

    @api("POST", "/v1/institutions/batch", roles=MANAGERS, body=schemas.InstitutionsBatchIn,
         operation_id="batchAddInstitutions", tag="catalogue", csv=csv_rows.institutions)
    def batch_add_institutions(self, client, body):
        """Register up to 1,000 institutions, as JSON or a CSV file; the answer says, row by row, accepted
        (with its id) or refused (with the reason). A bad row never blocks the good ones; repeating an
        upload adds nothing."""
        def check(row):
            client.require_region(row["region_code"], "The institution's region")
            return _protect_institution(self.identity, row)
        results, valid = _load_rows(body["institutions"], schemas.InstitutionIn, check)
        if valid:
            results.update(zip(valid, self.issuance.register_institutions(rows=list(valid.values()))))
        return csv_rows.locate(_row_report(results, ("accepted", "refused")), body.get("csv"))

    @api("GET", "/v1/institutions/<institution_id>", roles=READERS | {"institution"}, operation_id="getInstitution",
         tag="catalogue")
    def get_institution(self, client, query, institution_id):
        """An institution with its training sites, the projects it may train for and its payout account, masked."""
        _own_institution(client, institution_id)
        return self.issuance.get_institution(institution_id=institution_id, region_code=client.region_code)

    @api("PUT", "/v1/institutions/<institution_id>/projects", roles=MANAGERS, body=schemas.InstitutionProjectsIn,
         operation_id="setInstitutionProjects", tag="catalogue")
    def set_institution_projects(self, client, body, institution_id):
        """Replace the training projects an institution of your region may train for: projects of its region, or
        of one containing or inside it. Its vouchers are then used only for classes of an allowed project's
        occupation and level; an empty list lifts the limit."""
        return self.issuance.set_institution_projects(institution_id=institution_id, region_code=client.region_code,
                                                      project_ids=[str(i) for i in body["project_ids"]])

    @api("POST", "/v1/projects/batch", roles=MANAGERS, body=schemas.ProjectsBatchIn, operation_id="batchAddProjects",
         tag="catalogue")
    def batch_add_projects(self, client, body):
        """Add up to 1,000 training projects (培训项目目录) to your region's catalogue (or a region inside it);
        the answer says, row by row, accepted (with its project_id) or refused (with the reason). A bad row
        never blocks the good ones; a project is one per region, occupation and level, so repeating an upload
        adds nothing (``project_exists``, with the existing project_id)."""
        results, valid = _load_rows(body["projects"], schemas.ProjectIn, lambda row: row)
        if valid:
            results.update(zip(valid, self.issuance.register_projects(rows=list(valid.values()),
                                                                      region_code=client.region_code)))
        return _row_report(results, ("accepted", "refused"))

    @api("GET", "/v1/projects", roles=READERS | {"institution", "channel"}, query=schemas.ProjectsQuery,
         operation_id="listProjects", tag="catalogue")
    def list_projects(self, client, query):
        """Training projects of your region (or a region inside it), newest first, a page at a time."""
        region_code = query.pop("region_code") or client.region_code
        client.require_region(region_code, "This region")
        return self.issuance.list_projects(region_code=region_code, **query)

    @api("POST", "/v1/classes", roles=MANAGERS | {"institution"}, body=schemas.ClassIn, status=201,
         operation_id="registerClass", tag="catalogue")
    def register_class(self, client, body):
        """Register a class with its schedule and roster (ID numbers)."""
        institution_id = _own_institution(client, body.pop("institution_id"))
        if institution_id is None:
            raise InvalidInput("validation_failed", "Name the class's institution.",
                               {"institution_id": ["Missing data for required field."]})
        roster = [self.identity.protect(number) for number in body.pop("roster")]
        return self.issuance.register_class(institution_id=institution_id, region_code=client.region_code,
                                            roster=roster, **body)

    @api("POST", "/v1/classes/<class_id>/trainees", roles=MANAGERS | {"institution"}, body=schemas.TraineesBatchIn,
         operation_id="batchAddTrainees", tag="catalogue", csv=csv_rows.trainees)
    def batch_add_trainees(self, client, body, class_id):
        """Add up to 1,000 trainees (ID number, name), as JSON or a CSV file, to a class roster; row by
        row, added, unchanged (already on the roster) or refused with the reason. Targeted vouchers
        issued again for the class reach the new trainees."""
        results, valid = _load_rows(body["trainees"], schemas.TraineeIn,
                                    lambda row: self.identity.protect(row["id_number"], row["name"], row["employer_type"]))
        if valid:
            added = self.issuance.add_trainees(
                class_id=class_id, region_code=client.region_code, trainees=list(valid.values()),
                institution_id=client.institution_id if client.role == "institution" else None)
            results.update({index: {"status": status} for index, status in zip(valid, added)})
        report = _row_report(results, ("added", "unchanged", "refused"))
        return {"class_id": class_id, **csv_rows.locate(report, body.get("csv"))}

    # -- templates and issuance --------------------------------------------------------

    @api("POST", "/v1/templates", roles=MANAGERS, body=schemas.TemplateIn, status=201,
         operation_id="createTemplate", tag="issuance")
    def create_template(self, client, body):
        """Create a voucher template (券模板)."""
        client.require_region(body["region_code"], "The template's region")
        return self.issuance.create_template(**body)

    @api("PATCH", "/v1/templates/<template_id>", roles=MANAGERS, body=schemas.TemplateUpdate,
         operation_id="updateTemplate", tag="issuance")
    def update_template(self, client, body, template_id):
        """A new version of a template's terms. Vouchers issued from now on carry it; those issued
        before keep the terms they were issued under."""
        return self.issuance.update_template(template_id=template_id, region_code=client.region_code, changes=body)

    @api("POST", "/v1/eligibility", roles=MANAGERS, body=schemas.EligibilityIn, operation_id="recordEligibility",
         tag="issuance")
    def record_eligibility(self, client, body):
        """Record up to 1,000 people as members of a target group (重点群体) in your region, from the
        bureau's own records; templates offered to that group may then be claimed by them."""
        client.require_region(body["region_code"], "The group's region")
        results, valid = _load_rows(body["persons"], schemas.TraineeIn,
                                    lambda row: self.identity.protect(row["id_number"], row["name"], row["employer_type"]))
        if valid:
            recorded = self.issuance.record_eligibility(group=body["group"], region_code=body["region_code"],
                                                        persons=list(valid.values()))
            results.update({index: {"status": status} for index, status in zip(valid, recorded)})
        return _row_report(results, ("added", "unchanged", "refused"))

    @api("POST", "/v1/templates/<template_id>/pool", roles=MANAGERS, body=schemas.PoolIn, status=201,
         operation_id="issuePool", tag="issuance")
    def issue_pool(self, client, body, template_id):
        """Issue general vouchers into a template's pool, for workers to claim."""
        return self.issuance.issue_pool(template_id=template_id, quantity=body["quantity"],
                                        region_code=client.region_code)

    @api("POST", "/v1/classes/<class_id>/targeted-vouchers", roles=MANAGERS, body=schemas.TargetedIn,
         status=201, operation_id="issueTargetedVouchers", tag="issuance")
    def issue_targeted(self, client, body, class_id):
        """Issue targeted vouchers (定向券) to everyone on a class roster; they are born claimed."""
        return self.issuance.issue_targeted(template_id=str(body["template_id"]), class_id=class_id,
                                            region_code=client.region_code)

    @api("POST", "/v1/issuance-jobs", roles=MANAGERS, body=schemas.IssuanceJobIn, status=202,
         operation_id="startIssuanceJob", tag="issuance")
    def start_issuance_job(self, client, body):
        """Issue in the background what one request should not: a pool of up to 10,000,000 vouchers, or
        targeted vouchers for up to 1,000 classes in turn. Answers 202 with the job; read its progress with
        getIssuanceJob. A chunk the rules refuse is listed under ``refusals``: a pool stops there, a
        targeted job goes on with its next class."""
        return self.issuance.start_issuance_job(
            template_id=str(body["template_id"]), region_code=client.region_code, quantity=body.get("quantity"),
            class_ids=[str(class_id) for class_id in body["class_ids"]] if "class_ids" in body else None)

    @api("GET", "/v1/issuance-jobs/<job_id>", roles=READERS, operation_id="getIssuanceJob", tag="issuance")
    def get_issuance_job(self, client, query, job_id):
        """A bulk issuance job: its status (running, done, stopped), its progress (done of total vouchers
        for a pool, classes for targeted vouchers), how many vouchers it issued, and what was refused."""
        return self.issuance.get_issuance_job(job_id=job_id, region_code=client.region_code)

    @api("POST", "/v1/claims", roles={"channel"}, body=schemas.ClaimIn, status=201,
         operation_id="claimVoucher", tag="issuance")
    def claim_voucher(self, client, body):
        """A worker, authenticated by the e-card channel, claims a general voucher."""
        return self.coalesce(self.issuance.claim_vouchers, {
            "template_id": str(body["template_id"]), "person": self.identity.protect(body["id_number"], employer_type=body["employer_type"]),
            "channel_region": client.region_code})

    @api("GET", "/v1/templates", roles=READERS | {"institution", "channel"}, query=schemas.TemplatesQuery,
         operation_id="listTemplates", tag="issuance")
    def list_templates(self, client, query):
        """Voucher templates of your region (or a region inside it), newest first, a page at a time."""
        region_code = query.pop("region_code") or client.region_code
        client.require_region(region_code, "This region")
        return self.issuance.list_templates(region_code=region_code, **query)

    @api("POST", "/v1/vouchers/holder-query", roles={"channel", "manager", "platform"}, body=schemas.HolderQuery,
         operation_id="listUserVouchers", tag="issuance", changes_nothing=True)
    def list_user_vouchers(self, client, body):
        """A worker's vouchers in your region, by ID number (in the body, never in a URL), a page at a time."""
        return self.issuance.list_holder_vouchers(person_key=self.identity.person_key(body["id_number"]),
                                                  region_code=client.region_code, cursor=body["cursor"],
                                                  limit=body["limit"])

    @api("GET", "/v1/vouchers/<code>", roles=READERS | {"institution", "device"},
         operation_id="getVoucherStatus", tag="issuance")
    def get_voucher(self, client, query, code):
        """A voucher's status, by its unique code."""
        voucher = self.issuance.get_voucher(code=code)
        client.require_region(voucher["region_code"], "This voucher")
        return voucher

    @api("POST", "/v1/vouchers/void", roles=MANAGERS, body=schemas.VoidIn, operation_id="batchVoidVouchers",
         tag="issuance")
    def void_vouchers(self, client, body):
        """Void up to 1,000 claimed vouchers of your region (批量作废); row by row, voided or refused with
        the reason. A used or written-off voucher is never voided."""
        return self.redemption.void_vouchers(voucher_codes=body["codes"], region_code=client.region_code,
                                             reason=body["reason"])

    @api("POST", "/v1/trainees/qr-lookup", roles=READERS | {"institution", "device"}, body=schemas.QrIn,
         operation_id="getTraineeByQr", tag="issuance", changes_nothing=True)
    def trainee_by_qr(self, client, body):
        """Who holds the voucher a scanner just read, masked: for an institution, only the holder of a
        voucher it could take or of someone on its rosters. ``qr``: the signed payload (its signature,
        freshness and holder are checked first) or a code typed from the print."""
        code = body["qr"]
        if code.startswith(qr.PREFIX + "."):
            code = self.redemption.verify(qr_payload=code)["code"]
        return self.issuance.trainee_by_voucher(code=code, region_code=client.region_code,
                                                institution_id=client.institution_id)

    # -- redemption and attendance ----------------------------------------------------

    @api("POST", "/v1/vouchers/<code>/qr", roles={"channel"}, body=schemas.VoucherQrIn,
         operation_id="getVoucherQr", tag="redemption", changes_nothing=True, produces=("image/png", "image/svg+xml"))
    def voucher_qr(self, client, body, code):
        """The dynamic QR code a holder shows to be scanned (动态二维码): a signed payload bound to the voucher
        and its holder, valid for two minutes; as JSON, or drawn as PNG or SVG (``format``). Only the holder,
        authenticated by the e-card channel, gets one, and only for a voucher still usable."""
        signed = self.redemption.issue_qr(code=code, person_key=self.identity.person_key(body["id_number"]))
        if body["format"] == "json":
            return signed
        return _qr_image(signed["payload"], body["format"])

    @api("GET", "/v1/qr-keys", roles=set(ROLES), operation_id="getQrKeySet", tag="redemption")
    def qr_key_set(self, client, query):
        """The public keys that sign voucher QR codes (Ed25519), for scanners that check codes offline:
        ``active`` signs and verifies, ``verifying`` still verifies codes made before a rotation, ``retired``
        verifies nothing. Fetch it while online, and again at least daily."""
        return self.redemption.qr_key_set()

    @api("POST", "/v1/vouchers/verification", roles=READERS | {"institution", "device"},
         body=schemas.ScannedIn, operation_id="verifyVoucherScan", tag="redemption", changes_nothing=True)
    def verify_voucher(self, client, body):
        """Check a scanned voucher's authenticity and whether it can be used now, without using it (验券): a
        QR code for its signature, freshness and holder, a typed code for its check character; then its state."""
        verdict = self.redemption.verify(code=body.get("code"), qr_payload=body.get("qr"))
        if client.role in READERS:
            client.require_region(verdict["region_code"], "This voucher")
        return verdict

    @api("POST", "/v1/redemptions", roles={"institution", "device"}, body=schemas.RedemptionIn, status=201,
         operation_id="redeemVoucher", tag="redemption")
    def redeem(self, client, body):
        """Use a claimed voucher for a class (用券), by scanning its QR code or typing its code: used once, or
        refused with a reason code a scanner can show and a message a person can read."""
        return self.coalesce(self.redemption.redeem_vouchers, {
            "qr": body.get("qr"), "code": body.get("code"), "class_id": str(body["class_id"]),
            "institution_id": client.institution_id,
            "device_id": client.client_id if client.role == "device" else None})

    @api("POST", "/v1/online-redemptions", roles={"channel"}, body=schemas.OnlineRedemptionIn, status=201,
         operation_id="redeemVoucherOnline", tag="redemption")
    def redeem_online(self, client, body):
        """Use a voucher for an online class: the holder's identity, verified by the e-card channel, is the
        scan."""
        return self.redemption.redeem_online(code=body["code"], class_id=str(body["class_id"]),
                                             person_key=self.identity.person_key(body["id_number"]))

    @api("POST", "/v1/redemptions/offline", roles={"device"}, body=schemas.OfflineBatchIn,
         operation_id="uploadOfflineScans", tag="redemption")
    def upload_offline_scans(self, client, body):
        """A scanner's scans made without connectivity (store and forward), up to 500: each applied in the
        device's order at the moment it was made, and answered by its sequence number as used, refused (with
        the reason) or conflict (the voucher was used elsewhere first). Uploading the same scans again answers
        the same and changes nothing."""
        rows = self.redemption.redeem_offline(
            device_id=client.client_id, institution_id=client.institution_id,
            scans=[{**scan, "class_id": str(scan["class_id"])} for scan in body["scans"]])
        return {**{status: sum(r["status"] == status for r in rows) for status in ("used", "refused", "conflict")},
                "rows": rows}

    @api("POST", "/v1/vouchers/<code>/reversal", roles={"institution", "device"}, body=schemas.ReversalIn,
         operation_id="reverseVoucherUse", tag="redemption")
    def reverse_use(self, client, body, code):
        """Undo a mistaken use (撤销核验), by the institution that made it, within the template's grace window:
        the voucher is claimed again, and the reversal is audited."""
        return self.redemption.reverse_use(code=code, institution_id=client.institution_id, reason=body["reason"],
                                           reversed_by=client.client_id)

    @api("GET", "/v1/redemption-conflicts", roles=READERS | {"institution", "device"}, query=schemas.ConflictsQuery,
         operation_id="listRedemptionConflicts", tag="redemption")
    def list_conflicts(self, client, query):
        """Vouchers used at two places (offline scans uploaded late), newest first: the use that won by scan
        time and the one that did not. Managers see their region's; an institution those it lost."""
        region_code = query.pop("region_code") or client.region_code
        client.require_region(region_code, "This region")
        return self.redemption.list_conflicts(region_code=region_code, institution_id=client.institution_id, **query)

    # -- scanner devices --------------------------------------------------------------

    @api("POST", "/v1/devices", roles={"institution"}, body=schemas.DeviceIn, status=201,
         operation_id="registerDevice", tag="devices")
    def register_device(self, client, body):
        """Register a scanner device of your institution: it gets signing credentials of its own (the secret is
        shown once, here), and acts for your institution only."""
        key = devices.new_device_key(self.identity.sealer)
        device = self.db.run(devices.register_device, institution_id=client.institution_id,
                             region_code=client.region_code, name=body["name"], key=key)
        fresh = device["key_id"] == key[0]  # a retried request gets the device, not a secret it never stored
        return {**device, "secret": key[1] if fresh else None}

    @api("GET", "/v1/devices", roles={"institution"}, query=schemas.PageQuery, operation_id="listDevices",
         tag="devices")
    def list_devices(self, client, query):
        """Your institution's scanner devices, newest first, enabled or disabled."""
        return self.db.run(devices.list_devices, institution_id=client.institution_id, **query)

    @api("POST", "/v1/devices/<device_id>/disable", roles={"institution"}, operation_id="disableDevice",
         tag="devices")
    def disable_device(self, client, body, device_id):
        """Disable one of your devices (lost, stolen, broken): its requests are refused from now on."""
        return self.db.run(devices.set_enabled, device_id=device_id, institution_id=client.institution_id,
                           enabled=False)

    @api("POST", "/v1/devices/<device_id>/enable", roles={"institution"}, operation_id="enableDevice",
         tag="devices")
    def enable_device(self, client, body, device_id):
        """Enable a device you disabled: it signs with the key it had."""
        return self.db.run(devices.set_enabled, device_id=device_id, institution_id=client.institution_id,
                           enabled=True)

    @api("POST", "/v1/vouchers/<code>/return", roles={"channel"}, body=schemas.ReturnIn,
         operation_id="returnVoucher", tag="redemption")
    def return_voucher(self, client, body, code):
        """A worker, authenticated by the e-card channel, returns a claimed voucher they cannot use (退券): it
        goes back to its pool for someone else, and they may claim another (换券)."""
        return self.redemption.return_voucher(code=code, person_key=self.identity.person_key(body["id_number"]))

    @api("POST", "/v1/checkins", roles={"channel"}, body=schemas.CheckinIn, status=201,
         operation_id="recordCheckin", tag="attendance")
    def check_in(self, client, body):
        """A trainee checks in to the session open now by location (定位打卡): inside the site's radius, allowing
        for the reported accuracy, from 30 minutes before the start to 30 after. A refusal says why (the distance,
        too early, too late, not on the roster, no voucher used for the class) and points to the QR check-in."""
        return self._check_in(body, "location", latitude=body["latitude"], longitude=body["longitude"],
                              accuracy_m=body["accuracy_m"], device=body["device"])

    @api("POST", "/v1/checkins/code", roles={"channel"}, body=schemas.CodeCheckinIn, status=201,
         operation_id="recordCodeCheckin", tag="attendance")
    def check_in_by_code(self, client, body):
        """The fallback when location fails (二维码签到): the trainee's app scans the rotating code on the
        institution's screen; a code is accepted for 20 to 40 seconds."""
        return self._check_in(body, "qr", code=body["code"], device=body["device"])

    @api("POST", "/v1/checkins/online", roles={"channel"}, body=schemas.OnlineCheckinIn, status=201,
         operation_id="recordOnlineCheckin", tag="attendance")
    def check_in_online(self, client, body):
        """A trainee of an online class checks in by the identity-verified request itself."""
        return self._check_in(body, "online", device=body["device"])

    @api("POST", "/v1/checkins/card", roles={"institution", "device"}, body=schemas.CardCheckinIn, status=201,
         operation_id="recordCardCheckin", tag="attendance")
    def check_in_by_card(self, client, body):
        """The institution's scanner reads the trainee's social-security card and checks them in."""
        return self._check_in(body, "card", institution_id=client.institution_id,
                              device=client.client_id if client.role == "device" else None)

    def _check_in(self, body, method, **details):
        return self.coalesce(self.attendance.check_in_many, {
            "method": method, "class_id": str(body["class_id"]),
            "person_key": self.identity.person_key(body["id_number"]), **details})

    @api("GET", "/v1/classes/<class_id>/checkin-code", roles={"institution", "device"}, query=schemas.CodeQuery,
         operation_id="getCheckinCode", tag="attendance", produces=("image/png", "image/svg+xml"))
    def checkin_code(self, client, query, class_id):
        """The rotating check-in code to show on the institution's screen for the session open now: it changes
        every 20 seconds (``rotates_every_s``); fetch it again at ``valid_until``. As JSON, or drawn as PNG or SVG."""
        code = self.attendance.current_code(class_id=class_id, institution_id=client.institution_id)
        return code if query["format"] == "json" else _qr_image(code["code"], query["format"])

    @api("POST", "/v1/attendance/query", roles={"channel"}, body=schemas.AttendanceQueryIn,
         operation_id="getMyAttendance", tag="attendance", changes_nothing=True)
    def my_attendance(self, client, body):
        """A trainee's own attendance in a class: sessions attended of those scheduled, the rate, the class's
        threshold and whether it is completed."""
        return self.attendance.attendance_of(class_id=str(body["class_id"]),
                                             person_key=self.identity.person_key(body["id_number"]))

    @api("GET", "/v1/classes/<class_id>/attendance", roles=READERS | {"institution"},
         operation_id="getClassAttendance", tag="attendance")
    def class_attendance(self, client, query, class_id):
        """Presence per session of a class, trainees enrolled and completed."""
        return self.attendance.class_attendance(class_id=class_id, region_code=client.region_code,
                                                institution_id=client.institution_id)

    @api("PUT", "/v1/classes/<class_id>/sessions", roles=MANAGERS | {"institution"}, body=schemas.ScheduleIn,
         operation_id="rescheduleClass", tag="catalogue")
    def reschedule_class(self, client, body, class_id):
        """Replace a class's schedule: a session given with its ``session_id`` keeps it (its times may change), one
        without is new, one left out is dropped. Check-ins follow the new schedule."""
        return self.issuance.reschedule_class(
            class_id=class_id, region_code=client.region_code, sessions=[
                {**s, "session_id": str(s["session_id"]) if s["session_id"] else None} for s in body["sessions"]],
            institution_id=client.institution_id if client.role == "institution" else None)

    @api("GET", "/v1/attendance-anomalies", roles=READERS, query=schemas.AnomaliesQuery,
         operation_id="listAttendanceAnomalies", tag="attendance")
    def list_anomalies(self, client, query):
        """Abnormal check-ins (异常签到) of your region, newest first, each with its evidence: a session with no
        check-ins, one phone checking in several trainees, impossible travel between two check-ins, several
        trainees at one spot far from the site, check-ins tried outside the schedule."""
        region_code = query.pop("region_code") or client.region_code
        client.require_region(region_code, "This region")
        return self.attendance.list_anomalies(region_code=region_code, **query)

    @api("POST", "/v1/attendance-anomalies/<anomaly_id>/decision", roles={"manager"},
         body=schemas.AnomalyDecisionIn, operation_id="decideAttendanceAnomaly", tag="attendance")
    def decide_anomaly(self, client, body, anomaly_id):
        """Confirm an anomaly of your region (the bureau acts on it) or dismiss it, with the reason."""
        return self.attendance.decide_anomaly(anomaly_id=anomaly_id, region_code=client.region_code,
                                              decision=body["decision"], reason=body["reason"],
                                              decided_by=client.client_id)

    @api("POST", "/v1/evaluations", roles={"channel"}, body=schemas.EvaluationIn, status=201,
         operation_id="evaluateTraining", tag="attendance")
    def evaluate(self, client, body):
        """A trainee, authenticated by the e-card channel, rates a class they completed (培训评价), once:
        a repeat answers the first rating with ``repeated``. Counted in the evaluation completion rate."""
        return self.attendance.evaluate(class_id=str(body["class_id"]),
                                        person_key=self.identity.person_key(body["id_number"]),
                                        rating=body["rating"], aspects=body["aspects"])

    @api("GET", "/v1/checkin-coverage/<region_code>", roles=READERS, operation_id="getCheckinCoverage",
         tag="attendance")
    def checkin_coverage(self, client, query, region_code):
        """Check-in coverage (打卡签到覆盖率): the institutions of a region with classes, and those whose trainees
        check in with their vouchers."""
        client.require_region(region_code, "This region")
        return self.attendance.checkin_coverage(region_code=region_code)

    # -- settlement -------------------------------------------------------------------

    @api("POST", "/v1/subsidy-claims", roles={"institution"}, body=schemas.SubsidyClaimIn, status=201,
         operation_id="submitSubsidyClaim", tag="settlement", csv=csv_rows.voucher_codes)
    def submit_claim(self, client, body):
        """Apply for the subsidy of used vouchers (资金申请), up to 10,000 codes as JSON or a CSV file (one
        column, ``code``): each line gets a verdict (used here, training completed, certificate recorded where
        the template asks for one, not in another application, not settled) and its amount in fen."""
        return self.settlement.submit_claim(institution_id=client.institution_id, region_code=client.region_code,
                                            voucher_codes=body["codes"], submitted_by=client.client_id)

    @api("GET", "/v1/subsidy-claims/<claim_id>", roles=READERS | {"institution"},
         operation_id="getSubsidyClaim", tag="settlement")
    def get_claim(self, client, query, claim_id):
        """A subsidy application with its lines (the verdict at submission and the review's) and its audit
        trail: who did what, when."""
        claim = self.settlement.get_claim(claim_id=claim_id, region_code=client.region_code)
        _own_institution(client, claim["institution_id"])
        return claim

    @api("POST", "/v1/subsidy-claims/<claim_id>/review", roles={"manager"}, operation_id="reviewSubsidyClaim",
         tag="settlement")
    def review_claim(self, client, body, claim_id):
        """Take up a submitted application of your region (审核): another manager will approve it."""
        return self.settlement.start_review(claim_id=claim_id, reviewer=client.client_id,
                                            region_code=client.region_code)

    @api("POST", "/v1/subsidy-claims/<claim_id>/approval", roles={"manager"}, body=schemas.ApprovalIn,
         operation_id="approveSubsidyClaim", tag="settlement")
    def approve_claim(self, client, body, claim_id):
        """Approve an application under review, but for the lines you refuse (each with its reason): the
        approved amount is reserved in the funding pools at once, and refused if they cannot cover it. Nobody
        approves an application they reviewed; above the dual-approval amount a second manager confirms."""
        return self.settlement.approve_claim(claim_id=claim_id, approver=client.client_id,
                                             region_code=client.region_code, rejected_lines=body["rejected_lines"])

    @api("POST", "/v1/subsidy-claims/<claim_id>/rejection", roles={"manager"}, body=schemas.RejectionIn,
         operation_id="rejectSubsidyClaim", tag="settlement")
    def reject_claim(self, client, body, claim_id):
        """Reject an application, submitted or under review, with the reason; its vouchers may be claimed for
        again, and any funds reserved for it go back to their pools."""
        return self.settlement.reject_claim(claim_id=claim_id, manager=client.client_id,
                                            region_code=client.region_code, reason=body["reason"])

    @api("POST", "/v1/funding-pools/allocations", roles=MANAGERS, body=schemas.AllocationIn, status=201,
         operation_id="allocateBudget", tag="settlement")
    def allocate_budget(self, client, body):
        """Grant your region (or one inside it) a budget of one funding source (预算下达), or add to it."""
        client.require_region(body["region_code"], "The pool's region")
        return self.settlement.allocate_budget(actor=client.client_id, **body)

    @api("GET", "/v1/funding-pools", roles=READERS, query=schemas.PoolsQuery, operation_id="listFundingPools",
         tag="settlement")
    def list_pools(self, client, query):
        """The funding pools of your region and of the regions inside it: budget, available, reserved, paid."""
        region_code = query["region_code"] or client.region_code
        client.require_region(region_code, "This region")
        return self.settlement.list_pools(region_code=region_code)

    @api("POST", "/v1/payment-files", roles={"manager"}, status=201, operation_id="createPaymentFile",
         tag="settlement")
    def create_payment_file(self, client, body):
        """A bank payment file (拨付) of your region's approved payments waiting to be paid; download it with
        getPaymentFile, and import the bank's answer with recordPaymentResults."""
        return self.settlement.create_payment_file(region_code=client.region_code, created_by=client.client_id)

    @api("GET", "/v1/payment-files/<file_id>", roles={"manager"}, operation_id="getPaymentFile", tag="settlement",
         produces=("text/csv",))
    def get_payment_file(self, client, query, file_id):
        """The bank payment file as CSV (UTF-8 with a byte-order mark, for spreadsheets): one transfer per row,
        with the payee's bank account in full — an institution's as it registered it, an individual's the one
        linked to their social-security card — and the amount in yuan. Keep it as carefully as the money."""
        found = self.settlement.payment_file(file_id=file_id, region_code=client.region_code)
        institutions = {row["payee_ref"] for row in found["rows"] if row["payee_type"] != "individual"}
        accounts = self.issuance.payout_accounts(institution_ids=sorted(institutions)) if institutions else {}
        return Response(payment_csv.render(found, accounts, self.identity), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="payments-{file_id}.csv"'})

    @api("POST", "/v1/payment-files/<file_id>/results", roles={"manager"}, body=schemas.PaymentResultsIn,
         operation_id="recordPaymentResults", tag="settlement", csv=csv_rows.payment_results)
    def record_payment_results(self, client, body, file_id):
        """The bank's answer to a payment file, as JSON or its CSV (instruction_id, status paid or failed,
        bank_reference): paid moves the money from reserved to paid; an application paid in full is disbursed
        and its vouchers are written off (核销) everywhere; a failed payment goes in the next file."""
        return self.settlement.record_payment_results(
            file_id=file_id, region_code=client.region_code, actor=client.client_id,
            results=[{**r, "instruction_id": str(r["instruction_id"])} for r in body["results"]])

    @api("GET", "/v1/reconciliation/<region_code>", roles=READERS, query=schemas.ReconciliationQuery,
         operation_id="getReconciliation", tag="settlement")
    def reconciliation(self, client, query, region_code):
        """Reconciliation (对账) of a region: the vouchers it issued and workers claimed, and of those used in
        the period, how many were claimed for, approved, paid and written off, with their amounts; then every
        voucher whose stages disagree, line by line."""
        client.require_region(region_code, "This region")
        report = self.settlement.reconciliation(region_code=region_code, date_from=query["date_from"],
                                                date_to=query["date_to"])
        return {**report, "issuance": self.issuance.region_summary(region_code=region_code)}

    @api("POST", "/v1/settlements", roles=MANAGERS, body=schemas.SettlementIn, status=201,
         operation_id="settleVouchers", tag="settlement")
    def settle_vouchers(self, client, body):
        """Write off (核销) used vouchers your province paid through its own finance system; each code
        gets a verdict, and the accepted ones are settled everywhere."""
        return self.settlement.settle_vouchers(
            region_code=client.region_code, institution_id=str(body["institution_id"]),
            voucher_codes=body["codes"], payment_reference=body["payment_reference"], settled_by=client.client_id)

    @api("POST", "/v1/certificates", roles=MANAGERS | {"institution"}, body=schemas.CertificateIn, status=201,
         operation_id="addCertificate", tag="settlement")
    def add_certificate(self, client, body):
        """Record the certificate a trainee obtained after the training a voucher paid for."""
        return self.settlement.add_certificate(
            voucher_code=body["voucher_code"], person_key=self.identity.person_key(body["id_number"]),
            institution_id=client.institution_id if client.role == "institution" else None,
            region_code=client.region_code, certificate=schemas.CertificateData().dump(body["certificate"]))

    # -- statistics -------------------------------------------------------------------

    @api("GET", "/v1/indicators/<region_code>", roles=READERS, query=schemas.StatisticsQuery,
         operation_id="getIndicators", tag="statistics")
    def region_statistics(self, client, query, region_code):
        """Issued, claimed, used and settled counts of a region, with claim and usage rates, and
        progress against the year's target when ``year`` is given."""
        client.require_region(region_code, "This region")
        return self.statistics.region_summary(region_code=region_code, year=query["year"])

    @api("GET", "/v1/reports/monthly/<region_code>", roles=READERS, query=schemas.MonthlyReportQuery,
         operation_id="getMonthlyReport", tag="statistics", produces=(
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv", "image/png"))
    def monthly_report(self, client, query, region_code):
        """The monthly supervision report (月调度) of a region: one row per city of a province (per county
        of a city, per province for the ministry: the national roll-up), with the month's counts, the
        year to date, the indicators and progress against the year's targets; as JSON, or (``format``)
        the Excel workbook, its CSV, or the chart of progress against target."""
        client.require_region(region_code, "This region")
        if query["format"] == "json":
            return self.statistics.monthly_report(region_code=region_code, month=query["month"])
        found = self.statistics.monthly_report_file(region_code=region_code, month=query["month"],
                                                    file_format=query["format"])
        return Response(base64.b64decode(found["content"]), content_type=found["content_type"],
                        headers={"Content-Disposition": f'attachment; filename="{found["filename"]}"'})

    @api("GET", "/v1/reports/quarterly/<region_code>", roles=READERS, query=schemas.QuarterlyQuery,
         operation_id="getQuarterlyIndicators", tag="statistics")
    def quarterly_indicators(self, client, query, region_code):
        """Every indicator of the supervision table (附件 3, and Shandong's channel share) at the end of a
        quarter, for each child region and the region itself: each with its numerator, denominator,
        value, the quarter's target and whether it is met. A denominator no one has reported yet
        (see setRegionFacts) leaves its indicator null."""
        client.require_region(region_code, "This region")
        return self.statistics.quarterly_indicators(region_code=region_code, **query)

    @api("GET", "/v1/statistics/demographics/<region_code>", roles=READERS, query=schemas.DemographicsQuery,
         operation_id="getDemographics", tag="statistics")
    def demographics(self, client, query, region_code):
        """Vouchers claimed and used in a region over a year (or a month of it), by the holders' age band,
        gender, home province, employer type and target group: counts, never a person."""
        client.require_region(region_code, "This region")
        return self.statistics.demographics(region_code=region_code, **query)

    @api("PUT", "/v1/statistics/region-facts", roles=READERS, body=schemas.RegionFactsIn,
         operation_id="setRegionFacts", tag="statistics")
    def set_region_facts(self, client, body):
        """Report a month's basic indicators of regions (working group, policy, promotion plan, e-cards
        issued) and the totals that indicators divide by: population, all training institutions,
        e-card and voucher channels."""
        for row in body["regions"]:
            client.require_region(row["region_code"], f"Region {row['region_code']}")
        return self.statistics.set_region_facts(month=body["month"], rows=body["regions"])

    @api("PUT", "/v1/statistics/targets", roles=READERS, body=schemas.TargetsIn, operation_id="setTargets",
         tag="statistics")
    def set_targets(self, client, body):
        """Load a task table: each region's planned trainees (if the table gives them), its issue
        and use targets, and why a row breaks the rule if it does."""
        for row in body["targets"]:
            client.require_region(row["region_code"], f"Region {row['region_code']}")
        return self.statistics.set_targets(year=body["year"], rows=body["targets"])

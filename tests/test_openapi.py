"""The served API document is valid OpenAPI 3 and documents every endpoint the gateway
actually routes, with the roles that may call it."""
from openapi_spec_validator import validate

from gateway import openapi
from gateway.service import GatewayService


def test_the_served_document_is_valid_openapi(gateway):
    response = gateway.http.get(gateway.base_url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    validate(response.json())


def test_every_endpoint_is_documented_with_its_roles_and_errors(gateway):
    document = gateway.http.get(gateway.base_url + "/openapi.json", timeout=10).json()
    documented = {op["operationId"]: op for methods in document["paths"].values() for op in methods.values()}
    routed = {entrypoint.operation_id for entrypoint, _ in openapi.endpoints(GatewayService)}
    assert set(documented) == routed
    for operation_id, operation in documented.items():
        assert operation["summary"], operation_id
        assert "Allowed roles:" in operation["description"], operation_id
        assert "400" in operation["responses"] and "503" in operation["responses"], operation_id


# The ministry's platform API list (Shandong notice, Appendix 2) and its report APIs.
MINISTRY_APIS = {"verifyVoucherScan", "getVoucherStatus", "batchAddTrainees", "batchAddInstitutions",
                 "batchVoidVouchers", "recordCheckin", "listUserVouchers", "listTemplates", "settleVouchers",
                 "getTraineeByQr", "addCertificate", "getIndicators", "getMonthlyReport"}


def test_every_ministry_api_is_served_under_its_operation_id(gateway):
    document = gateway.http.get(gateway.base_url + "/openapi.json", timeout=10).json()
    served = {op["operationId"] for methods in document["paths"].values() for op in methods.values()}
    assert MINISTRY_APIS <= served, sorted(MINISTRY_APIS - served)

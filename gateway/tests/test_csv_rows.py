"""CSV uploads (``gateway.csv_rows``): each row becomes the dict a JSON row would be, numbered
by data row and physical line; a file that is not such a CSV is refused whole."""
import pytest

from common.errors import InvalidInput
from gateway import csv_rows, schemas

ID = "43010219900101123X"
INSTITUTION_HEADER = "region_code,name,credit_code,site_name,site_address,latitude,longitude,radius_m\r\n"


def refusal(reader, raw, charset="utf-8"):
    with pytest.raises(InvalidInput) as refused:
        reader(raw, charset)
    return refused.value


def test_trainee_rows_become_json_rows_numbered_by_data_row_and_line():
    upload = csv_rows.trainees(f"id_number,name\r\n{ID},张三\r\n{ID}\r\n\r\n{ID},\r\n".encode())
    assert upload.body == {"trainees": [{"id_number": ID, "name": "张三"}, {"id_number": ID}, {"id_number": ID}]}
    assert (upload.rows, upload.lines) == ([0, 1, 2], [2, 3, 5])  # the blank line 4 is no row
    assert [schemas.TraineeIn().load(row)["name"] for row in upload.body["trainees"]] == ["张三", None, None]


def test_a_byte_order_mark_spaces_case_and_column_order_do_not_matter():
    upload = csv_rows.trainees(f"\ufeff Name , ID_NUMBER\n 张三 , {ID} \n".encode())
    assert upload.body == {"trainees": [{"id_number": ID, "name": "张三"}]}


def test_the_name_column_is_optional():
    assert csv_rows.trainees(f"id_number\n{ID}\n".encode()).body == {"trainees": [{"id_number": ID}]}


def test_gb18030_is_read_when_the_request_says_so():
    raw = f"id_number,name\r\n{ID},欧阳春华\r\n".encode("gb18030")
    assert csv_rows.trainees(raw, "GB18030").body == {"trainees": [{"id_number": ID, "name": "欧阳春华"}]}
    assert csv_rows.trainees(raw, "gbk").body == csv_rows.trainees(raw, "gb18030").body
    refused = refusal(csv_rows.trainees, raw)
    assert refused.code == "invalid_csv" and "charset=gb18030" in refused.message


def test_an_unknown_charset_is_refused():
    assert refusal(csv_rows.trainees, f"id_number\n{ID}\n".encode(), "latin-1").code == "invalid_csv"


def test_a_quoted_cell_may_hold_commas_quotes_and_line_breaks():
    upload = csv_rows.trainees(f'id_number,name\n{ID},"a, ""b""\nc"\n{ID},d\n'.encode())
    assert upload.body["trainees"][0]["name"] == 'a, "b"\nc'
    assert upload.lines == [2, 4]


def test_a_wrong_header_names_what_is_missing_and_unknown():
    refused = refusal(csv_rows.trainees, f"身份证号,name,phone\n{ID},张三,1\n".encode())
    assert refused.code == "csv_header"
    assert refused.details["missing"] == ["id_number"] and refused.details["unknown"] == ["身份证号", "phone"]
    assert "'id_number'" in refused.message and "'phone'" in refused.message
    assert refusal(csv_rows.trainees, f"id_number,id_number\n{ID},{ID}\n".encode()).details["repeated"] == [
        "id_number"]
    assert refusal(csv_rows.trainees, b"").code == "csv_header"


def test_trailing_empty_cells_are_ignored_but_surplus_values_are_not():
    assert csv_rows.trainees(f"id_number,name,,\n{ID},张三,,\n".encode()).body["trainees"] == [
        {"id_number": ID, "name": "张三"}]
    refused = refusal(csv_rows.trainees, f"id_number,name\n{ID},张三\n{ID},张,三\n".encode())
    assert (refused.code, refused.details) == ("invalid_csv", {"line": 3})


@pytest.mark.parametrize("raw", [f'id_number\n"{ID}"x\n'.encode(), b"id_number\n", b"id_number\n,\n\n",
                                 b'{"trainees": [{"id_number": "1"}]}', b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_what_is_not_a_csv_of_rows_is_refused_whole(raw):
    assert refusal(csv_rows.trainees, raw).code in ("invalid_csv", "csv_header")


def test_at_most_1000_rows():
    rows = "".join(f"{ID}\n\n" for _ in range(1000))
    assert len(csv_rows.trainees(f"id_number\n{rows}".encode()).body["trainees"]) == 1000
    refused = refusal(csv_rows.trainees, f"id_number\n{rows}{ID}\n".encode())
    assert refused.code == "too_many_rows"


def test_rows_of_one_institution_are_one_record_with_a_site_each():
    upload = csv_rows.institutions((
        INSTITUTION_HEADER
        + "430102,长沙市某职业培训学校,91350100M000100Y43,本部,八一路1号,28.19,112.98,150\r\n"
        + "430102,长沙市某培训中心,91330100716105852F,校区,五一路2号,28.2,112.9,100\r\n"
        + "430102,长沙市某职业培训学校,91350100M000100Y43,实训基地,\"芙蓉路3号, 2楼\",28.21,112.99,200\r\n"
        + "430102,,,,,,,\r\n").encode())
    first, second, third = upload.body["institutions"]
    assert (upload.rows, upload.lines) == ([0, 1, 3], [2, 3, 5])
    assert [s["name"] for s in first["sites"]] == ["本部", "实训基地"] and len(second["sites"]) == 1
    assert third == {"region_code": "430102", "sites": [{}]}
    loaded = schemas.InstitutionIn().load(first)
    assert loaded["sites"][1] == {"name": "实训基地", "address": "芙蓉路3号, 2楼", "latitude": 28.21,
                                  "longitude": 112.99, "radius_m": 200}


def test_a_credit_code_under_another_name_is_another_institution():
    upload = csv_rows.institutions((INSTITUTION_HEADER + "430102,甲,91350100M000100Y43,s,a,28,112,100\n"
                                    + "430102,乙,91350100M000100Y43,s,a,28,112,100\n").encode())
    assert [i["name"] for i in upload.body["institutions"]] == ["甲", "乙"]


def test_an_institution_header_must_name_every_column():
    refused = refusal(csv_rows.institutions, b"region_code,name,credit_code,site_name\n430102,x,y,z\n")
    assert refused.code == "csv_header"
    assert refused.details["missing"] == ["site_address", "latitude", "longitude", "radius_m"]


def test_locate_numbers_the_answer_by_the_file():
    upload = csv_rows.Upload({}, [0, 2, 5], [2, 4, 9])
    report = {"accepted": 1, "refused": 2, "rows": [{"row": 0, "status": "accepted"},
                                                   {"row": 1, "status": "refused", "error": "e"},
                                                   {"row": 2, "status": "refused", "error": "e"}]}
    assert csv_rows.locate(report, upload)["rows"] == [
        {"row": 0, "status": "accepted"}, {"row": 2, "status": "refused", "error": "e", "line": 4},
        {"row": 5, "status": "refused", "error": "e", "line": 9}]
    assert csv_rows.locate({"rows": [{"row": 1, "status": "refused"}]}, None) == {
        "rows": [{"row": 1, "status": "refused"}]}

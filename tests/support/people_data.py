"""Small synthetic PERSON_IDENTITY / ENTERPRISE_IDENTITY frames for the resolver tests.

Each row: (source, record_key, full_name, name_folded, birth_date, precision, sex, cccd, cmnd, phone,
province_code, ward_code) and the person it is truly about (entity)."""

from __future__ import annotations

import datetime as dt

from lakehouse.silver.schema import ENTERPRISE_IDENTITY, PERSON_IDENTITY

D = dt.date

# entity, source, key, full_name, name_folded, birth_date, precision, sex, cccd, cmnd, phone, province, ward
PEOPLE = [
    # E1 Nguyễn Văn An: registry with CCCD; a health card without CCCD and a swapped day/month;
    # a welfare record with only a CMND and a typo in the given name, no phone.
    ("E1", "population_registry", "PR1", "Nguyễn Văn An", "NGUYEN VAN AN", D(1985, 3, 12), "day", "M",
     "001085000101", "012345671", "0912345001", "01", "00004"),
    ("E1", "health_insurance", "HI1", "Nguyen Van An", "NGUYEN VAN AN", D(1985, 12, 3), "day", "M",
     None, None, "0912345001", "01", "00004"),
    ("E1", "social_welfare", "SW1", "Nguyễn Văn Ann", "NGUYEN VAN ANN", D(1985, 3, 12), "day", "M",
     None, "012345671", None, "01", "00004"),
    # E2 Trần Thị Hòa: registry; vaccination with a year-only birth date; education with the birth
    # year off by one (a conflicting source) and old tone placement (folded: same).
    ("E2", "population_registry", "PR2", "Trần Thị Hòa", "TRAN THI HOA", D(1990, 7, 21), "day", "F",
     "079190000202", None, "0987000202", "79", "26734"),
    ("E2", "health_vaccination", "HV2", "Trần Thị Hoà", "TRAN THI HOA", D(1990, 1, 1), "year", "F",
     None, None, "0987000202", "79", "26734"),
    ("E2", "education", "ED2", "Trần Thị Hòa", "TRAN THI HOA", D(1991, 7, 21), "day", "F",
     None, None, None, "79", "26734"),
    # E3 Lê Hoàng Minh: only a CCCD record elsewhere plus an id-card record with the CCCD.
    ("E3", "population_registry", "PR3", "Lê Hoàng Minh", "LE HOANG MINH", D(1972, 11, 2), "day", "M",
     "036072000303", "162000303", "0903000303", "37", "14500"),
    ("E3", "id_card", "IC3", "Lê Hoàng Minh", "LE HOANG MINH", D(1972, 11, 2), "day", "M",
     "036072000303", None, None, "37", "14500"),
    # Surname trap: different men called NGUYEN VAN HUNG / NGUYEN VAN HUNG / NGUYEN VAN HUNG born the
    # same year in the same province, none with a CCCD, no shared phone or ward.
    ("E4", "land_parcels", "LP4", "Nguyễn Văn Hùng", "NGUYEN VAN HUNG", D(1980, 5, 1), "day", "M",
     None, None, None, "01", "00010"),
    ("E5", "vehicle_registration", "VR5", "Nguyễn Văn Hùng", "NGUYEN VAN HUNG", D(1980, 9, 17), "day", "M",
     None, None, "0977000005", "01", "00022"),
    ("E6", "driving_licences", "DL6", "Nguyễn Văn Hưng", "NGUYEN VAN HUNG", D(1980, 2, 28), "day", "M",
     None, "013000006", None, "01", "00031"),
    # Two different people with valid CCCDs and identical other fields (twins' records, or an ID
    # typo upstream), and a record without CCCD that matches both: never one cluster.
    ("E7", "population_registry", "PR7", "Phạm Văn Bình", "PHAM VAN BINH", D(2001, 1, 5), "day", "M",
     "031201000707", None, None, "31", "11311"),
    ("E8", "population_registry", "PR8", "Phạm Văn Bình", "PHAM VAN BINH", D(2001, 1, 5), "day", "M",
     "031201000808", None, None, "31", "11311"),
    ("E7", "education", "ED7", "Pham Van Binh", "PHAM VAN BINH", D(2001, 1, 5), "day", "M",
     None, None, None, "31", "11311"),
    # E9 / E10: the same CMND (issued twice) on two different people: never merge on CMND alone.
    ("E9", "social_insurance", "SI9", "Đỗ Thị Lan", "DO THI LAN", D(1965, 4, 9), "day", "F",
     None, "025111999", None, "25", "07700"),
    ("E10", "civil_status", "CS10", "Vũ Văn Tâm", "VU VAN TAM", D(1958, 10, 30), "day", "M",
     None, "025111999", None, "91", "30300"),
    # E11: two records without CCCD (a person missing from the registry): phone + name + birth date.
    ("E11", "health_insurance", "HI11", "Hoàng Thị Mai", "HOANG THI MAI", D(1999, 6, 15), "day", "F",
     None, None, "0356000011", "48", "20200"),
    ("E11", "health_vaccination", "HV11", "Hoàng Mai", "HOANG MAI", D(1999, 6, 15), "day", "F",
     None, None, "0356000011", "48", "20200"),
    # E12: name order reversed in one source (given name + surname); CCCD in the other.
    ("E12", "population_registry", "PR12", "Bùi Quang Huy", "BUI QUANG HUY", D(1993, 8, 8), "day", "M",
     "040093001212", None, "0868001212", "40", "16700"),
    ("E12", "immigration", "IM12", "Huy Bui Quang", "HUY BUI QUANG", D(1993, 8, 8), "day", "M",
     None, None, None, "40", "16700"),
    # E13 / E14: two CCCD holders with the same name, birth date and ward (twins). HI13 shares E13's
    # phone, SI14 shares E14's phone, and HI13 / SI14 carry the same CMND (an upstream error), so the
    # two unanchored records link strongly to each other: the cannot-link must split them apart.
    ("E13", "population_registry", "PR13", "Đặng Văn Tú", "DANG VAN TU", D(1975, 5, 5), "day", "M",
     "001075001313", None, "0911000013", "01", "00100"),
    ("E14", "population_registry", "PR14", "Đặng Văn Tú", "DANG VAN TU", D(1975, 5, 5), "day", "M",
     "001075001414", None, "0911000014", "01", "00100"),
    ("E13", "health_insurance", "HI13", "Đặng Văn Tú", "DANG VAN TU", D(1975, 5, 5), "day", "M",
     None, "011999999", "0911000013", "01", "00100"),
    ("E14", "social_insurance", "SI14", "Đặng Văn Tú", "DANG VAN TU", D(1975, 5, 5), "day", "M",
     None, "011999999", "0911000014", "01", "00100"),
]


def people_rows():
    return [(src, key, full, folded, bd, prec, sex, cccd, cmnd, phone, prov, ward, None)
            for (_e, src, key, full, folded, bd, prec, sex, cccd, cmnd, phone, prov, ward) in PEOPLE]


def people_frame(spark, rows=None):
    return spark.createDataFrame(rows if rows is not None else people_rows(), PERSON_IDENTITY)


def people_truth():
    return {(src, key): e for (e, src, key, *_rest) in PEOPLE}


# entity, source, key, tax_code, name, name_folded, province, address, owner_name_folded, owner_cccd, phone
FIRMS = [
    ("F1", "enterprise_registration", "ER1", "0100109106", "Công ty TNHH Thương mại Sao Mai",
     "CONG TY TNHH THUONG MAI SAO MAI", "01", "12 Phố Huế, Hà Nội", "NGUYEN VAN AN", "001085000101", "02439990001"),
    ("F1", "enterprise_tax", "ET1a", "0100109106", "Công ty TNHH Thương mại Sao Mai",
     "CONG TY TNHH THUONG MAI SAO MAI", "01", "12 Phố Huế, Hà Nội", None, None, None),
    # no (valid) tax code: name + province + owner
    ("F1", "enterprise_tax", "ET1b", None, "CTY TNHH Thương mại Sao Mai",
     "CTY TNHH THUONG MAI SAO MAI", "01", None, "NGUYEN VAN AN", "001085000101", None),
    # a different firm with the same trade name in another province, no tax code
    ("F2", "enterprise_tax", "ET2", None, "Công ty TNHH Thương mại Sao Mai",
     "CONG TY TNHH THUONG MAI SAO MAI", "79", "5 Lê Lợi, TP.HCM", "TRAN VAN BA", "079070000222", None),
    ("F3", "enterprise_registration", "ER3", "0300588569", "Công ty Cổ phần Xây dựng Hòa Bình",
     "CONG TY CO PHAN XAY DUNG HOA BINH", "79", "1 Nguyễn Huệ", "LE THI CUC", "079180000333", "02838880003"),
]


def firm_frame(spark):
    rows = [(src, key, tax, name, folded, prov, addr, owner, occcd, phone)
            for (_e, src, key, tax, name, folded, prov, addr, owner, occcd, phone) in FIRMS]
    return spark.createDataFrame(rows, ENTERPRISE_IDENTITY)


def firm_truth():
    return {(src, key): e for (e, src, key, *_rest) in FIRMS}

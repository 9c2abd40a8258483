"""Small reference pools for the simulator, precomputed once in Python from lakehouse.reference:
names in every text variant the faults need, weighted urns, and the ward table for addresses."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from lakehouse import reference as ref
from lakehouse.reference import text

# Street names (common Vietnamese street names, all named after historical figures or events).
STREETS = [
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Hùng Vương", "Điện Biên Phủ", "Nguyễn Trãi", "Phan Chu Trinh", "Lê Duẩn", "Võ Thị Sáu",
    "Nguyễn Du", "Lê Thánh Tông", "Trần Phú", "Phan Bội Châu", "Nguyễn Thị Minh Khai",
    "Cách Mạng Tháng Tám", "Lạc Long Quân", "Âu Cơ", "Tôn Đức Thắng", "Nguyễn Văn Cừ",
    "Lê Hồng Phong", "Hoàng Văn Thụ", "Bà Triệu", "Ngô Quyền", "Đinh Tiên Hoàng", "Lý Thái Tổ",
    "Nguyễn Chí Thanh", "Phạm Văn Đồng", "Võ Nguyên Giáp", "Trường Chinh", "Nguyễn Văn Linh",
    "Hòa Bình", "Thống Nhất", "Độc Lập", "Lê Văn Sỹ", "Nguyễn Đình Chiểu", "Pasteur",
    "Bạch Đằng", "Chu Văn An", "Yết Kiêu", "Nguyễn Thái Học", "Kim Mã", "Xuân Thủy",
    "Thụy Khuê", "Khuất Duy Tiến", "Hoàng Quốc Việt", "Phạm Ngũ Lão", "Nguyễn Khoái",
]
FIRM_FORMS = ["Công ty TNHH", "Công ty Cổ phần", "Doanh nghiệp tư nhân", "Công ty TNHH MTV", "Hợp tác xã"]
FIRM_WORDS = [
    "Thành Công", "Phát Đạt", "Hòa Bình", "Minh Long", "An Phú", "Việt Tiến", "Hưng Thịnh",
    "Đại Dương", "Sao Mai", "Bình Minh", "Trường Sơn", "Hoàng Gia", "Thái Bình", "Kim Long",
    "Phú Quý", "Tân Tiến", "Đông Á", "Nam Việt", "Hồng Hà", "Cửu Long", "Thiên Phúc", "Lộc Phát",
    "Vạn Xuân", "Quang Minh", "Hải Đăng", "Thủy Tiên", "Sông Hồng", "Mê Kông", "Tây Nguyên", "Ánh Dương",
]
FIRM_TRADES = [
    "Thương mại", "Xây dựng", "Dịch vụ", "Sản xuất", "Đầu tư", "Vận tải", "Công nghệ", "Xuất nhập khẩu",
    "Nông sản", "Thực phẩm", "May mặc", "Du lịch", "Bất động sản", "Cơ khí", "Điện tử",
]
HOSPITALS = ["Bệnh viện Đa khoa tỉnh", "Trung tâm Y tế huyện", "Trạm Y tế xã", "Bệnh viện Bạch Mai",
             "Bệnh viện Chợ Rẫy", "Bệnh viện Trung ương Huế", "Phòng khám Đa khoa"]
VACCINES = ["BCG", "Viêm gan B", "DPT-VGB-Hib", "Sởi", "Sởi-Rubella", "Viêm não Nhật Bản", "Uốn ván",
            "COVID-19 Comirnaty", "COVID-19 Vaxzevria", "Bại liệt OPV"]
AGENCIES = ["UBND tỉnh", "Sở Tài chính", "Sở Y tế", "Sở Giáo dục và Đào tạo", "Công an tỉnh", "Sở Nội vụ",
            "UBND phường", "UBND xã", "Kho bạc Nhà nước", "Cục Thuế", "Bảo hiểm xã hội tỉnh"]
POSITIONS = ["Chuyên viên", "Chuyên viên chính", "Trưởng phòng", "Phó trưởng phòng", "Cán sự",
             "Giám đốc", "Phó giám đốc", "Văn thư", "Kế toán viên", "Thanh tra viên"]
BORDER_GATES = ["Nội Bài", "Tân Sơn Nhất", "Đà Nẵng", "Mộc Bài", "Lào Cai", "Hữu Nghị", "Cầu Treo",
                "Móng Cái", "Cam Ranh", "Phú Quốc"]
SCHOOL_LEVELS = ["Mầm non", "Tiểu học", "THCS", "THPT", "Đại học", "Cao đẳng"]
VEHICLE_TYPES = ["Xe máy", "Ô tô con", "Ô tô tải", "Xe máy điện", "Ô tô khách"]
BRANDS = ["Honda", "Yamaha", "Toyota", "Hyundai", "VinFast", "Kia", "Suzuki", "Ford", "Mazda", "Piaggio"]
LICENCE_CLASSES = ["A1", "A2", "B1", "B2", "C", "D", "E"]
LAND_USES = ["ONT", "ODT", "LUC", "CLN", "BHK", "TMD", "SKC", "NTS"]
BENEFIT_TYPES = ["Người cao tuổi", "Người khuyết tật", "Trẻ mồ côi", "Hộ nghèo", "Người có công"]
BENEFICIARY_GROUPS = ["DN", "HC", "HT", "TE", "HS", "HN", "CN", "GD"]

# Text variants a name token is kept in: the faults choose one per record.
VARIANTS = ("nfc", "nfd", "old_tone", "ascii", "mojibake", "cp1258")


def _variants(name: str) -> dict[str, str]:
    return {
        "nfc": text.nfc(name),
        "nfd": text.nfd(name),
        "old_tone": text.nfc(text.to_old_tone(name)),
        "ascii": text.strip_diacritics(name),
        "mojibake": text.mojibake(name),
        "cp1258": text.to_windows1258_form(name),
    }


@dataclass(frozen=True)
class NamePool:
    """One pool of name tokens: the weighted urn of indices and every text variant by index."""

    urn: list[int]
    variants: dict[str, list[str]]


def _name_pool(rows: list[dict]) -> NamePool:
    from lakehouse.simulate.rng import urn

    names = [r["name"] for r in rows]
    weights = [float(r["weight"]) for r in rows]
    by_variant = {v: [] for v in VARIANTS}
    for n in names:
        for v, s in _variants(n).items():
            by_variant[v].append(s)
    return NamePool(urn=urn(list(range(len(names))), weights, 2048), variants=by_variant)


@lru_cache(maxsize=None)
def surnames() -> NamePool:
    return _name_pool(ref.surnames())


@lru_cache(maxsize=None)
def middle_names(sex: str) -> NamePool:
    return _name_pool(ref.middle_names(sex))


@lru_cache(maxsize=None)
def given_names(sex: str) -> NamePool:
    return _name_pool(ref.given_names(sex))


@lru_cache(maxsize=None)
def text_variants(values: tuple[str, ...]) -> dict[str, list[str]]:
    """Every text variant of a fixed list of strings (streets, firm words, ward names)."""
    out = {v: [] for v in VARIANTS}
    for s in values:
        for v, t in _variants(s).items():
            out[v].append(t)
    return out


@dataclass(frozen=True)
class Geography:
    """Old (pre-2025) wards with their new units, and weights for drawing a home province."""

    wards: list[dict]                 # one row per old ward, index = ward_idx
    province_codes: list[int]         # the 63 old province codes
    province_weights: list[float]
    ward_start: list[int]             # per province index: first ward_idx
    ward_count: list[int]


# Rough population weights (millions, 2019 census) for the largest provinces; others use
# their ward count as a proxy. Good enough for a plausible spread, not for statistics.
_BIG_PROVINCES = {1: 8.1, 79: 9.0, 31: 2.0, 48: 1.1, 38: 3.6, 40: 3.3, 30: 1.9, 75: 3.1, 74: 2.4, 92: 1.2}


@lru_cache(maxsize=None)
def geography() -> Geography:
    units = sorted((u for u in ref.old_units() if u["ward_code"]), key=lambda r: (r["province_code"], r["district_code"], r["ward_code"]))
    new_names = {r["ward_code"]: r for r in ref.new_units()}
    new_prov = ref.province_old_to_new()
    new_prov_names = {r["province_code"]: r["province_name"] for r in ref.new_units()}
    first_new: dict[str, list[str]] = {}
    for m in ref.ward_old_to_new():
        first_new.setdefault(m["old_ward_code"], []).append(m["new_ward_code"])
    wards, codes, start, count = [], [], [], []
    for i, u in enumerate(units):
        pc = int(u["province_code"])
        if not codes or codes[-1] != pc:
            codes.append(pc)
            start.append(i)
            count.append(0)
        count[-1] += 1
        candidates = first_new.get(u["ward_code"], [])
        new_ward = new_names.get(candidates[0]) if candidates else None
        npc = new_prov.get(u["province_code"], u["province_code"])
        wards.append({
            "ward_idx": i,
            "ward_code": u["ward_code"], "ward_name": u["ward_name"],
            "district_code": u["district_code"], "district_name": u["district_name"],
            "province_code": u["province_code"], "province_name": u["province_name"],
            "new_ward_code": new_ward["ward_code"] if new_ward else None,
            "new_ward_name": new_ward["ward_name"] if new_ward else None,
            "new_province_code": npc,
            "new_province_name": new_prov_names.get(npc),
            "ward_split": len(candidates) > 1,
        })
    weights = [_BIG_PROVINCES.get(pc, c / 160.0) for pc, c in zip(codes, count)]
    return Geography(wards, codes, weights, start, count)


def slot_table(seed: int, size: int = 8192) -> tuple[list[int], int]:
    """Birth attributes per population slot, packed as province*10^7 + female*10^6 + year*100 + occ.

    A citizen's slot is pid mod size, and pid div size is unique inside a slot, so a CCCD serial built
    from (pid div size, occ) never repeats inside one (province, sex, birth year) bucket. Slots repeat
    a household pattern of four: head (male adult), spouse (female adult), two children.
    Returns the packed slots and the number of occurrences to reserve per bucket.
    """
    geo = geography()
    rnd = random.Random(seed)
    adult_ages = list(range(28, 91))
    adult_w = [max(0.2, 1.6 - 0.02 * (a - 28)) * (0.35 if a > 75 else 1.0) for a in adult_ages]
    child_ages = list(range(0, 31))
    child_w = [1.0] * len(child_ages)
    occ: dict[tuple[int, int, int], int] = {}
    slots = []
    for s in range(size):
        role = s % 4
        prov = rnd.choices(geo.province_codes, geo.province_weights)[0]
        if role == 0:
            female, age = 0, rnd.choices(adult_ages, adult_w)[0]
        elif role == 1:
            female, age = 1, rnd.choices(adult_ages, adult_w)[0]
        else:
            female, age = rnd.randint(0, 1), rnd.choices(child_ages, child_w)[0]
        year = 2025 - age
        key = (prov, female, year)
        o = occ.get(key, 0)
        occ[key] = o + 1
        slots.append(prov * 10_000_000 + female * 1_000_000 + year * 100 + o)
    max_occ = max(occ.values())
    if max_occ >= 100:
        raise ValueError("slot table: too many slots share one (province, sex, year) bucket")
    return slots, max_occ

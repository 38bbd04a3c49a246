"""Reference tables for the synthetic population: surnames, given-name characters, ethnic
groups, phone prefixes, the age pyramid, and the parts of employer and school names.

Frequencies are rounded public figures: surnames from the Ministry of Public Security's 2020
name report (王 7.1 %, 李 7.0 %, 张 6.7 % …), the age structure from the 7th national census
(2020: 0–14 17.95 %, 15–59 63.35 %, 60+ 18.70 %), household sizes from the same census
(average 2.62 persons). They make the data look plausible; they are not statistics.
"""

from __future__ import annotations

from typing import Final

# (surname, share in per mille of the population)
SURNAMES: Final[tuple[tuple[str, float], ...]] = (
    ("王", 71.2), ("李", 70.0), ("张", 67.4), ("刘", 51.0), ("陈", 46.1), ("杨", 32.2),
    ("黄", 24.5), ("赵", 22.9), ("吴", 20.5), ("周", 19.9), ("徐", 16.6), ("孙", 15.4),
    ("马", 14.8), ("朱", 13.5), ("胡", 13.2), ("郭", 12.5), ("何", 12.0), ("林", 11.3),
    ("高", 11.3), ("罗", 11.2), ("郑", 10.1), ("梁", 9.5), ("谢", 8.4), ("宋", 8.2),
    ("唐", 8.1), ("许", 7.8), ("韩", 7.7), ("邓", 7.4), ("冯", 7.3), ("曹", 7.1),
    ("彭", 7.0), ("曾", 6.8), ("肖", 6.5), ("田", 6.3), ("董", 6.2), ("潘", 5.8),
    ("袁", 5.7), ("蔡", 5.5), ("蒋", 5.4), ("余", 5.3), ("于", 5.2), ("杜", 5.1),
    ("叶", 5.0), ("程", 4.9), ("魏", 4.8), ("苏", 4.7), ("吕", 4.6), ("丁", 4.5),
    ("任", 4.4), ("卢", 4.3), ("姚", 4.2), ("沈", 4.1), ("钟", 4.0), ("姜", 3.9),
    ("崔", 3.8), ("谭", 3.7), ("陆", 3.6), ("范", 3.5), ("汪", 3.4), ("廖", 3.3),
    ("石", 3.3), ("金", 3.2), ("韦", 3.1), ("贾", 3.0), ("夏", 3.0), ("付", 2.9),
    ("方", 2.8), ("邹", 2.8), ("熊", 2.7), ("白", 2.7), ("孟", 2.6), ("秦", 2.6),
    ("邱", 2.5), ("侯", 2.5), ("江", 2.4), ("尹", 2.4), ("薛", 2.3), ("闫", 2.3),
    ("段", 2.2), ("雷", 2.2), ("龙", 2.1), ("黎", 2.1), ("史", 2.0), ("陶", 2.0),
    ("贺", 1.9), ("毛", 1.9), ("郝", 1.8), ("顾", 1.8), ("龚", 1.8), ("邵", 1.7),
    ("万", 1.7), ("覃", 1.6), ("武", 1.6), ("钱", 1.6), ("戴", 1.5), ("严", 1.5),
    ("莫", 1.5), ("孔", 1.4), ("向", 1.4), ("常", 1.4), ("涂", 1.2), ("柯", 1.1),
    ("喻", 1.0), ("舒", 1.0), ("欧阳", 0.6), ("上官", 0.1), ("司马", 0.1), ("诸葛", 0.05),
)  # fmt: skip

# Given-name characters by sex and era (names changed fashion around 1980).
MALE_OLD: Final[str] = (
    "国建华军明平伟强林文志永德海春生成勇刚清东兵红金祥福荣贵斌辉忠光良新峰学庆中洪发宏杰涛波胜武才山宝长"
)
MALE_NEW: Final[str] = (
    "浩宇轩子杰俊博文涛鹏超磊昊然睿泽晨阳一诚航凯皓铭哲豪帆翔逸瑞辰宸梓煜亮鑫嘉思旭健毅彬晋泓锦霖恒森"
)
FEMALE_OLD: Final[str] = (
    "秀英华兰芳玉珍桂凤红丽霞琴云梅娟萍美敏春翠艳静燕莲菊淑荣金彩爱月平芬玲琼素香娥群"
)
FEMALE_NEW: Final[str] = (
    "婷欣怡雨涵萱诗梓思佳雪琳晶颖悦可馨妍琪嘉依静倩丹蕾薇瑶蕊璐洁慧敏雯梦晴艺菲一舒语"
)

HAN: Final[str] = "汉族"
# Minorities among the non-Han share (Hubei's largest are 土家族 and 苗族).
MINORITIES: Final[tuple[tuple[str, float], ...]] = (
    ("土家族", 40), ("苗族", 12), ("回族", 12), ("满族", 10), ("蒙古族", 6), ("壮族", 6),
    ("侗族", 5), ("彝族", 4), ("朝鲜族", 3), ("维吾尔族", 2),
)  # fmt: skip
HAN_SHARE: Final[float] = 0.96

PHONE_PREFIXES: Final[tuple[int, ...]] = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145, 147, 150, 151, 152, 153, 155, 156,
    157, 158, 159, 166, 171, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187,
    188, 189, 191, 193, 195, 198, 199,
)  # fmt: skip

# Household sizes 1..8 and their shares (mean ≈ 2.65).
HOUSEHOLD_SIZES: Final[tuple[float, ...]] = (0.25, 0.29, 0.21, 0.13, 0.07, 0.035, 0.01, 0.005)

# Relation to the head of household (与户主关系), as written in the population register.
HEAD: Final[str] = "户主"
SPOUSE: Final[str] = "配偶"
SON, DAUGHTER = "子", "女"
FATHER, MOTHER = "父亲", "母亲"
GRANDSON, GRANDDAUGHTER = "孙子", "孙女"
DAUGHTER_IN_LAW, SON_IN_LAW = "儿媳", "女婿"

# --- employers ---------------------------------------------------------------------------

# (kind code as in registry.choices.EmployerKind, label, share of employers, share of
#  employees, credit-code authority+type prefixes)
EMPLOYER_KINDS: Final[tuple[tuple[str, str, float, float, tuple[str, ...]], ...]] = (
    ("government", "机关", 0.02, 0.06, ("11",)),
    ("public_institution", "事业单位", 0.06, 0.14, ("12",)),
    ("enterprise", "企业", 0.62, 0.72, ("91",)),
    ("social_organisation", "社会组织", 0.05, 0.02, ("51", "52")),
    ("individual_business", "个体", 0.25, 0.06, ("92",)),
)

GOVERNMENT_UNITS: Final[tuple[str, ...]] = (
    "人民政府办公室", "发展和改革局", "教育局", "公安分局", "民政局", "财政局",
    "人力资源和社会保障局", "自然资源和规划分局", "住房和城乡建设局", "交通运输局",
    "农业农村局", "水利和湖泊局", "商务局", "文化和旅游局", "卫生健康委员会", "应急管理局",
    "市场监督管理局", "统计局", "医疗保障局", "城市管理执法局", "审计局", "司法局",
)  # fmt: skip
PUBLIC_UNITS: Final[tuple[str, ...]] = (
    "人民医院", "中医医院", "妇幼保健院", "疾病预防控制中心", "政务服务中心", "融媒体中心",
    "公共就业和人才服务中心", "社会福利院", "图书馆", "文化馆", "农业技术推广中心",
    "水利工程管理处", "实验小学", "实验中学", "第一中学", "第二中学", "第三中学",
    "职业技术学校", "特殊教育学校", "中心幼儿园",
)  # fmt: skip
TOWN_PUBLIC_UNITS: Final[tuple[str, ...]] = ("卫生院", "中心小学", "初级中学", "中心幼儿园")
SCHOOL_MARKERS: Final[tuple[str, ...]] = ("小学", "中学", "学校", "幼儿园", "大学", "学院")
BRANDS: Final[tuple[str, ...]] = (
    "恒达", "鑫源", "华信", "宏运", "金鼎", "天成", "瑞丰", "永盛", "兴旺", "东方", "长江",
    "楚天", "凤凰", "吴都", "鸿翔", "新港", "明珠", "盛世", "汇通", "荆楚", "中南", "光谷",
    "嘉禾", "润泽", "博远", "启航", "通达", "远景", "和信", "万家", "锦程", "银河", "顺丰",
    "安泰", "汉川", "鄂东", "江城", "湖光", "梁湖", "西山",
)  # fmt: skip
INDUSTRIES: Final[tuple[str, ...]] = (
    "建材", "物流", "商贸", "机械制造", "电子科技", "纺织", "食品", "医药", "信息技术",
    "置业", "建筑工程", "钢铁", "水产", "农业发展", "汽车销售服务", "餐饮管理", "物业服务",
    "新材料", "环保科技", "家具", "印务", "劳务", "冶金", "光电", "生物科技",
)  # fmt: skip
COMPANY_FORMS: Final[tuple[tuple[str, float], ...]] = (
    ("有限公司", 0.80), ("有限责任公司", 0.12), ("股份有限公司", 0.05), ("集团有限公司", 0.03),
)  # fmt: skip
SOCIAL_ORGS: Final[tuple[str, ...]] = (
    "个体劳动者协会", "慈善总会", "老年人体育协会", "书法家协会", "餐饮行业协会",
    "志愿者协会", "红十字会", "养老服务中心", "社会工作服务中心", "青少年活动中心",
)  # fmt: skip
SHOPS: Final[tuple[str, ...]] = (
    "餐馆", "便利店", "理发店", "五金店", "面馆", "超市", "汽车修理店", "水果店", "早餐店",
    "服装店", "建材店", "药店", "农资店", "烟酒店", "家电维修部",
)  # fmt: skip
REGISTRATION_ACTIVE: Final[str] = "存续"
REGISTRATION_CLOSED: Final[tuple[str, ...]] = ("注销", "吊销")

COLLEGES: Final[tuple[str, ...]] = (
    "鄂州职业大学", "湖北大学", "武汉大学", "华中科技大学", "湖北工业大学", "武汉理工大学",
    "华中师范大学", "长江大学", "湖北理工学院", "黄冈师范学院", "武汉职业技术学院",
    "湖北经济学院",
)  # fmt: skip

"""The categories of the three attribution systems (attribution.md): receipt (票据),
accounting subject (会计科目) and medical record (病案首页), and the reserved codes."""

RECEIPT_CATEGORIES = ("床位费", "诊察费", "检查费", "化验费", "治疗费", "手术费", "护理费", "卫生材料费",
                      "西药费", "中药饮片费", "中成药费", "一般诊疗费", "挂号费", "其他费")
RECEIPT_ALIASES = {"诊查费": "诊察费"}
SUBJECT_CATEGORIES = ("挂号", "诊察", "床位", "检查", "化验", "治疗", "手术", "护理", "卫生材料",
                      "西药", "中成药", "中药饮片", "药事服务费", "其他")
# Record category leaf -> class (住院病案首页费用分类).
RECORD_LEAVES = {
    "一般医疗服务费": "综合医疗服务类", "一般治疗操作费": "综合医疗服务类", "护理费": "综合医疗服务类",
    "其他费用": "综合医疗服务类",
    "病理诊断费": "诊断类", "实验室诊断费": "诊断类", "影像学诊断费": "诊断类", "临床诊断项目费": "诊断类",
    "非手术治疗项目费": "治疗类", "临床物理治疗费": "治疗类", "手术治疗费": "治疗类", "麻醉费": "治疗类",
    "手术费": "治疗类",
    "康复费": "康复类", "中医治疗费": "中医类", "西药费": "西药类", "抗菌药物费用": "西药类",
    "中成药费": "中药类", "中草药费": "中药类",
    "血费": "血液和血液制品类", "白蛋白类制品费": "血液和血液制品类", "球蛋白类制品费": "血液和血液制品类",
    "凝血因子类制品费": "血液和血液制品类", "细胞因子类制品费": "血液和血液制品类",
    "检查用一次性医用材料费": "耗材类", "治疗用一次性医用材料费": "耗材类", "手术用一次性医用材料费": "耗材类",
    "其他费": "其他类",
}
RESERVED = {"YP01": ("西药费", "西药"), "YP02": ("中成药费", "中成药"), "YP03": ("中药饮片费", "中药饮片"),
            "HC01": ("卫生材料费", "卫生材料")}
UNATTRIBUTED = "未归集"
# Accounting subjects counted as drugs and materials (the return page's and bulletin's
# reconciliation with 表1 R113+R114), and those whose revenue is not medical-service revenue
# (risk.md's 医疗服务收入占比).
DRUG_SUBJECTS = ("西药", "中成药", "中药饮片", "卫生材料")
NON_SERVICE_SUBJECTS = DRUG_SUBJECTS + ("检查", "化验")

"""A hospital's monthly return: the workbook contract, the blank template, reading,
validation, data-quality notices, loading versions, the annotated copy, and `intake`, the one
way a return gets in (web upload, folder import and demo alike)."""

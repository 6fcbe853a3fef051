"""Files for other systems and spreadsheets: the ratings export contract (JSON/CSV) and the
mapping simulation workbook."""

"""What every domain shares: the error family, credit codes and periods, exact amounts,
findings (sheet, cell, Chinese message), the audit log, email, and small xlsx/csv tables."""

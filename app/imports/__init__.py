"""Spreadsheets in: agreements and targets imported from CSV or XLSX, all rows or none."""

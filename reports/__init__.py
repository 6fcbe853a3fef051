"""Outputs for people and other systems, drawn from etl/ and never from app/:

- bulletin/  the monthly bulletin (经济运行监测月报): content, layout, Word, PDF, figures,
             archive and email delivery
- exports/   rating exports (JSON, CSV) and the simulation workbook
- charts.py  server-rendered SVG charts for the pages; fonts.py the bundled CJK font
"""

"""Reports: the daily report (a UTC date) and the per-campaign report as CSV and PDF, the reconciliation export,
and their scheduled e-mail delivery.

  data.py            what a report holds, gathered from cohorts, the ledger, risk, promotions and the knowledge base
  reconciliation.py  per-agent PnL attribution with every cohort-tagged fill, exact from the ledger
  csvfile.py         the CSV files (stable columns, documented in the README's "Reports" section)
  charts.py          inline SVG charts drawn from the figures (the PDF runs no JavaScript)
  pdf.py             the PDF (WeasyPrint, A4, page numbers)
  delivery.py        e-mail to the recipients configured in the admin, once per period and recipient
  views.py           the download views
"""

"""chartmogul_sync: keeps ChartMogul's customers, plans, invoices, transactions and cancellations in step
with Lovia's books (see docs/chartmogul.md)."""

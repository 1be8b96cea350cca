"""erpnext_sync: customers, submitted sales invoices, payment entries and refunds in ERPNext, exactly once."""

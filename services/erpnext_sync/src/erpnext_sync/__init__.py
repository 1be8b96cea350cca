"""erpnext_sync: customers, submitted sales invoices and payment entries in ERPNext, exactly once."""

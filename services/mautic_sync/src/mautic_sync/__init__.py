"""mautic_sync: keeps Mautic contacts in step with Lovia customers and what they pay, owe or left."""

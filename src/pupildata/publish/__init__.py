"""Publishing: release specs, tables from the linked record, disclosure control, writers and charts."""

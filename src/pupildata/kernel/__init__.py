"""The kernel shared by every domain: identifiers, reference data, pseudonyms, audit, engine, registry, runs."""

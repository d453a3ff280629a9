"""People's data: erasure (GDPR Art. 17) and, later, export; composed over members, loyalty and rewards."""

"""FHIR R4 at the edge: resources are parsed and validated here, mapped onto outreach's own patients and
visits by documented rules (see `mapping_patient` and `mapping_appointment`), and the rest of the system
never sees FHIR. Import from files, sync from a clinic's FHIR server, and write confirmations back."""

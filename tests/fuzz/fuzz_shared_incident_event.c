/* Fuzz target: incident_event.v1 records as the notifier reads them from incidents.events. */
#include "fuzz_shared_records.h"
#include "incident_event.h"

FUZZ_RECORD_TARGET(struct incident_event, incident_event_decode_bytes, incident_event_encode,
                   incident_event_decode, incident_event_clear)

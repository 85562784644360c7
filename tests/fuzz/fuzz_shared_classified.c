/* Fuzz target: classified.v1 records as the assigner reads them from messages.classified. */
#include "classified.h"
#include "fuzz_shared_records.h"

FUZZ_RECORD_TARGET(struct classified, classified_decode_bytes, classified_encode, classified_decode,
                   classified_clear)
